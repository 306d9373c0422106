"""The compiled JSONEachRow fast path (ben_cli/sink/_rowjson.c) against its definition in Python.

``json_line(flavour, RowBuilder(flavour).row(rec), ...)`` is the definition. A batch's lines are
made by ``JsonLines.add_record``, which lets the C code write the common record's line and hands it
every other record. For any stream of records, the two must give lines that read as the same JSON
(and ``extra`` as the same object), the same ts_ns, and the same records rejected with the same
reason. The strategies aim at the C code's branches: time spellings near the canonical one, key
fields that are not strings, numbers at the edges of what a Float64 or 64 bits hold, attrs values
of every JSON type, text with quotes, backslashes, control characters and non-ASCII, unknown
fields, anomalies and redactions.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.ndjson import BadRecord
from ben_cli.record import to_ns
from ben_cli.sink import _rowjson, rows
from ben_cli.sink.rows import LEGACY, MODERN, JsonLines, RowBuilder, json_line

MANY = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# orjson.loads never makes a str with a lone surrogate (a test below gives the C code one)
tricky_text = st.text(st.sampled_from(['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "/", "é", "\u2028",
                                       "\U0001f600", "a", " ", "{", "}"]) | st.characters(exclude_categories=["Cs"]), max_size=8)
# a few whole seconds, so that later records of a stream meet the builder's cache; the first ones
# fit both tables, the others are beyond the legacy table's range or no date at all
GOOD_HEADS = ["2026-11-25T09:46:40", "2026-11-25T09:46:41", "1970-01-01T00:00:00", "2106-02-07T06:28:15",
              "2024-02-29T12:00:00"]
heads = st.sampled_from([*GOOD_HEADS, "2106-02-07T06:28:16", "1969-12-31T23:59:59", "2026-02-29T12:00:00",
                         "9999-12-31T23:59:59", "0001-01-01T00:00:00"])
tails = st.sampled_from(["Z", ".000Z", ".5Z", ".123Z", ".123456Z", ".123456789Z", ".12345678Z", "z", "+00:00",
                         ".1234567890Z", ".12aZ", ".१२३Z", " Z", ".000000000Z", ".100Z"])
times = (st.tuples(heads, tails).map("".join)
         | st.sampled_from(["2026-11-25 09:46:40Z", "2026-11-25T09:46:40.000+01:00", "1764063999", "", "Z"])
         | st.integers(-(2**40), 2**40) | st.none() | st.floats(allow_nan=False))
# orjson reads integers beyond 64 bits as floats, so records never hold larger ones
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
           | tricky_text)
json_values = st.recursive(scalars, lambda k: st.lists(k, max_size=3) | st.dictionaries(tricky_text, k, max_size=3),
                           max_leaves=6)
key_fields = tricky_text | st.sampled_from(["diag", "event", "web-1"]) | scalars
numbers = (st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53) - 2, 2**53 + 2)
           | st.integers(-(2**63), 2**64 - 1) | st.sampled_from([0.0, -0.0, 5e-324, 1e300, 1e16, 0.1]) | st.booleans()
           | st.none() | tricky_text)
attr_values = (tricky_text | st.integers(-(2**63), 2**63) | st.integers(-(2**63), 2**64 - 1) | st.booleans()
               | st.floats(allow_nan=False, allow_infinity=False) | st.none() | json_values)
records = st.fixed_dictionaries(
    {"ts": times},
    optional={
        "lane": key_fields, "source": key_fields, "name": key_fields, "value": numbers,
        "unit": tricky_text | scalars, "severity": st.sampled_from(["info", "warn"]) | scalars, "body": tricky_text | scalars,
        "attrs": st.dictionaries(tricky_text, attr_values, max_size=4) | json_values,
        "anomaly": st.fixed_dictionaries({"detector": tricky_text, "score": numbers, "is_anomaly": st.booleans()})
        | json_values,
        "redacted": st.lists(tricky_text, max_size=3) | json_values,
        "_ingest": st.fixed_dictionaries({"format": st.just("ndjson"), "file": tricky_text, "line": st.integers(1, 10**6)}),
        "sig": tricky_text, "zz_unknown": json_values,
    },
)
# most records of a real stream are the common kind: lean on it, so that the fast path runs often
# (its unknown fields hold only what the C code spells: integers within 64 bits, signed)
common_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text, lambda k: st.lists(k, max_size=3) | st.dictionaries(tricky_text, k, max_size=3), max_leaves=6)
common = st.fixed_dictionaries(
    {"ts": st.tuples(st.sampled_from(GOOD_HEADS), st.sampled_from(["Z", ".000Z", ".123456Z", ".123456789Z"])).map("".join),
     "lane": st.sampled_from(["diag", "event"]), "source": tricky_text, "name": tricky_text},
    optional={"value": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
              "unit": tricky_text, "severity": tricky_text, "body": tricky_text,
              "attrs": st.dictionaries(tricky_text, tricky_text | st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=4),
              "redacted": st.lists(tricky_text, min_size=1, max_size=3),
              "_ingest": st.fixed_dictionaries({"format": st.just("ndjson"), "file": tricky_text,
                                                "line": st.integers(1, 10**6)}),
              "zz_unknown": common_values},
)


def parsed(line: bytes) -> dict:
    d = orjson.loads(line)
    if d["extra"]:
        d["extra"] = orjson.loads(d["extra"])  # the same fields, maybe in another order
    return d


def definition(flavour: str, recs: list[dict], first: int) -> list[tuple[dict, int] | str]:
    """What the Python code makes of each record: (parsed line, ts_ns), or the reason it is rejected."""
    builder, out = RowBuilder(flavour), []
    for n, rec in enumerate(recs, first):
        try:
            row = builder.row(rec)
        except BadRecord as exc:
            out.append(exc.reason)
            continue
        ts = row["ts_ns"]
        out.append((parsed(json_line(flavour, row, "b1", n)), ts))
    return out


def fast(flavour: str, recs: list[dict], first: int) -> list[tuple[dict, int] | str]:
    """What a batch's lines hold when the compiled path is tried first."""
    builder, lines, out = RowBuilder(flavour), JsonLines(flavour, first), []
    for rec in recs:
        before = bytes(lines.body)
        try:
            ts = lines.add_record(builder, rec, "b1")
        except BadRecord as exc:
            assert bytes(lines.body) == before  # a rejected record leaves nothing behind
            lines.skip()
            out.append(exc.reason)
            continue
        assert lines.body.startswith(before) and lines.body.endswith(b"\n")
        out.append((parsed(lines.body[len(before):]), ts))
    return out


