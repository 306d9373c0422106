  $ . "$TESTDIR/setup.sh"

Tied with --ack, ingest stamps each record with its input and the offset past its line, and the
sink keeps, beside the ingest state, how far it holds each input:

  $ printf '{"msg":"one"}\n{"msg":"two"}\n' > app.log
  $ ben ingest -q --since-last --ack --state S app.log | ben sink --ack S --to file:out.ndjson
  ben sink: read 2, wrote 2, rejected 0
  $ grep -o '"at":[0-9]*' out.ndjson
  "at":14
  "at":28

A sink that died left records in flight: ingest resumes from what the sink acknowledged, not
from what it read, and the sink drops what it already stored:

  $ printf '{"msg":"three"}\n' >> app.log
  $ ben ingest -q --since-last --ack --state S app.log > /dev/null
  $ ben ingest -q --since-last --ack --state S app.log | ben sink --ack S --to file:out.ndjson
  ben sink: read 1, wrote 1, rejected 0
  $ wc -l < out.ndjson
  3

The same records read again (a file of them replayed) are dropped and counted:

  $ ben sink --ack S --to file:out.ndjson out.ndjson
  ben sink: read 3, wrote 0, rejected 0, already stored 3

A pipe cannot be continued; stdin redirected from a file can:

  $ printf '{"msg":"x"}\n' | ben ingest --since-last --state S3
  ben ingest: --since-last needs named files to read (or stdin redirected from a file, not a pipe)
  [2]
  $ ben ingest -q --since-last --state S3 < app.log | wc -l
  3
  $ ben ingest -q --since-last --state S3 < app.log | wc -l
  0

With --every and --state in a tied pipeline, narrate counts a record read again once, and the
narrative it writes again (its window's closing record came again) carries a position the sink
drops:

  $ for i in 0 1 2 3 4; do printf '{"ts":"2026-11-25T10:0%d:00Z","name":"cpu","value":1}\n' $i; done > m.log
  $ ben ingest -q --since-last --state S5 m.log > stamped.ndjson
  $ head -3 stamped.ndjson | ben narrate --every 2m --state N | ben sink --ack S4 --to file:narrated.ndjson
  ben narrate: read 3, wrote 4, rejected 0, narratives 1
  ben sink: read 4, wrote 4, rejected 0
  $ ben narrate --every 2m --state N stamped.ndjson | ben sink --ack S4 --to file:narrated.ndjson
  ben narrate: read 5, wrote 7, rejected 0, narratives 1, seen before 3
  ben sink: read 7, wrote 3, rejected 0, already stored 4
  $ grep -c ben.narrative narrated.ndjson
  2
  $ grep -o '"window_start":"[^"]*","window_end":"[^"]*","partial":false,"records":2' narrated.ndjson
  "window_start":"2026-11-25T10:00:00Z","window_end":"2026-11-25T10:02:00Z","partial":false,"records":2
  "window_start":"2026-11-25T10:02:00Z","window_end":"2026-11-25T10:04:00Z","partial":false,"records":2
