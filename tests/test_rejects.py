"""The rejects file holds raw, unscrubbed input: it is created private, and scrub can keep the
reason without the text (issue 13, item 12)."""

from __future__ import annotations

import os
import stat

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.errors import BadRecord
from ben_cli.rejects import Rejects, reject_record

from .conftest import run_ben


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual umask, under which open(..., "ab") made 0644
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_rejects_file_is_created_0600(tmp_path, open_umask):
    path = tmp_path / "rejects.ndjson"
    with Rejects(path, stage="test") as bad:
        bad.add(BadRecord(1, "not JSON", b"alice@example.com said hi"))
    assert _mode(path) == 0o600
    assert orjson.loads(path.read_bytes())["raw"] == "alice@example.com said hi"


def test_an_existing_rejects_file_keeps_its_mode_and_is_appended_to(tmp_path, open_umask):
    path = tmp_path / "rejects.ndjson"
    path.write_bytes(b'{"earlier":1}\n')
    os.chmod(path, 0o640)
    with Rejects(path, stage="test") as bad:
        bad.add(BadRecord(2, "not JSON", b"x"))
    assert _mode(path) == 0o640
    assert path.read_bytes().startswith(b'{"earlier":1}\n') and path.read_bytes().count(b"\n") == 2


@given(st.binary(max_size=100))
def test_without_raw_no_byte_of_the_line_is_written(raw):
    rec = reject_record(BadRecord(3, "not JSON", raw, "in.log"), "scrub", keep_raw=False)
    assert rec == {"stage": "scrub", "file": "in.log", "line": 3, "reason": "not JSON", "raw_bytes": len(raw)}


def test_every_stage_creates_its_rejects_file_0600(tmp_path):
    path = tmp_path / "r.ndjson"
    res = run_ben("ingest", "-f", "ndjson", "--rejects", str(path), input=b'{"a":1}\nnot json bob@example.com\n')
    assert res.returncode == 0, res.stderr
    assert _mode(path) == 0o600 and b"bob@example.com" in path.read_bytes()


def test_scrub_no_rejects_raw_keeps_the_reason_not_the_pii(tmp_path):
    data = b'{"body":"ok"}\n{"body": "carol@example.com" broken\n'
    kept, bare = tmp_path / "kept.ndjson", tmp_path / "bare.ndjson"
    res = run_ben("scrub", "-q", "--rejects", str(kept), input=data)
    assert res.returncode == 0 and b"carol@example.com" in kept.read_bytes()
    res = run_ben("scrub", "-q", "--rejects", str(bare), "--no-rejects-raw", input=data)
    assert res.returncode == 0, res.stderr
    rec = orjson.loads(bare.read_bytes())
    assert b"carol" not in bare.read_bytes() and _mode(bare) == 0o600
    assert rec["line"] == 2 and rec["raw_bytes"] == len(data.splitlines()[1]) and "raw" not in rec


def test_a_half_written_reject_from_a_killed_run_is_cut_before_the_next(tmp_path):
    """A run killed mid-write leaves half a reject; the next run's first reject used to be glued
    to it, one invalid line in the file (issue 13, item 4)."""
    path = tmp_path / "rejects.ndjson"
    whole = b'{"stage":"ingest","file":"a","line":1,"reason":"bad","raw":"x"}\n'
    path.write_bytes(whole + whole[:25])
    with Rejects(path, stage="scrub") as rejects:
        rejects.add(BadRecord(7, "invalid JSON: nope", b"{oops", "in.ndjson"))
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(x)["line"] for x in lines] == [1, 7]


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n"), max_size=6), st.data())
def test_cut_to_whole_lines_keeps_every_whole_line_and_nothing_else(tmp_path_factory, lines, data):
    from ben_cli.atomic import cut_to_whole_lines

    text = b"".join(lines)
    cut = data.draw(st.integers(0, len(text)))
    path = tmp_path_factory.mktemp("cut") / "f"
    path.write_bytes(text[:cut])
    removed = cut_to_whole_lines(path)
    kept = path.read_bytes()
    assert kept == text[: text.rfind(b"\n", 0, cut) + 1] and removed == cut - len(kept)
    assert not kept or kept.endswith(b"\n")
