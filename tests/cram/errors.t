Every command's errors are one line on stderr, named by the command, with the exit status ben(1)
documents: 2 for a usage error, 1 for a data or runtime error.

  $ . "$TESTDIR/setup.sh"
  $ PORT=$("$ROOT/tests/support/free-port")

ingest:

  $ ben ingest --format nope </dev/null
  ben ingest: Invalid value for '--format' / '-f': must be auto or one of logfmt, csv, tsv, ndjson, syslog, journal, lines, otlp, prom
  [2]
  $ ben ingest missing.log
  ben ingest: read 0, wrote 0, rejected 0
  ben ingest: missing.log: No such file or directory; skipped
  ben ingest: 1 input was not read to the end (see above)
  [1]

scrub:

  $ ben scrub --max-line-bytes 0 </dev/null
  ben scrub: Invalid value for '--max-line-bytes': a size must be at least one byte: '0'
  [2]
  $ echo 'not json' | ben scrub --strict
  ben scrub: line 1: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  [1]

detect:

  $ ben detect --threshold 2 </dev/null
  ben detect: Invalid value for '--threshold': 2.0 is not in the range 0.0<=x<=1.0.
  [2]
  $ printf '{"value":1}\n[1]\n' | ben detect --strict >/dev/null
  ben detect: line 2: record is a JSON list, not an object
  [1]

narrate:

  $ ben narrate --format pdf </dev/null
  ben narrate: --format: must be one of text, markdown, html, json, not 'pdf'
  [2]
  $ ben narrate missing.ndjson
  ben narrate: No such file or directory: missing.ndjson
  [1]

sink (nothing listens on $PORT):

  $ ben sink --to postgres://db/x </dev/null
  ben sink: unknown target 'postgres://db/x': use clickhouse://host/db, clickhouse+http://host/db, nats://host/SUBJECT, file:PATH or -
  [2]
  $ echo '{"name":"m"}' | ben sink --to "clickhouse://127.0.0.1:$PORT/ben" --retry-for 0s
  ben sink: connect: gave up after 0 s: Code: 210. Connection refused \(127.0.0.1:\d+\) (re)
  [1]

db:

  $ BEN_CLICKHOUSE_URL= ben db query 'SELECT 1'
  ben db query: Missing option '--to' (env var: 'BEN_CLICKHOUSE_URL').
  [2]
  $ ben db status --to "clickhouse://127.0.0.1:$PORT/default"
  ben db status: Code: 210. Connection refused \(127.0.0.1:\d+\) (re)
  [1]

key:

  $ ben key gen
  ben key gen: Missing option '--out'.
  [2]
  $ ben key seal </dev/null
  ben key seal: give at least one --to RECIPIENT (or --passphrase)
  [2]
  $ printf 'untrusted comment: not a key\nAAAA\n' > bad.key && chmod 600 bad.key
  $ echo hello | ben key sign --key bad.key
  ben key sign: bad.key: secret key is 3 bytes, a minisign secret key is 158
  [1]
  $ ben key show missing.pub
  ben key show: the given string: public key is not valid base64
  [1]
