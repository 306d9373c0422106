"""The dashboard: a textual App drawing :class:`~ben_cli.watch.stats.Stats` on a timer.

Nothing here counts. A reader thread (started by :meth:`WatchApp.on_mount` when the app is given
one) feeds the model; a timer takes a :class:`~ben_cli.watch.stats.Snapshot` a few times a second
and redraws the panels from it. Drawing is therefore as fast as the terminal allows and never
holds the reader back for longer than a snapshot's copy; a frame that comes late is counted as
dropped, and a resize only redraws.

Keys, in the spirit of lnav and k9s: ``/`` filter, ``p`` pause the display (counting goes on),
``enter`` the selected record in full, ``a`` anomalies or all records, ``tab`` the next panel,
``1``-``5`` a panel (again: full screen), ``?`` help, ``q`` quit at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from ben_cli.errors import UsageError
from ben_cli.narrate.humanize import duration, sig
from ben_cli.narrate.report import VERDICT_LABEL
from ben_cli.watch import text as words
from ben_cli.watch.filter import Filter
from ben_cli.watch.stats import Snapshot, Stats

FEED_ROWS = 100  # rows the feed draws (the newest matching ones): each costs a frame ~50 µs to draw
PANELS = {1: "rates", 2: "top", 3: "feed", 4: "incidents", 5: "chart"}
TITLES = {"rates": "1 Rates", "top": "2 Top sources & names", "feed": "3 Anomalies", "incidents": "4 Incidents",
          "chart": "5 Chart", "marks": "Scrub & rejects"}
VERDICT_STYLE = {"nodata": "bold magenta", "unknown": "bold magenta", "healthy": "bold green",
                 "degraded": "bold yellow", "incident": "bold red"}
HELP = """\
ben watch: keys

  /        filter the lists: lane:event source:api* name:http.* severity:warn, or any word
  escape   clear the filter (counting never stopped)
  p        pause the display; counting goes on
  a        the feed: anomalies, or all records
  enter    the selected record in full (pretty JSON)
  tab      the next panel (shift+tab: the one before)
  1 - 5    rates, top, feed, incidents, chart (again: full screen)
  ?        this help
  q        quit at once
"""


class RecordScreen(ModalScreen[None]):
    """One record in full, as pretty JSON."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "close")]

    def __init__(self, record: dict):
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        body = orjson.dumps(self.record, option=orjson.OPT_INDENT_2).decode("utf-8", "replace")
        with VerticalScroll(id="record"):
            yield Static(Text(body), id="record-json")

    def on_mount(self) -> None:
        self.query_one("#record").border_title = "record (escape to close)"


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help")


class Panel(VerticalScroll):
    """A focusable, scrollable box holding one text panel."""

    can_focus = True
    ALLOW_MAXIMIZE = True


