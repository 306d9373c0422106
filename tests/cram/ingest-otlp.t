ben ingest --listen grpc:// and http:// receive OTLP, what OpenTelemetry SDKs and Collectors send.
Each request is answered once its records are written out.

  $ . "$TESTDIR/setup.sh"
  $ PORT=$("$ROOT/tests/support/free-port")

Logs, metrics and traces over HTTP, as JSON here (protobuf and gzip bodies are read too):

  $ ben ingest --listen http://127.0.0.1:$PORT --rejects rejects.ndjson > otlp.ndjson 2> otlp.err &
  $ for i in $(seq 1 100); do grep -qs listening otlp.err && break; sleep 0.1; done
  $ cat otlp.err
  ben ingest: listening on http://127.0.0.1:* (glob)
  $ post() { curl -s -w ' %{http_code}\n' -H "Content-Type: ${3:-application/json}" --data-binary "$2" "http://127.0.0.1:$PORT$1"; }
  $ post /v1/logs '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1795600000123456789","severityNumber":17,"body":{"stringValue":"payment failed"}}]}]}]}'
  {} 200
  $ post /v1/traces '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"GET /buy","startTimeUnixNano":"1795600000000000000","endTimeUnixNano":"1795600000250000000","status":{"code":2}}]}]}]}'
  {} 200

A metric that cannot be read is rejected alone, and the answer says so (partial success):

  $ post /v1/metrics '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"cpu","gauge":{"dataPoints":[{"asDouble":12.5,"timeUnixNano":"1795600000000000000"}]}},{"gauge":{}}]}]}]}'
  {"partialSuccess":{"rejectedDataPoints":1,"errorMessage":"1 rejected; the first: metric without a name"}} 200

A body that is not OTLP is refused whole (400, not retried by exporters); other types are 415:

  $ post /v1/logs '{"what":1}'
  {"code":3,"message":"neither resourceLogs, resourceMetrics nor resourceSpans: not an OTLP/JSON request"} 400
  $ post /v1/logs 'hello' text/plain | tail -c 4
  415
  $ post /v1/logz '{}'
  {"code":5,"message":"no such path: use /v1/logs, /v1/metrics, /v1/traces"} 404

SIGTERM: no new request is taken, those under way are answered, the output is flushed:

  $ kill -TERM %1; wait %1
  $ jq -c '[.lane, .name, .severity, .value, .ts]' otlp.ndjson
  ["diag","log","error",null,"2026-11-25T09:46:40.123456789Z"]
  ["event","GET /buy","error",250,"2026-11-25T09:46:40Z"]
  ["diag","cpu",null,12.5,"2026-11-25T09:46:40Z"]
  $ cat otlp.err
  ben ingest: listening on http://127.0.0.1:* (glob)
  ben ingest: read 5, wrote 3, rejected 2
    rejected 127.0.0.1:* request:3: metric without a name (glob)
    rejected 127.0.0.1:* request:4: neither resourceLogs, resourceMetrics nor resourceSpans: not an OTLP/JSON request (glob)
  $ jq -r .reason rejects.ndjson
  metric without a name
  neither resourceLogs, resourceMetrics nor resourceSpans: not an OTLP/JSON request

Mistakes are usage errors (exit 2), said before anything listens:

  $ ben ingest --listen https://127.0.0.1:4318
  ben ingest: 'https://127.0.0.1:4318': write http:// and give --tls-cert and --tls-key for TLS
  [2]
  $ ben ingest --listen grpc://127.0.0.1
  ben ingest: 'grpc://127.0.0.1': needs a host and a port, e.g. grpc://127.0.0.1:4317
  [2]
  $ ben ingest --listen grpc://127.0.0.1:4317/v1/logs
  ben ingest: 'grpc://127.0.0.1:4317/v1/logs': only a host and a port, e.g. grpc://127.0.0.1:4317
  [2]
  $ ben ingest --listen grpc://0.0.0.0:4317
  ben ingest: grpc://0.0.0.0:4317 is not a loopback address; add --allow-remote to serve other hosts
  [2]
  $ ben ingest --listen grpc://127.0.0.1:4317 --tls-cert server.pem
  ben ingest: --tls-cert and --tls-key go together
  [2]
  $ ben ingest --listen grpc://127.0.0.1:4317 --tls-client-ca ca.pem
  ben ingest: --tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)
  [2]
  $ ben ingest --listen grpc://127.0.0.1:4317 --tls-cert missing.pem --tls-key missing.key
  ben ingest: --tls-cert missing.pem: No such file or directory
  [2]
  $ ben ingest --listen tcp://127.0.0.1:5140 --tls-cert server.pem
  ben ingest: --tls-cert applies to --listen grpc:// and http:// only
  [2]
  $ ben ingest --listen http://127.0.0.1:4318 --format logfmt
  ben ingest: --listen http:// receives OTLP; --format logfmt cannot apply
  [2]
  $ touch empty-token
  $ ben ingest --listen http://127.0.0.1:4318 --token-file empty-token
  ben ingest: --token-file empty-token: the file is empty
  [2]

A contract and a policy hold each record at the door, before the request is answered: a record
either refuses is counted in the answer's partial success with the reason, and goes to --rejects:

  $ cat > shop.ben <<'BEN'
  > contract shop version 1
  > lane diag {
  >   kind log { attr order: int range 1..1000 }
  > }
  > BEN
  $ cat > shop.policy <<'POL'
  > policy shop version 1 default deny
  > rule no-cards: deny if has attrs.card
  > rule collectors: allow if from collector-*
  > POL
  $ ben ingest --listen http://127.0.0.1:$PORT --contract shop.ben --policy shop.policy --identity collector-1 \
  >   --rejects door-rejects.ndjson > door.ndjson 2> door.err &
  $ for i in $(seq 1 100); do grep -qs listening door.err && break; sleep 0.1; done
  $ log() { printf '{"attributes":[{"key":"%s","value":{"intValue":"%s"}}],"body":{"stringValue":"%s"}}' "$@"; }
  $ post /v1/logs "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[$(log order 7 ok),$(log order 0 zero),$(log card 4111 card)]}]}]}"
  {"partialSuccess":{"rejectedLogRecords":2,"errorMessage":"2 rejected; the first: contract: range attrs.order=0 (shop.ben:3)"}} 200
  $ kill -TERM %1; wait %1
  $ jq -c '[.body, .attrs.order]' door.ndjson
  ["ok",7]
  $ jq -r .reason door-rejects.ndjson
  contract: range attrs.order=0 (shop.ben:3)
  policy: denied by rule no-cards (shop.policy:2:6)
  $ tail -n +2 door.err
  ben ingest: read 3, wrote 1, rejected 2
    rejected 127.0.0.1:* request:1: contract: range attrs.order=0 (shop.ben:3) (glob)
    rejected 127.0.0.1:* request:1: policy: denied by rule no-cards (shop.policy:2:6) (glob)
  ben ingest: 3 records without a time of their own (given the time of reading, marked _ingest.ts: "read")
  ben ingest: contract: broken 1, deprecated 0, overflows 0
  ben ingest: policy: allowed 2, denied 1, rate-limited 0
  $ ben ingest --listen tcp://127.0.0.1:5140 --policy shop.policy
  ben ingest: --policy applies to --listen grpc:// and http://; pipe other input through `ben policy enforce`
  [2]
