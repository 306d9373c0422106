"""The dashboard under textual's Pilot: every key and panel, the layout at two sizes, snapshots."""

from __future__ import annotations

import html
import os
import re
import threading
from pathlib import Path

import orjson
import pytest
from textual.widgets import DataTable, Input, Static

from ben_cli.watch import Pump, Stats
from ben_cli.watch.app import HelpScreen, RecordScreen, WatchApp, snapshot_svg
from ben_cli.watch.source import fd_chunks

from .conftest import run_ben

SERIES = "db-1/cpu.usage"


def sample() -> list[dict]:
    """Two sources, a series with an expected band and one step up that detect flagged, scrub marks."""
    out = []
    for i in range(60):
        t = f"2026-11-25T10:{i:02d}:00Z"
        step = i >= 40
        out.append({"ts": t, "lane": "diag", "source": "db-1", "name": "cpu.usage", "value": 60.0 if step else 30.0,
                    "unit": "%", "severity": "info",
                    "anomaly": {"detector": "auto", "score": 0.95 if i == 40 else 0.1, "is_anomaly": i == 40,
                                "field": "value", "value": 60.0 if step else 30.0, "expected": 30.0, "series": SERIES}})
        out.append({"ts": t, "lane": "event", "source": "web-2", "name": "http.request", "severity": "error" if i % 10 == 0 else "info",
                    "body": f"GET /login from bob{i}@example.com", "redacted": ["email"]})
    return out


def data() -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in sample()) + b"not json\n"


def app_over(payload: bytes, **kw) -> WatchApp:
    stats = Stats(window_s=3600)  # the sample's hour is one narrated window

    def reader(stop: threading.Event) -> None:
        Pump(stats).run(iter([payload]), stop)
        stats.end()

    return WatchApp(stats, reader=reader, refresh_s=0.1, **kw)


async def settled(app: WatchApp, pilot) -> None:
    """The reader done and one frame drawn from what it counted."""
    if app.thread is not None:
        app.thread.join(10)
    app.stats._report = None
    app.draw()
    await pilot.pause()


def screen_text(app: WatchApp) -> str:
    svg = app.export_screenshot()
    return html.unescape(" ".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_panels_show_rates_tops_anomalies_incident_chart_and_marks():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        rates = {row[0]: row for row in cells(app.query_one("#rates", DataTable))}
        assert rates["all"][1] == "120" and rates["diag"][1] == "60" and rates["event"][1] == "60"
        assert rates["error"][1] == "6" and rates["info"][1] == "114"
        top = cells(app.query_one("#top", DataTable))
        assert ["source", "db-1", "60", "0%"] == top[0][:4] and ["source", "web-2", "60", "10%"] == top[1][:4]
        feed = cells(app.query_one("#feed", DataTable))
        assert feed == [["10:40:00Z", SERIES, "0.95", "60", "30", "value"]]
        incidents = str(app.query_one("#incidents-text", Static).render())
        assert incidents.startswith("INCIDENT") and "cpu.usage on db-1 stepped up" in incidents
        chart = str(app.query_one("#chart-text", Static).render())
        assert chart.startswith(f"{SERIES}  now 60, expected 30") and "✖" in chart
        marks = str(app.query_one("#marks-text", Static).render())
        assert "scrubbed 60 records" in marks and "email" in marks and "rejected 1 lines" in marks and "invalid JSON" in marks
        status = str(app.query_one("#status", Static).render())
        assert "120 records" in status and "1 rejected" in status and "1 anomalies" in status and "(ended)" in status


async def test_pause_freezes_the_screen_while_counting_goes_on():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.press("p")
        assert app.paused
        app.stats.feed(sample())
        app.tick()
        assert cells(app.query_one("#rates", DataTable))[0][1] == "120"  # the screen holds still
        assert "PAUSED" in str(app.query_one("#status", Static).render())
        assert app.stats.total == 240  # the counting did not
        await pilot.press("p")
        assert not app.paused and cells(app.query_one("#rates", DataTable))[0][1] == "240"


async def test_filter_narrows_the_lists_and_escape_clears_it():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.press("a")  # all records, so there is something to filter
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"severity:error", "enter")
        assert app.filter.text == "severity:error" and not box.display
        feed = cells(app.query_one("#feed", DataTable))
        assert len(feed) == 6 and {row[4] for row in feed} == {"error"}
        assert "filter: severity:error" in str(app.query_one("#status", Static).render())
        assert app.stats.total == 120  # counts are never filtered
        await pilot.press("escape")
        assert not app.filter and len(cells(app.query_one("#feed", DataTable))) == 100  # the newest 100 of 120
        await pilot.press("slash", *"severity:loud", "enter")  # a bad filter is said, not applied
        assert not app.filter and box.display


