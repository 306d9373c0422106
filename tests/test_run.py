"""``ben run`` (issue 24): the stages in one process give what the shell pipe gives; the pipeline
text and file; --check; workers sharded by series; a killed worker; a failing stage restarted."""

from __future__ import annotations

import io
import itertools
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.detect import DetectOptions
from ben_cli.detect.ewma import Ewma
from ben_cli.errors import UsageError
from ben_cli.orchestrate import Planned, RunOptions, StageFailed, parse_text, parse_toml, run
from ben_cli.orchestrate.text import PipelineError, split_pipes
from ben_cli.registry import detectors

from .conftest import run_ben

ROOT = Path(__file__).resolve().parent.parent
BEN = str(Path(sys.executable).with_name("ben"))
APP = "tests/data/sample-app.ndjson"
PROM = "tests/data/sample-queue.prom"


def shell(pipeline: str) -> bytes:
    """A pipe of real ``ben`` processes (each stage quiet), run from the repository root."""
    stages = [f"{shlex.quote(BEN)} {part.strip().split(' ', 1)[0]} -q {part.strip().partition(' ')[2]}"
              for part in pipeline.split("|")]
    done = subprocess.run(["bash", "-c", "set -o pipefail; " + " | ".join(stages)], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def ben_run(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([BEN, "run", *args], cwd=ROOT, capture_output=True, input=input)


def in_process(pipeline: str, *extra: str) -> bytes:
    done = ben_run("-q", *extra, "-e", pipeline)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


# Every combination of the stages between ingest and the end, in pipeline order.
MIDDLE = ["scrub", "rate", "count --every 5m --by source,name", "detect -d ewma", "narrate --every 10m"]
COMBINATIONS = [list(c) for n in range(len(MIDDLE) + 1) for c in itertools.combinations(MIDDLE, n)]


@pytest.mark.parametrize("middle", COMBINATIONS, ids=lambda c: "+".join(s.split()[0] for s in c) or "ingest")
def test_run_gives_what_the_shell_pipe_gives(middle: list[str]) -> None:
    pipeline = " | ".join([f"ingest {APP}", *middle])
    piped = shell(pipeline)
    assert piped  # every combination writes something: the comparison is not of two empty outputs
    assert in_process(pipeline) == piped


@pytest.mark.parametrize("end", ["narrate", "narrate --format json", "sink"])
def test_the_ends_give_what_the_shell_gives(tmp_path: Path, end: str) -> None:
    """A report, and the file a sink writes, byte for byte."""
    stem = f"ingest {APP} | scrub | detect --by source"
    if end == "sink":
        shell(f"{stem} | sink --to file:{tmp_path / 'piped.ndjson'}")
        assert in_process(f"{stem} | sink --to file:{tmp_path / 'run.ndjson'}") == b""
        piped = (tmp_path / "piped.ndjson").read_bytes()
        assert piped.count(b"\n") == 600
        assert (tmp_path / "run.ndjson").read_bytes() == piped
    else:
        assert in_process(f"{stem} | {end}") == shell(f"{stem} | {end}")


def test_without_ingest_the_first_stage_reads_stdin() -> None:
    ingested = shell(f"ingest {PROM}")
    done = ben_run("-q", "-e", "rate | detect", input=ingested)
    assert done.returncode == 0, done.stderr.decode()
    piped = subprocess.run(["bash", "-c", f"{shlex.quote(BEN)} rate -q | {shlex.quote(BEN)} detect -q"],
                           input=ingested, capture_output=True).stdout
    assert done.stdout == piped and piped


def test_a_pipeline_file_is_the_same_pipeline(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f"""
[[stage]]
use = "ingest"
args = {{ inputs = ["{APP}"], format = "ndjson" }}
[[stage]]
use = "scrub"
[[stage]]
use = "detect"
args = {{ by = "source,name", detector = "ewma", only-anomalies = false, param = ["L=2.5"] }}
""")
    done = ben_run("-q", str(pipeline))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == in_process(f"ingest --format ndjson {APP} | scrub | detect --by source,name -d ewma -p L=2.5")


def test_check_validates_without_running(tmp_path: Path) -> None:
    out = tmp_path / "never.ndjson"
    done = ben_run("--check", "-e", f"ingest {APP} | scrub | sink --to file:{out}")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"1. ingest\n2. scrub\n3. sink\n"
    assert not out.exists()


@pytest.mark.parametrize(("pipeline", "message"), [
    ("scrub | ingest x", "stage 2 (ingest): ingest can only be the first stage"),
    ("sink --to - | scrub", "stage 1 (sink): sink can only be the last stage"),
    ("narrate | scrub", "narrate without --every writes a report"),
    ("scrub | detect --threshold 7", "stage 2 (detect): Invalid value for '--threshold'"),
    ("scrub | detect --no-such", "stage 2 (detect): No such option '--no-such'"),
    ("scrub | frobnicate", "'frobnicate' is not a stage ben run holds"),
    ("scrub --print-policy", "--print-policy is for the command alone"),
    ("scrub | narrate --every 5m --state n.json", "stage 2 (narrate): --state is for the command alone"),
    ("scrub | detect x.ndjson", "only the first stage reads files"),
    ("scrub || detect", "stage 2 is empty"),
])
def test_a_bad_pipeline_is_a_usage_error_naming_the_stage(pipeline: str, message: str) -> None:
    done = ben_run("--check", "-e", pipeline)
    assert done.returncode == 2
    assert message in done.stderr.decode(), done.stderr.decode()


def test_a_pipeline_file_with_an_unknown_option_names_it(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.toml"
    pipeline.write_text('[[stage]]\nuse = "scrub"\n[[stage]]\nuse = "detect"\nargs = { bye = "source" }\n')
    done = ben_run("--check", str(pipeline))
    assert done.returncode == 2
    assert "stage 2 (detect): no option 'bye' (options: inputs, by," in done.stderr.decode()


def test_every_option_of_every_stage_has_its_name_in_a_pipeline_file() -> None:
    """The file's keys are the commands' own option names: none can drift from the command."""
    import click
    from ben_cli.commands import load
    from ben_cli.commands._pipeline import _argv

    from ben_cli.orchestrate import STAGES, StageCall

    for use in STAGES:
        command = load(use)
        for param in command.params:
            if not isinstance(param, click.Option) or param.name in ("help",):
                continue
            key = max(param.opts, key=len).lstrip("-")
            value: object = True if param.is_flag else "1"
            argv = _argv(command, StageCall(use, "t", args={key: value}))
            assert argv[0] in param.opts, (use, key, argv)


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_give_the_same_records_in_the_same_order_per_series(workers: int) -> None:
    pipeline = f"ingest {APP} | scrub | detect -d ewma | narrate --every 10m"
    one = [orjson.loads(line) for line in in_process(pipeline).splitlines()]
    many = [orjson.loads(line) for line in in_process(pipeline, "--workers", str(workers), "--batch", "16").splitlines()]

    def per_series(records: list[dict]) -> dict:
        series: dict = {}
        for rec in records:
            series.setdefault((rec.get("source"), rec.get("name")), []).append(rec)
        return series

    assert len(many) == len(one)
    narratives = [r for r in many if r["name"] == "ben.narrative"]
    assert narratives and per_series([r for r in many if r["name"] != "ben.narrative"]) == \
        per_series([r for r in one if r["name"] != "ben.narrative"])


def test_a_killed_worker_is_restarted_and_every_record_comes_out_once(tmp_path: Path) -> None:
    """SIGKILL one worker mid-stream: the output still holds every record exactly once, with the
    scores an uninterrupted run gives (so the detectors' state came back from the checkpoint)."""
    big = tmp_path / "big.ndjson"
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_ndjson

    write_ndjson(big, 40_000)
    pipeline = f"ingest {big} | scrub | detect -d ewma --by source,attrs.path --field attrs.latency_ms"
    expected = sorted(in_process(pipeline, "--workers", "2", "--batch", "64").splitlines())
    proc = subprocess.Popen([BEN, "run", "--workers", "2", "--batch", "64", "-e", pipeline], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    got = [proc.stdout.readline() for _ in range(3000)]  # well under way
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 2
    os.kill(int(children[0]), signal.SIGKILL)
    rest = proc.stdout.read()  # through the same buffer readline read ahead into
    err = proc.stderr.read()
    assert proc.wait() == 0, err.decode()
    assert b"restarting it" in err
    got_lines = [line.rstrip(b"\n") for line in got] + rest.splitlines()
    assert len(got_lines) == 40_000
    assert sorted(got_lines) == expected
    scores = [orjson.loads(line)["anomaly"]["score"] for line in expected]
    assert len(set(scores)) > 100  # the scores depend on what each series learned before


class FlakyOnce(Ewma):
    """An ewma that fails the first time it sees 13.0 (a stage with a transient fault)."""

    failed = False
    calls = 0

    def score(self, value, t):  # type: ignore[no-untyped-def]
        FlakyOnce.calls += 1
        if FlakyOnce.calls == 134 and not FlakyOnce.failed:  # in the third batch of 50
            FlakyOnce.failed = True
            raise RuntimeError("transient fault")
        return super().score(value, t)


class FlakyAlways(Ewma):
    def score(self, value, t):  # type: ignore[no-untyped-def]
        if value == 13.0:
            raise RuntimeError("always at 13")
        return super().score(value, t)


def _numbers(path: Path) -> None:
    path.write_bytes(b"".join(orjson.dumps({"ts": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z", "source": "s",
                                            "name": "n", "value": float(i % 20)}) + b"\n" for i in range(200)))


def test_a_failing_stage_is_restarted_with_its_state_and_the_batch_fed_again(tmp_path: Path) -> None:
    """A detector fails in the middle of a batch, 130 records in: the step is rebuilt with the
    state it had before that batch, and the output is what a run without the failure gives, every
    record once and every score the same (the scores depend on what each series learned)."""
    detectors.register("flaky-once")(FlakyOnce)
    _numbers(tmp_path / "in.ndjson")
    said: list[str] = []

    def once() -> tuple[list[dict], list]:
        plans = [Planned("detect", DetectOptions.from_text(detector="flaky-once"), where="stage 1 (detect)",
                         inputs=[str(tmp_path / "in.ndjson")])]
        written = io.BytesIO()
        summaries = run(plans, RunOptions(batch=50, backoff=0.0), say=said.append, out=written)
        return [orjson.loads(line) for line in written.getvalue().splitlines()], summaries

    FlakyOnce.failed, FlakyOnce.calls = False, 0
    failed, summaries = once()
    assert FlakyOnce.failed and said == ["ben run: stage 1 (detect) failed (RuntimeError: transient fault); restarting in 0s"]
    clean, _ = once()  # FlakyOnce has failed its once: this run does not fail
    assert len(said) == 1
    assert failed == clean and len(set(r["anomaly"]["score"] for r in clean)) > 10
    assert summaries[0].read == 200 and summaries[0].written == 200


def test_a_stage_failing_every_time_stops_the_pipeline_with_a_report(tmp_path: Path) -> None:
    detectors.register("flaky-always")(FlakyAlways)
    _numbers(tmp_path / "in.ndjson")
    plans = [Planned("detect", DetectOptions.from_text(detector="flaky-always"), where="stage 1 (detect)",
                     inputs=[str(tmp_path / "in.ndjson")])]
    with pytest.raises(StageFailed, match=r"stage 1 \(detect\) failed 3 times in a row, stopping: RuntimeError: always at 13"):
        run(plans, RunOptions(batch=50, backoff=0.0, max_restarts=2), say=lambda _m: None, out=io.BytesIO())


def test_sigterm_drains_what_was_read_and_exits_0(tmp_path: Path) -> None:
    """Records read before SIGTERM are carried through every stage and stored; exit status 0."""
    import time

    out = tmp_path / "out.ndjson"
    records = shell(f"ingest {APP}").splitlines(keepends=True)
    proc = subprocess.Popen([BEN, "run", "--batch", "5", "-e", f"scrub | sink --batch-age 0.1s --to file:{out}"],
                            cwd=ROOT, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b"".join(records[:5]))
    proc.stdin.flush()  # the pipe stays open: the run waits for more
    while proc.poll() is None and (not out.exists() or out.read_bytes().count(b"\n") < 5):
        time.sleep(0.05)  # the first batch is stored: the run is up and reading
    proc.stdin.write(b"".join(records[5:8]))  # a batch begun, not full
    proc.stdin.flush()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    text = err.decode()
    read = int(text.split("ben scrub: read ")[1].split(",")[0])
    assert read >= 5 and f"ben sink: read {read}, wrote {read}, rejected 0" in text
    assert out.read_bytes().count(b"\n") == read


def test_sighup_reloads_the_pipeline_file_when_it_still_validates(tmp_path: Path) -> None:
    """Records read after SIGHUP go through the stages of the file read again; a file that no
    longer validates is refused and the running pipeline goes on."""
    import time

    out, pipeline = tmp_path / "out.ndjson", tmp_path / "p.toml"
    sink = f'[[stage]]\nuse = "sink"\nargs = {{ to = "file:{out}", batch-age = "0.1s" }}\n'
    pipeline.write_text('[[stage]]\nuse = "detect"\n' + sink)
    records = shell(f"ingest {APP}").splitlines(keepends=True)
    proc = subprocess.Popen([BEN, "run", "--batch", "1", str(pipeline)], cwd=ROOT, stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"".join(records[:3]))
    proc.stdin.flush()
    while proc.poll() is None and (not out.exists() or out.read_bytes().count(b"\n") < 3):
        time.sleep(0.05)  # stored: the run is up, its handlers in place
    pipeline.write_text('[[stage]]\nuse = "frobnicate"\n' + sink)
    proc.send_signal(signal.SIGHUP)
    assert b"frobnicate" in proc.stderr.readline() and proc.poll() is None
    pipeline.write_text('[[stage]]\nuse = "scrub"\n[[stage]]\nuse = "detect"\n' + sink)
    proc.send_signal(signal.SIGHUP)
    assert proc.stderr.readline() == b"ben run: SIGHUP: pipeline reloaded (3 stages)\n"
    proc.stdin.write(b"".join(records[3:6]))
    proc.stdin.close()
    err = proc.stderr.read()
    assert proc.wait() == 0, err.decode()
    stored = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["_ingest"]["line"] for r in stored] == [1, 2, 3, 4, 5, 6]
    assert ["redacted" in r for r in stored] == [False] * 3 + [True] * 3


def test_route_sends_copies_to_its_branch_and_leaves_the_main_line_as_it_was(tmp_path: Path) -> None:
    """Records matching every --when go, a copy each, to the branch's stages; the main line goes
    on untouched (what detect marks later is not on the branch's copies)."""
    branch = tmp_path / "warn.ndjson"
    main = in_process(f"ingest {APP} | scrub | route --when 'severity>=warn' --to 'sink --to file:{branch}' | detect")
    assert main == shell(f"ingest {APP} | scrub | detect")
    scrubbed = [orjson.loads(line) for line in shell(f"ingest {APP} | scrub").splitlines()]
    wanted = [r for r in scrubbed if r.get("severity") in ("warn", "error", "fatal")]
    assert wanted and [orjson.loads(line) for line in branch.read_bytes().splitlines()] == wanted


def test_route_move_takes_the_records_off_the_main_line(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f"""
[[stage]]
use = "ingest"
args = {{ inputs = ["{APP}"] }}
[[stage]]
use = "route"
args = {{ when = ["severity>=warn", "source=web-2"], move = true, to = "narrate --format json" }}
[[stage]]
use = "detect"
""")
    done = ben_run("-q", str(pipeline))
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.splitlines(keepends=True)
    records = [orjson.loads(line) for line in lines if line.startswith(b'{"ts"')]
    assert len(records) == 598 and not any(r.get("severity") == "error" for r in records)
    report = orjson.loads(b"".join(line for line in lines if not line.startswith(b'{"ts"')))
    assert report["records"] == 2 and report["sources"] == ["web-2"]  # the branch's report, at the end


def test_a_branch_cannot_read_for_itself() -> None:
    done = ben_run("--check", "-e", "scrub | route --to 'ingest x.log | sink --to -'")
    assert done.returncode == 2
    assert "stage 2 (route): a branch takes the records routed to it; it holds no ingest" in done.stderr.decode()


def test_stats_every_emits_diag_records_about_each_stage() -> None:
    out = in_process(f"ingest {APP} | scrub | detect", "--stats-every", "1h")
    stats = [orjson.loads(line) for line in out.splitlines() if b'"ben.run.stage"' in line]
    assert [(s["attrs"]["stage"], s["attrs"]["use"]) for s in stats] == [(1, "source"), (2, "scrub"), (3, "detect")]
    assert all(s["lane"] == "diag" and s["attrs"]["read"] == 600 for s in stats)


def test_stats_name_a_routes_queue(tmp_path: Path) -> None:
    out = in_process(f"ingest {APP} | route --queue 100000 --when 'severity>=warn' --to 'sink --to file:{tmp_path / 'w'}'",
                     "--stats-every", "1h")
    stats = [orjson.loads(line) for line in out.splitlines() if b'"ben.run.stage"' in line]
    route = [s for s in stats if s["attrs"]["use"] == "route"]
    assert route and route[0]["attrs"]["queue"] == 0  # the end: its branch took everything


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                 min_size=1), min_size=1, max_size=4), min_size=1, max_size=5))
def test_pipe_text_splits_as_a_shell_would(stages: list[list[str]]) -> None:
    """Any words, quoted as a shell quotes them, come back as the same stages and words."""
    stages = [["scrub" if s[0] == "ben" else s[0], *s[1:]] for s in stages]
    text = " | ".join(" ".join(shlex.quote(w) for w in words) for words in stages)
    calls = parse_text(text)
    assert [[c.use, *c.argv] for c in calls] == stages


