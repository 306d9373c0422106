"""Chaos scenarios, one seeded run of each (``make reliability`` runs each of them many times and
writes RELIABILITY.md): corrupted state files of every kind, a full disk, a slow consumer, clock
skew, a handshake flood. The SIGKILL and server-restart scenarios live beside what they kill
(test_exactly_once.py, test_bee_chaos.py, test_run.py, test_narrate_state.py). Set
BEN_CHAOS_SEED to replay a failure."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from . import chaos_scenarios as cs
from .conftest import run_ben

SEED = int(os.environ.get("BEN_CHAOS_SEED", random.randrange(1 << 30)))


@pytest.mark.parametrize("kind", sorted(cs.CORRUPTIONS))
def test_a_corrupted_state_file_is_refused_naming_it_never_reset(tmp_path, kind):
    cs.CORRUPTIONS[kind](tmp_path, random.Random(f"{SEED}-{kind}"))  # BEN_CHAOS_SEED replays it


@pytest.mark.parametrize("name", sorted(cs.CHAOS))
def test_chaos(tmp_path, name):
    cs.CHAOS[name](tmp_path, random.Random(f"{SEED}-{name}"))


# --- regressions of what the scenarios found ---------------------------------------------------

def test_a_spool_batch_mutated_into_another_valid_one_is_read_and_the_run_fails_only_at_the_closed_port(tmp_path):
    # A 20-run round found this seed: the batch header's "inputs" became {}, a valid batch, and the
    # rerun failed to connect (the scenario's server is down), which the check took for a refusal
    # that did not name the file.
    note = cs.corrupt_sink_spool(tmp_path, random.Random("895643179-corrupted state: sink spool-1"))
    assert "mutated inputs" in note and note.endswith("(accepted; then the closed port)"), note


def test_an_installed_policy_record_that_is_not_one_is_a_state_error_naming_it(tmp_path):
    from ben_cli.errors import StateError
    from ben_cli.policy.bundle import Installed

    kept = Installed("web", tmp_path)
    kept.folder.mkdir()
    for broken in (b"[]", b'{"version": "7"}', b"{}", b"\xff"):
        kept.current_path.write_bytes(broken)
        with pytest.raises(StateError, match="current.json"):
            kept.current()  # was a TypeError on install (or a usage error, status 2)


def test_a_state_write_refused_for_space_names_the_file(tmp_path):
    from ben_cli.atomic import write_atomic

    with pytest.raises(OSError) as caught:
        write_atomic(tmp_path / "state", lambda fh: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    assert caught.value.filename == str(tmp_path / "state")
    assert os.listdir(tmp_path) == []  # and the temporary file is gone


def test_since_last_on_a_file_still_empty_does_not_pin_its_format(tmp_path):
    log, state = tmp_path / "app.log", tmp_path / "S"
    log.write_bytes(b"")  # logrotate has just made it; cron runs before the application writes
    assert run_ben("ingest", "-q", "--since-last", "--state", str(state), str(log)).returncode == 0
    log.write_bytes(b'{"msg":"hello","level":"info"}\n')
    out = run_ben("ingest", "-q", "--since-last", "--state", str(state), str(log))
    assert json.loads(out.stdout)["body"] == "hello"  # read as NDJSON, not as the plain line


@pytest.mark.parametrize("entry", [None, "x", [], {"dev": 1, "ino": 2}, {"dev": 1, "ino": 2, "bytes": -1},
                                   {"dev": 1, "ino": 2, "bytes": 1.5}, {"dev": 1, "ino": 2, "bytes": True}])
def test_acknowledgements_whose_output_file_entry_is_not_one_are_refused(tmp_path, entry):
    from ben_cli import acks
    from ben_cli.errors import StateError

    path = tmp_path / "S.ack"
    path.write_text(json.dumps({"version": 1, "inputs": {"fe.1.ab": [200, 20]}, "file": entry}))
    with pytest.raises(StateError, match="output file entry"):  # was a traceback in ben sink --ack --to file:
        acks.load(path)
    path.write_text(json.dumps({"version": 1, "inputs": {}}))  # a ClickHouse sink keeps no file entry
    assert acks.load(path) == ({}, {})


def test_a_ca_state_naming_a_generation_the_folder_never_had_is_refused_naming_state_json(tmp_path):
    from ben_cli.ca.store import Store
    from ben_cli.errors import StateError

    store = Store(tmp_path / "ca")
    store.root.mkdir()
    (store.root / "state.json").write_text('{"generation": 4611686018427387904, "crl_sequence": 0}')
    with pytest.raises(StateError, match=r"state.json names generation 4611686018427387904, but ca-\d+.cert is missing"):
        store.generation  # noqa: B018 - the property reads and checks the file


def test_an_adwin_bucket_emptied_in_a_detect_state_is_refused_by_name(tmp_path: Path):
    """Found by the corrupted-state scenario (a bucket of adwin's rows, inside the default's members,
    mutated into an empty list): restore took it, and the first split raised ValueError unpacking it."""
    import orjson

    from ben_cli.detect.options import DetectOptions
    from ben_cli.detect.table import SeriesTable
    from ben_cli.errors import StateError

    path = tmp_path / "state.json"
    with SeriesTable(DetectOptions(detector="adwin", state=path)) as table:
        list(table.feed([{"ts": f"2026-11-25T10:{n // 60:02d}:{n % 60:02d}Z", "source": "web", "name": "cpu",
                          "value": n % 7} for n in range(300)]))
        table.save()
    data = orjson.loads(path.read_bytes())
    key, seen, saved = data["series"][0]
    from ben_cli.detect.adwin import Adwin

    rows = saved[Adwin.state_slots().index("rows")]
    assert rows and rows[0], "the state must hold buckets for the test to mean anything"
    rows[0][0] = []
    path.write_bytes(orjson.dumps(data))
    with pytest.raises(StateError, match=r"state\.json: a series' state cannot be read \(series 'web/cpu': state\.rows: adwin's rows"):
        SeriesTable(DetectOptions(detector="adwin", state=path)).load()
