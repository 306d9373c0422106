"""``ben run`` makes a batch's NDJSON lines with one ``orjson.dumps`` (``ndjson.dumps_lines``):
the bytes must be those of a ``dumps`` per record, whatever the records hold."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ndjson import dumps_lines

TEXT = st.text(alphabet=st.sampled_from(["a", ",", "\n", "{", "}", "[", "]", '"', "\\", "é", "\u2028", "\x00", " "]))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
                   st.floats(allow_nan=False, allow_infinity=False), TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                    st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
RECORD = st.dictionaries(TEXT, VALUE, max_size=6)


def per_record(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE) for rec in records)


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORD, max_size=8))
def test_a_batch_serialised_once_is_each_record_serialised(records: list[dict]) -> None:
    assert dumps_lines(records) == per_record(records)


def test_newlines_and_separators_inside_strings_stay_inside_their_line() -> None:
    records = [{"body": "a,\n,b", "attrs": {"k": ",\n,"}}, {"list": [{"x": "\n"}, {"y": ",\n]"}]}, {}]
    out = dumps_lines(records)
    assert out == per_record(records)
    assert [orjson.loads(line) for line in out.splitlines()] == records


def test_no_records_make_no_bytes() -> None:
    assert dumps_lines([]) == b""


def test_a_record_that_cannot_be_serialised_raises_what_it_raises_alone() -> None:
    with pytest.raises(orjson.JSONEncodeError) as alone:
        orjson.dumps({"n": 2**64})
    with pytest.raises(orjson.JSONEncodeError) as batch:
        dumps_lines([{"ok": 1}, {"n": 2**64}])
    assert str(batch.value) == str(alone.value)


def test_a_record_at_the_depth_limit_is_serialised_as_alone() -> None:
    """Inside the batch's list a record is one level deeper: at the limit it fails there and
    not alone, so the batch falls back to a call per record and gives the same lines."""
    record: dict = {}
    inner = record
    for _ in range(253):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps([record])
    assert dumps_lines([{"x": 1}, record]) == per_record([{"x": 1}, record])


def test_a_workers_own_state_file_has_no_replays_and_a_users_keeps_them(tmp_path) -> None:
    """A detector's state file made for a worker in the run's own folder: no earlier run learned
    from it, so records are not checked against learned positions (``Replays``); the user's
    ``--state`` (suffixed per worker) keeps the check, as ``ben detect --state`` has it."""
    from ben_cli.detect import DetectOptions
    from ben_cli.orchestrate.shards import _private_state
    from ben_cli.orchestrate.steps import DetectStep, Planned
    from ben_cli.rejects import Rejects

    own = _private_state(Planned("detect", DetectOptions.from_text(by="source,name"), where="stage 2 (detect)"),
                         0, 2, tmp_path)
    users = _private_state(Planned("detect", DetectOptions.from_text(by="source,name", state=str(tmp_path / "d"))),
                           1, 2, tmp_path)
    assert own.options.state is not None and own.options.state.parent == tmp_path and not own.replays
    assert users.options.state == tmp_path / "d.1-of-2" and users.replays
    for plan, replays in ((own, False), (users, True)):
        step = DetectStep(plan, Rejects(None, stage="detect"))
        step.start()
        assert (step.replays is not None) is replays
        step.close()