@MANY
@given(st.lists(records | common, min_size=1, max_size=6), st.sampled_from([LEGACY, MODERN]), st.integers(0, 10**9))
def test_the_compiled_path_writes_what_the_definition_writes(recs, flavour, first):
    assert fast(flavour, recs, first) == definition(flavour, recs, first)


@MANY
@given(common, st.sampled_from([LEGACY, MODERN]))
def test_the_common_record_takes_the_compiled_path(rec, flavour):
    """Such records must not all be declined (the differential test would pass if they were)."""
    builder, body = RowBuilder(flavour), bytearray()
    ts = _rowjson.append(body, rec, flavour == LEGACY, "b1", 7, builder._seconds, builder._canonical_ns)
    row = RowBuilder(flavour).row(rec)
    assert ts == row["ts_ns"]
    assert parsed(bytes(body)) == parsed(json_line(flavour, row, "b1", 7))


def test_the_compiled_module_is_built_and_used():
    assert rows.COMPILED
    assert rows._append_line is _rowjson.append


def test_an_envelope_from_ingest_gives_the_same_bytes():
    rec = {"ts": "2026-11-25T09:46:40.007Z", "lane": "diag", "source": "web-1", "name": "log", "severity": "debug",
           "body": 'GET /h\u00e9 "x"\\ \x01\n', "attrs": {"path": "/healthz", "status": 200, "big": -(2**63)},
           "_ingest": {"format": "ndjson", "file": "logs/a b.ndjson", "line": 2}}
    for flavour in (LEGACY, MODERN):
        body = bytearray(b"earlier\n")
        builder = RowBuilder(flavour)
        ts = _rowjson.append(body, rec, flavour == LEGACY, "b1", 3, builder._seconds, builder._canonical_ns)
        assert ts == to_ns(rec["ts"])
        assert bytes(body) == b"earlier\n" + json_line(flavour, RowBuilder(flavour).row(rec), "b1", 3)


@pytest.mark.parametrize("rec", [
    {"ts": "2026-11-25T09:46:40Z", "lane": "a\ud800b"},  # a lone surrogate has no UTF-8 form
    {"ts": "2026-11-25T09:46:40Z", "attrs": {"n": 2**64}},  # beyond 64 bits
    {"ts": "2026-11-25T09:46:40Z", "value": 2**53 + 1},  # not exact as a Float64
    {"ts": "2026-11-25T09:46:40Z", "value": float("nan")},
    {"ts": "2026-11-25T09:46:40Z", "attrs": {}},
    {"ts": "2026-11-25T09:46:40Z", "unit": None},
    {"ts": "2026-11-25T09:46:40Z", "anomaly": {"is_anomaly": True}},
    {"ts": "2026-11-25T09:46:40Z", "redacted": []},
    {"ts": "2026-11-25T09:46:40+00:00"},
    {"ts": 1764063999},
])
def test_records_beyond_the_common_kind_are_declined_untouched(rec):
    builder, body = RowBuilder(LEGACY), bytearray(b"x")
    assert _rowjson.append(body, rec, True, "b1", 0, builder._seconds, builder._canonical_ns) is None
    assert body == b"x"


@settings(max_examples=100, deadline=None)
@given(st.lists(records | common, min_size=1, max_size=6), st.sampled_from([LEGACY, MODERN]))
def test_without_the_compiled_module_the_lines_are_the_same(recs, flavour):
    """An install without a C compiler (``_append_line`` None) makes the same batch."""
    compiled = fast(flavour, recs, 0)
    saved, rows._append_line = rows._append_line, None
    try:
        assert fast(flavour, recs, 0) == compiled
    finally:
        rows._append_line = saved