async def test_feed_toggles_and_enter_shows_the_record_in_full():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        feed = app.query_one("#feed", DataTable)
        assert feed.border_title == "3 Anomalies"
        feed.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, RecordScreen)
        app.tick()  # a frame while the record is open
        shown = str(app.screen.query_one("#record-json", Static).render())
        assert orjson.loads(shown)["anomaly"]["is_anomaly"] is True
        await pilot.press("escape")
        assert not isinstance(app.screen, RecordScreen)
        await pilot.press("a")
        assert feed.border_title == "3 Records" and feed.row_count == 100  # the newest 100 records
        assert cells(feed)[0][:5] == ["10:59:00Z", "event", "web-2", "http.request", "info"]  # newest first


async def test_a_frame_due_while_the_app_shuts_down_draws_nothing():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        frames = app.frames
    app.tick()  # the panels are gone: a timer firing now must not query them
    assert app.frames == frames and not app.is_running


async def test_tab_numbers_help_and_full_screen():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        order = []
        for _ in range(6):
            await pilot.press("tab")
            order.append(app.focused.id if app.focused else None)
        assert order == ["incidents", "chart", "marks", "rates", "top", "feed"]  # from the feed, round the grid
        for n, panel in [(1, "rates"), (2, "top"), (3, "feed"), (4, "incidents"), (5, "chart")]:
            await pilot.press(str(n))
            assert app.focused is not None and app.focused.id == panel
        await pilot.press("5")  # the focused panel's number again: full screen
        assert app.screen.maximized is app.query_one("#chart")
        await pilot.press("5")
        assert app.screen.maximized is None
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        app.stats.feed(sample())
        app.tick()  # frames go on under the help (the panels are on the main screen)
        assert cells(app.main.query_one("#rates", DataTable))[0][1] == "240"
        assert "q        quit at once" in str(app.screen.query_one("#help", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_selecting_an_anomaly_charts_its_series():
    payload = data() + orjson.dumps({"ts": "2026-11-25T11:00:00Z", "source": "web-9", "name": "latency", "value": 9.0,
                                     "anomaly": {"is_anomaly": True, "score": 0.99, "series": "web-9/latency"}}) + b"\n"
    app = app_over(payload)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        feed = app.query_one("#feed", DataTable)
        feed.focus()
        assert cells(feed)[0][1] == "web-9/latency"
        await pilot.press("down")
        app.draw()
        assert app.series == SERIES
        assert str(app.query_one("#chart-text", Static).render()).startswith(SERIES)


async def test_a_resize_loses_no_counts():
    app = app_over(data())
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.resize_terminal(80, 24)
        app.draw()
        await pilot.pause()
        assert app.stats.total == 120 and cells(app.query_one("#rates", DataTable))[0][1] == "120"
        await pilot.resize_terminal(160, 50)
        app.draw()
        assert cells(app.query_one("#rates", DataTable))[0][1] == "120"


async def test_q_quits_at_once_while_the_producer_still_writes():
    r, w = os.pipe()
    os.write(w, data())  # and never closed: the producer is still there
    stats = Stats()
    app = WatchApp(stats, reader=lambda stop: Pump(stats).run(fd_chunks(r, stop), stop), refresh_s=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            while stats.total < 120:
                await pilot.pause(0.05)
            await pilot.press("q")
        assert app.stop.is_set()
        app.thread.join(5)  # the reader polls the stop flag between reads
        assert not app.thread.is_alive()
        assert app.return_code in (0, None)
    finally:
        os.close(w)
        os.close(r)


# -- the layout, pinned at two sizes ----------------------------------------------------------

LAYOUT = {
    (120, 40): {"rates": (0, 0, 60, 13), "top": (60, 0, 60, 13), "feed": (0, 13, 60, 13),
                "incidents": (60, 13, 60, 13), "chart": (0, 26, 60, 13), "marks": (60, 26, 60, 13), "status": (0, 39, 120, 1)},
    (80, 24): {"rates": (0, 0, 40, 7), "top": (40, 0, 40, 7), "feed": (0, 7, 40, 8),
               "incidents": (40, 7, 40, 8), "chart": (0, 15, 40, 8), "marks": (40, 15, 40, 8), "status": (0, 23, 80, 1)},
}
TITLES = ["1 Rates", "2 Top sources & names", "3 Anomalies", "4 Incidents", "5 Chart", "Scrub & rejects"]


@pytest.mark.parametrize("size", list(LAYOUT), ids=lambda s: f"{s[0]}x{s[1]}")
async def test_layout_at_two_sizes(size):
    app = app_over(data())
    async with app.run_test(size=size) as pilot:
        await settled(app, pilot)
        regions = {name: tuple(app.query_one(f"#{name}").region) for name in LAYOUT[size]}
        assert regions == LAYOUT[size]
        text = screen_text(app)
        for title in TITLES:
            assert title in text or title[:12] in text, title
        assert "INCIDENT" in text and "120 records" in text


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_svg_at_two_sizes(tmp_path, size):
    stats = Stats(window_s=3600)
    Pump(stats).run(iter([data()]))
    stats.end()
    path = tmp_path / "dash.svg"
    svg = snapshot_svg(stats, path, size)
    assert Path(path).read_text() == svg and svg.startswith("<svg")
    text = html.unescape(" ".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")
    assert "1 Rates" in text and "INCIDENT" in text and "cpu.usage on db-1" in text
    # the SVG is as wide as the terminal it pins: textual's cell width times the columns
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    assert width == pytest.approx(size[0] * 12.2 + 40, rel=0.05)


def test_snapshot_through_the_command(tmp_path):
    path = tmp_path / "d.svg"
    proc = run_ben("watch", "--snapshot", str(path), "--size", "100x30", "--window", "1h", input=data())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().splitlines() == [f"ben watch: snapshot written to {path}",
                                                 "ben watch: read 121, wrote 0, rejected 1, anomalies 1"]
    assert "4 Incidents" in html.unescape(path.read_text()).replace("\xa0", " ")


async def test_a_tee_onto_a_full_disk_stops_reading_and_says_so(tmp_path):
    from ben_cli.watch import reader

    source = tmp_path / "in.ndjson"
    source.write_bytes(data())
    stats = Stats()
    failures: list[Exception] = []
    with open("/dev/full", "wb") as full:  # every write fails as on a full disk
        stop = threading.Event()
        reader(stats, str(source), stop, tee=full, on_error=failures.append)(stop)
    app = WatchApp(stats, refresh_s=0.1)
    async with app.run_test(size=(160, 30)) as pilot:
        app.draw()
        await pilot.pause()
        assert "READING STOPPED: [Errno 28] No space left on device" in str(app.query_one("#status", Static).render())
    assert stats.total == 0 and stats.ended and isinstance(failures[0], OSError)


async def test_the_mouse_selects_a_row_and_opens_it():
    payload = data() + orjson.dumps({"ts": "2026-11-25T11:00:00Z", "source": "web-9", "name": "latency", "value": 9.0,
                                     "anomaly": {"is_anomaly": True, "score": 0.99, "series": "web-9/latency"}}) + b"\n"
    app = app_over(payload)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(app, pilot)
        await pilot.click("#feed", offset=(4, 3))  # the border, the header, then the second row
        await pilot.pause()
        assert app.series == SERIES
        await pilot.click("#feed", offset=(4, 3))  # a click on the selected row opens it
        await pilot.pause()
        assert isinstance(app.screen, RecordScreen)
        assert orjson.loads(str(app.screen.query_one("#record-json", Static).render()))["source"] == "db-1"
