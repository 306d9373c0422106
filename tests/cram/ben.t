  $ . "$TESTDIR/setup.sh"

The root command answers --version and --help (the full list of commands is in ben(1)):

  $ ben --version
  ben 0.1.0
  $ ben --help | head -6
  Usage: ben [OPTIONS] COMMAND [ARGS]...
  
    Unix filters for telemetry: NDJSON envelopes in, NDJSON envelopes out.
  
  Options:
    --version   Print the version and exit.
  $ ben 2>&1 | head -1
  Usage: ben [OPTIONS] COMMAND [ARGS]...

An unknown command is a usage error (exit status 2):

  $ ben no-such-command 2>&1 | tail -1
  Error: No such command 'no-such-command'.
  $ ben no-such-command >/dev/null 2>&1; echo $?
  2
