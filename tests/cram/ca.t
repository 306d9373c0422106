  $ . "$TESTDIR/setup.sh"
  $ cd "$CRAMTMP" && mkdir -m 700 ca && cd ca
  $ export BEN_PASSPHRASE='correct horse battery'
  $ serial() { sed -n 2p "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["serial"])'; }

The CA: a passphrase-protected key, a self-signed certificate with usage ca, five years by default.

  $ ben ca init --name acme-bees --cost interactive 2>&1 | grep -E '^(ben ca init|name|usage|not_after):'
  ben ca init: created the CA in .*/home/ca \(key id [A-Za-z0-9_-]{43}\) (re)
  name: acme-bees
  usage: ca
  not_after: [0-9T:Z-]{20} (re)
  $ stat -c '%a' "$BEN_HOME/ca" "$BEN_HOME/ca/ca-1.key"
  700
  600
  $ ben ca show | grep -E '^(name|usage|issuer|sign_pub):' | cut -c1-12
  name: acme-b
  usage: ca
  issuer: .{4} (re)
  sign_pub: .{2} (re)

A key made elsewhere (ben key gen), certified for the diag and event lanes as a client:

  $ ben key gen -q --type x25519 --out web1 > /dev/null
  $ ben ca issue --name web1 --pub web1.pub --groups web --usage client --ttl 30d > web1.cert
  ben ca issue: web1: serial [0-9a-f]{32}, until [0-9T:Z-]{20} (re)
  $ head -1 web1.cert; sed -n 2p web1.cert | cut -c1-60; wc -l < web1.cert
  ben-cert-v1
  \{"groups":\["web"\],"issuer":".{32} (re)
  3
  $ ben ca verify web1.cert --usage client --lane diag --group web
  valid: web1 \(serial [0-9a-f]{32}, client\) until [0-9T:Z-]{20} (re)

Every refusal says why, with exit status 1:

  $ ben ca verify web1.cert --usage server
  ben ca verify: refused \(wrong-usage\): certificate web1 \([0-9a-f]{32}\) is a client certificate, not for use as server (re)
  [1]
  $ ben ca verify web1.cert --lane control
  ben ca verify: refused \(lane-not-allowed\): certificate web1 \([0-9a-f]{32}\) may not use lane control \(allowed: diag, event\) (re)
  [1]
  $ ben ca verify web1.cert --at 2028-01-01T00:00:00Z
  ben ca verify: refused \(expired\): certificate web1 \([0-9a-f]{32}\) expired at [0-9T:Z-]{20} \(\d+ s ago, beyond the 60 s of clock skew allowed\) (re)
  [1]
  $ ben ca verify web1.cert --at 2031-12-31T00:00:00Z
  ben ca verify: refused \(issuer-expired\): certificate web1 \([0-9a-f]{32}\) was issued by CA acme-bees \([A-Za-z0-9_-]{43}\), whose certificate expired at [0-9T:Z-]{20} \(the end of its life, or of a rotation's overlap\) (re)
  [1]
  $ sed 's/"web1"/"web2"/' web1.cert > altered.cert && ben ca verify altered.cert
  ben ca verify: refused \(bad-signature\): certificate web2 \([0-9a-f]{32}\): the signature does not verify: the body or the signature was altered (re)
  [1]
  $ sed '2s/,"lanes"/, "lanes"/' web1.cert > spaced.cert && ben ca verify spaced.cert
  ben ca verify: refused (non-canonical): certificate's body is not in canonical JSON (RFC 8785): it differs from its canonical encoding at byte 73
  [1]

A verifier elsewhere needs the bundle and the revocation list:

  $ ben ca bundle > bundle && wc -l < bundle
  3
  $ ben ca crl > crl.1
  $ BEN_HOME=$CRAMTMP/verifier ben ca verify web1.cert --bundle bundle --crl crl.1
  valid: web1 \(serial [0-9a-f]{32}, client\) until [0-9T:Z-]{20} (re)

Revoke it; the next list (sequence 2) says so, and the older list is refused after it was seen:

  $ ben ca revoke "$(serial web1.cert)" --reason 'test' 2>&1 | sed 's/revoked [0-9a-f]*;/revoked SERIAL;/'
  ben ca revoke: revoked SERIAL; revocation list sequence 2 written to .*/home/ca/crl (re)
  $ ben ca crl > crl.2 && sed -n 2p crl.2 | grep -o '"sequence":2'
  "sequence":2
  $ BEN_HOME=$CRAMTMP/verifier ben ca verify web1.cert --bundle bundle --crl crl.2
  ben ca verify: refused \(revoked\): certificate web1 \([0-9a-f]{32}\) is revoked \(by serial, revocation list sequence 2\) (re)
  [1]
  $ BEN_HOME=$CRAMTMP/verifier ben ca verify web1.cert --bundle bundle --crl crl.1
  ben ca verify: refused (old-crl): revocation list sequence 1 is older than sequence 2 already seen: a replayed list (revocations may have been rolled back)
  [1]

Enrolment without copying keys: a token on the CA, keys made on the node, one certificate per token.

  $ ben ca token --name node7 --lanes diag --usage client,sign --ttl 3d > token
  $ BEN_HOME=$CRAMTMP/node ben ca enroll --token "$(cat token)" > node7.req
  ben ca enroll: keys in .*/node/node; give the request to ben ca sign, then ben ca accept the certificate (re)
  $ stat -c '%a %n' "$CRAMTMP/node/node/noise.key" "$CRAMTMP/node/node/sign.key" | sed "s|$CRAMTMP/||"
  600 node/node/noise.key
  600 node/node/sign.key
  $ ben ca sign node7.req > node7.cert
  ben ca sign: node7: serial [0-9a-f]{32}, until [0-9T:Z-]{20} (re)
  $ ben ca sign node7.req
  ben ca sign: refused \(token-used\): the token was already used at [0-9T:Z-]{20}: a token enrols one node once \(a replayed request\?\) (re)
  [1]
  $ BEN_HOME=$CRAMTMP/node ben ca accept node7.cert --bundle bundle
  ben ca accept: node7: serial [0-9a-f]{32}, until [0-9T:Z-]{20} (re)
  $ BEN_HOME=$CRAMTMP/node ben ca accept web1.cert --bundle bundle
  ben ca accept: refused (wrong-keys): the certificate does not bind this node's keys (it was issued for another node)
  [1]

Renewal runs from cron: nothing until two thirds of the lifetime (forced here), then once; a request
sent twice gets the same answer.

  $ BEN_HOME=$CRAMTMP/node ben ca renew
  ben ca renew: not due until [0-9T:Z-]{20} (re)
  $ BEN_HOME=$CRAMTMP/node ben ca renew --force > renew.req
  $ ben ca sign renew.req > node7-2.cert
  ben ca sign: node7: serial [0-9a-f]{32}, until [0-9T:Z-]{20} (re)
  $ ben ca sign -q renew.req | cmp - node7-2.cert && echo the same certificate, nothing new issued
  the same certificate, nothing new issued
  $ BEN_HOME=$CRAMTMP/node ben ca accept node7-2.cert
  ben ca accept: node7: serial [0-9a-f]{32}, until [0-9T:Z-]{20} (re)
  $ ben ca list | awk '{print $1}' | sort | uniq -c
        1 replaced
        1 revoked
        1 valid

Rotation: a new key; the bundle holds both CAs for the overlap; live certificates re-issued.

  $ ben ca rotate --overlap 1d --cost interactive 2>&1 | sed 's/key [A-Za-z0-9_-]*;/key ID;/; s/until [0-9TZ:-]*;/until TIME;/'
  ben ca rotate: new CA key ID; the old one is trusted until TIME; 1 certificate\(s\) re-issued into .*/home/ca/issued; give verifiers ben ca bundle (re)
  $ ben ca bundle > bundle.2 && wc -l < bundle.2
  6
  $ ben ca verify node7-2.cert --bundle bundle.2
  valid: node7 \(serial [0-9a-f]{32}, client,sign\) until [0-9T:Z-]{20} (re)
  $ ben ca verify node7-2.cert --bundle bundle.2 --at "$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)"
  ben ca verify: refused \(issuer-expired\): certificate node7 \([0-9a-f]{32}\) was issued by CA acme-bees \([A-Za-z0-9_-]{43}\), whose certificate expired at [0-9T:Z-]{20} \(the end of its life, or of a rotation's overlap\) (re)
  [1]
  $ ben ca list --status valid | wc -l
  1

The audit log: every issue, revocation and rotation, hash-chained and signed; an edit is found.

  $ ben ca audit
  ben ca audit: audit log verified: 8 entries in 2 segment(s) (1 continue, 1 init, 4 issue, 1 revoke, 1 rotate)
  $ cp "$BEN_HOME/ca/audit-1.ndjson" saved && sed -i 's/"web1"/"web9"/' "$BEN_HOME/ca/audit-1.ndjson"
  $ ben ca audit
  ben ca audit: segment 1: .*/home/ca/audit-1\.ndjson: line 2: altered: checkpoint signature over records seq 1 to 1 does not verify: one of them was altered \(or the wrong key was given\) (re)
  [1]
  $ cp saved "$BEN_HOME/ca/audit-1.ndjson" && ben ca audit -q

Without a passphrase and without a terminal, nothing is signed:

  $ env -u BEN_PASSPHRASE setsid ben ca issue --name x --pub web1.pub < /dev/null
  ben ca issue: .*/home/ca/ca-2\.key: a passphrase is needed and there is no terminal to ask on \(it is never read from stdin\): set BEN_PASSPHRASE (re)
  [1]

A listening CA: the node enrols over HTTP and keeps only the CA its token names.

  $ port=$("$TESTDIR/../support/free-port")
  $ ben ca serve --listen 127.0.0.1:$port 2> serve.log &
  $ for i in $(seq 300); do grep -qs listening serve.log && break; sleep 0.1; done; cat serve.log
  ben ca serve: listening on http://127.0.0.1:\d+ (re)
  $ BEN_HOME=$CRAMTMP/node2 ben ca enroll --token "$(ben ca token --name node8 --lanes diag)" --ca http://127.0.0.1:$port
  ben ca enroll: node8: serial [0-9a-f]{32}, until [0-9T:Z-]{20} (re)
  $ curl -s http://127.0.0.1:$port/bundle | wc -l; wc -l < "$CRAMTMP/node2/node/bundle"
  6
  3
  $ kill %1 && wait %1; tail -2 serve.log | sed 's/issued node8 ([0-9a-f]*)/issued node8 (SERIAL)/'
  ben ca serve: 127.0.0.1: issued node8 (SERIAL)
  ben ca serve: stopped