@given(st.text(max_size=40))
def test_split_pipes_never_loses_a_character(text: str) -> None:
    try:
        parts = split_pipes(text)
    except PipelineError:
        return
    assert "|".join(parts) == text


def test_a_pipeline_file_names_what_is_wrong() -> None:
    with pytest.raises(UsageError, match="p.toml: stage 2: needs use"):
        parse_toml('[[stage]]\nuse = "scrub"\n[[stage]]\nargs = {}\n', "p.toml")
    with pytest.raises(UsageError, match="unknown top-level key 'stages'"):
        parse_toml('[[stages]]\nuse = "scrub"\n', "p.toml")
    with pytest.raises(UsageError, match="p.toml: Expected"):
        parse_toml("[[stage]\n", "p.toml")


def test_ben_run_is_listed() -> None:
    assert b"run" in run_ben("--help").stdout


ints = st.integers(-(2**63), 2**63 - 1)  # what a JSON record's integers hold once read
keys = st.one_of(st.none(), ints, st.text(max_size=5), st.lists(ints, max_size=2),
                 st.dictionaries(st.text(max_size=2), ints, max_size=2))


@given(st.lists(st.fixed_dictionaries({"source": keys, "name": keys, "value": st.floats(allow_nan=False)}),
                max_size=50), st.integers(1, 8))
