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
from ben_cli.ingest.logfmt import LogfmtParser, parse_python, typed

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
        fast, general = outcome(parser.parse, text), outcome(parse_python, text)
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
    dec.delimiter, dec._pending, dec._held = delimiter, [], []
    try:
        want: object = next(csv.reader((text,), delimiter=delimiter, strict=True), [])
    except csv.Error:
        want = "error or more lines"
    try:
        got = dec._cells(text, text.encode())
    except DecodeError:
        got = "error or more lines"
    assert (got if got is not None else "error or more lines") == want


def test_a_cell_over_the_csv_limit_is_rejected_as_before():
    from ben_cli.ingest.csv_format import _FIELD_LIMIT, CsvDecoder
    from ben_cli.ingest.format import DecodeOptions

    dec = CsvDecoder(DecodeOptions())
    dec.decode(b"a,b")
    try:
        dec.decode(b"x," + b"y" * (_FIELD_LIMIT + 1))
    except DecodeError as exc:
        assert "field larger than field limit" in str(exc)
    else:
        raise AssertionError("an over-long cell was accepted")


# -- Prometheus --------------------------------------------------------------------------------

label_text = st.text(st.sampled_from(['a', 'é', ' ', ',', '}', '{', '"', '\\', '=', 'n', '#']), max_size=6)


@st.composite
def prom_streams(draw) -> list[bytes]:
    """Samples whose label blocks repeat (some well-formed, some not), with shared timestamps."""
    def block() -> str:
        pairs = draw(st.lists(st.tuples(st.sampled_from(["a", "le", "b_2", "x y"]), label_text), max_size=3))
        sep = draw(st.sampled_from([",", ", ", " ", ""]))
        return "{" + sep.join(f'{k}="{v}"' for k, v in pairs) + draw(st.sampled_from(["}", ",}", " }", ""]))

    blocks = [block() for _ in range(draw(st.integers(1, 3)))]
    stamps = draw(st.lists(st.sampled_from(["", " 1395066363000", " 1.5e9", " -1", " soon", " 1 2"]), min_size=1,
                           max_size=2))
    lines = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            lines.append(draw(st.sampled_from(["# TYPE m counter", "# TYPE m_x histogram", "# HELP m h\\n", "# EOF"])))
        else:
            name = draw(st.sampled_from(["m", "m_total", "m_x_bucket"]))
            value = draw(st.sampled_from(["1", "-2.5", "NaN", "+Inf", "x"]))
            lines.append(f"{name}{draw(st.sampled_from(blocks))} {value}{draw(st.sampled_from(stamps))}")
    return [line.encode() for line in lines]


@PROPS
@given(prom_streams())
def test_prometheus_label_sets_and_stamps_read_as_the_parser_reads_them(lines):
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.prometheus import PrometheusDecoder

    opts = DecodeOptions(clock=lambda: 1_795_600_000_123_000_000)
    fast, general = PrometheusDecoder(opts), PrometheusDecoder(opts)
    for data in lines:
        general._label_sets.clear()  # the general decoder forgets before every line
        general._stamp = ("", "")
        got, want = outcome(fast.decode, data), outcome(general.decode, data)
        assert got[0] == want[0] and same(got[1], want[1]), data


# -- syslog ------------------------------------------------------------------------------------

syslog_lines = st.builds(
    lambda pri, ver, fields, sd, msg: f"<{pri}>{ver} {' '.join(fields)} {sd}{msg}",
    st.sampled_from(["0", "13", "191", "192", "999", "01", "x"]), st.sampled_from(["1", "2", "10", "", "1 "]),
    st.lists(st.sampled_from(["-", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00.5+02:00", "web", "app", "42",
                              "bad-time", "\u00e9"]), min_size=4, max_size=6),
    st.sampled_from(["-", '[a@1 k="v"]', '[a@1 k="v\\"w"][b x="1"]', "[bad", ""]),
    st.sampled_from(["", " msg", " \ufeffbom", "x"]))


@PROPS
@given(st.lists(syslog_lines, min_size=1, max_size=5))
def test_syslog_rfc5424_header_in_one_match_reads_as_the_general_path(lines):
    import ben_cli.ingest.syslog as syslog
    from ben_cli.ingest.format import DecodeOptions

    opts = DecodeOptions(clock=lambda: 1_795_600_000_123_000_000, tz=__import__("datetime").UTC)
    dec = syslog.SyslogDecoder(opts)
    fast = [outcome(dec.decode, line.encode()) for line in lines]
    saved = syslog._PRI_5424
    syslog._PRI_5424 = re.compile(r"(?!)")  # matches nothing: every line takes the general path
    try:
        general = [outcome(dec.decode, line.encode()) for line in lines]
    finally:
        syslog._PRI_5424 = saved
    assert all(a[0] == b[0] and same(a[1], b[1]) for a, b in zip(fast, general, strict=True)), lines


# -- OTLP --------------------------------------------------------------------------------------

any_values = st.recursive(
    st.dictionaries(st.sampled_from(["stringValue", "string_value", "intValue", "int_value", "boolValue",
                                     "doubleValue", "bytesValue", "other"]),
                    st.one_of(st.none(), st.text(max_size=4), st.integers(-5, 5), st.sampled_from(["12", "-3", "x"]),
                              st.booleans(), st.floats(allow_nan=False)), max_size=2),
    lambda inner: st.builds(lambda xs: {"arrayValue": {"values": xs}}, st.lists(inner, max_size=3)),
    max_leaves=6)


@PROPS
@given(any_values)
def test_otlp_single_key_values_read_as_the_general_path(value):
    from ben_cli.ingest.otlp import any_value, any_value_general

    got, want = outcome(any_value, value), outcome(any_value_general, value)
    assert got[0] == want[0] and same(got[1], want[1])
