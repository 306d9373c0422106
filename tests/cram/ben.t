  $ . "$TESTDIR/setup.sh"

The root command answers --version and --help (the full list of commands is in ben(1)):

  $ ben --version
  ben 0.1.0
  $ ben --help | head -7
  Usage: ben [OPTIONS] COMMAND [ARGS]...
  
    Unix filters for telemetry: NDJSON envelopes in, NDJSON envelopes out.
  
  Options:
    --version                Print the version and exit.
    --show-completion SHELL  Print the completion script for bash, zsh or fish,
  $ ben 2>&1 | head -1
  Usage: ben [OPTIONS] COMMAND [ARGS]...

Help ends with examples, here and in every command:

  $ ben --help | tail -3
  
      # Turn on completion in bash (for zsh and fish, see SHELL COMPLETION in ben(1))
      eval "$(ben --show-completion bash)"
  $ ben scrub --help | tail -2
      # Start a policy of your own from the default one, then use it
      ben scrub --print-policy > scrub.toml && ben scrub --policy scrub.toml envelopes.ndjson

An unknown command is a usage error (exit status 2) on one line; a misspelt one gets the closest
names:

  $ ben no-such-command
  ben: No such command 'no-such-command'.
  [2]
  $ ben ingets
  ben: No such command 'ingets'. Did you mean 'ingest'?
  [2]
  $ ben key sgin
  ben key: No such command 'sgin'. Did you mean 'sign'?
  [2]

Shell completion for bash, zsh and fish, through click's protocol:

  $ ben --show-completion bash | grep -c _BEN_COMPLETE
  1
  $ _BEN_COMPLETE=bash_complete COMP_WORDS="ben sc" COMP_CWORD=1 ben
  plain,scrub
  $ _BEN_COMPLETE=zsh_complete COMP_WORDS="ben detect --only" COMP_CWORD=2 ben
  plain
  --only-anomalies
  Write only the records marked as anomalies.
