  $ . "$TESTDIR/setup.sh"

A NATS server with JetStream, on a free loopback port, its files here; stopped at the end:

  $ PORT=$("$ROOT/tests/support/free-port")
  $ "$ROOT/tests/support/nats-test-server" start nats "$PORT"
  $ URL="nats://127.0.0.1:$PORT/telemetry"

ben sink --to nats:// publishes every record to SUBJECT.<partition>, the partition being the
hash of its series key (--by) modulo the stream's partitions, and waits for JetStream's
acknowledgements:

  $ ben ingest -q $DATA/sample-app.ndjson > app.ndjson
  $ ben sink --to "$URL" --partitions 6 app.ndjson
  ben sink: read 600, wrote 600, rejected 0

Publishing the same records again stores nothing twice: each message carries an id made of the
record's ingest position and content, and JetStream drops the repeats:

  $ ben sink --to "$URL" --from-start app.ndjson
  ben sink: read 600, wrote 0, rejected 0, already in the stream 600

ben ingest --from reads a durable consumer per partition; a record's _ingest mark names its
partition and stream sequence. --max-idle stops once nothing comes:

  $ ben ingest --from "$URL" --durable reader --max-idle 500ms > read.ndjson
  ben ingest: read 600, wrote 600, rejected 0
  $ head -1 read.ndjson | jq -c ._ingest
  {"format":"nats","in":"nats:BEN_telemetry.*","at":*,"line":*} (glob)

What was handed on is acknowledged, so the durable consumer does not read it again:

  $ ben ingest --from "$URL" --durable reader --max-idle 300ms
  ben ingest: read 0, wrote 0, rejected 0

Three hosts each run ben run --shard i/3 over the stream: the shard picks the partitions, so
every series is read by one of them; together they hold what one run holds:

  $ for i in 0 1 2; do
  >   ben run -q --shard $i/3 -e "ingest --from $URL --durable shard --max-idle 500ms | detect | sink --ack S$i --to file:part$i.ndjson"
  > done
  $ ben run -q -e "ingest --from $URL --durable whole --max-idle 500ms | detect | sink --ack W --to file:whole.ndjson"
  $ cat part0.ndjson part1.ndjson part2.ndjson | sort | cmp - <(sort whole.ndjson) && wc -l < whole.ndjson
  600
  $ for i in 0 1 2; do jq -r '.source + " " + .name' part$i.ndjson | sort -u | sed "s/^/$i /"; done | awk '{print $2, $3}' | sort | uniq -d

A NATS address that is not one, and a stream that does not exist yet, are usage errors:

  $ ben sink --to nats://127.0.0.1/a.* < app.ndjson
  ben sink: 'nats://127.0.0.1/a.*': the subject must be dotted words of letters, digits, _ and - (no wildcards)
  [2]
  $ ben ingest --from "nats://127.0.0.1:$PORT/nothing" --durable d
  ben ingest: nats://127.0.0.1:*: no stream BEN_nothing for subject nothing: publish to it first (ben sink --to nats://...) (glob)
  [2]

  $ "$ROOT/tests/support/nats-test-server" stop nats
