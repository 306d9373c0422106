"""ben narrate, the library: episodes, incidents, verdicts, wording and formats on marked records
with known truth (marks made by an adapting EWMA, see narrate_scenarios)."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser

import orjson
import pytest

from ben_cli import narrate
from ben_cli.narrate.collect import Collector
from ben_cli.narrate.report import Options, build
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

from .narrate_scenarios import at, ewma_marks, flag_only, merge, ramp, series, step, window

MIN = 60 * 10**9


def near(text: str, pattern: str, *truth: float, within: float = 0.1) -> None:
    """``pattern``'s numbered groups in ``text`` are each within 10% of the true values."""
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in {text!r}"
    for got, want in zip(m.groups(), truth, strict=True):
        assert abs(float(got) - want) <= within * abs(want), (text, got, want)


def report_of(records, **options):
    c = Collector(options.get("since_ns"), options.get("until_ns"))
    for rec in records:
        c.add(rec)
    return build(c, Options(**options))


def spike_records(seed=1):
    return ewma_marks(series("web-3", "http.request", "ms", "09:00", 1, 120, 120, 5, seed, window("10:02", "10:14", 292)))


def adapted_spike_records(seed=1):
    return flag_only(spike_records(seed), ("10:02", "10:05"), ("10:14", "10:16"))


def test_a_spike_is_one_episode_even_when_the_detector_adapts_and_flags_the_return():
    records = adapted_spike_records()
    r = report_of(records)
    assert len(r.incidents) == 1
    (ep,) = r.incidents[0].incident.episodes
    assert (ep.kind, ep.direction, ep.series.source) == ("spike", 1, "web-3")
    assert ep.start_ns == at("10:02") and abs(ep.end_ns - at("10:14")) <= MIN
    assert abs(ep.level - 412) / 412 < 0.05 and abs(ep.baseline - 120) / 120 < 0.05
    near(r.incidents[0].text, r"^web-3's http.request latency rose to ([\d.]+) ms, ([\d.]+)x its usual ([\d.]+) ms, "
         r"from 10:02 to 10:14 UTC \(12 minutes\)\.$", 412, 3.43, 120)
    assert r.verdict == "incident"


def test_a_dip_is_narrated_as_a_fall_against_the_usual_value():
    records = ewma_marks(series("api", "requests.rate", "1/s", "09:00", 1, 90, 500, 10, 3, window("09:40", "09:50", -400)))
    r = report_of(records)
    (ep,) = r.incidents[0].incident.episodes
    assert (ep.kind, ep.direction) == ("dip", -1)
    near(r.incidents[0].text, r"^api's requests.rate fell to ([\d.]+)/s, (\d+)% below its usual ([\d.]+)/s, "
         r"from 09:40 to 09:50 UTC \(10 minutes\)\.$", 100, 80, 500)


def test_a_step_that_stays_is_a_level_shift_with_its_start_and_both_levels():
    records = ewma_marks(series("db-1", "cpu.usage", "%", "03:00", 1, 240, 31, 1, 5, step("04:10", 27)))
    r = report_of(records)
    (ep,) = r.incidents[0].incident.episodes
    assert (ep.kind, ep.direction, ep.ongoing) == ("shift", 1, True)
    assert abs(ep.start_ns - at("04:10")) <= MIN
    near(r.incidents[0].text, r"^cpu.usage on db-1 stepped up from ([\d.]+)% to ([\d.]+)% at 04:10 UTC and stayed there\.$", 31, 58)


def test_a_slow_drift_is_told_from_a_step_and_dated_from_where_it_began():
    records = series("db-2", "disk.usage", "%", "00:00", 5, 144, 40, 0.3, 6, ramp("06:00", 3))
    marked = ewma_marks(records)
    flag_only(marked, ("08:00", "08:30"))  # a drift test alarms late, once the slide is well under way
    r = report_of(marked)
    (ep,) = r.incidents[0].incident.episodes
    assert (ep.kind, ep.direction) == ("drift", 1)
    assert abs(ep.start_ns - at("06:00")) <= 5 * MIN
    assert abs(ep.level - 58) / 58 < 0.05 and abs(ep.baseline - 40) / 40 < 0.05
    near(r.incidents[0].text, r"^disk.usage on db-2 drifted up from ([\d.]+)% to ([\d.]+)% between 06:00 and 11:55 UTC "
         r"\(5 hours 55 minutes\) and was still rising\.$", 40, 57.75)


