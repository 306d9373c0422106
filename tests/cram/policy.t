  $ . "$TESTDIR/setup.sh"
  $ export BEN_HOME="$CRAMTMP/policy-home"
  $ cd "$CRAMTMP" && mkdir -m 700 policy-work && cd policy-work

A policy: who may send what, how fast, where; the first matching rule decides, else the default.

  $ cat > edge.policy <<'POL'
  > policy edge version 1 default deny
  > personal user, attrs.email
  > rule no-control: deny if lane control and not group policy-admin
  > rule pii: deny if unredacted
  > rule web: limit 2 per 1s by source if from web-*
  > rule slow: alert over 1 within 1m by source if name http.request and value over 500
  > rule ops: allow if group ops
  > rule ops-diag: allow if group ops and lane diag
  > rule typo: allow if lane dig
  > POL

check shows every fault and warning with its line and a caret:

  $ ben policy check edge.policy
  edge.policy:8:6: warning: rule 'ops-diag' is shadowed by rule 'ops' (line 7), which matches every record it could: it never decides
      rule ops-diag: allow if group ops and lane diag
           ^^^^^^^^
  edge.policy:9:6: warning: rule 'typo' can never match: no lane is named dig (lanes: diag, event, control); did you mean 'diag'?
      rule typo: allow if lane dig
           ^^^^
  ben policy check: edge.policy: ok, 2 warning(s)
  $ ben policy check --strict edge.policy 2>/dev/null
  [1]
  $ sed -i '8,9d' edge.policy && ben policy check edge.policy
  ben policy check: edge.policy: ok, 0 warning(s)

Faults are usage errors (exit 2 where a policy is loaded; check says 1 per faulty file):

  $ printf 'policy p version 1\nrule a: allow\n' > nodefault.policy
  $ ben policy check nodefault.policy
  nodefault.policy:2:1: a policy needs an explicit default: 'default allow' or 'default deny' after its name
      rule a: allow
      ^^^^
  [1]
  $ printf 'policy p default deny\nrule a: alow if grup ops\n' > typo.policy
  $ ben policy enforce --policy typo.policy < /dev/null
  typo.policy:2:9: expected an action (allow, deny, limit, alert), found 'alow'; did you mean 'allow'?
      rule a: alow if grup ops
              ^^^^
  [2]
  $ printf 'policy p default deny\nrule a: allow\nrule a: deny if lane diag\n' > twice.policy
  $ ben policy check twice.policy
  twice.policy:3:6: rule 'a' is named twice (first at line 2)
      rule a: deny if lane diag
           ^
  [1]
  $ ben policy check missing.policy
  ben policy check: cannot read the policy missing.policy: No such file or directory
  [2]

eval explains one decision:

  $ ben policy eval edge.policy '{"lane":"event","name":"signup","user":"bob"}' --identity db-1 --group ops
  {"decision":"deny","rule":"pii","at":"edge.policy:4:6","action":"deny","matched":["unredacted"],"passed_over":[{"rule":"no-control","at":"edge.policy:3:6","failed":"lane control"}],"identity":"db-1","groups":["ops"],"to":null}
  $ echo '{"lane":"diag","name":"cpu"}' | ben policy eval edge.policy
  {"decision":"deny","rule":"default","at":"edge.policy:1","action":"default deny","matched":["no rule matched"],"passed_over":[{"rule":"no-control","at":"edge.policy:3:6","failed":"lane control"},{"rule":"pii","at":"edge.policy:4:6","failed":"unredacted"},{"rule":"web","at":"edge.policy:5:6","failed":"from web-*"},{"rule":"slow","at":"edge.policy:6:6","failed":"name http.request"},{"rule":"ops","at":"edge.policy:7:6","failed":"group ops"}],"identity":null,"groups":[],"to":null}
  $ ben policy eval edge.policy 'not json'
  ben policy eval: the record is not JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  [2]

