"""The streaming layer: any JSON object round-trips; any byte string parses or is rejected."""

import gzip
import io

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ndjson import BadRecord, Reader, Writer, dumps, iter_records, open_input, parse_object
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


# The one reader: every shape sees the same lines, numbers, rejects and counts.

line_bytes = st.sampled_from([b'{"a":1}', b'{"b":"x"}', b"", b"   ", b"[1]", b"{bad", b'"s"', b'{"c":{"d":2}}'])
terminators = st.sampled_from([b"\n", b"\r\n"])


def _reader_file(tmp_path_factory, parts):
    path = tmp_path_factory.mktemp("rd") / "in.ndjson"
    path.write_bytes(b"".join(line + end for line, end in parts))
    return str(path)


def _run(shape, path):
    bad: list[BadRecord] = []
    reader = Reader([path], bad.append)
    if shape == "records":
        out = [orjson.dumps(r) for r in reader.records()]
    elif shape == "pairs":
        out = [orjson.dumps(r) for _line, r in reader.pairs()]
    else:
        out = [orjson.dumps(r) for r, _raw, _src, _off in reader.positioned()]
    return out, [(b.lineno, b.reason) for b in bad], reader.read


@settings(max_examples=150)
@given(st.lists(st.tuples(line_bytes, terminators), max_size=12))
def test_every_reader_shape_agrees(tmp_path_factory, parts):
    path = _reader_file(tmp_path_factory, parts)
    records = _run("records", path)
    assert _run("pairs", path) == records
    assert _run("positioned", path) == records
    out, bad, read = records
    nonblank = sum(1 for line, _ in parts if line.strip())
    assert read == nonblank == len(out) + len(bad)  # read = written + rejected, blanks in neither


def test_reader_pairs_give_the_line_without_its_terminator(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\r\n{"a":2}\n{"a":3}')
    assert [line for line, _ in Reader([str(path)]).pairs()] == [b'{"a":1}', b'{"a":2}', b'{"a":3}']


def test_reader_rejects_long_lines_with_one_wording(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":"' + b"x" * 50 + b'"}\n{"a":1}\n')
    for shape in ("records", "pairs", "lines", "positioned"):
        bad: list[BadRecord] = []
        reader = Reader([str(path)], bad.append, max_line_bytes=20)
        got = list(getattr(reader, shape)())
        assert len(got) == 1 and reader.read == 2
        assert [(b.lineno, b.reason) for b in bad] == [(1, "line is 58 bytes, over the 20-byte limit")]


def test_reader_positions_resume_past_stored_lines(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\n{"a":2}\n{"a":3}\n')
    first = list(Reader([str(path)]).positioned())
    source, offset = first[1][2], first[1][3]
    resumed = list(Reader([str(path)]).positioned({source.key: source.position(offset)}))
    assert [r for r, *_ in resumed] == [{"a": 3}]


def test_reader_reject_names_the_current_line(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\n\n{"a":2}\n')
    bad: list[BadRecord] = []
    reader = Reader([str(path)], bad.append)
    for rec in reader.records():
        if rec["a"] == 2:
            reader.reject("not wanted", b"x")
    assert str(bad[0]) == f"{path}:3: not wanted"


def test_bad_record_is_a_ben_error_with_status_one():
    from ben_cli.errors import BenError, ExitStatus

    assert isinstance(BadRecord(1, "x"), BenError) and BadRecord(1, "x").status == ExitStatus.ERROR
