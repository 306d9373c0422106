"""The detect stage core: the series table fed records in one process, its state saved and loaded."""

from __future__ import annotations

import dataclasses
import io
import math
import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli import registry
from ben_cli.detect import DetectOptions, SeriesTable, run
from ben_cli.errors import BadRecord, Busy, StateError, UsageError
from ben_cli.ndjson import Writer
from ben_cli.record import format_ts
from ben_cli.rejects import Rejects
from ben_cli.stage import Stage, Stateful, chain

T0 = 1_700_000_000 * 1_000_000_000
DETECTORS = ["auto", "ewma", "cusum", "mad", "seasonal", "pagehinkley", "adwin", "cad", "cadose", "knn", "art"]


def stream(n: int = 120, series: int = 3, seed: int = 1) -> list[dict]:
    """Interleaved series, a wave plus noise and a spike, some records without a value."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        for k in range(series):
            value = 50 + 10 * math.sin(i / 30) + rng.gauss(0, 1) + (40 if i == n * 3 // 4 and k == 0 else 0)
            out.append({"ts": format_ts(T0 + i * 60 * 10**9), "source": f"host-{k}", "name": "cpu", "value": round(value, 3)})
        if i % 25 == 0:
            out.append({"ts": format_ts(T0 + i * 60 * 10**9), "source": "app", "name": "log", "body": "hi"})
    return out


def fresh(records: list[dict]) -> list[dict]:
    """Copies: the table marks the records it is fed in place."""
    return [dict(r) for r in records]


def test_the_table_is_a_stateful_stage_that_holds_nothing_back():
    table = SeriesTable(DetectOptions(detector="ewma"))
    assert isinstance(table, Stage) and isinstance(table, Stateful)
    assert list(table.flush()) == []


def marks(records: list[dict], out: list[dict]) -> list[tuple[dict, dict]]:
    """(record, its mark) for each marked record, after checking that the output is the input in
    its order, untouched but for the mark, and that exactly the records with a value are marked."""
    assert len(out) == len(records)
    marked = []
    for before, after in zip(records, out, strict=True):
        after = dict(after)
        mark = after.pop("anomaly", None)
        assert after == before
        assert (mark is None) == ("value" not in before)
        if mark is not None:
            marked.append((before, mark))
    return marked


def test_feed_marks_what_has_the_field_and_passes_the_rest():
    records = stream()
    out = list(SeriesTable(DetectOptions(detector="ewma", params={"warmup": 5})).feed(fresh(records)))
    for before, mark in marks(records, out):
        assert mark["detector"] == "ewma" and mark["series"] == f"{before['source']}/cpu"
        assert mark["is_anomaly"] == (mark["score"] >= 0.5)


def test_only_anomalies_drops_the_rest():
    records = stream()
    every = list(SeriesTable(DetectOptions(detector="ewma")).feed(fresh(records)))
    only = list(SeriesTable(DetectOptions(detector="ewma", only_anomalies=True)).feed(fresh(records)))
    assert only == [r for r in every if r.get("anomaly", {}).get("is_anomaly")]
    assert only  # the spike


def test_feed_gives_what_run_writes(tmp_path):
    records = stream()
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records) + b"not json\n")
    out = io.BytesIO()
    rejects = Rejects()
    summary = run([str(path)], Writer(out, line_buffered=False), rejects, DetectOptions())
    assert out.getvalue() == b"".join(orjson.dumps(r) + b"\n" for r in SeriesTable(DetectOptions()).feed(fresh(records)))
    assert (summary.read, summary.written, summary.rejected) == (len(records) + 1, len(records), 1)
    assert summary.extra == {"series": 3}  # the log records carry no value: no series


def test_chain_composes_tables_on_different_fields():
    records = [{"source": "s", "name": "m", "value": float(i % 5), "other": float(i % 3)} for i in range(60)]
    first = SeriesTable(DetectOptions(detector="ewma"))
    second = SeriesTable(DetectOptions(detector="cusum", fields=("other",)))
    out = list(chain([first, second], fresh(records)))
    assert len(out) == 60 and all(r["anomaly"]["detector"] == "cusum" for r in out)  # the last mark wins


def whole_and_split(detector: str, records: list[dict], cuts: list[int], state) -> tuple[list[dict], list[dict]]:
    whole = list(SeriesTable(DetectOptions(detector=detector)).feed(fresh(records)))
    split: list[dict] = []
    bounds = [0, *sorted(cuts), len(records)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        with SeriesTable(DetectOptions(detector=detector, state=state)) as table:
            split += table.feed(fresh(records[lo:hi]))
            table.save()
    return whole, split


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detector=st.sampled_from(DETECTORS), cuts=st.lists(st.integers(0, 365), max_size=4, unique=True),
       seed=st.integers(0, 3))
def test_saving_and_loading_at_any_cut_scores_as_one_continuous_run(tmp_path_factory, detector, cuts, seed):
    state = tmp_path_factory.mktemp("state") / "s.json"
    whole, split = whole_and_split(detector, stream(seed=seed), cuts, state)
    assert split == whole


def test_spca_state_round_trips_too(tmp_path):
    rng = random.Random(3)
    records = []
    for _ in range(300):
        a = rng.gauss(0, 1)
        records.append({"source": "h", "name": "m", "a": a, "b": 2 * a + rng.gauss(0, 0.1), "c": rng.gauss(0, 1)})
    options = DetectOptions(detector="spca", fields=("a", "b", "c"), params={"k": 2})
    whole = list(SeriesTable(options).feed(fresh(records)))
    split: list[dict] = []
    for part in (records[:111], records[111:]):
        with SeriesTable(dataclasses.replace(options, state=tmp_path / "s.json")) as table:
            split += table.feed(fresh(part))
            table.save()
    assert split == whole


def test_a_second_table_on_the_same_state_is_busy_until_the_first_closes(tmp_path):
    options = DetectOptions(detector="ewma", state=tmp_path / "s.json")
    with SeriesTable(options):
        with pytest.raises(Busy, match="in use by another ben detect run"):
            SeriesTable(options).load()
    with SeriesTable(options) as table:
        assert table.table == {}


def test_a_damaged_state_file_is_a_state_error(tmp_path):
    state = tmp_path / "s.json"
    with SeriesTable(DetectOptions(detector="ewma", state=state)) as table:
        list(table.feed(stream(n=5)))
        table.save()
    saved = orjson.loads(state.read_bytes())
    saved["series"][0][2] = [1, 2]  # too few fields for an ewma
    state.write_bytes(orjson.dumps(saved))
    with pytest.raises(StateError, match="a series' state cannot be read"):
        SeriesTable(DetectOptions(detector="ewma", state=state)).load()


def test_bad_options_are_usage_errors_naming_the_option():
    with pytest.raises(UsageError, match="^--detector: unknown detector 'nope'"):
        SeriesTable(DetectOptions(detector="nope"))
    with pytest.raises(UsageError, match="^--param: ewma: no parameter zzz"):
        SeriesTable(DetectOptions(detector="ewma", params={"zzz": 1}))
    with pytest.raises(UsageError, match="^--by: needs at least one field"):
        SeriesTable(DetectOptions(by=()))
    assert UsageError("x").status == 2


def test_options_from_text():
    options = DetectOptions.from_text(detector="cusum", params=["h=8", " k = 0.25 ", "mu=learn"], fields=["a,b", "c"],
                                      by="svc, host", expire="1h30m")
    assert options.params == {"h": 8.0, "k": 0.25, "mu": "learn"}
    assert options.fields == ("a", "b", "c") and options.by == ("svc", "host") and options.expire == 5400.0
    assert DetectOptions.from_text(fields=[]).fields == ("value",)


@pytest.mark.parametrize("name", [*DETECTORS, "spca"])
def test_every_detector_has_a_typed_frozen_config_named_by_its_parameters(name):
    cls = registry.detectors.get(name)
    cfg = cls.configure()
    assert type(cfg) is cls.config and dataclasses.is_dataclass(cfg)
    params = cls.all_params()
    assert [p.name for p in params][-5:] == ["warmup", "tail_weight", "holdoff", "range", "probation"]  # its own first
    hints = {"range", "probation"}  # facts known ahead: a state file names them only when set
    assert cfg.values() == {p.name: p.default for p in params if p.name not in hints}
    assert cls.configure(cfg.values()) == cfg  # a state file's parameters rebuild the same config
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.warmup = 1  # type: ignore[misc]


def test_lambda_is_a_parameter_name_though_not_a_field_name():
    cfg = registry.detectors.get("ewma").configure({"lambda": 0.3})
    assert cfg.lam == 0.3 and cfg.values()["lambda"] == 0.3
    assert registry.detectors.get("mad").configure().tail_weight == 1.0  # mad's own default


def test_a_list_or_object_in_a_by_field_is_a_reject_and_the_stream_goes_on(tmp_path):
    bad = tmp_path / "rejects.ndjson"
    data = tmp_path / "in.ndjson"
    data.write_bytes(b'{"name":[],"value":1}\n{"name":"a","value":2}\n{"source":{"x":1},"name":"a","value":3}\n'
                     b'{"name":"a","value":4}\n')
    out = io.BytesIO()
    with Rejects(str(bad), stage="detect") as rejects:
        summary = run([str(data)], Writer(out), rejects, DetectOptions(detector="ewma"))
    assert (summary.read, summary.written, summary.rejected) == (4, 2, 2)
    assert [orjson.loads(line)["value"] for line in out.getvalue().splitlines()] == [2, 4]
    lines = [orjson.loads(line) for line in bad.read_bytes().splitlines()]
    assert [r["line"] for r in lines] == [1, 3]
    assert lines[0]["reason"] == "--by field name holds a list or an object, which cannot name a series"
    assert "source" in lines[1]["reason"] and orjson.loads(lines[1]["raw"])["value"] == 3


@pytest.mark.parametrize("detector", [*DETECTORS, "spca"])
def test_a_value_whose_arithmetic_overflows_is_a_reject_and_the_stream_goes_on(tmp_path, detector):
    fields = ("value", "other") if detector == "spca" else ("value",)
    values = [1.0, 1e155, 2.0, -1e308, 1e308, 3.0]
    records = [{"value": v, "other": 1.0} for v in values]
    rejected: list[tuple[str, bytes]] = []
    table = SeriesTable(DetectOptions(detector=detector, fields=fields), on_reject=lambda r, raw: rejected.append((r, raw)))
    out = list(table.feed(records))
    assert [r["value"] for r in out] == [1.0, 2.0, 3.0]
    assert [orjson.loads(raw)["value"] for _, raw in rejected] == [1e155, -1e308, 1e308]
    assert all("beyond" in reason and "overflows" in reason for reason, _ in rejected)
    with pytest.raises(BadRecord, match="overflows"):
        list(SeriesTable(DetectOptions(detector=detector, fields=fields)).feed([dict(r) for r in records]))


def test_a_huge_surprise_scores_below_one():
    """mad on a flat-ish window meets a value 1e9 away: the score rounds to six decimals but stays < 1."""
    records = [{"value": float(i % 3)} for i in range(60)] + [{"value": 1e9}, {"value": -1e9}]
    out = list(SeriesTable(DetectOptions(detector="mad")).feed(records))
    scores = [r["anomaly"]["score"] for r in out]
    assert max(scores) == 0.999999 and out[-2]["anomaly"]["is_anomaly"]
    assert all(0.0 <= s < 1.0 for s in scores)


@pytest.mark.parametrize("detector", ["ewma", "cusum", "seasonal", "pagehinkley", "spca", "mad", "adwin", "auto", "cad", "cadose", "knn", "art"])
def test_huge_opposite_values_never_put_a_nan_into_the_state(tmp_path, detector):
    """1e308 then -1e308 made inf - inf = NaN, saved as null, and every later run a TypeError."""
    fields = ("value", "other") if detector == "spca" else ("value",)
    state = tmp_path / "s.json"
    records = [{"value": 1.0 + i % 3, "other": 2.0 - i % 2} for i in range(40)]
    records += [{"value": v, "other": v} for v in (1e308, -1e308) * 5]
    rejected: list[str] = []
    with SeriesTable(DetectOptions(detector=detector, fields=fields, state=state),
                     on_reject=lambda reason, raw: rejected.append(reason)) as table:
        list(table.feed(records))
        table.save()
    assert len(rejected) == 10
    with SeriesTable(DetectOptions(detector=detector, fields=fields, state=state)) as table:
        out = list(table.feed([{"value": 2.0, "other": 1.0}]))
    assert 0.0 <= out[0]["anomaly"]["score"] < 1.0


@pytest.mark.parametrize(("detector", "slot", "bad"), [
    ("ewma", "var", None), ("cusum", "mean", None), ("seasonal", "level", None), ("pagehinkley", "up", None),
    ("ewma", "var", "1.0"), ("cusum", "n", 2.5), ("adwin", "rows", [[[1.0, None]]]), ("pagehinkley", "mean", 1e308 * 10),
])
def test_a_state_holding_a_missing_non_finite_or_wrong_typed_value_is_refused(tmp_path, detector, slot, bad):
    state = tmp_path / "s.json"
    with SeriesTable(DetectOptions(detector=detector, state=state)) as table:
        list(table.feed(stream(n=40)))
        table.save()
    saved = orjson.loads(state.read_bytes())
    slots = registry.detectors.get(detector).state_slots()
    saved["series"][0][2][slots.index(slot)] = bad
    state.write_bytes(orjson.dumps(saved))  # orjson writes an infinity as null, as the NaN was written
    with pytest.raises(StateError, match=rf"a series' state cannot be read \(series 'host-0/cpu': state\.{slot}"):
        SeriesTable(DetectOptions(detector=detector, state=state)).load()


def test_a_series_whose_state_is_not_finite_is_not_saved(tmp_path):
    state = tmp_path / "s.json"
    with SeriesTable(DetectOptions(detector="ewma", state=state)) as table:
        list(table.feed(stream(n=40)))
        table.table[("host-1", "cpu")].var = math.nan  # type: ignore[attr-defined]
        table.save()
    assert table.reset == 1
    keys = [tuple(key) for key, _, _ in orjson.loads(state.read_bytes())["series"]]
    assert sorted(keys) == [("host-0", "cpu"), ("host-2", "cpu")]


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.integers(0, 12), max_size=80), cap=st.integers(1, 6))
def test_max_series_keeps_the_most_recently_seen(names, cap):
    """Below 200 series a table evicts one at a time: it holds exactly an LRU cache's keys."""
    table = SeriesTable(DetectOptions(detector="ewma", by=("name",), max_series=cap))
    lru: dict[tuple, None] = {}
    evicted = 0
    for name in names:
        list(table.feed([{"name": name, "value": 1.0}]))
        lru.pop((name,), None)
        lru[(name,)] = None
        if len(lru) > cap:
            del lru[next(iter(lru))]
            evicted += 1
        assert set(table.table) == set(lru)
    assert table.evicted == evicted


