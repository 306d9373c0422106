  $ . "$TESTDIR/setup.sh"
  $ cd "$CRAMTMP" && mkdir -m 700 bee && cd bee
  $ export BEN_PASSPHRASE='correct horse battery'

A CA, a collector certified as a server and an edge host as a client for the diag lane:

  $ ben ca init --name bees --cost interactive > /dev/null 2>&1
  $ ben key gen -q --type x25519 --out collector > /dev/null
  $ ben key gen -q --type x25519 --out edge > /dev/null
  $ ben ca issue -q --name collector --pub collector.pub --usage server > collector.cert
  $ ben ca issue -q --name edge --pub edge.pub --usage client --lanes diag > edge.cert
  $ ben ca bundle > bundle && ben ca crl > crl
  $ port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

The collector listens on loopback; the edge streams its records, and exits 0 once every one is
acknowledged:

  $ ben bee listen 127.0.0.1:$port --cert collector.cert --key collector.key --bundle bundle --crl crl \
  >   --state marks.json --rejects rejects.ndjson > out.ndjson 2> listen.err &
  $ listener=$!
  $ until grep -qs listening listen.err; do sleep 0.05; done
  $ printf '{"lane":"diag","name":"cpu","value":%d}\n' 1 2 3 \
  >   | ben bee send 127.0.0.1:$port --cert edge.cert --key edge.key --bundle bundle
  ben bee send: sent 3, acknowledged all; connections 1, resent 0, lines too long 0

Each record comes out once, with who sent it added and nothing else changed:

  $ sed -E 's/"cert":"[0-9a-f]{64}"/"cert":"HEX64"/' out.ndjson
  {"lane":"diag","name":"cpu","value":1,"via":{"peer":"edge","cert":"HEX64"}}
  {"lane":"diag","name":"cpu","value":2,"via":{"peer":"edge","cert":"HEX64"}}
  {"lane":"diag","name":"cpu","value":3,"via":{"peer":"edge","cert":"HEX64"}}

A lane the certificate does not allow is rejected (to --rejects, with the reason; see below):

  $ echo '{"lane":"control","name":"policy.push"}' \
  >   | ben bee send 127.0.0.1:$port --cert edge.cert --key edge.key --bundle bundle -q

A certificate the listener must refuse is refused before any data, and the sender does not retry:

  $ ben ca revoke -q "$(sed -n 2p edge.cert | python3 -c 'import json, sys; print(json.load(sys.stdin)["serial"])')" > /dev/null 2>&1
  $ ben ca crl > crl && kill -HUP $listener
  $ until grep -q reloaded listen.err; do sleep 0.05; done
  $ echo '{"lane":"diag"}' | ben bee send 127.0.0.1:$port --cert edge.cert --key edge.key --bundle bundle
  ben bee send: the listener 127.0.0.1:\d+ refused: refused \(revoked\): the peer's certificate is refused: .* (re)
  [1]
  $ ben bee send 127.0.0.1:$port --cert edge.cert --key collector.key --bundle bundle < /dev/null
  ben bee send: --key collector.key does not hold the X25519 key the certificate edge.cert binds (its noise_pub)
  [2]

The listener ends on SIGTERM with its counts; its marks are kept for the next run:

  $ kill $listener; wait $listener
  $ grep -v listening listen.err | sed 's/^ben bee listen: refused 127.0.0.1: .*/ben bee listen: refused 127.0.0.1: .../'
  ben bee listen: SIGHUP: reloaded crl; dropped 0 connection(s)
  ben bee listen: refused 127.0.0.1: ...
  ben bee listen: read 4, wrote 3, rejected 1, duplicates dropped 0, connections 2, refused 1, dropped 0
    rejected edge:1: lane 'control' is not allowed by the certificate (allowed: diag)
  $ python3 -c 'import json; r = json.loads(open("rejects.ndjson").readline()); print(r["file"], r["line"], r["reason"])'
  edge 1 lane 'control' is not allowed by the certificate (allowed: diag)
  $ python3 -c 'import json; print(sorted(json.load(open("marks.json"))["marks"].values()))'
  [1, 3]

Across two hosts each end acknowledges only what it holds durably. On the edge, `ben bee send
--ack S` keeps S.ack (what its spool holds) for `ben ingest --ack --state S`; on the collector,
`ben bee listen --ack-from L` acknowledges only what `ben sink --ack L` has committed (L.ack),
and stamps each record with its stream's position (the edge's mark moves under _ingest.from):

  $ ben ca issue -q --name edge2 --pub edge.pub --usage client --lanes diag > edge2.cert
  $ mkdir edge-host collector-host && mkfifo collector-host/pipe
  $ printf '{"lane":"diag","name":"disk","value":%d}\n' 1 2 3 > edge-host/app.log
  $ ben sink -q --ack collector-host/L --batch-age 100ms --to file:collector-host/out.ndjson < collector-host/pipe &
  $ sink=$!
  $ ben bee listen 127.0.0.1:$port --cert collector.cert --key collector.key --bundle bundle \
  >   --ack-from collector-host/L > collector-host/pipe 2> collector-host/listen.err &
  $ listener=$!
  $ until grep -qs listening collector-host/listen.err; do sleep 0.05; done
  $ ben ingest -q --since-last --ack --state edge-host/S edge-host/app.log | ben bee send 127.0.0.1:$port \
  >   --cert edge2.cert --key edge.key --bundle bundle --spool edge-host/spool --ack edge-host/S
  ben bee send: sent 3, acknowledged all; connections 1, resent 0, lines too long 0, already spooled 0
  $ python3 -c 'import json; print(list(json.load(open("edge-host/S.ack"))["inputs"].values()))'
  [[120, 3]]
  $ python3 -c '
  > import json
  > for line in open("collector-host/out.ndjson"):
  >     m = json.loads(line)["_ingest"]
  >     print(m["format"], m["in"][:4], m["at"], m["from"]["format"], m["from"]["line"], m["from"]["at"])'
  bee bee. 1 ndjson 1 40
  bee bee. 2 ndjson 2 80
  bee bee. 3 ndjson 3 120
  $ python3 -c 'import json; print(list(json.load(open("collector-host/L.ack"))["inputs"].values()))'
  [[3, 3]]

The next run of the edge reads only the new line:

  $ echo '{"lane":"diag","name":"disk","value":4}' >> edge-host/app.log
  $ ben ingest -q --since-last --ack --state edge-host/S edge-host/app.log | ben bee send 127.0.0.1:$port \
  >   --cert edge2.cert --key edge.key --bundle bundle --spool edge-host/spool --ack edge-host/S
  ben bee send: sent 1, acknowledged all; connections 1, resent 0, lines too long 0, already spooled 0
  $ kill $listener; wait $listener; wait $sink
  $ wc -l < collector-host/out.ndjson
  4

Only records on disk can be acknowledged to ingest, and the sink's file is the listener's state:

  $ ben bee send 127.0.0.1:$port --cert edge2.cert --key edge.key --bundle bundle --ack edge-host/S < /dev/null
  ben bee send: --ack needs --spool: only records on disk can be acknowledged to ingest
  [2]
  $ ben bee listen 127.0.0.1:$port --cert collector.cert --key collector.key --bundle bundle \
  >   --ack-from collector-host/L --state marks.json
  ben bee listen: --ack-from and --state exclude each other: with --ack-from the sink's acknowledgements are the listener's state
  [2]
