"""--since-last and --follow: offsets kept across runs, half-written lines, rotation by rename and
by copytruncate, runs killed at random points, and the lock that keeps two runs apart."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import run_ben


def bodies(out: bytes) -> list[str]:
    return [orjson.loads(line)["body"] for line in out.splitlines()]


def since_last(log: Path, state: Path, *extra: str):
    proc = run_ben("ingest", "-q", "--since-last", "--state", str(state), "-f", "lines", *extra, str(log))
    assert proc.returncode == 0, proc.stderr
    return proc


def test_reads_only_what_is_new_and_waits_for_half_written_lines(tmp_path):
    log, state = tmp_path / "app.log", tmp_path / "offsets.json"
    log.write_bytes(b"one\ntwo\n")
    assert bodies(since_last(log, state).stdout) == ["one", "two"]
    assert bodies(since_last(log, state).stdout) == []
    with open(log, "ab") as fh:
        fh.write(b"three\nfo")  # the writer is in the middle of "four"
    out = since_last(log, state).stdout
    assert bodies(out) == ["three"]
    assert [orjson.loads(line)["_ingest"]["line"] for line in out.splitlines()] == [3]
    with open(log, "ab") as fh:
        fh.write(b"ur\n")
    out = since_last(log, state).stdout
    assert bodies(out) == ["four"] and orjson.loads(out)["_ingest"]["line"] == 4
    saved = orjson.loads(state.read_bytes())["files"][str(log)]
    assert saved["offset"] == log.stat().st_size and saved["inode"] == log.stat().st_ino
    assert bytes.fromhex(saved["fingerprint"]) == log.read_bytes()[:1024]


def test_rotation_by_rename_reads_the_old_file_to_its_end(tmp_path):
    log, state = tmp_path / "app.log", tmp_path / "offsets.json"
    log.write_bytes(b"a1\na2\n")
    since_last(log, state)
    with open(log, "ab") as fh:
        fh.write(b"a3\n")
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(b"b1\nb2\n")
    assert bodies(since_last(log, state).stdout) == ["a3", "b1", "b2"]
    assert bodies(since_last(log, state).stdout) == []


def test_copytruncate_reads_the_copy_then_the_file_from_its_start(tmp_path):
    log, state = tmp_path / "app.log", tmp_path / "offsets.json"
    log.write_bytes(b"a1\na2\n")
    since_last(log, state)
    with open(log, "ab") as fh:
        fh.write(b"a3\na4\n")
    shutil.copyfile(log, tmp_path / "app.log.1")
    with open(log, "r+b") as fh:
        fh.truncate(0)
    with open(log, "ab") as fh:
        fh.write(b"b1\n")
    assert bodies(since_last(log, state).stdout) == ["a3", "a4", "b1"]


def test_csv_header_is_replayed_when_resuming(tmp_path):
    log, state = tmp_path / "m.csv", tmp_path / "offsets.json"
    log.write_bytes(b"time,host,cpu\n2026-11-25T10:00:00Z,a,1\n")
    first = run_ben("ingest", "-q", "--since-last", "--state", str(state), str(log)).stdout
    with open(log, "ab") as fh:
        fh.write(b"2026-11-25T10:00:01Z,b,2\n")
    second = run_ben("ingest", "-q", "--since-last", "--state", str(state), str(log)).stdout
    assert orjson.loads(first)["attrs"] == {"cpu": 1} and orjson.loads(first)["source"] == "a"
    rec = orjson.loads(second)
    assert (rec["source"], rec["attrs"], rec["_ingest"]["line"]) == ("b", {"cpu": 2}, 3)


def test_a_second_run_on_the_same_state_is_refused(tmp_path):
    log, state = tmp_path / "app.log", tmp_path / "offsets.json"
    log.write_bytes(b"x\n")
    ben = Path(sys.executable).with_name("ben")
    follower = subprocess.Popen([str(ben), "ingest", "-q", "--follow", "--state", str(state), str(log)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_ben("ingest", "--since-last", "--state", str(state), str(log))
        assert second.returncode == 1 and b"in use by another ben ingest run" in second.stderr
    finally:
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert bodies(out) == ["x"]


def test_follow_tails_growth_and_rotation_until_sigterm(tmp_path):
    log, state = tmp_path / "app.log", tmp_path / "offsets.json"
    log.write_bytes(b"")
    ben = Path(sys.executable).with_name("ben")
    out_path = tmp_path / "out.ndjson"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([str(ben), "ingest", "-q", "--follow", "--state", str(state), "-f", "lines",
                                 str(log)], stdout=out, stderr=subprocess.PIPE)
        try:
            for i in range(30):
                with open(log, "ab") as fh:
                    fh.write(b"line %d\n" % i)
                if i == 14:
                    time.sleep(0.5)  # let it catch up before the rotation
                    log.rename(tmp_path / "app.log.1")
                time.sleep(0.02)
            time.sleep(1.0)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert bodies(out_path.read_bytes()) == [f"line {i}" for i in range(30)]


def test_killed_runs_over_a_growing_rotating_file_see_every_line_once(tmp_path):
    """A writer appends (sometimes leaving a line half-written) while ``--since-last`` runs are
    SIGKILLed at random moments; between completed runs the log is rotated, by rename or by
    copytruncate. In the end every line is in the output exactly once, in order per file."""
    rng = random.Random(20261125)
    log, state, out = tmp_path / "app.log", tmp_path / "offsets.json", tmp_path / "out.ndjson"
    ben = Path(sys.executable).with_name("ben")
    cmd = [str(ben), "ingest", "-q", "--since-last", "--state", str(state), "-f", "lines", "-o", str(out), str(log)]
    env = {**os.environ, "BEN_LOAD_PLUGINS": ""}
    written = 0
    pending = b""  # the second half of a half-written line
    rotations = 0

    def append(n: int) -> None:
        nonlocal written, pending
        with open(log, "ab") as fh:
            fh.write(pending)
            pending = b""
            for _ in range(n):
                line = b"line %06d %s\n" % (written, b"x" * rng.randrange(0, 200))
                written += 1
                if rng.random() < 0.05:  # stop in the middle of the line; finish it next time
                    cut = rng.randrange(1, len(line))
                    fh.write(line[:cut])
                    pending = line[cut:]
                    return
                fh.write(line)

    def rotate() -> None:
        nonlocal rotations
        rotations += 1
        if rotations % 2:
            for i in range(9, 0, -1):  # shift app.log.N up, as logrotate does
                if (tmp_path / f"app.log.{i}").exists():
                    (tmp_path / f"app.log.{i}").rename(tmp_path / f"app.log.{i + 1}")
            log.rename(tmp_path / "app.log.1")
            log.write_bytes(b"")
        else:
            for i in range(9, 0, -1):
                if (tmp_path / f"app.log.{i}").exists():
                    (tmp_path / f"app.log.{i}").rename(tmp_path / f"app.log.{i + 1}")
            shutil.copyfile(log, tmp_path / "app.log.1")
            with open(log, "r+b") as fh:
                fh.truncate(0)

    log.write_bytes(b"")
    kills = completed = 0
    round_ = 0
    # Run until the scenario really happened (several kills, rotations of both kinds): how many
    # runs a random deadline catches depends on how fast the machine is today.
    while round_ < 24 or ((kills < 4 or rotations < 2) and round_ < 400):
        round_ += 1
        append(rng.randrange(200, 3000))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        append(rng.randrange(0, 500))  # the file grows while it is read
        if round_ % 2:  # every other run is SIGKILLed at a random moment
            try:
                proc.wait(timeout=rng.uniform(0.0, 0.8))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                kills += 1
                continue
        else:
            proc.wait(timeout=120)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        completed += 1
        if completed % 2 == 0:  # at most one rotation between two completed runs
            append(0)
            rotate()
    append(0)  # finish any half-written line
    final = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert final.returncode == 0, final.stderr
    got = [int(b.split()[1]) for b in bodies(out.read_bytes())]
    assert kills >= 4 and rotations >= 2, (kills, rotations)  # the scenario really happened
    assert sorted(got) == list(range(written))  # every line, none twice


BAD_STATES = [b"[]", b'"s"', b"1", b"null", b'{"files":[]}', b'{"files":{"x":5}}', b'{"files":{},"output_bytes":"q"}',
              b'{"files":{"x":{"offset":"z"}}}', b'{"files":{"x":{"offset":-1}}}', b'{"files":{"x":{"inode":true}}}',
              b'{"files":{"x":{"fingerprint":"zz"}}}', b'{"files":{"x":{"format":1}}}', b'{"files":{"x":{"size":1}}}']


def test_a_wrong_shaped_state_is_refused_in_one_line_naming_the_file(tmp_path):
    """Issue 13, item 8: ``[]`` or an offsets file with fields of the wrong type was a traceback
    (or trusted, to fail later): each is refused before anything is read or written."""
    log, out = tmp_path / "a.log", tmp_path / "out.ndjson"
    log.write_bytes(b"one\ntwo\n")
    for bad in BAD_STATES:
        state = tmp_path / "bad.st"
        state.write_bytes(bad)
        for mode in (["--since-last", "-o", str(out)], ["--follow"]):
            proc = run_ben("ingest", *mode, "--state", str(state), str(log), timeout=30)
            err = proc.stderr.decode()
            assert proc.returncode != 0 and "Traceback" not in err, (bad, err)
            assert err.count("\n") == 1 and err.startswith(f"ben ingest: {state}: not an offsets file"), (bad, err)
            assert state.read_bytes() == bad and not out.exists()


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-2, 2**63 - 1) | st.text(max_size=4),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
                        st.sampled_from(["files", "output_bytes", "x", "offset", "dev", "inode", "lineno",
                                         "fingerprint", "format", "version"]), kids, max_size=4),
                    max_leaves=12))
def test_any_json_as_state_loads_or_is_a_state_error(value):
    """Whatever JSON the offsets file holds, loading it gives a state or a StateError, nothing else."""
    import tempfile

    from ben_cli.errors import StateError
    from ben_cli.ingest.follow import State

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "st.json"
        path.write_bytes(orjson.dumps(value))
        try:
            state = State.load(path)
        except StateError as exc:
            assert str(exc).startswith(f"{path}: not an offsets file")
            return
        state.save()
        assert State.load(path) == state


def _lines(path: Path, first: int, n: int, tag: str) -> None:
    with open(path, "ab") as fh:
        fh.write(b"".join(b"%s %d\n" % (tag.encode(), i) for i in range(first, first + n)))


def test_two_sources_appending_to_one_output_lose_nothing(tmp_path):
    """Issue 13, item 1: the output was cut back to a length the state kept without knowing whose
    it was: a.log's second run dropped every record b.log's run had appended in between."""
    a, b, out = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "all.ndjson"
    _lines(a, 0, 10, "a")
    _lines(b, 0, 50, "b")
    for log, state in ((a, "a.st"), (b, "b.st")):
        since_last(log, tmp_path / state, "-o", str(out))
    _lines(a, 10, 5, "a")
    since_last(a, tmp_path / "a.st", "-o", str(out))
    want = [f"a {i}" for i in range(10)] + [f"b {i}" for i in range(50)] + [f"a {i}" for i in range(10, 15)]
    assert bodies(out.read_bytes()) == want


def test_switching_the_output_between_runs_cuts_nothing(tmp_path):
    log, state, first, other = tmp_path / "a.log", tmp_path / "a.st", tmp_path / "x.ndjson", tmp_path / "y.ndjson"
    _lines(log, 0, 3, "a")
    since_last(log, state, "-o", str(first))
    other.write_bytes(b'{"body":"kept"}\n' * 100)
    before = other.read_bytes()
    _lines(log, 3, 2, "a")
    since_last(log, state, "-o", str(other))
    assert other.read_bytes().startswith(before)
    assert bodies(other.read_bytes())[100:] == ["a 3", "a 4"]
    assert bodies(first.read_bytes()) == ["a 0", "a 1", "a 2"]


def test_after_a_killed_run_only_its_own_records_are_cut(tmp_path):
    """A run killed after a commit leaves its state open and records past the committed length;
    the rerun cuts those, but refuses (and cuts nothing) when another source appended after them."""
    a, b, out = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "all.ndjson"
    _lines(a, 0, 10, "a")
    since_last(a, tmp_path / "a.st", "-o", str(out))
    committed = out.read_bytes()
    state = orjson.loads((tmp_path / "a.st").read_bytes())
    assert state["output"] == {"path": str(out), "dev": os.stat(out).st_dev, "inode": os.stat(out).st_ino,
                               "bytes": len(committed), "open": False}
    # what a run killed after its commit leaves: its state open, a record past the commit, half a line
    state["output"]["open"] = True
    (tmp_path / "a.st").write_bytes(orjson.dumps(state))
    _lines(a, 10, 2, "a")
    with open(out, "ab") as fh:
        fh.write(committed.splitlines(keepends=True)[-1].replace(b'"a 9"', b'"a 10"').replace(b'"line":10', b'"line":11'))
        fh.write(b'{"body":"a 1')
    killed = out.read_bytes()
    _lines(b, 0, 5, "b")
    shutil.copyfile(out, tmp_path / "kept")
    since_last(b, tmp_path / "b.st", "-o", str(out))  # b's state knows nothing of a's: it appends
    proc = run_ben("ingest", "-q", "--since-last", "--state", str(tmp_path / "a.st"), "-f", "lines", "-o", str(out), str(a))
    assert proc.returncode == 1 and b"not this state's records, so nothing is cut" in proc.stderr, proc.stderr
    assert out.read_bytes().startswith(killed) and bodies(out.read_bytes()[len(killed):]) == [f"b {i}" for i in range(5)]
    out.write_bytes(killed)  # without b's records, the killed run's own are cut and read again
    since_last(a, tmp_path / "a.st", "-o", str(out))
    assert bodies(out.read_bytes()) == [f"a {i}" for i in range(12)]


def _kill_once_writing(cmd: list[str], out: Path) -> bool:
    """Start ``cmd`` and SIGKILL it as soon as ``out`` grows; False if it finished first."""
    start = out.stat().st_size if out.exists() else 0
    proc = subprocess.Popen(cmd, env={**os.environ, "BEN_LOAD_PLUGINS": ""}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        if out.exists() and out.stat().st_size > start:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.0005)
    return False


def test_a_run_killed_before_its_first_commit_duplicates_nothing(tmp_path):
    """Issue 13, item 2: the first commit came after the first batch (about 1 MB), so a run
    SIGKILLed before it left records the state knew nothing of, and the rerun wrote them again.
    The state is now committed, open, at the output's length before the first write."""
    log, state, out = tmp_path / "a.log", tmp_path / "a.st", tmp_path / "out.ndjson"
    ben = Path(sys.executable).with_name("ben")
    cmd = [str(ben), "ingest", "-q", "--since-last", "--state", str(state), "-f", "lines", "-o", str(out), str(log)]
    _lines(log, 0, 100_000, "a")
    kills = _kill_once_writing(cmd, out)  # the first run ever
    since_last(log, state, "-o", str(out))
    _lines(log, 100_000, 100_000, "a")
    kills += _kill_once_writing(cmd, out)  # a run after one that ended normally
    since_last(log, state, "-o", str(out))
    assert kills == 2
    assert bodies(out.read_bytes()) == [f"a {i}" for i in range(200_000)]


