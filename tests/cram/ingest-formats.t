  $ . "$TESTDIR/setup.sh"

Every format is sniffed per input, and stderr says what was picked. syslog RFC 5424: PRI into
severity and facility, structured data into attrs, the BOM before the message dropped:

  $ printf '<165>1 2026-11-25T10:00:00.123456Z web-1 api 42 ID47 [shop@32473 tenant="acme" note="a \\"q\\" \\]"] \xef\xbb\xbfpaid\n' | ben ingest
  ben ingest: <stdin>: format syslog (from 1 line)
  {"ts":"2026-11-25T10:00:00.123456Z","lane":"diag","source":"web-1","name":"api","severity":"info","body":"paid","attrs":{"facility":"local4","appname":"api","procid":"42","msgid":"ID47","shop@32473.tenant":"acme","shop@32473.note":"a \"q\" ]"},"_ingest":{"format":"syslog","line":1}}
  ben ingest: read 1, wrote 1, rejected 0
  $ printf '<14>1 - - - - - -\n' | ben ingest -q --format syslog | jq -c '{name, severity, attrs}'
  {"name":"log","severity":"info","attrs":{"facility":"user"}}

RFC 3164 (BSD) stamps carry no year and no zone: --tz names the zone (this machine's otherwise),
and the year is the one that puts the stamp nearest before now:

  $ printf '<34>Nov 25 10:00:00 mymachine su[123]: su root failed\nNov 25 10:00:01 db-2 cron: job ran\n' | ben ingest -q --tz Europe/Paris | jq -c '{ts, source, name, severity, body, attrs}'
  {"ts":"2026-11-25T09:00:00Z","source":"mymachine","name":"su","severity":"fatal","body":"su root failed","attrs":{"facility":"auth","appname":"su","procid":"123"}}
  {"ts":"2026-11-25T09:00:01Z","source":"db-2","name":"cron","severity":null,"body":"job ran","attrs":{"appname":"cron"}}

CSV and TSV with a header line; --ts-field/--value-field/--name-field pick columns, numbers are typed,
a quoted cell may span lines:

  $ printf 'when,host,cpu,note\n2026-11-25T10:00:00Z,a,0.5,"x, y"\n2026-11-25T10:00:01Z,b,7,"two\nlines"\n' > m.csv
  $ ben ingest --ts-field when --value-field cpu m.csv
  ben ingest: m.csv: format csv (from 4 lines)
  {"ts":"2026-11-25T10:00:00Z","lane":"diag","source":"a","name":"log","value":0.5,"attrs":{"note":"x, y"},"_ingest":{"format":"csv","file":"m.csv","line":2}}
  {"ts":"2026-11-25T10:00:01Z","lane":"diag","source":"b","name":"log","value":7,"attrs":{"note":"two\nlines"},"_ingest":{"format":"csv","file":"m.csv","line":4}}
  ben ingest: read 4, wrote 2, rejected 0
  $ printf 'time\tlevel\tmsg\n2026-11-25T10:00:00Z\tERROR\tdisk full\n' | ben ingest -q
  {"ts":"2026-11-25T10:00:00Z","lane":"diag","name":"log","severity":"error","body":"disk full","_ingest":{"format":"tsv","line":2}}
  $ printf 'a,b\n1,2,3\n' | ben ingest --format csv 2>&1 >/dev/null | tail -1
    rejected line 2: row has 3 cells, the header names 2
  $ printf 'a,b\n1,2\n' | ben ingest --format csv --value-field c 2>&1 >/dev/null | grep '  rejected'
    rejected line 1: no column named 'c' in the header (a, b)
    rejected line 2: row not read: the header line was unusable (no column named 'c' in the header (a, b))

Prometheus text: one record per sample, lane diag, labels in attrs, # TYPE/# HELP/# UNIT honoured,
histograms as their series, the sample's own time or the scrape time:

  $ cat > metrics.prom <<'X'
  > # HELP http_requests_total Requests served.
  > # TYPE http_requests_total counter
  > http_requests_total{method="post",code="200"} 1027 1795600000000
  > # TYPE latency_seconds histogram
  > # UNIT latency_seconds seconds
  > latency_seconds_bucket{le="0.5"} 3 1795600000000
  > latency_seconds_bucket{le="+Inf"} 4 1795600000000
  > latency_seconds_sum 2.5 1795600000000
  > latency_seconds_count 4 1795600000000
  > X
  $ ben ingest metrics.prom
  ben ingest: metrics.prom: format prom (from 9 lines)
  {"ts":"2026-11-25T09:46:40Z","lane":"diag","name":"http_requests_total","value":1027,"body":"Requests served.","attrs":{"method":"post","code":"200","prom.type":"counter"},"_ingest":{"format":"prom","file":"metrics.prom","line":3}}
  {"ts":"2026-11-25T09:46:40Z","lane":"diag","name":"latency_seconds_bucket","value":3,"unit":"seconds","attrs":{"le":"0.5","prom.type":"histogram"},"_ingest":{"format":"prom","file":"metrics.prom","line":6}}
  {"ts":"2026-11-25T09:46:40Z","lane":"diag","name":"latency_seconds_bucket","value":4,"unit":"seconds","attrs":{"le":"+Inf","prom.type":"histogram"},"_ingest":{"format":"prom","file":"metrics.prom","line":7}}
  {"ts":"2026-11-25T09:46:40Z","lane":"diag","name":"latency_seconds_sum","value":2.5,"unit":"seconds","attrs":{"prom.type":"histogram"},"_ingest":{"format":"prom","file":"metrics.prom","line":8}}
  {"ts":"2026-11-25T09:46:40Z","lane":"diag","name":"latency_seconds_count","value":4,"unit":"seconds","attrs":{"prom.type":"histogram"},"_ingest":{"format":"prom","file":"metrics.prom","line":9}}
  ben ingest: read 9, wrote 5, rejected 0
  $ printf 'up{job="a"} 1\nup{job="b"} 0\n' | ben ingest -q | jq -r '.ts' | uniq | wc -l
  1

OTLP/JSON logs and metrics: resource and scope attributes flattened into attrs, nanoseconds kept:

  $ printf '%s\n' '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeLogs":[{"scope":{"name":"shop","version":"1.0"},"logRecords":[{"timeUnixNano":"1795600000123456789","severityNumber":17,"body":{"stringValue":"card declined"},"attributes":[{"key":"order","value":{"intValue":"42"}}],"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}' | ben ingest
  ben ingest: <stdin>: format otlp (from 1 line)
  {"ts":"2026-11-25T09:46:40.123456789Z","lane":"diag","source":"checkout","name":"log","severity":"error","body":"card declined","attrs":{"service.name":"checkout","scope.name":"shop","scope.version":"1.0","order":42,"trace_id":"5b8efff798038103d269b633813fc60c"},"_ingest":{"format":"otlp","line":1}}
  ben ingest: read 1, wrote 1, rejected 0
  $ printf '%s\n' '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"http.latency","unit":"ms","histogram":{"dataPoints":[{"timeUnixNano":"1795600000000000000","count":"3","sum":12.5,"bucketCounts":["1","2"],"explicitBounds":[5]}]}}]}]}]}' | ben ingest -q | jq -c '[.name, .value, .attrs.le]'
  ["http.latency.count",3,null]
  ["http.latency.sum",12.5,null]
  ["http.latency.bucket",1,"5.0"]
  ["http.latency.bucket",3,"+Inf"]

Several inputs, several formats: a summary line per format, then the total:

  $ printf '{"msg":"a"}\n' > a.ndjson
  $ ben ingest a.ndjson metrics.prom > /dev/null
  ben ingest: a.ndjson: format ndjson (from 1 line)
  ben ingest: metrics.prom: format prom (from 9 lines)
  ben ingest: ndjson: read 1, emitted 1, rejected 0
  ben ingest: prom: read 9, emitted 5, rejected 0
  ben ingest: read 10, wrote 6, rejected 0
  ben ingest: 1 record without a time of its own (given the time of reading, marked _ingest.ts: "read")

Arbitrary bytes are rejected with a reason, never a crash:

  $ printf '<999>1 - - - - - -\n\xff\xfe\n' | ben ingest --format syslog > /dev/null
  ben ingest: read 2, wrote 0, rejected 2
    rejected line 1: PRI 999 is over 191
    rejected line 2: invalid UTF-8 at byte 0
  ben ingest: warning: every line was rejected (is the format right? see --format)
