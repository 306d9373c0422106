  $ . "$TESTDIR/setup.sh"
  $ cd "$CRAMTMP" && mkdir -m 700 bee-policy && cd bee-policy && export BEN_HOME="$PWD/home"
  $ export BEN_PASSPHRASE='correct horse battery'

A CA, a collector, an ops host (group ops) and a web host (no group):

  $ ben ca init --name bees --cost interactive > /dev/null 2>&1
  $ for n in collector db-1 web-1; do ben key gen -q --type x25519 --out $n > /dev/null; done
  $ ben ca issue -q --name collector --pub collector.pub --usage server > collector.cert
  $ ben ca issue -q --name db-1 --pub db-1.pub --usage client --lanes diag,event --groups ops > db-1.cert
  $ ben ca issue -q --name web-1 --pub web-1.pub --usage client --lanes diag,event > web-1.cert
  $ ben ca bundle > bundle && ben ca crl > crl
  $ port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

The policy: no secrets from anyone, events only from the ops group, diag from web hosts:

  $ cat > edge.policy <<'POL'
  > policy edge version 1 default deny
  > rule no-secrets: deny if name secret.*
  > rule ops: allow if group ops
  > rule web-diag: allow if from web-* and lane diag
  > POL
  $ ben bee listen 127.0.0.1:$port --cert collector.cert --key collector.key --bundle bundle --crl crl \
  >   --policy-file edge.policy --rejects rejects.ndjson > out.ndjson 2> listen.err &
  $ listener=$!
  $ until grep -qs listening listen.err; do sleep 0.05; done
  $ send() { ben bee send 127.0.0.1:$port --cert $1.cert --key $1.key --bundle bundle -q; }

Each record is judged as sent by its peer's certificate (a via the sender writes is replaced
first); denied records are acknowledged all the same, so the senders exit 0:

  $ printf '%s\n' '{"lane":"event","name":"deploy"}' '{"lane":"diag","name":"secret.key"}' | send db-1
  $ printf '%s\n' '{"lane":"diag","name":"cpu"}' '{"lane":"event","name":"deploy"}' \
  >   '{"lane":"event","name":"login","via":{"peer":"db-1","groups":["ops"]}}' | send web-1
  $ sed -E 's/"cert":"[0-9a-f]{64}"/"cert":"HEX64"/' out.ndjson
  {"lane":"event","name":"deploy","via":{"peer":"db-1","cert":"HEX64","groups":["ops"]}}
  {"lane":"diag","name":"cpu","via":{"peer":"web-1","cert":"HEX64"}}

SIGHUP rereads the policy with the CRL; a policy that no longer checks keeps the one in force:

  $ printf 'policy edge version 2\nrule a: allow\n' > edge.policy && kill -HUP $listener
  $ until grep -q 'policy edge.policy was not' listen.err; do sleep 0.05; done
  $ printf 'policy edge version 3 default allow\n' > edge.policy && kill -HUP $listener
  $ until grep -q 'reloaded the policy' listen.err; do sleep 0.05; done
  $ echo '{"lane":"event","name":"deploy"}' | send web-1
  $ kill $listener; wait $listener
  $ grep -v listening listen.err
  ben bee listen: SIGHUP: reloaded crl; dropped 0 connection(s)
  ben bee listen: SIGHUP: the policy edge.policy was not reloaded, the one in force stays: edge.policy:2:1: a policy needs an explicit default: 'default allow' or 'default deny' after its name
  ben bee listen: SIGHUP: reloaded crl; dropped 0 connection(s)
  ben bee listen: SIGHUP: reloaded the policy edge.policy (edge version 3)
  ben bee listen: read 6, wrote 3, rejected 3, duplicates dropped 0, connections 3, refused 0, dropped 0, denied 3, limited 0, alerts 0
    rejected db-1:2: policy: denied by rule no-secrets (edge.policy:2:6)
    rejected web-1:2: policy: denied by rule default (edge.policy:1)
    rejected web-1:3: policy: denied by rule default (edge.policy:1)
  $ tail -1 out.ndjson | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["name"], r["via"]["peer"])'
  deploy web-1
  $ python3 -c 'import json, sys; [print(r["file"], r["line"], r["rule"]) for r in map(json.loads, open("rejects.ndjson"))]'
  db-1 2 no-secrets
  web-1 2 default
  web-1 3 default

A policy that does not check stops the listener before it listens:

  $ printf 'policy p version 1\nrule a: allow\n' > bad.policy
  $ ben bee listen 127.0.0.1:0 --cert collector.cert --key collector.key --bundle bundle --policy-file bad.policy
  ben bee listen: bad.policy:2:1: a policy needs an explicit default: 'default allow' or 'default deny' after its name
  [2]