def test_a_killed_run_is_finished_on_its_own_output_first(tmp_path):
    log, state, first, other = tmp_path / "a.log", tmp_path / "a.st", tmp_path / "x.ndjson", tmp_path / "y.ndjson"
    _lines(log, 0, 3, "a")
    since_last(log, state, "-o", str(first))
    saved = orjson.loads(state.read_bytes())
    saved["output"]["open"] = True  # as a run killed after its commit leaves it, with a record past it
    state.write_bytes(orjson.dumps(saved))
    with open(first, "ab") as fh:
        fh.write(first.read_bytes().splitlines(keepends=True)[-1])
    proc = run_ben("ingest", "-q", "--since-last", "--state", str(state), "-f", "lines", "-o", str(other), str(log))
    assert proc.returncode == 1 and not other.read_bytes()
    assert proc.stderr.decode() == (f"ben ingest: {state}: the last run was killed while writing to {first}, not to "
                                    f"{other}; run it again with --output {first} to finish it, or move the offsets "
                                    "file away\n")
    since_last(log, state, "-o", str(first))
    assert bodies(first.read_bytes()) == ["a 0", "a 1", "a 2"]


def test_ingest_o_after_a_kill_mid_write_appends_whole_lines(tmp_path):
    """Issue 13, item 4 (ingest -o): a run SIGKILLed in the middle of a write left half a record at
    the end of the output, and the next run glued its first record to it (an invalid line)."""
    log, out = tmp_path / "a.log", tmp_path / "out.ndjson"
    _lines(log, 0, 100_000, "a")
    ben = Path(sys.executable).with_name("ben")
    cmd = [str(ben), "ingest", "-q", "-f", "lines", "-o", str(out), str(log)]
    for _ in range(20):  # a kill lands mid-line almost always: writes are 64 KiB blocks
        out.unlink(missing_ok=True)
        assert _kill_once_writing(cmd, out)
        if not out.read_bytes().endswith(b"\n"):
            break
    assert not out.read_bytes().endswith(b"\n")
    whole = out.read_bytes()[: out.read_bytes().rfind(b"\n") + 1]
    proc = run_ben("ingest", "-q", "-f", "lines", "-o", str(out), str(log))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(whole)
    assert bodies(out.read_bytes()[len(whole):]) == [f"a {i}" for i in range(100_000)]
    out.write_bytes(b'{"body":"half')  # nothing whole at all
    run_ben("ingest", "-q", "-f", "lines", "-o", str(out), str(log), check=True)
    assert len(bodies(out.read_bytes())) == 100_000