class WatchApp(App[None]):
    """The dashboard over ``stats``; ``reader`` (run in a thread with a stop flag) feeds it."""

    CSS_PATH = "watch.tcss"
    TITLE = "ben watch"
    BINDINGS = [
        Binding("q", "quit_now", "quit", priority=True),
        Binding("slash", "filter", "filter"),
        Binding("escape", "clear_filter", "clear filter", show=False),
        Binding("p", "pause", "pause"),
        Binding("a", "feed_mode", "anomalies/all"),
        Binding("question_mark", "help", "help"),
        *(Binding(str(n), f"panel({n})", name, show=False) for n, name in PANELS.items()),
    ]

    def __init__(self, stats: Stats, *, reader: Callable[[threading.Event], None] | None = None,
                 refresh_s: float = 0.5, source: str = "stdin", stop: threading.Event | None = None):
        super().__init__()
        self.stats = stats
        self.reader = reader
        self.refresh_s = refresh_s
        self.source = source
        self.stop = stop or threading.Event()  # set by `q`: the reader polls it
        self.thread: threading.Thread | None = None
        self.paused = False
        self.only_anomalies = True
        self.filter = Filter()
        self.series: str | None = None  # the charted series; None: the first one with anomalies
        self.frames = 0
        self.dropped = 0
        self.first_frame_at: float | None = None
        self._last_tick: float | None = None
        self._feed: list[dict] = []  # the records behind the feed's rows, for `enter`
        self._feed_series: list[str] = []
        self.last: Snapshot | None = None

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Grid(id="grid"):
            yield DataTable(id="rates", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="top", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="feed", cursor_type="row", zebra_stripes=True)
            with Panel(id="incidents"):
                yield Static(id="incidents-text")
            with Panel(id="chart"):
                yield Static(id="chart-text")
            with Panel(id="marks"):
                yield Static(id="marks-text")
        yield Input(placeholder="filter: lane:event source:api* name:http.* severity:warn, or words", id="filter")
        yield Static(id="status")

    def on_mount(self) -> None:
        # the panels live on this screen: frames keep drawing them while a record or the help is open
        self.main = self.screen
        for key, title in TITLES.items():
            self.main.query_one(f"#{key}").border_title = title
        self.main.query_one("#rates", DataTable).add_columns("", "records", "rate", "last 2 minutes")
        self.main.query_one("#top", DataTable).add_columns("", "key", "records", "errors", "rate")
        self._feed_columns()
        self.main.query_one("#filter", Input).display = False
        if self.reader is not None:
            self.thread = threading.Thread(target=self.reader, args=(self.stop,), name="ben-watch-reader", daemon=True)
            self.thread.start()
        self.set_interval(self.refresh_s, self.tick)
        self.draw()
        self.main.query_one("#feed", DataTable).focus()

    def _feed_columns(self) -> None:
        feed = self.main.query_one("#feed", DataTable)
        feed.clear(columns=True)
        if self.only_anomalies:
            feed.add_columns("time", "series", "score", "value", "expected", "field")
        else:
            feed.add_columns("time", "lane", "source", "name", "severity", "value / body")
        feed.border_title = "3 Anomalies" if self.only_anomalies else "3 Records"

    # -- frames ----------------------------------------------------------------------------------
    def tick(self) -> None:
        if not self.is_running:
            # shutting down: textual removes the screens' widgets before it stops the timers, and a
            # frame drawn in between finds no panels (seen on a loaded machine)
            return
        now = time.monotonic()
        if self._last_tick is not None:
            late = (now - self._last_tick) / self.refresh_s
            if late >= 2:
                self.dropped += int(late) - 1
        self._last_tick = now
        if not self.paused:
            self.draw()
        else:
            self._status(self.stats.snapshot(top=0, history=1))

    def draw(self) -> None:
        """One frame: a snapshot of the model, every panel redrawn from it."""
        chosen = [self.series] if self.series else self.stats.series_names()[:1]
        snap = self.stats.snapshot(series=chosen)
        self.last = snap
        self._rates(snap)
        self._top(snap)
        self._feed_rows(snap)
        self._incidents(snap)
        self._chart(snap, chosen[0] if chosen else None)
        self._marks(snap)
        self._status(snap)
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()

    def _rates(self, snap: Snapshot) -> None:
        table = self.main.query_one("#rates", DataTable)
        width = max(8, table.size.width - 36) if table.size.width else 30
        rows = [("all", snap.overall)]
        rows += [(k, v) for k, v in snap.lanes.items() if v[0] or k != "other"]
        rows += [(k, v) for k, v in snap.severities.items() if v[0]]
        keep = table.cursor_row
        table.clear()
        for name, (n, rate, hist) in rows:
            table.add_row(name, words.exact(n), words.per_second(rate), words.sparkline(hist, width))
        table.move_cursor(row=min(keep, max(0, table.row_count - 1)))

    def _top(self, snap: Snapshot) -> None:
        table = self.main.query_one("#top", DataTable)
        keep = table.cursor_row
        table.clear()
        for kind, rows in (("source", snap.sources), ("name", snap.names)):
            for key, entry in rows:
                if self.filter.matches_key(kind, key):
                    table.add_row(kind, key, words.exact(entry.records), words.error_share(entry),
                                  words.per_second(entry.rate))
        table.move_cursor(row=min(keep, max(0, table.row_count - 1)))

    def _feed_rows(self, snap: Snapshot) -> None:
        table = self.main.query_one("#feed", DataTable)
        keep = table.cursor_row
        table.clear()
        self._feed, self._feed_series = [], []
        if self.only_anomalies:
            for a in reversed(snap.anomalies):
                if len(self._feed) >= FEED_ROWS:
                    break
                if self.filter.matches(a.record):
                    score = "-" if a.score is None else sig(a.score, 3)
                    table.add_row(a.ts[11:23] or "-", a.series, score, words.value_text(a.value),
                                  words.value_text(a.expected), a.field)
                    self._feed.append(a.record)
                    self._feed_series.append(a.series)
        else:
            for rec in reversed(snap.records):
                if len(self._feed) >= FEED_ROWS:
                    break
                if self.filter.matches(rec):
                    ts = rec.get("ts")
                    shown = rec.get("value", rec.get("body", ""))
                    table.add_row(str(ts)[11:23] if isinstance(ts, str) else "-", str(rec.get("lane", "-")),
                                  str(rec.get("source", "-")), str(rec.get("name", "-")), str(rec.get("severity", "-")),
                                  words.value_text(shown)[:80])
                    self._feed.append(rec)
                    self._feed_series.append(f"{rec.get('source')}/{rec.get('name')}")
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))

    def _incidents(self, snap: Snapshot) -> None:
        r = snap.report
        out = Text()
        out.append(VERDICT_LABEL[r.verdict].upper(), style=VERDICT_STYLE[r.verdict])
        out.append(f"  {r.why}\n")
        for n in r.incidents:
            out.append(f"\n{n.incident.number}. {n.title}", style="bold")
            out.append(f" ({n.incident.grade}, severity {n.incident.severity:g})\n")
            out.append(n.text + "\n")
        if not r.incidents and r.verdict in ("healthy", "unknown", "nodata"):
            out.append("\nNo incidents in the window being narrated.", style="dim")
        if snap.earlier:
            out.append("\nEarlier windows\n", style="bold")
        for w in reversed(snap.earlier):
            out.append(f"{w.start[11:16]}-{w.end[11:16]} ", style="dim")
            out.append(VERDICT_LABEL[w.verdict].upper(), style=VERDICT_STYLE[w.verdict])
            out.append(f"  {'; '.join(w.titles) or w.why}\n")
        self.main.query_one("#incidents-text", Static).update(out)

    def _chart(self, snap: Snapshot, series: str | None) -> None:
        box = self.main.query_one("#chart")
        points = snap.series.get(series, []) if series else []
        width = max(10, box.size.width - 4) if box.size.width else 40
        height = max(3, box.size.height - 3) if box.size.height else 6
        out = Text()
        if not series:
            out.append("No numeric series yet.", style="dim")
        else:
            last = points[-1] if points else None
            out.append(series, style="bold")
            if last is not None:
                expected = "" if last.expected is None else f", expected {words.value_text(last.expected)}"
                out.append(f"  now {words.value_text(last.value)}{expected}\n")
            for line in words.chart(points, width, height):
                out.append(line + "\n")
            out.append("• value  · expected  ✖ anomaly", style="dim")
        self.main.query_one("#chart-text", Static).update(out)

    def _marks(self, snap: Snapshot) -> None:
        out = Text()
        out.append(f"scrubbed {words.exact(snap.scrubbed)} records\n", style="bold")
        for entity, n in list(snap.entities.items())[:8]:
            out.append(f"  {entity:<16} {words.exact(n):>10}\n")
        out.append(f"rejected {words.exact(snap.rejected)} lines\n", style="bold")
        for reason, n in sorted(snap.reject_reasons.items()):
            out.append(f"  {reason:<24} {words.exact(n):>8}\n")
        for line in snap.last_rejects[-3:]:
            out.append(f"  {line[:120]}\n", style="dim")
        self.main.query_one("#marks-text", Static).update(out)

    def _status(self, snap: Snapshot) -> None:
        lag = "-" if snap.lag_s is None else (f"{snap.lag_s:.1f}s" if abs(snap.lag_s) < 60 else duration(snap.lag_s))
        up = int(snap.uptime_s)
        parts = [f"{words.exact(snap.total)} records", f"{words.exact(snap.rejected)} rejected",
                 f"{words.exact(snap.anomaly_total)} anomalies", f"up {up // 3600}:{up // 60 % 60:02d}:{up % 60:02d}",
                 f"lag {lag}", self.source + (" (ended)" if snap.ended else "")]
        if snap.failure:
            parts.append(f"READING STOPPED: {snap.failure}")
        if self.paused:
            parts.append("PAUSED (counting goes on)")
        if self.filter:
            parts.append(f"filter: {self.filter.text}")
        parts.append("? help  q quit")
        self.main.query_one("#status", Static).update("  ·  ".join(parts))

    # -- keys ------------------------------------------------------------------------------------
    def action_quit_now(self) -> None:
        """Quit at once: the reader is told to stop and not waited for (it polls every 100 ms)."""
        self.stop.set()
        self.exit()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._status(self.stats.snapshot(top=0, history=1))
        else:
            self.draw()

    def action_feed_mode(self) -> None:
        self.only_anomalies = not self.only_anomalies
        self._feed_columns()
        self.draw()

    def action_filter(self) -> None:
        box = self.main.query_one("#filter", Input)
        box.display = True
        box.value = self.filter.text
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.main.query_one("#filter", Input)
        box.display = False
        self.filter = Filter()
        self.draw()
        self.main.query_one("#feed").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = Filter.parse(event.value)
        except UsageError as exc:
            self.notify(str(exc), severity="error")
            return
        event.input.display = False
        self.draw()
        self.main.query_one("#feed").focus()

    def action_panel(self, n: int) -> None:
        widget = self.main.query_one(f"#{PANELS[n]}")
        if self.main.maximized is widget:
            self.main.minimize()
        elif self.focused is widget:
            self.main.maximize(widget)
        else:
            self.main.minimize()
            widget.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "feed" and 0 <= event.cursor_row < len(self._feed_series):
            self.series = self._feed_series[event.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "feed" and 0 <= event.cursor_row < len(self._feed):
            self.push_screen(RecordScreen(self._feed[event.cursor_row]))

    def on_unmount(self) -> None:
        self.stop.set()


def snapshot_svg(stats: Stats, path: Path, size: tuple[int, int] = (120, 40), source: str = "stdin") -> str:
    """Render the dashboard once, headless, for what ``stats`` holds; write the SVG to ``path``
    (atomically) and return it."""
    from ben_cli.atomic import write_atomic

    app = WatchApp(stats, source=source)
    svg: list[str] = []

    async def shoot(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        app.draw()
        await pilot.pause()
        svg.append(app.export_screenshot(title="ben watch"))
        app.exit()

    app.run(headless=True, size=size, auto_pilot=shoot)
    write_atomic(path, svg[0].encode("utf-8"))
    return svg[0]
