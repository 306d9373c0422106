  $ . "$TESTDIR/setup.sh"

Two hosts report CPU every minute; web-2 spikes once at 01:40. Records without a value (the log
line) pass through unmarked:

  $ awk 'BEGIN{for(i=0;i<120;i++){for(h=1;h<=2;h++){v=40+(i*7%5)+h; if(h==2&&i==100)v=95;
  >   printf "{\"ts\":\"2026-11-25T%02d:%02d:00Z\",\"source\":\"web-%d\",\"name\":\"cpu\",\"value\":%d}\n", i/60, i%60, h, v}}
  >   print "{\"ts\":\"2026-11-25T02:00:00Z\",\"source\":\"web-1\",\"name\":\"log\",\"body\":\"done\"}"}' > cpu.ndjson

  $ ben detect --only-anomalies cpu.ndjson
  {"ts":"2026-11-25T01:40:00Z","source":"web-2","name":"cpu","value":95,"anomaly":{"detector":"auto","score":0.9*,"is_anomaly":true,"expected":4*,"series":"web-2/cpu"}} (glob)
  ben detect: read 241, wrote 1, rejected 0, series 2

  $ ben detect -q cpu.ndjson | tail -1
  {"ts":"2026-11-25T02:00:00Z","source":"web-1","name":"log","body":"done"}

Told the range its values live in (CPU is a percentage), the default runs CAD OSE's contexts
(`cadose`, the better model when the range is known) and scores exactly as it does:

  $ ben detect -q --only-anomalies -p range=0:100 cpu.ndjson | jq -c '[.value, .anomaly.detector, .anomaly.score]'
  [95,"auto",0.999997]
  $ ben detect -q -p range=0:100 cpu.ndjson | jq -c .anomaly.score > auto.scores
  $ ben detect -q -d cadose -p range=0:100 cpu.ndjson | jq -c .anomaly.score | cmp - auto.scores && echo same
  same

Every detector and its parameters:

  $ ben detect --list | grep -A4 '^cusum'
  cusum: two-sided tabular CUSUM of the standardised value (change points)
    k=0.5  allowance, in standard deviations (half the shift to detect)
    h=5.0  decision interval: alarm when a sum exceeds h
    lambda=0.1  weight of the newest point in the learned level
    lambda_var=0.002  weight of the newest residual in the learned variance

A change of level, found by CUSUM and marked as a change point:

  $ awk 'BEGIN{for(i=0;i<200;i++){v=(i<150)?10+(i*7%5)/2:14+(i*7%5)/2; printf "{\"source\":\"db\",\"name\":\"lag\",\"value\":%s}\n", v}}' > lag.ndjson
  $ ben detect -q -d cusum --only-anomalies lag.ndjson | head -1 | jq -c '.anomaly | {kind, is_anomaly}'
  {"kind":"change","is_anomaly":true}

State carried between two runs gives the same marks as one run over everything:

  $ head -150 cpu.ndjson > part1; tail -n +151 cpu.ndjson > part2
  $ ben detect -q --state s.json part1 > split.out; ben detect -q --state s.json part2 >> split.out
  $ ben detect -q cpu.ndjson | cmp - split.out && echo same
  same

A state file belongs to one configuration:

  $ ben detect -d ewma --state s.json part2 > /dev/null
  ben detect: s.json: written with detector 'auto', this run uses 'ewma'; use another --state file or remove this one
  [1]

Unknown parameters, bad values and bad durations are usage errors, one line naming the option:

  $ ben detect -p nope=1 part1
  ben detect: --param: auto has no parameter 'nope'; see ben detect --list
  [2]
  $ ben detect -d ewma -p lambda=fast part1
  ben detect: --param: lambda must be float, not 'fast'
  [2]
  $ ben detect --state s.json --expire soon part1
  ben detect: --expire: not a duration: 'soon' (try 500ms, 90s, 15m, 1h30m, 2d or 1w)
  [2]

--expire takes any duration (1h30m, 7d, 2w); series unseen that long are dropped from the state:

  $ ben detect -q --state s.json --expire 1h30m part2 | wc -l
  91
  $ ben detect --state s.json --expire 1h30m part2 2>&1 >/dev/null
  ben detect: read 91, wrote 91, rejected 0, series 2, expired 0

A value beyond +-1e100 (its square would overflow) and a list in a --by field are rejected with
their reason; the stream goes on:

  $ printf '{"name":"a","value":1}\n{"name":"a","value":1e155}\n{"name":[],"value":1}\n{"name":"a","value":2}\n' | ben detect -q -d ewma --rejects bad.ndjson | jq -c .value
  1
  2
  $ jq -r .reason bad.ndjson
  value 1e+155 is beyond +-1e+100, where the detectors' arithmetic overflows
  --by field name holds a list or an object, which cannot name a series

A state whose numbers are missing (a NaN was saved as null) is refused, one line:

  $ ben detect -q -d ewma --state nan.json part1 > /dev/null
  $ jq -c '.series[0][2][7] = null' nan.json > nan2.json && mv nan2.json nan.json
  $ ben detect -d ewma --state nan.json part2
  ben detect: nan.json: a series' state cannot be read (series 'web-1/cpu': state.var: None is not a finite number)
  [1]

--max-series keeps the most recently seen series; the rest are evicted and counted:

  $ ben detect --by ts --max-series 10 part1 2>&1 >/dev/null
  ben detect: read 150, wrote 150, rejected 0, series 10, evicted 65

--joint scores the channels of one group together (the last --by field names the channel, the
others the group; spca by default). A pump's pressure follows its flow until 02:30, when it turns
against it for six minutes: each channel alone stays in its usual range, so the univariate default
finds nothing, while the joint state breaks, and the mark names the channels that contributed:

  $ awk 'BEGIN{for(i=0;i<200;i++){a=((i*37)%11-5)/2; n=((i*13)%3-1)/50; b=(i>=150&&i<156)?-a:a;
  >   printf "{\"ts\":\"2026-11-25T%02d:%02d:00Z\",\"source\":\"pump-1\",\"name\":\"flow\",\"value\":%.2f}\n", i/60, i%60, 50+5*a;
  >   printf "{\"ts\":\"2026-11-25T%02d:%02d:00Z\",\"source\":\"pump-1\",\"name\":\"pressure\",\"value\":%.2f}\n", i/60, i%60, 20+2*b+n}}' > pump.ndjson
  $ ben detect -q --only-anomalies pump.ndjson | wc -l
  0
  $ ben detect -q --joint --only-anomalies pump.ndjson | jq -c '[.ts, .anomaly.series, .anomaly.is_anomaly, [.anomaly.contributors[].series]]'
  ["2026-11-25T02:31:00Z","pump-1/flow",true,["pump-1/flow","pump-1/pressure"]]
  ["2026-11-25T02:31:00Z","pump-1/pressure",true,["pump-1/flow","pump-1/pressure"]]

--joint needs a detector that watches several numbers, and a group and a channel in --by:

  $ ben detect --joint -d ewma pump.ndjson
  ben detect: --joint: ewma watches one number; --joint needs a detector that watches several (spca)
  [2]
  $ ben detect --joint --by name pump.ndjson
  ben detect: --joint: --by needs two or more fields: the last names the channel, the others the group (--by source,name)
  [2]
