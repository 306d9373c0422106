  $ . "$TESTDIR/setup.sh"

A server's syslog whose first lines are PAM messages full of "key=value" words is syslog, not
logfmt: the choice is made on a sample of lines and said on stderr with their number:

  $ printf '%s\n' 'Mar  2 07:41:19 gw2 sshd(pam_unix)[8812]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.77' \
  >   'Mar  2 07:41:20 gw2 klogd 1.4.1, log source = /proc/kmsg started.' \
  >   'Mar  2 07:41:21 gw2 sshd[8813]: Failed password for root from 203.0.113.9 port 22 ssh2' > auth.log
  $ ben ingest auth.log | jq -c '[.source, .name, .attrs.component, .attrs.procid, .body]'
  ben ingest: auth.log: format syslog (from 3 lines)
  ben ingest: read 3, wrote 3, rejected 0
  ["gw2","sshd","pam_unix","8812","authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.77"]
  ["gw2","log",null,null,"klogd 1.4.1, log source = /proc/kmsg started."]
  ["gw2","sshd",null,"8813","Failed password for root from 203.0.113.9 port 22 ssh2"]

rsyslog's default file layout on Debian 12 and Ubuntu (RFC 3339 stamp, no PRI):

  $ printf '2026-12-04T17:30:01.123456+01:00 web-1 CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)\n' | ben ingest
  ben ingest: <stdin>: format syslog (from 1 line)
  {"ts":"2026-12-04T16:30:01.123456Z","lane":"diag","source":"web-1","name":"CRON","body":"(root) CMD (run-parts /etc/cron.hourly)","attrs":{"appname":"CRON","procid":"1234"},"_ingest":{"format":"syslog","line":1}}
  ben ingest: read 1, wrote 1, rejected 0

An NDJSON file whose first record is longer than the sample is still NDJSON:

  $ python3 -c 'import json; print(json.dumps({"ts": "2026-11-25T10:00:00Z", "msg": "x" * 70000})); print("{\"msg\": \"y\"}")' > big.ndjson
  $ ben ingest big.ndjson | jq -c '[._ingest.format, (.body | length)]'
  ben ingest: big.ndjson: format ndjson (from the start of a first line over 64 KiB)
  ben ingest: read 2, wrote 2, rejected 0
  ben ingest: 1 record without a time of its own (given the time of reading, marked _ingest.ts: "read")
  ["ndjson",70000]
  ["ndjson",1]

Inputs are read as cat reads them: a missing file and a binary one are reported and skipped, the
rest is read, and the run exits 1 at the end:

  $ ben ingest missing.log /bin/ls auth.log > /dev/null
  ben ingest: auth.log: format syslog (from 3 lines)
  ben ingest: read 3, wrote 3, rejected 0
  ben ingest: missing.log: No such file or directory; skipped
  ben ingest: /bin/ls: binary input (a NUL byte at offset 7); skipped
  ben ingest: 2 inputs were not read to the end (see above)
  [1]

A format that rejects every line says so, and --max-reject-share makes it an error for cron:

  $ printf 'one\ntwo\n' | ben ingest --format syslog --max-reject-share 5% > /dev/null
  ben ingest: read 2, wrote 0, rejected 2
    rejected line 1: not syslog: no <PRI> and no 'Mmm dd hh:mm:ss' or RFC 3339 stamp
    rejected line 2: not syslog: no <PRI> and no 'Mmm dd hh:mm:ss' or RFC 3339 stamp
  ben ingest: warning: every line was rejected (is the format right? see --format)
  ben ingest: rejected 2 of 2 lines (100%), over --max-reject-share 5%
  [1]

journald's JSON export (journalctl -o json): MESSAGE, PRIORITY, the µs stamp, host, program, pid
and unit in their envelope places:

  $ printf '%s\n' '{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1796232601123456","PRIORITY":"3","_HOSTNAME":"web-1","SYSLOG_IDENTIFIER":"sshd","_PID":"812","_SYSTEMD_UNIT":"ssh.service","MESSAGE":"error: kex_exchange_identification: Connection closed"}' | ben ingest
  ben ingest: <stdin>: format journal (from 1 line)
  {"ts":"2026-12-02T17:30:01.123456Z","lane":"diag","source":"web-1","name":"sshd","severity":"error","body":"error: kex_exchange_identification: Connection closed","attrs":{"procid":"812","unit":"ssh.service"},"_ingest":{"format":"journal","line":1}}
  ben ingest: read 1, wrote 1, rejected 0
