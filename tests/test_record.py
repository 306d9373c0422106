"""Envelope helpers: RFC 3339 with nanoseconds, epoch-unit detection, lanes and severities."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.record import (
    LANES,
    TimestampError,
    civil_from_days,
    days_from_civil,
    epoch_to_ns,
    format_ts,
    is_lane,
    normalise_severity,
    normalise_ts,
    parse_rfc3339,
    to_ns,
)

NS = 1_000_000_000
# 0001-01-01 .. 9999-12-31 in nanoseconds
FIRST_NS, LAST_NS = -62135596800 * NS, 253402300799 * NS + NS - 1
ns_range = st.integers(min_value=FIRST_NS, max_value=LAST_NS)


@given(ns_range)
def test_format_then_parse_is_identity(ns):
    assert parse_rfc3339(format_ts(ns)) == ns


@given(ns_range, st.lists(st.integers(-3 * NS, 3 * NS), max_size=30))
def test_format_ts_in_a_run_of_close_times_is_each_time_exactly(base, steps):
    """format_ts reuses the text of the second before: times within, across and back over a
    second must each still come out as themselves."""
    for step in steps:
        ns = min(max(base + step, FIRST_NS), LAST_NS)
        assert parse_rfc3339(format_ts(ns)) == ns


@pytest.mark.parametrize("ns", [-62135596800 * NS - 1, 253402300800 * NS, 10**30, -(10**30)])
def test_format_ts_refuses_times_outside_the_years_0001_to_9999(ns):
    with pytest.raises(TimestampError, match="outside the years 0001-9999"):
        format_ts(ns)


@given(ns_range)
def test_canonical_strings_are_kept_as_they_are(ns):
    text = format_ts(ns)
    assert normalise_ts(text) == text


@given(st.integers(min_value=-1_000_000, max_value=3_000_000))
def test_civil_days_agree_with_datetime(days):
    y, m, d = civil_from_days(days)
    if 1 <= y <= 9999:
        assert dt.date(1970, 1, 1) + dt.timedelta(days=days) == dt.date(y, m, d)
    assert days_from_civil(y, m, d) == days


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                    timezones=st.timezones()))
def test_offsets_agree_with_datetime(moment):
    try:
        text = moment.isoformat()
    except Exception:  # pragma: no cover - isoformat of odd zones
        return
    if moment.utcoffset() is None or moment.utcoffset().seconds % 60:
        return  # RFC 3339 offsets are whole minutes
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    want = (moment - epoch) // dt.timedelta(microseconds=1) * 1000
    assert parse_rfc3339(text) == want


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"),
        ("2026-11-25T10:00:00.123Z", "2026-11-25T10:00:00.123Z"),
        ("2026-11-25T10:00:00.123456789Z", "2026-11-25T10:00:00.123456789Z"),
        ("2026-11-25T10:00:00.1234567891234Z", "2026-11-25T10:00:00.123456789Z"),  # truncated past ns
        ("2026-11-25T10:00:00.1Z", "2026-11-25T10:00:00.100Z"),
        ("2026-11-25 12:00:00+02:00", "2026-11-25T10:00:00Z"),
        ("2026-11-25T05:30:00-0430", "2026-11-25T10:00:00Z"),
        ("2026-11-25T10:00:00,5Z", "2026-11-25T10:00:00.500Z"),
        ("2026-11-25T10:00:00 UTC", "2026-11-25T10:00:00Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),  # leap second folded into :59
    ],
)
def test_accepted_spellings(text, expected):
    assert normalise_ts(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-25T24:00:00Z",
     "2026-11-25T10:61:00Z", "yesterday", "", "2026-11-25", "2026-11-25T10:00:00+25:00"],
)
def test_rejected_spellings(text):
    with pytest.raises(TimestampError):
        normalise_ts(text)


def test_naive_times_take_the_default_offset():
    assert format_ts(parse_rfc3339("2026-11-25T12:00:00", default_offset_s=7200)) == "2026-11-25T10:00:00Z"


@pytest.mark.parametrize(
    "value, expected",
    [
        (1795600000, "2026-11-25T09:46:40Z"),  # seconds
        (1795600000.25, "2026-11-25T09:46:40.250Z"),
        (1795600000123, "2026-11-25T09:46:40.123Z"),  # milliseconds
        (1795600000123456, "2026-11-25T09:46:40.123456Z"),  # microseconds
        (1795600000123456789, "2026-11-25T09:46:40.123456789Z"),  # nanoseconds
        ("1795600000123", "2026-11-25T09:46:40.123Z"),  # numeric strings too
    ],
)
def test_epoch_units_are_detected(value, expected):
    assert format_ts(to_ns(value)) == expected


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_epoch_units_agree(seconds):
    """The same instant in s, ms, us and ns reads the same (for times after 1973, when ms > 1e11)."""
    if seconds < 100_000_000:
        return
    assert epoch_to_ns(seconds) == epoch_to_ns(seconds * 1000) == epoch_to_ns(seconds * 10**6) == seconds * NS


@pytest.mark.parametrize("bad", [True, float("nan"), float("inf"), None, [1]])
def test_non_times_are_refused(bad):
    with pytest.raises(TimestampError):
        to_ns(bad)


def test_lanes():
    assert LANES == ("diag", "event", "control")
    assert all(is_lane(x) for x in LANES)
    assert not is_lane("metrics") and not is_lane(None)


@pytest.mark.parametrize(
    "level, severity",
    [("WARNING", "warn"), ("err", "error"), ("Critical", "fatal"), ("notice", "info"), (40, "warn"),
     (10, "trace"), ("bogus", None), (True, None), (None, None)],
)
def test_severity_aliases(level, severity):
    assert normalise_severity(level) == severity


@pytest.mark.parametrize("value", [-62167305601, "0000-12-31T23:59:59Z", -99999999999])
def test_times_outside_four_digit_years_are_refused(value):
    with pytest.raises(TimestampError):
        normalise_ts(value)
