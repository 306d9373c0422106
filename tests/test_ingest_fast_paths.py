"""Every decoder fast path gives what the general path gives.

The decoders remember what lines of one stream share (a logfmt line's layout, a CSV row without
quotes, a Prometheus label set, an RFC 5424 header) and take a shorter road for lines that fit.
Each property below feeds the same lines through the fast road and through the general one that
defines the format, and asks for the same records or the same error, line by line."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.ingest.format import DecodeError
from ben_cli.ingest.logfmt import LogfmtParser, parse_logfmt, typed

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn, *args):
    """A result or the error's message, so that a fast and a general path can be compared."""
    try:
        return ("ok", fn(*args))
    except DecodeError as exc:
        return ("error", str(exc))


def same(a: object, b: object) -> bool:
    """Equal with types: 1, 1.0 and True are different JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# -- logfmt ------------------------------------------------------------------------------------

_INT = re.compile(r"-?(?:0|[1-9]\d{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def typed_by_definition(value: str) -> object:
    """Canonical numbers and booleans, written the long way round."""
    if _INT.fullmatch(value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if _FLOAT.fullmatch(value):
        number = float(value)
        if number == number and abs(number) != float("inf"):
            return number
    return value


numberish = st.one_of(st.integers(-(10**20), 10**20).map(str), st.floats().map(repr),
                      st.from_regex(r"-?[0-9]{0,20}(\.[0-9]{0,3})?([eE][+-]?[0-9]{0,3})?", fullmatch=True),
                      st.sampled_from(["true", "false", "True", "-", "", "0", "-0", "00", "1e999", "nan", "inf"]))


@PROPS
@given(st.one_of(numberish, st.text(max_size=12)))
def test_typed_keeps_its_definition(value):
    assert same(typed(value), typed_by_definition(value))


keys = st.sampled_from(["ts", "level", "msg", "a.b", "k@x", "time", "x\\y", "n"]) | st.from_regex(r"[a-z_]{1,6}", fullmatch=True)
bare = st.one_of(numberish, st.from_regex(r"[^\s\"]{0,8}", fullmatch=True), st.sampled_from(["a=b", "x\\", "web-1"]))
quoted = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=10).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
junk = st.sampled_from(['"', 'a="x', "  ", "\t", " =", "=x", 'a="x"b=1', "flag", 'x="\\q"', '"k"=1'])
pair = st.tuples(keys, st.one_of(bare, quoted)).map(lambda kv: f"{kv[0]}={kv[1]}")
line = st.lists(st.one_of(pair, pair, pair, junk), min_size=1, max_size=6).map(" ".join)


@st.composite
def logfmt_streams(draw) -> list[str]:
    """Lines of one or two layouts (same keys, each value bare or quoted throughout) among odd ones."""
    layouts = draw(st.lists(st.lists(st.tuples(keys, st.booleans()), min_size=1, max_size=5), min_size=1, max_size=2))
    lines = []
    for _ in range(draw(st.integers(1, 10))):
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(line))
            continue
        layout = draw(st.sampled_from(layouts))
        lines.append(" ".join(f"{k}={draw(quoted if q else bare)}" for k, q in layout))
    return lines


@PROPS
@given(logfmt_streams())
def test_logfmt_layouts_read_like_the_tokeniser(lines):
    parser = LogfmtParser()  # learns layouts as it goes: later lines take the fast path
    for text in lines:
        fast, general = outcome(parser.parse, text), outcome(parse_logfmt, text)
        assert fast[0] == general[0] and same(fast[1], general[1]), text


def test_a_learned_logfmt_layout_answers_alone():
    parser = LogfmtParser()
    parser.parse('ts=2026-11-25T10:00:00Z level=info msg="a \\"b\\"" n=1')
    shape = parser._last
    assert shape is not None
    assert shape.parse('ts=x level=warn msg="c" n=-2.5') == {"ts": "x", "level": "warn", "msg": "c", "n": -2.5}
    assert shape.parse('ts=x level=warn msg=c n=1') is None  # msg is bare here: another layout


# -- CSV ---------------------------------------------------------------------------------------

csv_text = st.text(st.sampled_from([",", "\t", '"', "\r", " ", "a", "1", "-", "é", "\u2028", "\x0b"]), max_size=16)


@PROPS
@given(csv_text, st.sampled_from([",", "\t"]))
def test_csv_rows_without_quotes_split_as_the_csv_module_reads_them(text, delimiter):
    import csv

    from ben_cli.ingest.csv_format import CsvDecoder

    dec = CsvDecoder.__new__(CsvDecoder)  # only the row splitter, without a header
    dec.delimiter, dec._pending = delimiter, []
    try:
        want: object = next(csv.reader((text,), delimiter=delimiter, strict=True), [])
    except csv.Error:
        want = "error or more lines"
    try:
        got = dec._cells(text)
    except DecodeError:
        got = "error or more lines"
    assert (got if got is not None else "error or more lines") == want


def test_a_cell_over_the_csv_limit_is_rejected_as_before():
    from ben_cli.ingest.csv_format import _FIELD_LIMIT, CsvDecoder
    from ben_cli.ingest.format import IngestOptions

    dec = CsvDecoder(IngestOptions())
    dec.decode(b"a,b")
    try:
        dec.decode(b"x," + b"y" * (_FIELD_LIMIT + 1))
    except DecodeError as exc:
        assert "field larger than field limit" in str(exc)
    else:
        raise AssertionError("an over-long cell was accepted")
