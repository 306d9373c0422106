  $ . "$TESTDIR/setup.sh"

A web host whose latency rose for twelve minutes, marked the way ben detect marks records (the
first hour's points, a 412 ms plateau from 10:30 to 10:42):

  $ awk 'BEGIN{for(i=0;i<60;i++){v=120+(i*7%11)-5; a="false"; s="0.1"; if(i>=30&&i<42){v=412+(i*5%9)-4; a="true"; s="0.99"};
  >   printf "{\"ts\":\"2026-11-25T10:%02d:00Z\",\"lane\":\"diag\",\"source\":\"web-3\",\"name\":\"http.request\",\"value\":%d,\"unit\":\"ms\",\"anomaly\":{\"detector\":\"ewma\",\"score\":%s,\"is_anomaly\":%s,\"expected\":120}}\n", i, v, s, a}}' > spike.ndjson

The report says what happened, in sentences, with the numbers a person needs:

  $ ben narrate spike.ndjson
  Health report: 25 Nov 2026, 10:00 to 10:59 UTC (59 minutes)
  Verdict: INCIDENT. 1 major incident; the worst: http.request latency on web-3, 10:30 to 10:42 UTC
    (12 minutes).
  Watched 1 series (60 readings judged by ben detect) over 59 minutes.
  
  Incidents
    1. major (severity 50.8): http.request latency on web-3, 10:30 to 10:42 UTC (12 minutes)
       web-3's http.request latency rose to 412 ms, 3.4x its usual 120 ms, from 10:30 to 10:42 UTC (12
       minutes).
  
  Volume and errors (60 records from 1 source)
    source  lane  records  rate   warnings  errors
    web-3   diag  60       1/min  0%        0%
    By lane: diag 60 (100%)
  ben narrate: read 60, wrote 1, rejected 0, anomalies 12, incidents 1

The same as data, for machines:

  $ ben narrate -q --format json spike.ndjson | jq -c '.verdict, (.incidents[0].episodes[0] | [.kind, .direction, .start, .end, .baseline, .level])'
  "incident"
  ["spike","up","2026-11-25T10:30:00Z","2026-11-25T10:42:00Z",120,412.5]

Markdown for a ticket, and one self-contained HTML file with a sparkline:

  $ ben narrate -q --format markdown spike.ndjson | head -7
  # Health report: 25 Nov 2026, 10:00 to 10:59 UTC (59 minutes)
  
  **Verdict: incident.** 1 major incident; the worst: http.request latency on web-3, 10:30 to 10:42 UTC (12 minutes).
  
  Watched 1 series (60 readings judged by ben detect) over 59 minutes.
  
  ## Incidents
  $ ben narrate -q --format html spike.ndjson > report.html
  $ grep -c '<svg' report.html; grep -c 'src=\|<link\|<script' report.html
  1
  0
  [1]

Only the first half hour, which was quiet:

  $ ben narrate -q --until 2026-11-25T10:30:00Z spike.ndjson | head -2
  Health report: 25 Nov 2026, 10:00 to 10:30 UTC (30 minutes)
  Verdict: HEALTHY. No anomalies among 30 records from 1 source over 30 minutes.

Streaming: records pass through, and each 30-minute window ends with a narrative record:

  $ ben narrate -q --every 30m spike.ndjson | jq -c 'select(.name == "ben.narrative") | [.ts, .severity, .attrs.verdict, .attrs["incident.1.sources"]]'
  ["2026-11-25T10:30:00Z","info","healthy",null]
  ["2026-11-25T11:00:00Z","error","incident","web-3"]

The whole pipeline on the bundled sample: ingest, detect, narrate:

  $ ben ingest -q "$DATA/sample-app.ndjson" "$DATA/sample-db.logfmt" | ben detect -q | ben narrate -q | sed -n '1,10p'
  Health report: 25 Nov 2026, 10:00:00 to 10:59:54 UTC (59 minutes 54 seconds)
  Verdict: INCIDENT. 2 major incidents; the worst: http.request latency on web-2, 10:30:06 to 10:36:06
    UTC (6 minutes).
  Watched 4 series (720 readings judged by ben detect) over 59 minutes 54 seconds.
  
  Incidents
    1. major (severity 55.8): http.request latency on web-2, 10:30:06 to 10:36:06 UTC (6 minutes)
       web-2's http.request latency rose to 412 ms, 3.5x its usual 119 ms, from 10:30:06 to 10:36:06
       UTC (6 minutes). Meanwhile web-2 logged 2 errors.
    2. major (severity 52.8): cpu.usage on db-1, from 10:40 UTC, still in force at the end

What earlier stages scrubbed and rejected is reported too:

  $ printf '{"ts":"2026-11-25T10:00:00Z","source":"api","name":"log","severity":"error","redacted":["email","ipv4"]}\n{"ts":"2026-11-25T10:01:00Z","source":"api","name":"log","severity":"info","redacted":["email"]}\n' > scrubbed.ndjson
  $ printf '{"stage":"ingest","file":"app.log","line":7,"reason":"invalid JSON: unexpected end of data"}\n' > rejects.ndjson
  $ ben narrate -q --rejected rejects.ndjson scrubbed.ndjson | tail -5
  Scrubbed
    2 records carried personal data or secrets, redacted by scrub: email 2, ipv4 1.
  
  Rejected
    ingest rejected 1 line (invalid JSON 1).

No input is NO DATA, never HEALTHY, and exits 1 (--fail-on nodata, the default; verdicts.t has
each verdict); bad lines are counted, and usage errors exit 2:

  $ ben narrate -q -f json < /dev/null | jq -c '[.verdict, .watched]'
  ben narrate: verdict NO DATA, one --fail-on names: exit status 1
  ["nodata",{"points":0,"series":0}]
  $ printf 'not json\n' | ben narrate -f json --rejects bad.ndjson | jq .rejected.narrate
  ben narrate: read 1, wrote 1, rejected 1, anomalies 0, incidents 0
    rejected line 1: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  ben narrate: verdict NO DATA, one --fail-on names: exit status 1
  1
  $ ben narrate --every never < /dev/null
  ben narrate: --every: not a duration: 'never' (try 500ms, 90s, 15m, 1h30m, 2d or 1w)
  [2]
  $ printf 'not json\n' | ben narrate --strict
  ben narrate: line 1: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  [1]
