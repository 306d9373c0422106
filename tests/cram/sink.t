  $ . "$TESTDIR/setup.sh"

Without --to, records are appended to a file under $BEN_HOME/spool/, so a job needs no server:

  $ ben ingest -q "$DATA/sample-db.logfmt" | ben sink
  ben sink: read 120, wrote 120, rejected 0
  $ wc -l < "$BEN_HOME/spool/records.ndjson"
  120

A rerun appends; --to file:PATH picks the file, --tee passes the records on:

  $ printf '{"ts":"2026-11-25T10:00:00.123456789Z","lane":"event","source":"ci","name":"deploy"}\n' > one.ndjson
  $ ben sink -q --to file:out/deploys.ndjson --tee one.ndjson
  {"ts":"2026-11-25T10:00:00.123456789Z","lane":"event","source":"ci","name":"deploy"}
  $ ben sink -q --to file:out/deploys.ndjson one.ndjson
  $ cat out/deploys.ndjson
  {"ts":"2026-11-25T10:00:00.123456789Z","lane":"event","source":"ci","name":"deploy"}
  {"ts":"2026-11-25T10:00:00.123456789Z","lane":"event","source":"ci","name":"deploy"}

Rotation by size (the full file gets the UTC time before its suffixes) and gzip:

  $ ben ingest -q "$DATA/sample-app.ndjson" | ben sink -q --to file:rot/app.ndjson.gz --gzip --rotate-size 8k --batch-rows 50
  $ ls rot | sed -E 's/[0-9]{8}T[0-9]{6}Z(-[0-9]+)?/STAMP/' | sort -u
  app.STAMP.ndjson.gz
  app.ndjson.gz
  $ cat rot/* | gzip -dc | wc -l
  600

How many files there are depends on how well the records compress; each record is in one of them once:

  $ cat rot/* | gzip -dc | jq -r '._ingest.line' | sort -n | uniq -d | wc -l
  0

A record without a time cannot be stored in a time-series table; it goes to --rejects:

  $ printf '{"name":"no time"}\n{"ts":"2026-11-25T10:00:00Z"}\n' | ben sink --to - --rejects bad.ndjson
  {"ts":"2026-11-25T10:00:00Z"}
  ben sink: read 2, wrote 1, rejected 1
    rejected line 1: ts: the record has no ts
  $ jq -c '{stage, line, reason}' bad.ndjson
  {"stage":"sink","line":1,"reason":"ts: the record has no ts"}

Target URLs are checked before anything is read; a bad one is a usage error (exit 2), on one line:

  $ ben sink --to postgres://db/x < /dev/null
  ben sink: unknown target 'postgres://db/x': use clickhouse://host/db, clickhouse+http://host/db, nats://host/SUBJECT, file:PATH or -
  [2]
  $ ben sink --batch-age 1h30x < /dev/null 2>&1 | grep -o "not a duration.*"
  not a duration: '1h30x' (try 500ms, 90s, 15m, 1h30m, 2d or 1w)

A server that cannot be reached within --retry-for is a runtime error (exit 1), and so is one
that refuses a query:

  $ echo '{"ts":"2026-11-25T10:00:00Z"}' | ben sink --to clickhouse://127.0.0.1:1/x --retry-for 0
  ben sink: connect: gave up after 0 s: Code: 210. Connection refused (127.0.0.1:1)
  [1]
  $ ben db status --to clickhouse://127.0.0.1:1/x
  ben db status: Code: 210. Connection refused (127.0.0.1:1)
  [1]
  $ ben db status --to clickhouse+http://127.0.0.1/x
  ben db status: schema work and queries need a clickhouse:// URL (the native port), not 'clickhouse+http://127.0.0.1/x'
  [2]

Saved queries ship with ben; --list shows their parameters:

  $ ben db proc --list | jq -r '.name + " " + ([.params[].name] | join(","))'
  error-rates minutes
  series-around source,name,at,minutes
  top-anomalies minutes,limit

ben db init --print shows the DDL a server would get, here for a cluster on a current server:

  $ ben db init --to clickhouse://ch1/ben --cluster prod --schema modern --print | grep -E '^CREATE (TABLE|DATABASE)' | cut -c1-100
  CREATE DATABASE IF NOT EXISTS `ben` ON CLUSTER `prod`;
  CREATE TABLE IF NOT EXISTS `ben`.`ben_schema` ON CLUSTER `prod` (table String, version UInt32, flavo
  CREATE TABLE IF NOT EXISTS `ben`.`telemetry_local` ON CLUSTER `prod` (
  CREATE TABLE IF NOT EXISTS `ben`.`telemetry` ON CLUSTER `prod` AS `ben`.`telemetry_local` ENGINE = D
  CREATE TABLE `ben`.`telemetry_minute_local` ON CLUSTER `prod` (lane LowCardinality(String), source L
  CREATE TABLE IF NOT EXISTS `ben`.`telemetry_minute` ON CLUSTER `prod` AS `ben`.`telemetry_minute_loc
  CREATE TABLE `ben`.`telemetry_anomalies_local` ON CLUSTER `prod` (ts DateTime64(9, 'UTC'), lane LowC
  CREATE TABLE IF NOT EXISTS `ben`.`telemetry_anomalies` ON CLUSTER `prod` AS `ben`.`telemetry_anomali
