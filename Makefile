# ben: `make demo` to see it work, `make test` to check it. Both install what they need.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install system-packages demo test unit cram bench eval-detect man man-check lint clean reliability

$(BIN)/ben: pyproject.toml ben_cli/ingest/_logfmt.c ben_cli/sink/_rowjson.c ben_cli/contract/_check.c ben_cli/scrub/_scan.c ben_cli/detect/_cadose.c
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(BIN)/ben

system-packages:
	@tests/support/install-system-packages

demo: install
	@tests/support/demo

# The test suite runs against a real ClickHouse server: started here on free loopback ports,
# with data and logs in a temporary folder, and stopped when pytest ends (pass or fail).
# The lint comes first: CI runs `make test`, so the architecture rules hold on every change.
test: lint system-packages
	@dir=$$(mktemp -d); \
	export BEN_CH_TCP_PORT=$$(tests/support/free-port) BEN_CH_HTTP_PORT=$$(tests/support/free-port); \
	trap 'tests/support/clickhouse-test-server stop "$$dir"; rm -rf "$$dir"' EXIT; \
	tests/support/clickhouse-test-server start "$$dir" || exit 1; \
	BEN_TEST_CLICKHOUSE=127.0.0.1:$$BEN_CH_TCP_PORT $(BIN)/python -m pytest -q $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest -q --ignore=tests/test_transcripts.py $(PYTEST_ARGS)

cram: install
	cd tests/cram && $(CURDIR)/$(BIN)/cram --shell=/bin/bash *.t

bench: install system-packages
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Score ben detect on the Numenta Anomaly Benchmark (bench/nab) and write its BENCHMARKS.md section.
eval-detect: install
	$(BIN)/python bench/eval_detect.py $(EVAL_ARGS)

man: install
	$(BIN)/python tests/support/manpages.py --write

man-check: install
	$(BIN)/python tests/support/manpages.py --check

# Style (ruff), the import rules (import-linter's contracts in pyproject.toml, checked on the
# package as it installs, with commands/ as ben_cli.commands) and the types (mypy over ben_cli/).
lint: install
	$(BIN)/ruff check ben_cli commands tests bench fuzz
	$(BIN)/python tests/support/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache

# Every chaos scenario RELIABILITY_RUNS randomised times (20 by default) against a real ClickHouse
# started as for `make test`; writes RELIABILITY.md (tests/support/reliability.py).
RELIABILITY_RUNS ?= 20
reliability: install system-packages
	@dir=$$(mktemp -d); \
	export BEN_CH_TCP_PORT=$$(tests/support/free-port) BEN_CH_HTTP_PORT=$$(tests/support/free-port); \
	trap 'tests/support/clickhouse-test-server stop "$$dir"; rm -rf "$$dir"' EXIT; \
	tests/support/clickhouse-test-server start "$$dir" || exit 1; \
	BEN_TEST_CLICKHOUSE=127.0.0.1:$$BEN_CH_TCP_PORT $(BIN)/python tests/support/reliability.py --runs $(RELIABILITY_RUNS) $(RELIABILITY_ARGS)

# Fuzzing (fuzz/, deepdives/fuzzing.md): every target for FUZZ_SECONDS each, results in
# fuzz/results/TARGET.json; exits 1 on a new crash (its input is kept in fuzz/crashes/TARGET/).
FUZZ_SECONDS ?= 60
FUZZ_NATIVE := build/fuzz-native
# Built with clang: ASan's checks and libFuzzer's coverage counters (fuzzer-no-link) are compiled
# in, but no runtime linked: it comes preloaded from atheris' asan_with_fuzzer.so (clang's ASan with
# libFuzzer), so that one library provides both and the fuzzer sees the C code's edges beside
# Python's. UBSan traps (no runtime needed): a trap is a crash.
FUZZ_CC ?= clang-14
SANITIZE := -fsanitize=address,undefined,fuzzer-no-link -fsanitize-undefined-trap-on-error -fno-omit-frame-pointer -g -O1
.PHONY: fuzz fuzz-seeds fuzz-native
fuzz: install
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-seeds: install
	$(BIN)/python fuzz/seed.py

# The C extensions built with AddressSanitizer and UndefinedBehaviorSanitizer into their own
# folder, then their targets run with the ASan runtime preloaded (see fuzz/run.py).
fuzz-native: install
	@tests/support/install-system-packages tests/support/fuzz-packages
	@mkdir -p $(FUZZ_NATIVE)
	@inc=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	suffix=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'); \
	for c in ben_cli/ingest/_logfmt.c ben_cli/contract/_check.c ben_cli/sink/_rowjson.c ben_cli/scrub/_scan.c ben_cli/detect/_cadose.c; do \
		n=$(FUZZ_NATIVE)/$$(basename $$c .c); \
		$(FUZZ_CC) -c -fPIC $(SANITIZE) -I"$$inc" $$c -o $$n.o && $(FUZZ_CC) -shared $$n.o -o $$n$$suffix || exit 1; \
	done
	$(BIN)/python fuzz/run.py --native $(FUZZ_NATIVE) --seconds $(FUZZ_SECONDS)