def test_max_series_holds_in_the_state_file_too(tmp_path):
    state = tmp_path / "s.json"
    records = [{"name": f"s{i % 10}", "value": float(i % 4)} for i in range(100)]
    records += [{"name": "s3", "value": 1.0}, {"name": "s7", "value": 1.0}, {"name": "s5", "value": 1.0}]
    with SeriesTable(DetectOptions(detector="ewma", by=("name",), state=state)) as table:
        list(table.feed(records))
        table.save()
    keys = [key for key, _, _ in orjson.loads(state.read_bytes())["series"]]
    assert keys[-3:] == [["s3"], ["s7"], ["s5"]]  # least recently seen first
    with SeriesTable(DetectOptions(detector="ewma", by=("name",), state=state, max_series=2)) as table:
        assert set(table.table) == {("s7",), ("s5",)} and table.evicted == 8
        list(table.feed([{"name": "s3", "value": 1.0}]))
        assert set(table.table) == {("s5",), ("s3",)} and table.evicted == 9
        table.save()
    assert [key for key, _, _ in orjson.loads(state.read_bytes())["series"]] == [["s5"], ["s3"]]


def test_the_default_cap_evicts_a_hundredth_at_a_time():
    table = SeriesTable(DetectOptions(detector="ewma", by=("name",), max_series=1000))
    list(table.feed({"name": i, "value": 1.0} for i in range(1001)))
    assert len(table.table) == 991 and table.evicted == 10 and min(k for k, in table.table) == 10
    assert DetectOptions().max_series == 100_000
