  $ . "$TESTDIR/setup.sh"

Every EXAMPLES entry of ben-detect(1) and ben-narrate(1), run on the bundled samples (the file
names of the examples are made here from them).

ben detect, example 1: Prometheus text through detect (every sample is marked):

  $ cp "$DATA/sample-queue.prom" metrics.txt
  $ ben ingest --format prom metrics.txt 2> /dev/null | ben detect | jq -c 'select(.anomaly) | [.name, .anomaly.series]' | sort -u | head -3
  ben detect: read 240, wrote 240, rejected 0, series 1
  ["queue_depth","/queue_depth"]

Example 2: latency per route with the MAD detector, only the anomalies; the route and the
latency are in attrs, so --field and --by reach into them:

  $ awk 'BEGIN{for(i=0;i<300;i++){for(r=1;r<=2;r++){ms=(r==1?40:400)+(i*7%5); if(r==1&&i==250)ms=900;
  >   printf "{\"ts\":\"2026-11-25T10:%02d:%02dZ\",\"source\":\"web-1\",\"name\":\"access\",\"attrs\":{\"route\":\"/r%d\",\"ms\":%d}}\n", i/60, i%60, r, ms}}}' > access.ndjson
  $ ben detect --detector mad --field attrs.ms --by source,attrs.route --only-anomalies access.ndjson | jq -c '[.ts, .anomaly.series, .anomaly.field, .anomaly.value, .anomaly.expected]'
  ben detect: read 600, wrote 1, rejected 0, series 2
  ["2026-11-25T10:04:10Z","web-1//r1","attrs.ms",900,42]

Example 3: from cron, state carried between runs:

  $ ben ingest -q "$DATA/sample-app.ndjson" > all.ndjson
  $ head -300 all.ndjson > new.ndjson
  $ ben detect --state detect.state --expire 7d --max-series 20000 new.ndjson | tail -1 | jq -c '.anomaly | [.series, .is_anomaly]'
  ben detect: read 300, wrote 300, rejected 0, series 3, expired 0
  ["web-3/http.request",false]
  $ tail -n +301 all.ndjson > new.ndjson
  $ ben detect --state detect.state --expire 7d --max-series 20000 new.ndjson | wc -l
  ben detect: read 300, wrote 300, rejected 0, series 3, expired 0
  300

Example 4: a more sensitive EWMA, then the list of detectors:

  $ cp all.ndjson metrics.ndjson
  $ ben detect --detector ewma --param L=2.5 metrics.ndjson > /dev/null && ben detect --list | grep -c '^[a-z]'
  ben detect: read 600, wrote 600, rejected 0, series 3
  12

ben narrate, example 1: a health report on a marked stream (app.log: the bundled sample):

  $ cp "$DATA/sample-app.ndjson" app.log
  $ ben ingest app.log 2> /dev/null | ben detect 2> /dev/null | ben narrate -q | head -3
  Health report: 25 Nov 2026, 10:00:00 to 10:59:54 UTC (59 minutes 54 seconds)
  Verdict: INCIDENT. 1 major incident; the worst: http.request latency on web-2, 10:30:06 to 10:36:06
    UTC (6 minutes).

Example 2: one HTML page for one day, with what ingest rejected:

  $ (cat app.log; echo 'not json') | ben ingest -q --rejects bad.ndjson | ben detect -q > marked.ndjson
  $ ben narrate --format html --since 2026-11-25T00:00:00Z --until 2026-11-26T00:00:00Z --rejected bad.ndjson marked.ndjson > report.html
  ben narrate: read 600, wrote 1, rejected 0, anomalies 1, incidents 1
  $ grep -o 'Verdict: [a-z ]*' report.html; grep -c 'ingest rejected 1 line' report.html
  Verdict: incident
  1

Example 3: streaming with a narrative record every five minutes, into a sink; here ingest reads
the file once (--follow would wait for more) and the sink is a file, not ClickHouse:

  $ ben ingest -q app.log | ben detect -q | ben narrate -q --every 5m | ben sink -q --to file:$PWD/events.ndjson
  $ jq -c 'select(.name == "ben.narrative") | .attrs.verdict' events.ndjson | sort | uniq -c | sed 's/^ *//'
  11 "healthy"
  1 "incident"