def test_every_record_of_a_series_goes_to_one_worker(records: list[dict], n: int) -> None:
    """The shard of a record depends on its series key alone, whatever the key's values are."""
    from ben_cli.orchestrate.keys import series_hash, shard_key

    getters = shard_key([Planned("detect", DetectOptions.from_text(by="source,name"))])
    assert getters is not None
    seen: dict[bytes, int] = {}
    for rec in records:
        i = series_hash(rec, getters) % n
        assert 0 <= i < n
        key = orjson.dumps([rec["source"], rec["name"]], option=orjson.OPT_SORT_KEYS)
        assert seen.setdefault(key, i) == i


def test_stages_whose_series_the_shard_key_would_split_stay_in_the_main_process() -> None:
    from ben_cli.orchestrate.keys import shardable

    def plans(*pairs: tuple[str, str]) -> list[Planned]:
        return [Planned(use, DetectOptions.from_text(by=by)) if use == "detect" else Planned(use, None)
                for use, by in pairs]

    assert shardable(plans(("scrub", ""), ("detect", "source,name"), ("detect", "source,name,attrs.x"))) == 3
    assert shardable(plans(("detect", "source,name"), ("detect", "source"))) == 1
    assert shardable(plans(("scrub", ""), ("narrate", ""), ("detect", "source"))) == 1


