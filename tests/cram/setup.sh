# Sourced by every transcript: the venv's ben first on PATH, plain output, no plugins,
# a private BEN_HOME, and the sample data folder as $DATA.
ROOT="$(cd "$TESTDIR/../.." && pwd)"
export PATH="$ROOT/.venv/bin:$PATH"
export TYPER_USE_RICH=0 NO_COLOR=1 TERM=dumb COLUMNS=100
export BEN_LOAD_PLUGINS=
export BEN_HOME="$CRAMTMP/home"
export DATA="$ROOT/tests/data"
export TZ=UTC