def test_a_file_copied_and_truncated_after_a_run_found_it_empty_loses_nothing(tmp_path):
    """Found by the IngestOffsets state machine: an empty log at one cron run, a line, logrotate's
    copytruncate, another line: the copy has no first bytes known to find it by, so the entry
    keeps what lay beside the empty file and takes the new copy for its lost lines."""
    import io
    import shutil

    import orjson

    from ben_cli import ingest
    from ben_cli.ndjson import Writer
    from ben_cli.rejects import Rejects

    log, read = tmp_path / "app.log", []
    log.write_bytes(b"")
    (tmp_path / "app.log.2.gz").write_bytes(b"old")  # an older rotation, compressed: never read

    def since_last() -> None:
        out = io.BytesIO()
        ingest.run([str(log)], Writer(out), Rejects(), ingest.IngestOptions(since_last=True, state=tmp_path / "S"))
        read.extend(orjson.loads(line)["body"] for line in out.getvalue().splitlines())

    def copy_and_truncate() -> None:
        shutil.copyfile(log, tmp_path / "app.log.1")
        with open(log, "r+b") as fh:
            fh.truncate(0)

    def append(text: str) -> None:
        with open(log, "ab") as fh:
            fh.write(orjson.dumps({"msg": text}) + b"\n")

    since_last()
    copy_and_truncate()  # a copy of the empty file: nothing in it
    since_last()
    append("L0")
    copy_and_truncate()  # the copy holds L0, written over the earlier copy in place
    append("L1")
    since_last()
    since_last()  # and nothing twice
    assert read == ["L0", "L1"]
