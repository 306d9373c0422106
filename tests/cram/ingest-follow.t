  $ . "$TESTDIR/setup.sh"

--since-last reads only what is new since the previous run; a line still being written waits:

  $ printf 'one\ntwo\n' > app.log
  $ ben ingest -q --since-last --state offsets.json app.log | jq -r .body
  one
  two
  $ printf 'three\nfo' >> app.log
  $ ben ingest -q --since-last --state offsets.json app.log | jq -c '[.body, ._ingest.line]'
  ["three",3]
  $ printf 'ur\n' >> app.log
  $ ben ingest -q --since-last --state offsets.json app.log | jq -c '[.body, ._ingest.line]'
  ["four",4]
  $ jq -c '.files[] | {offset, lineno, format}' offsets.json
  {"offset":19,"lineno":4,"format":"lines"}

Rotation by rename: the old file is read to its end, the new one from its start:

  $ printf 'five\n' >> app.log && mv app.log app.log.1 && printf 'new one\n' > app.log
  $ ben ingest --since-last --state offsets.json app.log | jq -c '[.body, ._ingest.file]'
  ben ingest: app.log: format lines (from 1 line)
  ben ingest: read 2, wrote 2, rejected 0
  ["five","app.log.1"]
  ["new one","app.log"]

Rotation by copytruncate works the same way, the copy found by its first bytes:

  $ printf 'new two\n' >> app.log && cp app.log app.log.1 && : > app.log && printf 'after\n' >> app.log
  $ ben ingest -q --since-last --state offsets.json app.log | jq -r .body
  new two
  after

--output commits records together with the offsets: a run killed half-way is cut back and read again:

  $ seq 1 20000 | sed 's/^/line /' > big.log
  $ ben ingest -q --since-last --state o2.json -f lines -o out.ndjson big.log
  $ wc -l < out.ndjson
  20000
  $ seq 20001 20005 | sed 's/^/line /' >> big.log
  $ ben ingest -q --since-last --state o2.json -f lines -o out.ndjson big.log
  $ wc -l < out.ndjson
  20005
  $ jq -r .body out.ndjson | sort -u | wc -l
  20005

--listen serves TCP, UDP or a Unix socket; SIGTERM flushes everything already received:

  $ ben ingest --listen unix:ben.sock -f syslog > listened.ndjson 2> listen.err &
  $ for i in $(seq 1 50); do [ -S ben.sock ] && break; sleep 0.1; done
  $ printf '<13>1 2026-11-25T10:00:00Z h app - - - over a socket\n' | python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect("ben.sock"); s.sendall(sys.stdin.buffer.read()); s.close()'
  $ sleep 0.3; kill -TERM %1; wait %1
  $ jq -c '[.body, ._ingest.format]' listened.ndjson
  ["over a socket","syslog"]
  $ cat listen.err
  ben ingest: listening on unix:ben.sock
  ben ingest: read 1, wrote 1, rejected 0

Only loopback unless told otherwise:

  $ ben ingest --listen tcp://0.0.0.0:5140 2>&1 | tail -1
  ben ingest: tcp://0.0.0.0:5140 is not a loopback address; add --allow-remote to serve other hosts
  $ ben ingest --listen tcp://0.0.0.0:5140 2>/dev/null; echo $?
  2

An offsets file that cannot be read is a runtime error, named by the command, with exit status 1:

  $ echo 'not json' > broken.json
  $ ben ingest --since-last --state broken.json app.log
  ben ingest: broken.json: offsets file is not valid JSON (invalid literal, expected 'null': line 1 column 1 (char 0)); move it away to start afresh
  [1]
  $ ben ingest --follow --since-last app.log
  ben ingest: --follow and --since-last cannot be combined
  [2]
  $ echo '[1]' > list.json
  $ ben ingest --since-last --state list.json app.log
  ben ingest: list.json: not an offsets file (JSON [1], not an object); move it away to start afresh
  [1]
