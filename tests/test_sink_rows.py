"""Envelope <-> row mapping: every field comes back, for both schema flavours (no server needed)."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ndjson import BadRecord
from ben_cli.record import format_ts
from ben_cli.sink.rows import FIELDS, LEGACY, MODERN, RowBuilder, insert_columns, record_from_row, to_columns


def read_back(row) -> dict:
    """What select_list reads for a stored row: the columns record_from_row takes, in order."""
    d = row
    assert tuple(d) == FIELDS
    return record_from_row((d["ts_ns"], d["lane"], d["source"], d["name"], d["value"], d["unit"], d["severity"],
                            d["body"], d["attr_keys"], d["attr_values"], d["attrs_typed"], d["anomaly"],
                            d["redacted"], d["extra"]))


# orjson reads integers beyond 64 bits as floats, so records never hold larger ones
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda k: st.lists(k, max_size=3) | st.dictionaries(st.text(max_size=5), k, max_size=3), max_leaves=8)
ts_ns = st.integers(0, 4_000_000_000 * 10**9)
envelopes = st.fixed_dictionaries(
    {"ts": ts_ns.map(format_ts), "lane": st.sampled_from(["diag", "event", "control"]), "source": st.text(max_size=10),
     "name": st.text(max_size=10)},
    optional={
        "value": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
        "unit": st.text(max_size=4), "severity": st.sampled_from(["info", "warn", "error"]), "body": st.text(),
        "attrs": st.dictionaries(st.text(max_size=6), st.text(max_size=6) | st.integers(-(2**63), 2**64 - 1) | st.booleans() | st.floats(allow_nan=False, allow_infinity=False), max_size=4),
        "anomaly": st.fixed_dictionaries({"detector": st.text(max_size=5), "score": st.floats(allow_nan=False, allow_infinity=False),
                                          "is_anomaly": st.booleans()}),
        "redacted": st.lists(st.text(max_size=5), max_size=3),
        "sig": st.text(max_size=10), "_ingest": st.dictionaries(st.text(max_size=4), json_values, max_size=2),
        "zz_unknown": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(envelopes, st.sampled_from([LEGACY, MODERN]))
def test_every_field_reads_back(rec, flavour):
    assert read_back(RowBuilder(flavour).row(rec)) == rec


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), ts_ns)
def test_odd_records_are_kept_in_extra_not_lost(rec, ns):
    """Fields of the wrong type (a string value, a list body, attrs that are not an object) come back too."""
    rec = {**rec, "ts": format_ts(ns)}
    back = read_back(RowBuilder(LEGACY).row(rec))
    for key in ("lane", "source", "name"):  # the key columns are never NULL: absent reads back as ""
        if key not in rec:
            assert back.pop(key) == ""
    assert orjson.dumps(back, option=orjson.OPT_SORT_KEYS) == orjson.dumps(rec, option=orjson.OPT_SORT_KEYS) or back == rec


def test_attrs_keep_their_types_and_strings_stay_strings():
    rec = {"ts": "2026-11-25T10:00:00.123456789Z", "lane": "diag", "source": "a", "name": "b",
           "attrs": {"status": 500, "ok": False, "path": "/x", "num_as_text": "42", "ratio": 0.5}}
    row = RowBuilder(LEGACY).row(rec)
    d = dict(row)
    assert d["attr_values"] == ["500", "false", "/x", "42", "0.5"]
    assert sorted(d["attrs_typed"]) == ["ok", "ratio", "status"]
    assert read_back(row) == rec


def test_non_canonical_ts_is_stored_by_instant_and_kept_verbatim():
    rec = {"ts": "2026-11-25T12:00:00.5+02:00", "lane": "diag", "source": "a", "name": "b"}
    d = RowBuilder(LEGACY).row(rec)
    assert d["ts_ns"] == 1795600800_500_000_000
    assert orjson.loads(d["extra"]) == {"ts": "2026-11-25T12:00:00.5+02:00"}


@pytest.mark.parametrize("rec, reason", [
    ({"lane": "diag"}, "no ts"),
    ({"ts": "yesterday"}, "not an RFC 3339"),
    ({"ts": "1960-01-01T00:00:00Z"}, "outside"),
])
def test_records_without_a_usable_time_are_rejected(rec, reason):
    with pytest.raises(BadRecord, match=reason):
        RowBuilder(LEGACY).row(rec, 7, "in.ndjson")


def test_times_before_1970_fit_the_modern_table():
    rec = {"ts": "1960-01-01T00:00:00.000000001Z", "lane": "diag", "source": "", "name": ""}
    assert read_back(RowBuilder(MODERN).row(rec)) == rec


def test_columns_line_up_with_the_insert_column_names():
    rows = [RowBuilder(LEGACY).row({"ts": "2026-11-25T10:00:01.000000002Z", "attrs": {"k": "v"}})]
    for flavour in (LEGACY, MODERN):
        cols = to_columns(flavour, rows, "b1", [0])
        named = dict(zip(insert_columns(flavour), cols, strict=True))
        assert len(cols) == len(insert_columns(flavour))
        assert named["batch_id"] == ["b1"] and named["batch_row"] == [0]
        if flavour == LEGACY:
            assert named["ts"] == [1795600801] and named["ts_ns"] == [2]
            assert named["attrs.key"] == [["k"]] and named["attrs.value"] == [["v"]]
        else:
            assert named["ts"] == [1795600801_000_000_002] and named["attrs"] == [{"k": "v"}]
