"""The streaming layer: any JSON object round-trips; any byte string parses or is rejected."""

import gzip
import io

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ndjson import BadRecord, Writer, dumps, iter_records, open_input, parse_object
from ben_cli.rejects import Rejects, Summary, reject_record

scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
values = st.recursive(scalars, lambda k: st.lists(k, max_size=4) | st.dictionaries(st.text(), k, max_size=4),
                      max_leaves=20)
objects = st.dictionaries(st.text(), values, max_size=6)


@given(objects)
def test_one_object_is_one_line_and_round_trips(obj):
    line = dumps(obj)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_object(line[:-1]) == obj


@given(st.lists(objects, max_size=8))
def test_stream_round_trip(tmp_path_factory, objs):
    path = tmp_path_factory.mktemp("rt") / "in.ndjson"
    out = io.BytesIO()
    with Writer(out, line_buffered=False) as w:
        w.write_all(objs)
    path.write_bytes(out.getvalue())
    assert list(iter_records([str(path)])) == objs
    assert w.count == len(objs)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_rejected(data):
    try:
        obj = parse_object(data, 1)
    except BadRecord as bad:
        assert bad.lineno == 1 and bad.reason
        rec = reject_record(bad, "test")
        assert orjson.loads(orjson.dumps(rec)) == rec  # a reject is always writable
        return
    assert isinstance(obj, dict)


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "in.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"a":1}\n{"a":2}\n'))
    assert [r["a"] for r in iter_records([str(path)])] == [1, 2]


def test_crlf_blank_lines_and_missing_final_newline(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\r\n\r\n   \n{"a":2}')
    assert [r["a"] for r in iter_records([str(path)])] == [1, 2]


def test_bad_lines_keep_their_numbers(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\n[1]\n{"a":\n42\n{"a":2}\n')
    seen: list[BadRecord] = []
    good = list(iter_records([str(path)], on_error=seen.append))
    assert [r["a"] for r in good] == [1, 2]
    assert [(b.lineno, b.reason.split(":")[0]) for b in seen] == [
        (2, "record is a JSON list, not an object"), (3, "invalid JSON"), (4, "record is a JSON int, not an object")]
    assert all(b.file == str(path) for b in seen)


def test_without_handler_the_first_bad_line_raises(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\nnope\n')
    with pytest.raises(BadRecord, match=r":2: invalid JSON"):
        list(iter_records([str(path)]))


def test_open_input_peeks_without_consuming(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"hello\n")
    stream = open_input(str(path))
    assert stream.read() == b"hello\n"


def test_rejects_file_keeps_raw_bytes_exactly(tmp_path):
    import base64

    target = tmp_path / "rejects.ndjson"
    with Rejects(target, stage="test") as rej:
        rej.add(BadRecord(3, "invalid UTF-8", b"\xff\xfe ok", "in.log"))
        rej.add(BadRecord(4, "invalid JSON", b'{"a":', "in.log"))
    lines = [orjson.loads(x) for x in target.read_bytes().splitlines()]
    assert lines[0]["line"] == 3 and lines[0]["file"] == "in.log" and lines[0]["stage"] == "test"
    assert base64.b64decode(lines[0]["raw_b64"]) == b"\xff\xfe ok"
    assert lines[1]["raw"] == '{"a":' and "raw_b64" not in lines[1]
    assert rej.count == 2 and rej.reasons == {"invalid UTF-8": 1, "invalid JSON": 1}


def test_strict_rejects_raise():
    with pytest.raises(BadRecord):
        Rejects(strict=True).add(BadRecord(1, "bad"))


def test_summary_line():
    s = Summary("ingest", read=5, written=4, rejected=1)
    assert s.line() == "ben ingest: read 5, wrote 4, rejected 1"
    out = io.StringIO()
    rej = Rejects()
    rej.add(BadRecord(2, "invalid JSON: x"))
    s.report(out, rej)
    assert out.getvalue().splitlines() == ["ben ingest: read 5, wrote 4, rejected 1", "  rejected line 2: invalid JSON: x"]


def test_writer_blocks_until_flush_when_not_a_terminal():
    out = io.BytesIO()
    w = Writer(out, line_buffered=False)
    w.write({"a": 1})
    w.flush()
    assert out.getvalue() == b'{"a":1}\n'
