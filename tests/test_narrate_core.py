"""The Narrator core: fed in any batches it gives the output of one feed, in both modes, and the
stage protocol (feed, flush) composes it with other cores."""

from __future__ import annotations

from itertools import pairwise

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli import narrate
from ben_cli.narrate import Narrator, Options
from ben_cli.stage import Stage, chain

from .narrate_scenarios import ewma_marks, merge, series, step, window

MIN = 60 * 10**9
SPIKE = ewma_marks(series("web-3", "http.request", "ms", "09:00", 1, 120, 120, 5, 1, window("10:02", "10:14", 292)))
RECORDS = merge(SPIKE, ewma_marks(series("db-1", "cpu.usage", "%", "09:00", 1, 120, 31, 1, 2, step("10:40", 27))))
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fed_in(narrator: Narrator, batches: list[list[dict]]) -> list[dict]:
    out: list[dict] = []
    for batch in batches:
        out += narrator.feed(batch)
    return out + list(narrator.flush())


def split(records: list[dict], cuts: list[int]) -> list[list[dict]]:
    edges = [0, *sorted(cuts), len(records)]
    return [records[a:b] for a, b in pairwise(edges)]


def test_report_mode_collects_and_yields_nothing():
    n = Narrator()
    assert isinstance(n, Stage)
    assert fed_in(n, [RECORDS]) == []
    assert n.report().verdict == "incident"


def test_two_halves_give_the_report_of_one_feed_byte_for_byte():
    whole = Narrator()
    fed_in(whole, [RECORDS])
    halves = Narrator()
    fed_in(halves, split(RECORDS, [len(RECORDS) // 2]))
    for fmt in narrate.FORMATS:
        assert narrate.render(halves.report(), fmt) == narrate.render(whole.report(), fmt)


@given(st.lists(st.integers(0, len(RECORDS)), max_size=6))
@PROPERTY
def test_any_batching_streams_the_same_records_and_narratives(cuts):
    options = Options(every_ns=30 * MIN)
    once = fed_in(Narrator(options), [RECORDS])
    assert fed_in(Narrator(options), split(RECORDS, cuts)) == once


def test_streaming_passes_every_record_and_ends_each_window_with_its_narrative():
    out = fed_in(Narrator(Options(every_ns=30 * MIN)), [SPIKE])
    assert [r for r in out if r["name"] != "ben.narrative"] == SPIKE
    marks = [i for i, r in enumerate(out) if r["name"] == "ben.narrative"]
    assert [out[i]["ts"] for i in marks] == ["2026-11-25T09:30:00Z", "2026-11-25T10:00:00Z",
                                             "2026-11-25T10:30:00Z", "2026-11-25T11:00:00Z"]
    for i in marks[:-1]:  # each closed window's narrative comes just before the first record of the next
        assert out[i - 1]["ts"] < out[i]["ts"] <= out[i + 1]["ts"]
        assert out[i]["attrs"]["partial"] is False
    assert out[marks[-1]]["attrs"]["partial"] is True and marks[-1] == len(out) - 1
    assert out[marks[2]]["attrs"]["verdict"] == "incident"


def test_flush_closes_the_open_window_once():
    n = Narrator(Options(every_ns=30 * MIN))
    list(n.feed(SPIKE[:10]))
    assert len(list(n.flush())) == 1 and list(n.flush()) == []
    assert n.narratives == 1


def test_chained_after_another_stage_its_narratives_follow_the_stream():
    class Tag:
        def feed(self, records):
            for r in records:
                yield {**r, "attrs": {"tagged": True}}

        def flush(self):
            yield from ()

    out = list(chain([Tag(), Narrator(Options(every_ns=60 * MIN))], SPIKE))
    assert len(out) == len(SPIKE) + 2
    assert all(r["attrs"].get("tagged") for r in out if r["name"] != "ben.narrative")
    assert orjson.loads(orjson.dumps(out[-1]))["attrs"]["window_end"] == "2026-11-25T11:00:00Z"
