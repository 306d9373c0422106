"""ben watch without a terminal: the counting model, the readers, the filter, the --once summary."""

from __future__ import annotations

import os
import threading
import time

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.errors import BadRecord, UsageError
from ben_cli.watch import Filter, Limits, Pump, Stats, chunks, read
from ben_cli.watch.source import fd_chunks, file_chunks
from ben_cli.watch.stats import OTHER
from ben_cli.watch.terminal import NoTerminal, need_terminal
from ben_cli.watch.text import chart, sparkline, summary

from .conftest import run_ben


class Clock:
    """A hand-moved clock: rates and uptime without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rec(i: int = 0, **kw) -> dict:
    base = {"ts": f"2026-11-25T10:00:{i % 60:02d}Z", "lane": "event", "source": f"web-{i % 3}",
            "name": "http.request", "value": float(i), "severity": "info"}
    base.update(kw)
    return base


def lines(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


# -- the model ---------------------------------------------------------------------------------


def test_counts_are_exact_by_lane_severity_source_and_name():
    stats = Stats(clock=Clock())
    stats.feed([rec(i) for i in range(30)] + [rec(1, lane="diag", severity="error", source="db")] * 4
               + [{"no": "envelope"}])
    snap = stats.snapshot()
    assert snap.total == 35
    assert snap.lanes["event"][0] == 30 and snap.lanes["diag"][0] == 4 and snap.lanes["other"][0] == 1
    assert snap.severities["info"][0] == 30 and snap.severities["error"][0] == 4 and snap.severities["(none)"][0] == 1
    sources = dict(snap.sources)
    assert sources["web-0"].records == 10 and sources["db"].records == 4 and sources["db"].errors == 4
    assert dict(snap.names)["http.request"].records == 34


def test_rates_and_sparklines_follow_the_clock():
    clock = Clock()
    stats = Stats(clock=clock)
    for second in range(5):
        clock.now = 1000.0 + second
        stats.feed([rec(i) for i in range(10 * (second + 1))])
    clock.now = 1005.0
    snap = stats.snapshot(history=10)
    assert snap.overall[2][-5:] == [10, 20, 30, 40, 50]  # one bucket a second, oldest first
    assert snap.overall[1] == pytest.approx(150 / 5)  # the rate over the seconds so far
    clock.now = 1500.0  # minutes of silence: the ring is emptied, the totals stay
    snap = stats.snapshot(history=10)
    assert snap.overall[2] == [0] * 10 and snap.total == 150


def test_keys_past_the_limit_count_as_other_and_totals_stay_exact():
    stats = Stats(Limits(keys=5), clock=Clock())
    stats.feed([rec(0, source=f"s{i}") for i in range(50)])
    snap = stats.snapshot(top=100)
    sources = dict(snap.sources)
    assert len(sources) == 6 and sources[OTHER].records == 45
    stats.feed([rec(0, redacted=[f"e{i}"]) for i in range(8)])
    assert len(stats.entities) == 6 and stats.entities[OTHER] == 3
    assert sum(v.records for v in sources.values()) == 50 == snap.total


def test_memory_is_bounded_over_a_long_stream():
    limits = Limits(records=10, anomalies=5, points=7, series=3, history_s=20, narrated_points=4)
    stats = Stats(limits, clock=Clock(), window_s=60)
    for batch in range(200):
        stats.feed([rec(i, source=f"s{i % 9}", anomaly={"is_anomaly": i % 7 == 0, "score": 0.9, "series": f"s{i % 9}",
                                                      "expected": 1.0})
                    for i in range(batch * 10, batch * 10 + 10)])
    assert stats.total == 2000
    assert len(stats.records) == 10 and len(stats.anomalies) == 5
    assert len(stats.series) == 3 and all(len(p) == 7 for p in stats.series.values())
    assert stats.anomaly_total == len([i for i in range(2000) if i % 7 == 0])
    # the narrator holds one window, its points per series within the budget (anomalies besides)
    for series in stats.narrator.collector.series.values():
        assert len(series) - series.first <= 4 + len(series.flags)


def test_the_chart_samples_a_fast_series_and_keeps_every_anomaly():
    clock = Clock()
    stats = Stats(Limits(points_per_s=3), clock=clock)
    stats.feed([rec(i, anomaly={"is_anomaly": i == 50, "score": 0.9, "series": "s"}) for i in range(100)])
    clock.now += 1
    stats.feed([rec(i, anomaly={"is_anomaly": False, "score": 0.1, "series": "s"}) for i in range(100, 110)])
    drawn = stats.snapshot(series=["s"]).series["s"]
    assert [p.value for p in drawn] == [0, 1, 2, 50, 100, 101, 102]
    assert stats.marked == 110 and stats.anomaly_total == 1  # counted, every one


def test_anomalies_charts_and_scrub_marks():
    stats = Stats(clock=Clock())
    stats.feed([rec(1, anomaly={"is_anomaly": False, "score": 0.1, "expected": 1.0, "series": "a"}, redacted=["email"]),
                rec(2, anomaly={"is_anomaly": True, "score": 0.97, "expected": 1.0, "series": "a",
                                "field": "attrs.ms", "value": 40}, redacted=["email", "ipv4"])])
    snap = stats.snapshot(series=["a"])
    assert snap.anomaly_total == 1 and snap.marked == 2
    a = snap.anomalies[0]
    assert (a.series, a.score, a.value, a.expected, a.field) == ("a", 0.97, 40, 1.0, "attrs.ms")
    assert [(p.value, p.expected, p.flagged) for p in snap.series["a"]] == [(1.0, 1.0, False), (40.0, 1.0, True)]
    assert snap.entities == {"email": 2, "ipv4": 1} and snap.scrubbed == 2


def test_the_verdict_is_no_data_then_unknown_then_judged():
    stats = Stats(clock=Clock())
    assert stats.snapshot().report.verdict == "nodata"
    stats.feed([rec(i) for i in range(10)])
    stats._report = None  # the verdict is judged again at most every two seconds; force it here
    assert stats.snapshot().report.verdict == "unknown"  # records, but nothing judged by ben detect
    stats.feed([rec(i, anomaly={"is_anomaly": False, "score": 0.1, "expected": 5.0}) for i in range(10, 40)])
    stats._report = None
    assert stats.snapshot().report.verdict == "healthy"


def test_the_input_lag_is_now_minus_the_newest_record():
    from ben_cli.record import to_ns

    stats = Stats(clock=Clock(), wall_ns=lambda: to_ns("2026-11-25T10:01:00Z"))
    assert stats.snapshot().lag_s is None
    stats.feed([{"ts": "2026-11-25T10:00:00Z"}, {"ts": "2026-11-25T10:00:30Z"}])
    stats.feed([{"ts": "2026-11-25T09:00:00Z"}])  # an older record does not make the input look late
    snap = stats.snapshot()
    assert snap.newest_ts == "2026-11-25T10:00:30Z"
    assert snap.lag_s == 30.0


# -- the reader --------------------------------------------------------------------------------


def test_pump_rejects_bad_lines_with_their_numbers_and_tees_bytes_unchanged(tmp_path):
    stats = Stats(clock=Clock())
    out = tmp_path / "tee"
    data = lines([rec(1)]) + b"not json\n\n[1]\r\n" + lines([rec(2)]) + b'{"last": "no newline"}'
    with open(out, "wb") as tee:
        pump = Pump(stats, tee=tee, name="in.ndjson")
        for i in range(0, len(data), 7):  # chunks that cut lines anywhere
            pump.chunk(data[i:i + 7])
        pump.finish()
    assert out.read_bytes() == data
    assert stats.total == 3 and stats.rejected == 2
    assert list(stats.last_rejects) == ["in.ndjson:2: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
                                        "in.ndjson:4: record is a JSON list, not an object"]


def test_a_line_over_the_limit_is_rejected_and_skipped_to_its_end():
    stats = Stats(clock=Clock())
    pump = Pump(stats, max_line_bytes=200)
    pump.chunk(b'{"a": "' + b"x" * 250)
    pump.chunk(b"y" * 300)
    pump.chunk(b'"}\n' + lines([rec(1)]))
    pump.finish()
    assert stats.total == 1 and stats.rejected == 1
    assert stats.last_rejects[0] == "line 1: line is 559 bytes, over the 200-byte limit"


def test_a_pipe_reader_stops_at_once_while_the_producer_still_writes():
    r, w = os.pipe()
    os.write(w, lines([rec(1)]))
    stop = threading.Event()
    stats = Stats(clock=Clock())
    done = threading.Event()

    def run() -> None:
        Pump(stats).run(fd_chunks(r, stop), stop)
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while stats.total == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stats.total == 1 and not done.is_set()  # the pipe is open: the reader waits for more
    stop.set()
    assert done.wait(5)  # no blocking read to leave: the poll notices the stop flag
    os.close(w)
    os.close(r)


def test_follow_reads_what_the_file_gains_and_a_file_cut_shorter_again(tmp_path):
    path = tmp_path / "app.ndjson"
    path.write_bytes(lines([rec(1), rec(2)]))
    stats, stop = Stats(clock=Clock()), threading.Event()
    thread = threading.Thread(target=lambda: Pump(stats).run(file_chunks(str(path), stop, follow=True), stop), daemon=True)
    thread.start()

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 10
        while stats.total < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stats.total == n

    wait_for(2)
    with open(path, "ab") as fh:
        fh.write(lines([rec(3)]))
    wait_for(3)
    path.write_bytes(lines([rec(4)]))  # truncated and rewritten (copytruncate)
    wait_for(4)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_follow_reads_on_into_the_file_that_replaced_a_rotated_one(tmp_path):
    path = tmp_path / "app.ndjson"
    path.write_bytes(lines([rec(1)]))
    stats, stop = Stats(clock=Clock()), threading.Event()
    thread = threading.Thread(target=lambda: Pump(stats).run(file_chunks(str(path), stop, follow=True), stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while stats.total < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    with open(path, "ab") as fh:
        fh.write(lines([rec(2)]))  # written just before the rotation: read from the old file
    path.rename(tmp_path / "app.ndjson.1")
    path.write_bytes(lines([rec(3), rec(4)]))
    while stats.total < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert stats.total == 4 and [r["value"] for r in stats.records] == [1.0, 2.0, 3.0, 4.0]


def test_a_missing_file_and_bad_combinations_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--from .*missing.ndjson: No such file"):
        chunks(str(tmp_path / "missing.ndjson"), threading.Event())
    with pytest.raises(UsageError, match="--follow"):
        chunks(0, threading.Event(), follow=True)


def test_no_terminal_is_exit_status_3(tmp_path):
    with open(tmp_path / "f", "w") as fh, pytest.raises(NoTerminal) as err:
        need_terminal(fh.fileno())
    assert err.value.status == 3


# -- the filter --------------------------------------------------------------------------------


def test_filter_terms():
    f = Filter.parse("lane:event source:web-* severity:warn timeout")
    assert f.matches(rec(0, source="web-1", severity="error", body="a timeout"))
    assert not f.matches(rec(0, source="web-1", severity="info", body="a timeout"))
    assert not f.matches(rec(0, source="db-1", severity="error", body="a timeout"))
    assert not f.matches(rec(0, source="web-1", severity="error", body="fine"))
    assert f.matches_key("source", "web-2") is False  # the free word must be part of the key too
    assert Filter.parse("source:web-*").matches_key("source", "WEB-2")
    assert not Filter() and Filter().matches({})
    with pytest.raises(UsageError, match="severity:loud"):
        Filter.parse("severity:loud")


words = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=":"), min_size=1)


@given(st.lists(words, max_size=5))
@settings(max_examples=200, deadline=None)
def test_any_text_without_fields_is_a_filter_of_its_words(terms):
    f = Filter.parse(" ".join(terms))
    assert f.words == tuple(t.lower() for t in " ".join(terms).split())
    text = " ".join(terms)
    or_escaped = orjson.dumps({"body": text}).decode().lower()
    assert all(w in or_escaped for w in f.words) == f.matches({"body": text})


@given(st.lists(st.dictionaries(st.sampled_from(["lane", "source", "severity", "name", "x"]),
                                st.sampled_from(["event", "diag", "web", "error", "info", "other", 3, None, ["a"], {"b": 1}])),
                max_size=30))
@settings(max_examples=200, deadline=None)
def test_counts_never_depend_on_how_records_are_batched(records):
    one, many = Stats(clock=Clock()), Stats(clock=Clock())
    one.feed(records)
    for r in records:
        many.feed([r])
    a, b = one.snapshot(top=100), many.snapshot(top=100)
    assert (a.total, a.lanes, a.severities) == (b.total, b.lanes, b.severities)
    assert [(k, v.records, v.errors) for k, v in a.sources] == [(k, v.records, v.errors) for k, v in b.sources]
    assert a.total == len(records) == sum(v[0] for v in a.lanes.values()) == sum(v[0] for v in a.severities.values())


# -- the text ----------------------------------------------------------------------------------


def test_sparkline_and_chart_glyphs():
    assert sparkline([0, 1, 2, 4, 8], 5) == " ▁▂▄█"
    assert sparkline([0, 0], 5) == "  "
    from ben_cli.watch.stats import Point

    rows = chart([Point(1, 1, False), Point(3, 1, True)], 4, 3)
    assert rows == [" ✖  ", "    ", "•·  "]


def test_once_summary_names_counts_verdict_and_rejects(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(lines([rec(i) for i in range(6)]) + b"oops\n")
    stats = Stats(clock=Clock())
    read(stats, str(path))
    text = summary(stats.snapshot())
    assert text.startswith("ben watch: 6 records, 1 rejected, newest 2026-11-25T10:00:05Z\n")
    assert "lanes: event 6 (of 6)" in text
    assert "verdict: UNKNOWN: " in text
    assert f"  {path}:7: invalid JSON" in text


def test_once_through_the_command(tmp_path):
    proc = run_ben("watch", "--once", input=lines([rec(i) for i in range(4)]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith("ben watch: 4 records, 0 rejected")
    assert proc.stderr.decode() == "ben watch: read 4, wrote 0, rejected 0, anomalies 0\n"


def test_the_dashboard_without_a_terminal_exits_3():
    proc = run_ben("watch", input=lines([rec(1)]))
    assert proc.returncode == 3
    assert b"stderr is not a terminal" in proc.stderr


def test_bad_record_reasons_are_the_readers():
    stats = Stats(clock=Clock())
    stats.reject(BadRecord(3, "invalid JSON: x", b"", "f"))
    assert stats.reject_reasons == {"invalid JSON": 1}


def test_tee_into_a_closed_pipe_stops_passing_on_and_counting_goes_on():
    r, w = os.pipe()
    os.close(r)
    stats = Stats(clock=Clock())
    with os.fdopen(w, "wb", buffering=0) as tee:
        pump = Pump(stats, tee=tee)
        pump.chunk(lines([rec(1)]))
        pump.chunk(lines([rec(2)]))
        assert pump.tee_closed and stats.total == 2
