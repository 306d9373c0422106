"""The ingest core, :class:`ben_cli.ingest.Ingester`: raw lines of one input in, envelopes out.

Composed in one process it must give exactly what ``ben ingest`` writes; fed in one go or line
by line, the same envelopes; and whatever the lines, records or rejects, never an exception."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.errors import BadRecord
from ben_cli.ingest import DecodeOptions, Ingester
from ben_cli.rejects import Rejects
from ben_cli.stage import chain

from .conftest import run_ben

FIXED = 1_795_600_000_123_000_000

# Every record carries its own time, so the command and the core agree without a shared clock.
# Each sample has a blank line, a CRLF line, a bad line and a last line without its newline.
SAMPLES = {
    "ndjson": b'{"ts":"2026-11-25T10:00:00Z","level":"warn","host":"web-1","msg":"slow","ms":412}\n'
              b'\n{"ts":"2026-11-25T10:00:01Z","msg":"crlf"}\r\n[1,2]\n'
              b'{"time":1795600000123,"msg":"last","nested":{"a":[1,2]}}',
    "logfmt": b'ts=2026-11-25T10:00:00Z level=error host=db-1 msg="disk \\"sda\\" full" used=97.5\n'
              b'\nts=2026-11-25T10:00:01Z msg=crlf\r\n\xff\xfe=1\n'
              b'ts=2026-11-25T10:00:02Z msg=last flag',
    "syslog": b"<13>1 2026-11-25T10:00:00Z h app 42 ID1 [req@32473 path=\"/pay\"] paid\n"
              b"\n<14>1 2026-11-25T10:00:01.5Z h app - - - crlf\r\nnot syslog at all\n"
              b"<11>1 2026-11-25T10:00:02Z h app - - - last",
    "csv": b"ts,level,msg,n\n2026-11-25T10:00:00Z,info,first,1\n\n2026-11-25T10:00:01Z,warn,crlf,2\r\n"
           b"2026-11-25T10:00:02Z,too,few\n2026-11-25T10:00:03Z,error,\"quoted, cell\",4",
    "prom": b"# TYPE shop_orders counter\nshop_orders_total{region=\"eu\"} 3 1795600000000\n\n"
            b"shop_queue 12.5 1795600001000\r\nshop bad bad\nshop_queue 13 1795600002000",
}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_the_core_composed_in_process_writes_what_the_command_writes(tmp_path, fmt):
    path = tmp_path / f"sample.{fmt}"
    path.write_bytes(SAMPLES[fmt])
    command = run_ben("ingest", "-q", "--format", fmt, str(path))
    assert command.returncode == 0, command.stderr
    rejects = Rejects(stage="ingest")
    with open(path, "rb") as fh:
        records = list(chain([Ingester(fmt, file=str(path), on_error=rejects.add)], fh))  # type: ignore[list-item]
    composed = b"".join(orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE) for rec in records)
    assert composed == command.stdout and composed.count(b"\n") >= 3
    assert rejects.count == 1


def _decode(fmt: str, pieces: list[list[bytes]], **kw) -> tuple[list[dict], list[tuple[int, str]], int]:
    rejects = Rejects(stage="ingest")
    core = Ingester(fmt, DecodeOptions(clock=lambda: FIXED), file="x", on_error=rejects.add, **kw)
    out = [rec for piece in pieces for rec in core.feed(piece)]
    out += core.flush()
    return out, [(f.split(": ", 1)[0], f) for f in rejects.first], core.read


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_fed_in_one_go_or_line_by_line_the_envelopes_are_the_same(fmt):
    lines = SAMPLES[fmt].splitlines(keepends=True)
    whole = _decode(fmt, [lines])
    one_by_one = _decode(fmt, [[line] for line in lines])
    assert whole == one_by_one
    assert whole[0] and whole[1]  # records and a reject both
    assert whole[2] == len([line for line in lines if line.strip()])


def test_lines_without_terminators_are_numbered_the_same():
    lines = SAMPLES["logfmt"].splitlines(keepends=True)
    assert _decode("logfmt", [lines]) == _decode("logfmt", [[line.rstrip(b"\r\n") for line in lines]])


def test_marks_say_format_file_or_peer_and_line():
    by_file = list(Ingester("lines", file="app.log", lineno=41).feed([b"one\n"]))
    by_peer = list(Ingester("lines", peer="127.0.0.1:5000").feed([b"\n", b"two\n"]))
    on_stdin = list(Ingester("lines").feed([b"three"]))
    read = {"ts": "read"}  # plain words carry no time of their own
    assert by_file[0]["_ingest"] == {"format": "lines", "file": "app.log", "line": 42, **read}
    assert by_peer[0]["_ingest"] == {"format": "lines", "peer": "127.0.0.1:5000", "line": 2, **read}
    assert on_stdin[0]["_ingest"] == {"format": "lines", "line": 1, **read}


def test_without_on_error_the_first_bad_line_is_raised_where_it_is():
    core = Ingester("ndjson", file="app.ndjson")
    with pytest.raises(BadRecord) as caught:
        list(core.feed([b'{"msg":"ok"}\n', b"\n", b"[1]\n"]))
    assert str(caught.value) == "app.ndjson:3: record is a JSON list, not an object"


def test_the_line_length_limit_is_the_readers():
    rejects = Rejects(stage="ingest")
    out = list(Ingester("lines", on_error=rejects.add, max_line_bytes=10).feed([b"short\n", b"x" * 11 + b"\n"]))
    assert [r["body"] for r in out] == ["short"]
    assert rejects.first == ["line 2: line is 11 bytes, over the 10-byte limit"]


def test_flush_rejects_what_a_decoder_still_holds():
    rejects = Rejects(stage="ingest")
    core = Ingester("csv", on_error=rejects.add)
    assert list(core.feed([b"a,b\n", b'1,"open\n', b"still open\n"])) == []
    assert list(core.flush()) == []
    assert rejects.first == ["line 2: input ends inside a quoted cell opened on this line",
                             "line 3: row has 1 cells, the header names 2"]


def _csv_run(lines: list[bytes]) -> tuple[list[dict], list[BadRecord], Ingester]:
    bad: list[BadRecord] = []
    core = Ingester("csv", DecodeOptions(clock=lambda: FIXED), file="q.csv", on_error=bad.append)
    out = [*core.feed(lines), *core.flush()]
    return out, bad, core


@pytest.mark.parametrize("rows", [30, 1500])
def test_an_unterminated_quote_costs_only_its_own_line(rows):
    """Issue 13, item 3: a header, an open quote and good rows gave `read 32, wrote 0, rejected 1`
    (at 1,500 rows, 1,001 lines vanished): the lines a failed quoted cell consumed reached no one."""
    lines = [b"h1,h2\n", b'"open,1\n', *(b"a%d,%d\n" % (i, i) for i in range(rows))]
    out, bad, core = _csv_run(lines)
    assert [(b.lineno, b.raw) for b in bad] == [(2, b'"open,1')]
    assert [r["_ingest"]["line"] for r in out] == list(range(3, rows + 3))
    assert [r["attrs"]["h1"] for r in out] == [f"a{i}" for i in range(rows)]
    assert core.read == len(out) + len(bad) + 1  # the header is read, neither written nor rejected


def test_a_quote_that_breaks_a_later_line_rejects_each_line_it_held():
    lines = [b"h1,h2\n", b'"multi\n', b'line"x,1\n', b"\n", b'"ok\n', b'cell",2\n', b"b,3\n"]
    out, bad, _ = _csv_run(lines)
    assert [(b.lineno, b.raw) for b in bad] == [(2, b'"multi')]
    assert [(r["_ingest"]["line"], r["attrs"]["h1"]) for r in out] == [(3, 'line"x'), (6, "ok\ncell"), (7, "b")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet='",a1\r', max_size=6), min_size=1, max_size=25))
def test_every_csv_line_is_a_record_a_reject_or_inside_a_record(cells):
    """Whatever the quotes, each data line is rejected with its own raw text, or ends a record, or
    sits inside a multi-line cell of a record that ends later: the last data line is never lost."""
    lines = [b"h1,h2\n", *(c.encode() + b"\n" for c in cells)]
    out, bad, core = _csv_run(lines)
    data = {n: lines[n - 1][:-1].removesuffix(b"\r") for n in range(2, len(lines) + 1)}
    data = {n: d for n, d in data.items() if d and not d.isspace()}
    for b in bad:
        assert data[b.lineno] == b.raw
    marked = [b.lineno for b in bad] + [r["_ingest"]["line"] for r in out]
    assert len(marked) == len(set(marked))
    if data:
        assert max(data) in marked
    assert core.read == len(data) + 1


def test_prime_gives_a_resumed_csv_its_header_unnumbered():
    core = Ingester("csv", DecodeOptions(clock=lambda: FIXED), file="m.csv", lineno=7)
    core.prime([b"host,cpu"])
    out = list(core.feed([b"a,1\n"]))
    assert [(r["source"], r["attrs"], r["_ingest"]["line"]) for r in out] == [("a", {"cpu": 1}, 8)]
    assert core.read == 1


lines_of_bytes = st.lists(st.binary(max_size=60) | st.sampled_from(
    [b"", b"\r\n", b"ts=2026-11-25T10:00:00Z a=1", b'{"msg":"x"}', b'{"ts":"bad"}', b"a,b", b'"open',
     b"<13>1 2026-11-25T10:00:00Z h a - - - m", b"# TYPE m counter", b"m 1"]), max_size=30)


@pytest.mark.parametrize("fmt", ["ndjson", "logfmt", "csv", "syslog", "prom", "lines"])
@settings(max_examples=150, deadline=None)
@given(raw=lines_of_bytes)
def test_any_lines_give_records_or_rejects_never_an_exception(fmt, raw):
    rejects = Rejects(stage="ingest")
    core = Ingester(fmt, DecodeOptions(clock=lambda: FIXED), on_error=rejects.add)
    lines = [line + b"\n" for line in raw]
    out = list(core.feed(lines)) + list(core.flush())
    assert all(type(rec) is dict and rec["_ingest"]["format"] == fmt for rec in out)
    assert core.read == sum(1 for line in lines if line.strip())
    if fmt in ("ndjson", "logfmt", "syslog", "lines"):  # one record or one reject per line
        assert len(out) + rejects.count == core.read


def test_the_limit_option_takes_a_size_and_refuses_zero():
    proc = run_ben("ingest", "-f", "lines", "--max-line-bytes", "1K", input=b"x" * 2000 + b"\nshort\n")
    assert proc.returncode == 0, proc.stderr
    assert b"line 1: line is 2000 bytes, over the 1024-byte limit" in proc.stderr
    assert b"read 2, wrote 1, rejected 1" in proc.stderr
    zero = run_ben("ingest", "--max-line-bytes", "0", input=b"x\n")
    assert zero.returncode == 2 and zero.stderr.strip() == b"ben ingest: Invalid value for '--max-line-bytes': a size must be at least one byte: '0'"


def test_a_line_of_unicode_spaces_is_kept_not_dropped_in_silence():
    out = list(Ingester("lines", DecodeOptions(clock=lambda: FIXED)).feed(["\u00a0\x1c".encode() + b"\n", b" \t\n"]))
    assert [(r["body"], r["_ingest"]["line"]) for r in out] == [("\u00a0\x1c", 1)]  # the ASCII-blank line is blank
