"""``ben narrate --every --state`` (issue 14 item 5): after a crash and a rerun of a tied
pipeline, every window is counted from all its records once and stored once by the sink."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import orjson
import pytest

from .conftest import run_ben
from .test_exactly_once import spawn

SEED = int(os.environ.get("BEN_CHAOS_SEED", random.randrange(1 << 30)))


def _stamped(lo: int, hi: int) -> bytes:
    """One point a second, positioned as ``ingest --since-last`` stamps records."""
    return b"".join(orjson.dumps({"ts": f"2026-11-25T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                                  "name": "cpu", "value": float(i % 7) + (40 if i % 997 == 0 else 0),
                                  "_ingest": {"format": "ndjson", "in": "fe.1.ab", "line": i + 1, "at": 10 * (i + 1)}}) + b"\n"
                    for i in range(lo, hi))


def _narratives(data: bytes) -> list[dict]:
    return [r for r in map(orjson.loads, data.splitlines()) if r.get("name") == "ben.narrative"]


def test_records_read_again_are_not_counted_again_and_the_owed_narrative_comes_again(tmp_path):
    state = str(tmp_path / "N")
    whole = run_ben("narrate", "--every", "5m", "--state", str(tmp_path / "W"), input=_stamped(0, 3000))
    first = run_ben("narrate", "--every", "5m", "--state", state, input=_stamped(0, 1000))
    again = run_ben("narrate", "--every", "5m", "--state", state, input=_stamped(500, 3000))  # 500-999 read again
    assert again.returncode == 0, again.stderr
    assert b"seen before 500" in again.stderr
    assert len(again.stdout.splitlines()) - len(_narratives(again.stdout)) == 2500  # every record passes
    ref = {n["_ingest"]["at"]: n["attrs"] for n in _narratives(whole.stdout)}
    got = _narratives(first.stdout) + _narratives(again.stdout)
    assert all(n["attrs"]["records"] == 300 and not n["attrs"]["partial"] for n in got)
    # the windows closed by records 600 and 900 (read again) are owed to the sink: written again, the same
    assert sorted(n["_ingest"]["at"] for n in got) == sorted([*ref, *list(ref)[1:3]])
    assert all(n["attrs"] == ref[n["_ingest"]["at"]] for n in got)
    assert len(ref) == 9  # the tenth window stays open, kept in the state, not narrated partly


def test_the_sink_drops_a_narrative_it_already_stored(tmp_path):
    out, acks = tmp_path / "out.ndjson", str(tmp_path / "S")
    for lo, hi in ((0, 1000), (500, 3000)):
        narrated = run_ben("narrate", "-q", "--every", "5m", "--state", str(tmp_path / "N"), input=_stamped(lo, hi))
        assert run_ben("sink", "--ack", acks, "--to", f"file:{out}", input=narrated.stdout).returncode == 0
    stored = out.read_bytes()
    windows = [n["_ingest"]["at"] for n in _narratives(stored)]
    assert len(windows) == 9 == len(set(windows))
    assert len(stored.splitlines()) == 3000 + 9


def test_state_without_every_is_a_usage_error_and_a_foreign_state_is_refused(tmp_path):
    no_every = run_ben("narrate", "--state", str(tmp_path / "N"), input=b"")
    assert no_every.returncode == 2 and b"--state: only with --every" in no_every.stderr
    (tmp_path / "J").write_bytes(b'{"series": []}')
    foreign = run_ben("narrate", "--every", "5m", "--state", str(tmp_path / "J"), input=_stamped(0, 10))
    assert foreign.returncode != 0 and b"not a ben narrate state file" in foreign.stderr
    assert run_ben("narrate", "--every", "5m", "--state", str(tmp_path / "K"), input=_stamped(0, 10)).returncode == 0
    other = run_ben("narrate", "--every", "1m", "--state", str(tmp_path / "K"), input=_stamped(0, 10))
    assert other.returncode != 0 and b"kept for another --every (300s)" in other.stderr



def test_a_state_naming_anything_but_narrates_own_classes_is_refused_and_runs_nothing(tmp_path):
    """The state is a pickle; one that names another callable (here os.system) is refused unread."""
    import pickle

    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "N").write_bytes(pickle.dumps({"version": 1, "planted": Planted()}))
    out = run_ben("narrate", "--every", "5m", "--state", str(tmp_path / "N"), input=_stamped(0, 10))
    assert out.returncode == 1 and b"not a ben narrate state file" in out.stderr
    assert not marker.exists()


# the tied pipeline, a stage SIGKILLed and rerun ---------------------------------------------------

def _pipeline(folder: Path, victim: str | None, rng: random.Random) -> None:
    state = str(folder / "S")
    commands = [["ingest", "-q", "--since-last", "--ack", "--state", state, str(folder / "app.log")],
                ["detect", "-q", "--state", str(folder / "D")],
                ["narrate", "-q", "--every", "5m", "--state", str(folder / "N")],
                ["sink", "-q", "--ack", state, "--to", f"file:{folder / 'out.ndjson'}", "--batch-rows", "300",
                 "--batch-age", "50ms"]]
    procs = spawn(commands)
    if victim is not None:
        time.sleep(rng.uniform(0.3, 2.0))
        procs[[c[0] for c in commands].index(victim)].send_signal(signal.SIGKILL)
    for p in procs:
        p.wait(timeout=300)


@pytest.mark.parametrize("victim", ["narrate", "sink"])
def test_narrate_or_sink_killed_and_rerun_narrates_every_window_once_with_the_counts_of_an_unkilled_run(tmp_path, victim):
    rng = random.Random(f"{SEED}-{victim}")
    log = b"".join(orjson.dumps({"ts": f"2026-11-25T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", "name": "cpu",
                                 "value": float(i % 7) + (40 if i % 997 == 0 else 0)}) + b"\n" for i in range(40_000))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for folder in (clean, killed):
        folder.mkdir()
        (folder / "app.log").write_bytes(log)
    _pipeline(clean, None, rng)
    for _ in range(3):
        _pipeline(killed, victim, rng)
    _pipeline(killed, None, rng)
    ref = list(map(orjson.loads, (clean / "out.ndjson").read_bytes().splitlines()))
    got = list(map(orjson.loads, (killed / "out.ndjson").read_bytes().splitlines()))
    seed = f"(BEN_CHAOS_SEED={SEED})"
    ref_n = {n["attrs"]["window_start"]: n["attrs"] for n in ref if n.get("name") == "ben.narrative"}
    got_n = [n["attrs"] for n in got if n.get("name") == "ben.narrative"]
    assert len(ref_n) == 40_000 // 300, seed  # every whole window; the last, partial one stays open
    assert sorted(n["window_start"] for n in got_n) == sorted(ref_n), seed  # each window stored once
    # Counted from all its records, once. Scores are not compared: a record detect had learned
    # before the kill is marked, when read again, by a detector that has learned it (and what came
    # after), so its score, and an incident's severity made from scores, may differ slightly.
    counting = ("window_start", "window_end", "partial", "records", "watched")
    wrong = [(n["window_start"], {k: (n[k], ref_n[n["window_start"]][k]) for k in counting
                                  if n[k] != ref_n[n["window_start"]][k]})
             for n in got_n if any(n[k] != ref_n[n["window_start"]][k] for k in counting)]
    assert not wrong, f"{seed} windows counted differently (killed, clean): {wrong[:3]}"
    lines = sorted(r["ts"] for r in got if r.get("name") != "ben.narrative")
    assert len(lines) == 40_000 == len(set(lines)), seed  # and every record stored once