@pytest.mark.parametrize("dispatch", ["round-robin", "least-loaded"])
def test_stateless_stages_can_be_dispatched_without_a_series_key(dispatch: str) -> None:
    pipeline = f"ingest {APP} | scrub"
    assert sorted(in_process(pipeline, "--workers", "2", "--batch", "16", "--dispatch", dispatch).splitlines()) == \
        sorted(in_process(pipeline).splitlines())
    done = ben_run("-q", "--workers", "2", "--dispatch", dispatch, "-e", f"{pipeline} | detect")
    assert done.returncode == 2
    assert b"only --dispatch hash keeps on one worker" in done.stderr


def test_a_listening_ingest_passes_records_on_as_they_come_and_drains_on_sigterm(tmp_path: Path) -> None:
    """The issue's service shape: ingest --listen first, records through scrub and detect while
    the socket stays open, and ingest's own SIGTERM drain ending the whole pipeline with 0."""
    import re
    import socket
    import time

    out, err = tmp_path / "out.ndjson", tmp_path / "err.txt"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([BEN, "run", "-e", "ingest --listen tcp://127.0.0.1:0 --format ndjson | scrub | detect"],
                                cwd=ROOT, stdout=fo, stderr=fe)
    while not (m := re.search(r"listening on tcp://127\.0\.0\.1:(\d+)", err.read_text())):
        assert proc.poll() is None, err.read_text()
        time.sleep(0.02)
    records = shell(f"ingest {APP}").splitlines(keepends=True)[:10]
    with socket.create_connection(("127.0.0.1", int(m[1]))) as conn:
        conn.sendall(b"".join(records))
        while out.read_bytes().count(b"\n") < 10:  # out while the connection is still open
            assert proc.poll() is None, err.read_text()
            time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 0, err.read_text()
    got = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(got) == 10 and all("redacted" in r and "anomaly" in r for r in got)
    assert "ben detect: read 10, wrote 10" in err.read_text()