def test_hosts_that_rise_together_are_one_incident_and_named_once():
    groups = [series(h, "http.request", "ms", "09:00", 1, 120, 120, 5, i, window("10:02", "10:14", 290 + i))
              for i, h in enumerate(["web-1", "web-2", "web-3", "web-7"])]
    quiet = series("web-4", "http.request", "ms", "09:00", 1, 120, 120, 5, 9)
    r = report_of(ewma_marks(merge(*groups, quiet)))
    assert len(r.incidents) == 1
    inc = r.incidents[0].incident
    assert inc.sources == ["web-1", "web-2", "web-3", "web-7"]
    lead = inc.lead.series.source
    others = [h for h in inc.sources if h != lead]
    assert f"{others[0]}, {others[1]} and {others[2]} did the same" in r.incidents[0].text
    assert "web-4" not in r.incidents[0].text


def test_episodes_apart_in_time_are_separate_incidents_ranked_by_severity():
    small = series("web-1", "http.request", "ms", "09:00", 1, 180, 120, 5, 1, window("09:30", "09:33", 60))
    big = [series(h, "http.request", "ms", "09:00", 1, 180, 120, 5, i, window("11:00", "11:30", 400))
           for i, h in enumerate(["web-2", "web-3", "web-4"], 2)]
    r = report_of(ewma_marks(merge(small, *big)))
    assert [n.incident.sources for n in r.incidents] == [["web-2", "web-3", "web-4"], ["web-1"]]
    assert r.incidents[0].incident.severity > r.incidents[1].incident.severity
    assert [n.incident.number for n in r.incidents] == [1, 2]


def test_a_quiet_day_is_healthy_even_with_a_few_false_alarms():
    hosts = [series(f"web-{i}", "cpu.usage", "%", "00:00", 5, 288, 30, 1.5, i) for i in range(6)]
    marked = ewma_marks(merge(*hosts), z_alarm=2.5)  # a trigger-happy detector
    assert sum(r["anomaly"]["is_anomaly"] for r in marked) > 5
    r = report_of(marked)
    assert r.verdict == "healthy" and not r.incidents
    assert "none lasting or large enough to matter" in r.why


def test_no_records_is_no_data_never_healthy():
    """Issue 17: an empty input (or a failed upstream stage) once read HEALTHY."""
    r = report_of([])
    assert (r.verdict, r.records, r.incidents) == ("nodata", 0, [])
    assert "Verdict: NO DATA. No records in this range" in narrate.render(r, "text")
    assert orjson.loads(narrate.render(r, "json"))["range"] == {"start": None, "end": None, "partial": False}


def test_a_small_change_makes_the_verdict_degraded_not_incident():
    records = ewma_marks(series("web-1", "http.request", "ms", "09:00", 1, 60, 100, 1, 4, window("09:30", "09:33", 30)))
    r = report_of(records)
    assert r.verdict == "degraded" and r.incidents[0].incident.grade == "minor"
    assert r.why.startswith("1 minor incident (http.request latency on web-1")


def test_a_rising_error_share_degrades_a_day_without_anomalies():
    recs = []
    for i in range(200):
        late = i >= 100
        sev = "error" if (late and i % 5 == 0) or (not late and i == 3) else "info"
        recs.append({"ts": f"2026-11-25T1{i // 120}:{i // 2 % 60:02d}:{i % 2 * 30:02d}Z", "source": "api", "lane": "event",
                     "name": "http.request", "severity": sev, "body": "GET /"})
    r = report_of(recs)
    assert r.verdict == "degraded"
    assert r.why == "The error share of api (event) rose to 20%, up from 1%."
    assert "  api     event  200      2/min  0%        11% (up from 1%)" in narrate.render(r, "text")


def test_a_rising_warning_share_is_shown_beside_the_volume():
    recs = [{"ts": f"2026-11-25T10:{i // 2:02d}:{i % 2 * 30:02d}Z", "source": "db", "lane": "diag", "name": "log",
             "severity": "warn" if i >= 60 and i % 4 == 0 else "info"} for i in range(120)]
    r = report_of(recs)
    assert r.volume[0].warn_trend == "up from 0%" and r.verdict == "unknown"  # no series was judged
    assert "  db      diag  120      2/min  13% (up from 0%)  0%" in narrate.render(r, "text")
    assert orjson.loads(narrate.render(r, "json"))["volume"][0]["warning_share_halves"] == [0.0, round(15 / 62, 6)]  # halves split on whole minutes: 58 and 62 records


def test_since_and_until_bound_the_report():
    records = spike_records()
    r = report_of(records, since_ns=at("09:00"), until_ns=at("10:00"))
    assert r.records == 60 and r.verdict == "healthy"
    assert narrate.layout.range_text(r) == "25 Nov 2026, 09:00 to 10:00 UTC (1 hour)"


