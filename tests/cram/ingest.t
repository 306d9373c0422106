  $ . "$TESTDIR/setup.sh"

NDJSON objects become envelopes: aliases fold into envelope fields, everything else into attrs,
and each record says where it came from:

  $ printf '{"@timestamp":"2026-11-25T12:00:00+02:00","level":"WARNING","host":"web-1","msg":"slow","latency_ms":412}\n' | ben ingest
  ben ingest: <stdin>: format ndjson (from 1 line)
  {"ts":"2026-11-25T10:00:00Z","lane":"diag","source":"web-1","name":"log","severity":"warn","body":"slow","attrs":{"latency_ms":412},"_ingest":{"format":"ndjson","line":1}}
  ben ingest: read 1, wrote 1, rejected 0
  $ printf '{"ts":"2026-11-25T10:00:00.123456789Z","lane":"event","source":"api","name":"deploy","body":"v2"}\n' | ben ingest -q
  {"ts":"2026-11-25T10:00:00.123456789Z","lane":"event","source":"api","name":"deploy","body":"v2","_ingest":{"format":"ndjson","line":1}}

logfmt and plain lines, sniffed per input:

  $ printf 'ts=2026-11-25T10:00:00Z level=error host=db-1 msg="disk \\"sda\\" full" used_pct=97.5\n' | ben ingest
  ben ingest: <stdin>: format logfmt (from 1 line)
  {"ts":"2026-11-25T10:00:00Z","lane":"diag","source":"db-1","name":"log","severity":"error","body":"disk \"sda\" full","attrs":{"used_pct":97.5},"_ingest":{"format":"logfmt","line":1}}
  ben ingest: read 1, wrote 1, rejected 0
  $ printf '2026-11-25 10:00:01,123 ERROR payment failed\n' | ben ingest --source shop
  ben ingest: <stdin>: format lines (from 1 line)
  {"ts":"2026-11-25T10:00:01.123Z","lane":"diag","source":"shop","name":"log","severity":"error","body":"2026-11-25 10:00:01,123 ERROR payment failed","_ingest":{"format":"lines","line":1}}
  ben ingest: read 1, wrote 1, rejected 0

Epoch times in seconds, milliseconds, microseconds or nanoseconds are recognised by size:

  $ printf '{"time":1795600000,"msg":"s"}\n{"time":1795600000123,"msg":"ms"}\n{"time":1795600000123456789,"msg":"ns"}\n' | ben ingest -q | jq -r .ts
  2026-11-25T09:46:40Z
  2026-11-25T09:46:40.123Z
  2026-11-25T09:46:40.123456789Z

Bad lines are counted, reported on stderr, and kept with their reason in --rejects:

  $ printf '{"msg":"ok"}\n[1,2]\n{"msg":"trunc\n{"msg":"also ok"}\n' > mixed.ndjson
  $ ben ingest --format ndjson --rejects rejects.ndjson mixed.ndjson | jq -c '{body, _ingest}'
  ben ingest: read 4, wrote 2, rejected 2
    rejected mixed.ndjson:2: record is a JSON list, not an object
    rejected mixed.ndjson:3: invalid JSON: unexpected end of data: line 1 column 14 (char 13)
  ben ingest: 2 records without a time of their own (given the time of reading, marked _ingest.ts: "read")
  {"body":"ok","_ingest":{"format":"ndjson","file":"mixed.ndjson","line":1,"ts":"read"}}
  {"body":"also ok","_ingest":{"format":"ndjson","file":"mixed.ndjson","line":4,"ts":"read"}}
  $ cat rejects.ndjson
  {"stage":"ingest","file":"mixed.ndjson","line":2,"reason":"record is a JSON list, not an object","raw":"[1,2]"}
  {"stage":"ingest","file":"mixed.ndjson","line":3,"reason":"invalid JSON: unexpected end of data: line 1 column 14 (char 13)","raw":"{\"msg\":\"trunc"}

--strict makes the first bad line fatal, with exit status 1:

  $ ben ingest --strict --format ndjson mixed.ndjson > /dev/null
  ben ingest: mixed.ndjson:2: record is a JSON list, not an object
  [1]

gzip is read transparently; a closed pipe downstream ends ben quietly:

  $ for i in $(seq 1 50000); do echo "{\"msg\":\"line $i\"}"; done | gzip > big.ndjson.gz
  $ ben ingest -q big.ndjson.gz | head -1 | jq -r .body
  line 1
  $ ben ingest -q big.ndjson.gz | wc -l
  50000

Usage errors exit with status 2:

  $ ben ingest --lane metrics 2>&1 | tail -1
  ben ingest: Invalid value for '--lane': must be one of diag, event, control
  $ ben ingest --lane metrics 2>/dev/null; echo $?
  2