def test_an_input_not_read_ends_the_run_with_1_as_ingest_does(tmp_path: Path) -> None:
    missing = tmp_path / "missing.log"
    done = ben_run("-q", "-e", f"ingest {missing} {APP} | scrub")
    alone = run_ben("ingest", "-q", str(missing), APP, cwd=ROOT)
    assert done.returncode == alone.returncode == 1
    assert done.stdout.count(b"\n") == 600 and "missing.log" in done.stderr.decode()


words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(by=words, params=st.lists(words, max_size=3), only=st.booleans())
def test_a_pipeline_files_values_reach_the_command_as_they_were_written(by: str, params: list[str], only: bool) -> None:
    """A table's string, list and flag values come out of the command's parser unchanged."""
    from ben_cli.commands import load
    from ben_cli.commands._pipeline import _argv

    from ben_cli.orchestrate import StageCall

    command = load("detect")
    argv = _argv(command, StageCall("detect", "t", args={"by": by, "param": params, "only-anomalies": only}))
    p = command.make_context("detect", argv).params
    assert (p["by"], list(p["param"]), p["only_anomalies"]) == (by, params, only)


def test_shards_split_the_series_and_their_union_is_the_unsharded_run() -> None:
    """N runs with --shard i/N over the same input (one of them with workers): every record in
    exactly one of them, every series in one, the union what one unsharded run gives."""
    pipeline = f"ingest {APP} | scrub | detect -d ewma"
    whole = in_process(pipeline)
    parts = [in_process(pipeline, "--shard", f"{i}/3", *(["--workers", "2"] if i == 1 else [])) for i in range(3)]
    assert sorted(b"".join(parts).splitlines()) == sorted(whole.splitlines())
    homes: dict[tuple, set[int]] = {}
    for i, part in enumerate(parts):
        for line in part.splitlines():
            rec = orjson.loads(line)
            homes.setdefault((rec.get("source"), rec["name"]), set()).add(i)
    assert len(homes) == 3 and all(len(shards) == 1 for shards in homes.values())
    assert sum(1 for part in parts if part) >= 2  # the series were spread, not all on one shard