def test_scrub_marks_and_upstream_rejects_are_reported(tmp_path):
    recs = [{"ts": "2026-11-25T10:00:00Z", "source": "a", "name": "log", "redacted": ["email", "ipv4"]},
            {"ts": "2026-11-25T10:00:01Z", "source": "a", "name": "log", "redacted": ["email"]},
            {"ts": "2026-11-25T10:00:02Z", "source": "a", "name": "log"}]
    rej = tmp_path / "rejects.ndjson"
    rej.write_text('{"stage":"ingest","file":"x","line":3,"reason":"invalid JSON: bad"}\n'
                   '{"stage":"ingest","file":"x","line":9,"reason":"invalid JSON: worse"}\n'
                   '{"stage":"scrub","file":"-","line":1,"reason":"value too large: 2 MiB"}\n')
    c = Collector()
    for rec in recs:
        c.add(rec)
    r = build(c, rejected=narrate.read_rejected([str(rej)]))
    out = narrate.render(r, "text")
    assert "2 records carried personal data or secrets, redacted by scrub: email 2, ipv4 1." in out
    assert "ingest rejected 2 lines (invalid JSON 2); scrub rejected 1 line (value too large 1)." in out


def test_the_same_input_gives_the_same_report_byte_for_byte_in_every_format():
    records = ewma_marks(merge(*[series(h, "http.request", "ms", "09:00", 1, 120, 120, 5, i, window("10:02", "10:14", 300))
                                 for i, h in enumerate(["web-1", "web-2"])]))
    for fmt in narrate.FORMATS:
        assert narrate.render(report_of(records), fmt) == narrate.render(report_of(list(records)), fmt)


def test_json_report_carries_the_numbers_and_html_is_well_formed():
    r = report_of(spike_records())
    data = orjson.loads(narrate.render(r, "json"))
    ep = data["incidents"][0]["episodes"][0]
    assert (ep["series"], ep["kind"], ep["direction"], ep["start"]) == ("web-3/http.request", "spike", "up", "2026-11-25T10:02:00Z")
    page = narrate.render(r, "html")

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.svgs, self.external = [], 0, []

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "circle", "rect", "polygon", "polyline", "br"):
                self.stack.append(tag)
            self.svgs += tag == "svg"
            self.external += [v for k, v in attrs if k in ("src", "href") and v]

        def handle_endtag(self, tag):
            if tag in ("circle", "rect", "polygon", "polyline"):
                return
            assert self.stack.pop() == tag

    p = Tags()
    p.feed(page)
    assert p.stack == [] and p.svgs == 1 and p.external == []


def test_markdown_has_the_sections():
    md = narrate.render(report_of(spike_records()), "markdown")
    assert md.startswith("# Health report: 25 Nov 2026, 09:00 to 10:59 UTC")
    assert "**Verdict: incident.**" in md and "## Incidents" in md and "| source | lane | records |" in md


def test_streaming_passes_records_through_and_closes_each_window_with_a_narrative(tmp_path):
    records = spike_records()
    src = tmp_path / "in.ndjson"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    out = tmp_path / "out.ndjson"
    with open(out, "wb") as fh, Rejects() as rejects:
        w = Writer(fh)
        summary = narrate.run([str(src)], w, rejects, Options(every_ns=30 * MIN))
        w.flush()
    n = summary.extra["narratives"]
    assert (summary.read, summary.written, summary.rejected) == (len(records), len(records) + 4, 0)
    lines = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    narratives = [x for x in lines if x.get("name") == "ben.narrative"]
    assert n == 4 and len(narratives) == 4 and len(lines) == len(records) + 4
    assert [x for x in lines if x.get("name") != "ben.narrative"] == records
    assert [x["ts"] for x in narratives] == ["2026-11-25T09:30:00Z", "2026-11-25T10:00:00Z",
                                             "2026-11-25T10:30:00Z", "2026-11-25T11:00:00Z"]
    assert [x["attrs"]["verdict"] for x in narratives] == ["healthy", "healthy", "incident", "healthy"]
    third = narratives[2]
    assert third["lane"] == "event" and third["severity"] == "error" and "web-3's http.request latency" in third["body"]
    assert third["attrs"]["incident.1.sources"] == "web-3"
    for x in narratives:  # attrs stays a flat map, as the envelope requires
        assert all(isinstance(v, (str, int, float, bool)) for v in x["attrs"].values())
    assert narratives[-1]["attrs"]["partial"] is True


def test_the_library_imports_no_cli_or_heavy_modules():
    code = ("import sys, ben_cli.narrate, ben_cli.narrate.html, ben_cli.narrate.layout; "
            "print(','.join(m for m in ('typer','click','rich','textual','numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("fmt", narrate.FORMATS)
def test_every_format_renders_an_empty_window(fmt):
    c = Collector()
    r = build(c, window=(at("10:00"), at("10:05")))
    assert "10:00 to 10:05" in narrate.render(r, fmt) or fmt == "json"