test runs table-driven cases, with a coverage line:

  $ cat > cases.ndjson <<'CASES'
  > {"name": "nodes send no control", "record": {"lane": "control"}, "groups": ["node"], "expect": "deny", "rule": "no-control"}
  > {"name": "personal data is redacted first", "record": {"lane": "event", "user": "bob"}, "groups": ["ops"], "expect": "deny"}
  > {"name": "web bursts 2 a second", "records": [{"source": "w"}, {"source": "w"}, {"source": "w"}], "identity": "web-1", "expect": ["allow", "allow", "limited"]}
  > {"name": "slow requests alert but pass", "record": {"name": "http.request", "value": 900}, "expect": "allow"}
  > {"name": "ops may send", "record": {"lane": "diag"}, "groups": ["ops"], "expect": "allow"}
  > {"name": "strangers may not", "record": {"lane": "diag"}, "expect": "deny", "rule": "default"}
  > CASES
  $ ben policy test edge.policy cases.ndjson
  PASS nodes send no control
  PASS personal data is redacted first
  PASS web bursts 2 a second
  PASS slow requests alert but pass
  PASS ops may send
  PASS strangers may not
  6 passed, 0 failed; coverage: 5/5 rules decided a case (100%); default decided a case
  $ echo '{"name": "wrong", "record": {"lane": "diag"}, "groups": ["ops"], "expect": "deny"}' > wrong.ndjson
  $ ben policy test edge.policy wrong.ndjson
  FAIL wrong: expected deny, got allow by rule ops (edge.policy:7:6)
  0 passed, 1 failed; coverage: 1/5 rules decided a case (20%); default never decided; never: no-control, pii, web, slow
  [1]
  $ echo '{"record": 5, "expect": "allow"}' > bad.ndjson && ben policy test edge.policy bad.ndjson
  ben policy test: bad.ndjson:1: give 'record' (an object) or 'records' (a list of objects)
  [2]

