  $ . "$TESTDIR/setup.sh"

A verdict says what the report knows. Nothing arrived (an empty pipe): NO DATA, exit status 1,
because --fail-on nodata is the default and a cron job must hear about it:

  $ echo -n | ben narrate
  Health report: no records
  Verdict: NO DATA. No records in this range: nothing arrived to judge (an empty input or a failed
    earlier stage).
  Watched no series: no record carried a mark of ben detect.
  ben narrate: read 0, wrote 1, rejected 0, anomalies 0, incidents 0
  ben narrate: verdict NO DATA, one --fail-on names: exit status 1
  [1]
  $ echo garbage | ben narrate
  Health report: no records
  Verdict: NO DATA. No readable records in this range (1 line could not be read or had no time).
  Watched no series: no record carried a mark of ben detect.
  
  Rejected
    narrate could not read 1 line.
  ben narrate: read 1, wrote 1, rejected 1, anomalies 0, incidents 0
    rejected line 1: invalid JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0)
  ben narrate: verdict NO DATA, one --fail-on names: exit status 1
  [1]

A stage that failed upstream leaves narrate nothing to read; under pipefail the pipeline fails
either way, and narrate's own status says NO DATA too:

  $ set -o pipefail
  $ ben ingest -q /nonexistent/app.log | ben detect -q | ben narrate -q
  ben ingest: /nonexistent/app.log: No such file or directory; skipped
  Health report: no records
  Verdict: NO DATA. No records in this range: nothing arrived to judge (an empty input or a failed
    earlier stage).
  Watched no series: no record carried a mark of ben detect.
  ben narrate: verdict NO DATA, one --fail-on names: exit status 1
  [1]
  $ false | ben narrate -q > /dev/null
  ben narrate: verdict NO DATA, one --fail-on names: exit status 1
  [1]
  $ set +o pipefail

Records that no detector judged (ben detect never ran): UNKNOWN, not HEALTHY; exit 0 unless
--fail-on unknown:

  $ ben ingest -q "$DATA/sample-app.ndjson" > app.ndjson
  $ ben narrate -q app.ndjson | head -3
  Health report: 25 Nov 2026, 10:00:00 to 10:59:54 UTC (59 minutes 54 seconds)
  Verdict: UNKNOWN. 600 records from 3 sources over 59 minutes 54 seconds, but no series marked by ben
    detect, so nothing was judged (run ben detect before ben narrate).
  $ ben narrate -q --fail-on unknown app.ndjson > /dev/null
  ben narrate: verdict UNKNOWN, one --fail-on names: exit status 1
  [1]

Plain logs carry no numbers, so detect has nothing to judge even when it ran; the verdict says how
to watch a log's volume and errors instead:

  $ printf '2026-11-25T10:00:0%s Z web-1 nginx: worker %s started\n' 1 1 2 2 3 3 > plain.log
  $ ben ingest -q --format lines plain.log | ben detect -q | ben narrate -q | sed -n 2,5p
  Verdict: UNKNOWN. 3 records from 1 source over 2 seconds, none with a numeric value, so nothing was
    judged (to watch a log's volume and errors, count it into series first: ben count --every 1m --by
    source,severity | ben detect | ben narrate).
  Watched no series: no record carried a mark of ben detect.

Series watched and nothing found: HEALTHY, with how many series were watched over what span:

  $ ben detect -q app.ndjson > marked.ndjson
  $ ben narrate -q --until 2026-11-25T10:20:00Z marked.ndjson | head -3
  Health report: 25 Nov 2026, 10:00 to 10:20 UTC (20 minutes)
  Verdict: HEALTHY. No anomalies among 200 records from 3 sources over 20 minutes.
  Watched 3 series (200 readings judged by ben detect) over 20 minutes.

An incident: exit 0 by default, 1 with --fail-on incident (or degraded, which includes worse):

  $ ben narrate -q marked.ndjson | sed -n 2p
  Verdict: INCIDENT. 1 major incident; the worst: http.request latency on web-2, 10:30:06 to 10:36:06
  $ ben narrate -q --fail-on incident marked.ndjson > /dev/null
  ben narrate: verdict INCIDENT, one --fail-on names: exit status 1
  [1]
  $ ben narrate -q --fail-on degraded,nodata marked.ndjson > /dev/null
  ben narrate: verdict INCIDENT, one --fail-on names: exit status 1
  [1]
  $ ben narrate -q --fail-on never < /dev/null > /dev/null
  $ ben narrate -q --fail-on sometimes < /dev/null
  ben narrate: --fail-on: must be one or more of nodata, unknown, degraded, incident, never (comma-separated), not 'sometimes'
  [2]
