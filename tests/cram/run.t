  $ . "$TESTDIR/setup.sh"

ben run holds the stages of a shell pipeline in one process. The same pipeline, written with the
same options, gives the same records, byte for byte:

  $ ben ingest -q $DATA/sample-app.ndjson | ben scrub -q | ben detect -q --by source,name > piped.ndjson
  $ ben run -q -e "ingest $DATA/sample-app.ndjson | scrub | detect --by source,name" > run.ndjson
  $ cmp piped.ndjson run.ndjson && wc -l < run.ndjson
  600

Each stage reports as its command would; ingest still says which format it sniffed:

  $ ben run -e "ingest $DATA/sample-app.ndjson | scrub | detect | sink --to file:stored.ndjson"
  ben ingest: */tests/data/sample-app.ndjson: format ndjson (from 100 lines) (glob)
  ben ingest: read 600, wrote 600, rejected 0
  ben scrub: read 600, wrote 600, rejected 0
  ben detect: read 600, wrote 600, rejected 0, series 3
  ben sink: read 600, wrote 600, rejected 0

A pipeline file names the same stages with the same option names; --check reads every stage's
options with its command's own parser and runs nothing:

  $ cat > pipeline.toml <<TOML
  > [[stage]]
  > use = "ingest"
  > args = { inputs = ["$DATA/sample-app.ndjson"] }
  > [[stage]]
  > use = "scrub"
  > [[stage]]
  > use = "detect"
  > args = { by = "source,name", threshold = 0.5 }
  > [[stage]]
  > use = "narrate"
  > TOML
  $ ben run --check pipeline.toml
  1. ingest
  2. scrub
  3. detect
  4. narrate
  ben run: the pipeline is valid (4 stages)
  $ ben run -q pipeline.toml | head -2
  Health report: 25 Nov 2026, 10:00:00 to 10:59:54 UTC (59 minutes 54 seconds)
  Verdict: INCIDENT. 1 major incident; the worst: http.request latency on web-2, 10:30:06 to 10:36:06

A mistake names its stage, and is a usage error:

  $ ben run --check -e 'ingest app.log | scrub | detect --treshold 0.9'
  ben run: stage 3 (detect): No such option '--treshold'. Did you mean '--threshold'?
  [2]
  $ ben run --check -e 'scrub | sink --to file:x | narrate'
  ben run: stage 2 (sink): sink can only be the last stage (it passes nothing on)
  [2]
  $ printf '[[stage]]\nuse = "detect"\nargs = { bye = "source" }\n' > bad.toml
  $ ben run --check bad.toml 2>&1 | cut -c1-60
  ben run: bad.toml: stage 1 (detect): no option 'bye' (option
  $ ben run --check -e 'scrub --print-policy'
  ben run: stage 1 (scrub): --print-policy is for the command alone, not in ben run
  [2]

Without ingest the first stage reads NDJSON from stdin, as the command would:

  $ ben run -q -e 'detect --by source' < piped.ndjson | jq -c '.anomaly.series' | sort | uniq -c
      200 "web-1"
      200 "web-2"
      200 "web-3"

--workers runs the stages between the source and the end in processes sharded by the series key
(detect's --by): every series on one worker, in its order, so the records per series are the
same as with one process:

  $ ben run -q --workers 2 -e "ingest $DATA/sample-app.ndjson | scrub | detect --by source,name" | sort > workers.ndjson
  $ sort run.ndjson | cmp - workers.ndjson && echo same
  same

--stats-every adds diag records about the pipeline itself (here only the last ones, at the end):

  $ ben run -q --stats-every 1h -e "ingest $DATA/sample-app.ndjson | scrub | detect" | jq -c 'select(.name == "ben.run.stage") | [.attrs.stage, .attrs.use, .attrs.read, .unit]'
  [1,"source",600,"records/s"]
  [2,"scrub",600,"records/s"]
  [3,"detect",600,"records/s"]

A route stage sends a copy of the records its filters match to a branch of stages of its own
(here the errors to a file of their own), and the main line goes on with every record:

  $ ben run -e "ingest $DATA/sample-app.ndjson | scrub | route --when 'severity>=error' --to 'sink --to file:errors.ndjson' | detect" > main.ndjson
  ben ingest: */tests/data/sample-app.ndjson: format ndjson (from 100 lines) (glob)
  ben ingest: read 600, wrote 600, rejected 0
  ben scrub: read 600, wrote 600, rejected 0
  ben route: read 600, wrote 600, rejected 0, routed 2
  ben route -> sink: read 2, wrote 2, rejected 0
  ben detect: read 600, wrote 600, rejected 0, series 3
  $ cmp main.ndjson run.ndjson && jq -c '[.source, .severity, .value]' errors.ndjson
  ["web-2","error",407]
  ["web-2","error",393.1]

The cron pipeline of the exactly-once transcript runs in one process too: ingest resumes from
what the sink acknowledged, so a second run stores only the lines added since:

  $ cp $DATA/sample-app.ndjson app.log
  $ P="ingest --since-last --ack --state S app.log | scrub | detect | sink --ack S --to file:stored-once.ndjson"
  $ ben run -q -e "$P" && head -5 $DATA/sample-app.ndjson >> app.log && ben run -e "$P"
  ben ingest: read 5, wrote 5, rejected 0
  ben scrub: read 5, wrote 5, rejected 0
  ben detect: read 5, wrote 5, rejected 0, series 3
  ben sink: read 5, wrote 5, rejected 0
  $ wc -l < stored-once.ndjson
  605