enforce is a filter: denied records to --rejects with the rule, rate-limited ones counted, alerts added:

  $ for i in 1 2 3; do echo "{\"ts\":\"2026-01-01T00:00:0$i.000Z\",\"lane\":\"diag\",\"source\":\"w\",\"name\":\"http.request\",\"value\":$((i*400))}"; done > web.ndjson
  $ echo '{"ts":"2026-01-01T00:00:04Z","lane":"control","name":"key.rotate"}' >> web.ndjson
  $ ben policy enforce --policy edge.policy --identity web-1 --rejects rejects.ndjson --stats < web.ndjson
  {"ts":"2026-01-01T00:00:01.000Z","lane":"diag","source":"w","name":"http.request","value":400}
  {"ts":"2026-01-01T00:00:02.000Z","lane":"diag","source":"w","name":"http.request","value":800}
  {"ts":"2026-01-01T00:00:03.000Z","lane":"diag","source":"w","name":"http.request","value":1200}
  {"ts":"[0-9T:-]{19}Z","lane":"diag","source":"ben.policy","name":"policy.stats","value":1,"attrs":{"policy":"edge","version":1,"read":4,"allowed":3,"denied":1,"limited":0,"denied.no-control":1}} (re)
  ben policy enforce: read 4, wrote 4, rejected 1, denied 1, limited 0
    rejected line 4: policy: denied by rule no-control (edge.policy:3:6)
  $ cut -c1-120 rejects.ndjson
  {"stage":"policy","file":"<stdin>","line":4,"reason":"policy: denied by rule no-control (edge.policy:3:6)","rule":"no-co
  $ sed 's/web-\*/nobody/' edge.policy > slow.policy
  $ ben policy enforce --policy slow.policy --group ops -q < web.ndjson | grep alert
  {"ts":"2026-01-01T00:00:03.000Z","lane":"control","source":"ben.policy","name":"policy.alert","value":2,"severity":"warn","attrs":{"policy":"edge","rule":"slow","threshold":1,"within":"1m","count":2,"at":"slow.policy:6:6","by.source":"w"}}
  $ printf '{"ts":"2026-01-01T00:00:00Z","source":"w"}\n%.0s' 1 2 3 4 5 | ben policy enforce --policy edge.policy --identity web-1 > /dev/null
  ben policy enforce: rate-limited 3 by rule web
  ben policy enforce: read 5, wrote 2, rejected 0, denied 0, limited 3
  $ echo '{"lane":"control"}' | ben policy enforce --policy edge.policy --strict
  ben policy enforce: line 1: policy: denied by rule no-control (edge.policy:3:6)
  [1]
  $ ben policy enforce < /dev/null
  ben policy enforce: Invalid value for --policy: give --policy FILE or --installed NAME (one of them)
  [2]

The same gate in front of a sink, the destination being its --to:

  $ printf '{"ts":"2026-01-01T00:00:00Z","lane":"event","user":"bob"}\n{"ts":"2026-01-01T00:00:00Z","lane":"diag"}\n' | ben sink --to - --policy edge.policy --group ops
  {"ts":"2026-01-01T00:00:00Z","lane":"diag"}
  ben sink: read 2, wrote 1, rejected 1
    rejected line 1: policy: denied by rule pii (edge.policy:4:6)

Signed bundles: a signer whose certificate (usage sign) is in group policy-admin.

  $ export BEN_PASSPHRASE='correct horse battery'
  $ ben ca init --name acme --cost interactive 2> /dev/null > /dev/null
  $ ben key gen -q --out alice > /dev/null && ben key gen -q --type x25519 --out alice-x > /dev/null
  $ ben ca issue --name alice --pub alice-x.pub --sign-pub alice.pub --groups policy-admin --usage sign --ttl 30d > alice.cert 2> /dev/null
  $ ben key gen -q --out bob > /dev/null && ben key gen -q --type x25519 --out bob-x > /dev/null
  $ ben ca issue --name bob --pub bob-x.pub --sign-pub bob.pub --groups ops --usage sign > bob.cert 2> /dev/null
  $ ben ca bundle > trust && ben ca crl > crl.1
  $ ben policy sign edge.policy --key alice.key --cert alice.cert --out edge-v1.bundle
  ben policy sign: signed edge version 1 into edge-v1.bundle
  $ head -1 edge-v1.bundle; wc -l < edge-v1.bundle
  ben-policy-bundle-v1
  3
  $ ben policy sign edge.policy --key bob.key --cert bob.cert > /dev/null
  ben policy sign: certificate bob is not in group policy-admin (its groups: ops): nodes will refuse its bundles
  [2]
  $ ben policy sign edge.policy --key bob.key --cert alice.cert > /dev/null
  ben policy sign: the key is not the signing key of certificate alice \([0-9a-f]{32}\) (re)
  [2]

A node installs what verifies against the CA's trust bundle and revocation list:

  $ export NODE="env BEN_HOME=$CRAMTMP/policy-node"
  $ $NODE ben policy install edge-v1.bundle --trust trust --crl crl.1
  ben policy install: installed edge version 1 (signed by alice)
  $ sed -i 's/version 1/version 2/' edge.policy && ben policy sign edge.policy --key alice.key --cert alice.cert --out edge-v2.bundle -q
  $ $NODE ben policy install edge-v2.bundle --trust trust --crl crl.1
  ben policy install: installed edge version 2 (signed by alice)
  $ $NODE ben policy versions edge
  1
  2  (installed)
  $ $NODE ben policy install edge-v1.bundle --trust trust --crl crl.1
  ben policy install: refused (rollback): version 1 is older than the installed version 2: a rollback (give --allow-rollback to mean it)
  [1]
  $ $NODE ben policy install edge-v1.bundle --trust trust --crl crl.1 --allow-rollback
  ben policy install: rolled back to edge version 1 (signed by alice)
  $ sed '2s/group ops/group all/' edge-v2.bundle > altered.bundle
  $ $NODE ben policy install altered.bundle --trust trust --crl crl.1
  ben policy install: refused (bad-signature): the policy bundle's signature does not verify with alice's key: the bundle was altered
  [1]
  $ $NODE ben policy install edge-v2.bundle --trust trust --crl crl.1 2>&1 | grep -o 'installed edge version 2'
  installed edge version 2

enforce --installed runs the installed version, verified again:

  $ echo '{"lane":"diag"}' | $NODE ben policy enforce --installed edge --group ops --trust trust --crl crl.1
  ben policy enforce: enforcing edge version 2 (signed by alice)
  {"lane":"diag"}
  ben policy enforce: read 1, wrote 1, rejected 0, denied 0, limited 0

The sender may be named by a certificate, verified first (bob is in group ops):

  $ echo '{"lane":"diag"}' | ben policy enforce --policy edge.policy --cert bob.cert --trust trust --crl crl.1 -q
  {"lane":"diag"}
  $ sed 's/"bob"/"rob"/' bob.cert > rob.cert && ben policy enforce --policy edge.policy --cert rob.cert --trust trust < /dev/null
  ben policy enforce: refused \(bad-signature\): certificate rob \([0-9a-f]{32}\): the signature does not verify: the body or the signature was altered (re)
  [1]

A revoked signer's bundles are refused, and so is an older revocation list after a newer one:

  $ ben ca revoke "$(sed -n 2p alice.cert | python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])')" --reason left > /dev/null 2>&1
  $ ben ca crl > crl.2
  $ $NODE ben policy install edge-v2.bundle --trust trust --crl crl.2
  ben policy install: refused \(revoked\): certificate alice \([0-9a-f]{32}\) is revoked \(by serial, revocation list sequence 2\) (re)
  [1]
  $ $NODE ben policy install edge-v2.bundle --trust trust --crl crl.1
  ben policy install: refused (old-crl): revocation list sequence 1 is older than sequence 2 already seen: a replayed list (revocations may have been rolled back)
  [1]
  $ $NODE ben policy install edge-v2.bundle
  ben policy install: give --trust (the CA trust bundle; no CA and no enrolled node here to take one from)
  [2]