@pytest.mark.parametrize("text", ["3/3", "-1/2", "a/b", "1", "0/0"])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    done = ben_run("-q", "--shard", text, "-e", "scrub")
    assert done.returncode == 2 and b"--shard" in done.stderr


def test_detect_state_with_workers_carries_each_series_between_runs(tmp_path: Path) -> None:
    """Two runs with --workers 2 and detect --state mark the second run's records as two runs
    of one process do: each worker's state file holds the same series every run."""
    big = tmp_path / "big.ndjson"
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_ndjson

    write_ndjson(big, 6000)

    def twice(state: Path, *extra: str) -> list[bytes]:
        pipeline = f"ingest {big} | detect -d ewma --by source,attrs.path --field attrs.latency_ms --state {state}"
        in_process(pipeline, *extra)
        return sorted(in_process(pipeline, *extra).splitlines())

    one = twice(tmp_path / "one.state")
    assert twice(tmp_path / "two.state", "--workers", "2", "--batch", "64") == one
    states = sorted(p.name for p in tmp_path.glob("two.state*") if not p.name.endswith(".lock"))
    assert states == ["two.state.0-of-2", "two.state.1-of-2"]


def test_a_stages_rejects_and_files_are_its_commands(tmp_path: Path) -> None:
    """Path options (--rejects, --policy, --state) reach the cores as the commands give them."""
    rejects = tmp_path / "bad.ndjson"
    done = ben_run("-q", "-e", f"detect --rejects {rejects} --state {tmp_path / 's.json'}",
                   input=b'{"source":"a","name":"n","value":1}\nnot json\n')
    assert done.returncode == 0, done.stderr.decode()
    assert orjson.loads(rejects.read_bytes())["line"] == 2 and (tmp_path / "s.json").exists()


