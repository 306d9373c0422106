  $ . "$TESTDIR/setup.sh"

A Prometheus counter of 5xx responses: 60 a minute, then 720 a minute from 10:40 to 10:45, and a
restart at 10:52 that starts the count again from 0 (60 counted since):

  $ awk 'BEGIN{print "# TYPE http_requests_total counter"; t=0; for(i=0;i<60;i++){t+=(i>=40&&i<45)?720:60; if(i==52)t=60;
  >   printf "http_requests_total{code=\"500\"} %d %.0f\n", t, 1795600800000+i*60000}}' > metrics.txt
  $ ben ingest -q --format prom metrics.txt | ben rate | jq -c 'select(.ts >= "2026-11-25T10:39:00Z" and .ts <= "2026-11-25T10:41:00Z" or .attrs["counter.reset"]) | [.ts, .value, .unit, .attrs["counter.reset"]]'
  ben rate: read 60, wrote 59, rejected 0, rates 59, resets 1, first 1
  ["2026-11-25T10:39:00Z",1,"1/s",null]
  ["2026-11-25T10:40:00Z",12,"1/s",null]
  ["2026-11-25T10:41:00Z",12,"1/s",null]
  ["2026-11-25T10:52:00Z",1,"1/s",true]

Through detect and narrate the report speaks of the rate, and the restart is no incident:

  $ ben ingest -q --format prom --source api-1 metrics.txt | ben rate -q | ben detect -q --by source,name,attrs.code | ben narrate -q | sed -n '2,8p'
  Verdict: DEGRADED. 1 minor incident (http_requests_total on api-1, 10:40 to 10:45 UTC (5 minutes)).
  Watched 1 series (59 readings judged by ben detect) over 58 minutes.
  
  Incidents
    1. minor (severity 45.1): http_requests_total on api-1, 10:40 to 10:45 UTC (5 minutes)
       api-1's http_requests_total rose to 12/s, 12x its usual 1/s, from 10:40 to 10:45 UTC (5
       minutes).

Counters that ingest cannot type are named with --counter; other records pass untouched:

  $ printf '{"ts":"2026-11-25T10:00:00Z","name":"jobs_done_total","value":10}\n{"ts":"2026-11-25T10:01:00Z","name":"jobs_done_total","value":70}\n{"ts":"2026-11-25T10:01:00Z","name":"load","value":1.5}\n' | ben rate --counter 'jobs_*_total' | jq -c '[.name, .value, .unit]'
  ben rate: read 3, wrote 2, rejected 0, rates 1, resets 0, first 1
  ["jobs_done_total",1,"1/s"]
  ["load",1.5,null]
