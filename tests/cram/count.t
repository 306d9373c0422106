  $ . "$TESTDIR/setup.sh"

Logs into signals: ben count turns events into one record per minute and key, with the count as
value. Two web hosts log about three errors a minute; web-2 logs 140 a minute from 10:31 to 10:35:

  $ awk 'BEGIN{for(m=0;m<60;m++){for(h=1;h<=2;h++){e=(h==2&&m>=31&&m<36)?140:2+(m*7+h)%3;
  >   for(i=0;i<e+20;i++){s=(i<e)?"error":"info"; printf "{\"ts\":\"2026-11-25T10:%02d:%02dZ\",\"source\":\"web-%d\",\"severity\":\"%s\",\"body\":\"GET /pay %d\"}\n", m, i%60, h, s, (i<e)?500:200}}}}' | sort > app.ndjson
  $ ben count --every 1m --by source,severity --where 'severity>=error' app.ndjson | jq -c 'select(.source == "web-2") | [.ts, .name, .value]' | sed -n '30,33p'
  ben count: read 3446, wrote 120, rejected 0, counted 1046, late 0, untimed 0
  ["2026-11-25T10:29:00Z","count.error",3]
  ["2026-11-25T10:30:00Z","count.error",4]
  ["2026-11-25T10:31:00Z","count.error",140]
  ["2026-11-25T10:32:00Z","count.error",140]

Through detect and narrate, the burst is reported, found in log lines alone:

  $ ben count -q --every 1m --by source,severity --where 'severity>=error' app.ndjson | ben detect -q | ben narrate -q | sed -n '2,9p'
  Verdict: DEGRADED. 1 minor incident (count.error on web-2, 10:31 to 10:36 UTC (5 minutes)).
  Watched 2 series (120 readings judged by ben detect) over 59 minutes.
  
  Incidents
    1. minor (severity 46.3): count.error on web-2, 10:31 to 10:36 UTC (5 minutes)
       web-2's count.error rose to 140, 47x its usual 3, from 10:31 to 10:36 UTC (5 minutes).
  
  Volume and errors (120 records from 2 sources)

A body regex and a filter on any path; a window waits --lateness for late records, and records
later than that are counted as late:

  $ ben count -q --every 1m --by source --where 'body~ 5\d\d$' app.ndjson | jq -c 'select(.ts == "2026-11-25T10:31:00Z") | [.source, .name, .value]'
  ["web-1","count",4]
  ["web-2","count",140]
  $ printf '{"ts":"2026-11-25T10:00:10Z","source":"a"}\n{"ts":"2026-11-25T10:01:40Z","source":"a"}\n{"ts":"2026-11-25T10:00:50Z","source":"a"}\n{"ts":"2026-11-25T10:03:00Z","source":"a"}\n{"ts":"2026-11-25T10:00:55Z","source":"a"}\n' | ben count --every 1m --by source --lateness 45s | jq -c '[.ts, .value]'
  ben count: read 5, wrote 4, rejected 0, counted 4, late 1, untimed 0
  ["2026-11-25T10:00:00Z",2]
  ["2026-11-25T10:01:00Z",1]
  ["2026-11-25T10:02:00Z",0]
  ["2026-11-25T10:03:00Z",1]

From cron, --state keeps the open windows for the next run:

  $ head -2000 app.ndjson | ben count --every 1m --state count.state | wc -l
  ben count: read 2000, wrote 136, rejected 0, counted 2000, late 0, untimed 0, open 1
  136
  $ tail -n +2001 app.ndjson | ben count --every 1m --state count.state | wc -l
  ben count: read 1446, wrote 100, rejected 0, counted 1446, late 0, untimed 0, open 1
  100

A filter that cannot be read is a usage error:

  $ ben count --where 'severity>=loud' < /dev/null
  ben count: --where: 'severity>=loud': severity is one of trace, debug, info, warn, error, fatal
  [2]
