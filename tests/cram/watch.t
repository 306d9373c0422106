  $ . "$TESTDIR/setup.sh"

The sample logs and database metrics, scrubbed and judged by detect:

  $ ben ingest -q "$DATA/sample-app.ndjson" "$DATA/sample-db.logfmt" | ben scrub -q | ben detect -q > detected.ndjson

Without a full terminal, --once reads the input to its end and prints what the dashboard would
show, in plain text (exact counts, the verdict and incidents in narrate's words, scrub marks and
rejects), and a summary line on stderr:

  $ (cat detected.ndjson; echo 'not json') | ben watch --once
  ben watch: 720 records, 1 rejected, newest 2026-11-25T10:59:30Z
  lanes: diag 720 (of 720)
  severities: info 718, error 2 (of 720)
  top sources:
    web-1           200  errors 0%
    web-2           200  errors 1%
    web-3           200  errors 0%
    db-1            120  errors 0%
  top names:
    http.request           600  errors 0.33%
    cpu.usage              120  errors 0%
  anomalies: 2 of 720 records judged by ben detect
    2026-11-25T10:30:06Z  web-2/http.request  score 0.951  value 431.1 (expected 117.4)
    2026-11-25T10:40:00Z  db-1/cpu.usage  score 0.935  value 59.9 (expected 30.71)
  verdict: INCIDENT: 1 major incident; the worst: cpu.usage on db-1, from 10:40 UTC, still in force at the end.
    incident 1 (major): cpu.usage on db-1, from 10:40 UTC, still in force at the end
      cpu.usage on db-1 stepped up from 31.1% to 57.8% at 10:40 UTC and stayed there.
    earlier: 2026-11-25T10:30:00Z to 2026-11-25T10:35:00Z INCIDENT: http.request latency on web-2, from 10:30:06 UTC, still in force at the end
  scrubbed: 600 records (email 600 and ipv4 600)
  rejected: 1 (invalid JSON 1)
    line 721: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  ben watch: read 721, wrote 0, rejected 1, anomalies 2

Records that no detector judged give UNKNOWN, and no records at all NO DATA, never HEALTHY:

  $ ben ingest -q "$DATA/sample-app.ndjson" | ben watch --once -q | grep verdict
  verdict: UNKNOWN: 50 records from 3 sources over 5 minutes, but no series marked by ben detect, so nothing was judged (run ben detect before ben narrate).
  $ ben watch --once -q < /dev/null | grep verdict
  verdict: NO DATA: No records in this range: nothing arrived to judge (an empty input or a failed earlier stage).

The same from a file (or gzip on stdin), and a picture of the dashboard instead of text:

  $ gzip -c detected.ndjson | ben watch --once -q | head -1
  ben watch: 720 records, 0 rejected, newest 2026-11-25T10:59:30Z

  $ ben watch --once -q --from detected.ndjson | head -1
  ben watch: 720 records, 0 rejected, newest 2026-11-25T10:59:30Z
  $ ben watch --from detected.ndjson --snapshot dash.svg --size 100x30
  ben watch: snapshot written to dash.svg
  ben watch: read 720, wrote 0, rejected 0, anomalies 2
  $ head -c 4 dash.svg; echo
  <svg
  $ grep -c 'Incidents' dash.svg
  1

--tee passes the input on unchanged (here beside --snapshot, which needs no terminal):

  $ printf '{"a":1}\nnot json\n' | ben watch -q --tee --snapshot t.svg
  {"a":1}
  not json

The dashboard needs a terminal: without one it says what to use instead and exits 3:

  $ ben watch < detected.ndjson
  ben watch: stderr is not a terminal, so the dashboard has nowhere to draw (use --once for a text summary or --snapshot FILE.svg for a picture)
  [3]

Options that cannot work together, and a missing file, are usage errors (exit 2):

  $ ben watch --once --tee < /dev/null
  ben watch: --once and --tee both write to stdout: choose one
  [2]
  $ ben watch --follow < /dev/null
  ben watch: --follow: only with --from FILE or a ClickHouse URL (a pipe follows by itself)
  [2]
  $ ben watch --once --from missing.ndjson
  ben watch: --from missing.ndjson: No such file or directory
  [2]
  $ ben watch --snapshot x.svg --size 10x10 < /dev/null
  ben watch: --size: COLUMNSxROWS between 40x10 and 500x200, not '10x10'
  [2]