def test_a_killed_worker_leaves_the_file_sink_holding_every_record_once(tmp_path: Path) -> None:
    """The same kill with the file sink at the end: the file holds each record once."""
    import time

    big = tmp_path / "big.ndjson"
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_ndjson

    write_ndjson(big, 40_000)
    stem = f"ingest {big} | scrub | detect -d ewma --by source,attrs.path --field attrs.latency_ms"
    expected = sorted(in_process(stem, "--workers", "2", "--batch", "64").splitlines())
    out = tmp_path / "stored.ndjson"
    proc = subprocess.Popen([BEN, "run", "--workers", "2", "--batch", "64", "-e",
                             f"{stem} | sink --batch-age 0.05s --batch-rows 500 --to file:{out}"],
                            cwd=ROOT, stderr=subprocess.PIPE)
    while not out.exists() or out.read_bytes().count(b"\n") < 3000:
        assert proc.poll() is None
        time.sleep(0.01)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    os.kill(int(children[-1]), signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b"restarting it" in err
    assert sorted(out.read_bytes().splitlines()) == expected


def test_the_cron_pipeline_killed_and_run_again_stores_every_line_once(tmp_path: Path) -> None:
    """ingest --since-last --ack ... | sink --ack in one process, SIGKILLed once some batches are
    stored, then run again: the file holds every line of the log once (the sink's acknowledgements
    and the file's cut-back, as in the shell pipe)."""
    import time

    log, out, state = tmp_path / "app.log", tmp_path / "out.ndjson", tmp_path / "S"
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_ndjson

    write_ndjson(log, 30_000)
    pipeline = (f"ingest --since-last --ack --state {state} {log} | scrub | detect | "
                f"sink --ack {state} --batch-rows 1000 --to file:{out}")
    proc = subprocess.Popen([BEN, "run", "-q", "-e", pipeline], cwd=ROOT)
    while not out.exists() or out.read_bytes().count(b"\n") < 5000:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    stored_before = out.read_bytes().count(b"\n")
    assert stored_before < 30_000
    again = ben_run("-q", "-e", pipeline)
    assert again.returncode == 0, again.stderr.decode()
    lines = [orjson.loads(line)["_ingest"]["line"] for line in out.read_bytes().splitlines()]
    assert sorted(lines) == list(range(1, 30_001))


def test_a_ben_error_in_a_worker_stops_the_run_with_its_message(tmp_path: Path) -> None:
    """A worker meeting the user's error (a state file written with other options) is not
    restarted in a loop: the run stops with that message and status 1."""
    state = tmp_path / "c.state"
    ingested = shell(f"ingest {APP}")
    made = run_ben("count", "-q", "--every", "5m", "--state", f"{state}.0-of-2", input=ingested)
    assert made.returncode == 0, made.stderr.decode()
    done = ben_run("-q", "--workers", "2", "-e", f"count --every 1m --state {state}", input=ingested)
    assert done.returncode == 1
    assert done.stderr.decode() == (f"ben run: {state}.0-of-2: written with every 300.0, this run uses 60.0; "
                                    "use another --state file or remove this one\n")


def test_detect_state_in_run_marks_records_read_again_without_learning_them_twice(tmp_path: Path) -> None:
    """As ben detect --state: records at or below the positions learned (read again after a
    crash) are marked, not learned again; the state, the positions and the output match the
    command's, run for run."""
    records = run_ben("ingest", "-q", "--since-last", "--state", str(tmp_path / "X"), APP, cwd=ROOT).stdout
    assert b'"at":' in records
    for _ in range(2):
        alone = run_ben("detect", "-q", "--state", str(tmp_path / "D1"), input=records)
        inside = ben_run("-e", f"detect --state {tmp_path / 'D2'}", input=records)
        assert inside.returncode == alone.returncode == 0, inside.stderr.decode()
        assert inside.stdout == alone.stdout
    assert b"seen before 600" in inside.stderr
    for suffix in ("", ".positions"):
        assert (tmp_path / f"D2{suffix}").read_bytes() == (tmp_path / f"D1{suffix}").read_bytes()


def test_a_workers_answers_reach_the_file_sink_checked_as_the_sink_checks_them(tmp_path: Path) -> None:
    """Workers' lines go to a file sink with only their time read (the rest is not parsed): a time
    out of range, missing, not a string, not first, written with an escape or not a time at all is
    judged as ``ben sink`` judges it, and the file holds what the shell pipe's holds."""
    odd = b"".join(line + b"\n" for line in [
        b'{"ts":"2026-11-25T00:00:00Z","name":"a","value":1}', b'{"ts":"2300-01-01T00:00:00Z","name":"far"}',
        b'{"name":"no-ts"}', b'{"ts":1795600000,"name":"number"}', b'{"ts":"2026-11-25T00:00:01.5Z","name":"short"}',
        b'{"name":"later","ts":"2300-01-01T00:00:00Z"}', b'{"ts":"2026-11-25T00:00:02\\u005a","name":"escaped"}',
        b'{"ts":"yesterday","name":"word"}'])
    (tmp_path / "odd.ndjson").write_bytes(odd)
    shell(f"scrub {tmp_path / 'odd.ndjson'} | sink --to file:{tmp_path / 'piped'} --rejects {tmp_path / 'piped.rej'}")
    for workers in ("1", "2"):
        done = ben_run("-q", "--workers", workers, "-e",
                       f"scrub | sink --to file:{tmp_path / workers} --rejects {tmp_path / (workers + '.rej')}", input=odd)
        assert done.returncode == 0, done.stderr.decode()
        assert (tmp_path / workers).read_bytes() == (tmp_path / "piped").read_bytes()
    judged = [[(r["line"], r["reason"], r["raw"]) for r in map(orjson.loads, (tmp_path / name).read_bytes().splitlines())]
              for name in ("piped.rej", "1.rej", "2.rej")]
    assert judged[0] == judged[1] == judged[2]
    assert [line for line, _reason, _raw in judged[0]] == [2, 3, 6, 8]


def test_workers_scrub_with_the_policy_file_the_main_process_read_for_them(tmp_path: Path) -> None:
    """The main process reads scrub's policy once and the forked workers use it: their output is
    the shell's, sorted (workers interleave series), and the policy's operators show in it."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[operators]\nemail = "redact"\nipv4 = "pseudonym"\n')
    pipeline = f"ingest {APP} | scrub --policy {policy} | detect -d ewma"
    piped = shell(pipeline)
    assert piped.count(b"<EMAIL>") >= 600 and b'"redacted":["email","ipv4"]' in piped
    assert sorted(in_process(pipeline, "--workers", "2", "--batch", "64").splitlines()) == sorted(piped.splitlines())
