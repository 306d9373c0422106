"""``ben detect --joint``: the channels of a group scored as one state (spca over the row)."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.detect import DetectOptions, JointTable, SeriesTable, table_for
from ben_cli.errors import BadRecord, StateError, UsageError
from ben_cli.record import format_ts

from .test_detect_core import marks

T0 = 1_700_000_000 * 1_000_000_000
MINUTE = 60 * 10**9


def pump(n: int = 1500, brk: int = 1000, seed: int = 3, channels: int = 2, broken: int = 1, jitter: int = 0) -> list[dict]:
    """A pump's channels, all driven by one hidden signal (each channel alone is plain normal
    noise); from ``brk`` for 20 rows channel ``broken`` moves against the others."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = rng.gauss(0, 1)
        for c in range(channels):
            sign = -1.0 if c == broken and brk <= i < brk + 20 else 1.0
            value = 50 + 5 * (sign * a + rng.gauss(0, 0.05)) + 10 * c
            ts = T0 + i * MINUTE + (rng.randrange(jitter) if jitter else 0)
            out.append({"ts": format_ts(ts), "source": "pump1", "name": f"ch{c}", "value": round(value, 4)})
    return out


def fresh(records: list[dict]) -> list[dict]:
    return [dict(r) for r in records]


def joint(records: list[dict], **options) -> list[dict]:
    table = table_for(DetectOptions.from_text(joint=True, **options))
    return list(table.feed(fresh(records))) + list(table.flush())


def alarms(out: list[dict]) -> list[dict]:
    return [r for r in out if r.get("anomaly", {}).get("is_anomaly")]


def test_a_break_of_the_correlation_alarms_jointly_where_each_channel_alone_does_not():
    records = pump()
    out = joint(records)
    hits = alarms(out)
    window = {format_ts(T0 + i * MINUTE) for i in range(1000, 1020)}
    assert hits and {r["ts"] for r in hits} <= window  # in the break's rows, nowhere else
    assert {r["anomaly"]["series"] for r in hits} == {"pump1/ch0", "pump1/ch1"}
    assert all(r["anomaly"]["detector"] == "spca" and r["anomaly"]["joint"] == "pump1" for r in hits)
    alone = list(SeriesTable(DetectOptions()).feed(fresh(records)))  # the default, one channel at a time
    assert alarms(alone) == []


def test_the_mark_names_the_channel_that_broke_away_first():
    out = joint(pump(channels=4, broken=2, seed=5))
    hits = alarms(out)
    assert hits
    top = hits[0]["anomaly"]["contributors"]
    assert top[0]["series"] == "pump1/ch2" and top[0]["share"] > 0.5
    assert all(0.0 < c["share"] <= 1.0 for c in top)
    assert all("contributors" not in r["anomaly"] for r in out if not r["anomaly"]["is_anomaly"])


def test_constant_channels_never_alarm():
    records = [{"ts": format_ts(T0 + i * MINUTE), "source": "m", "name": name, "value": v}
               for i in range(400) for name, v in (("a", 1.0), ("b", 7.5), ("c", -3.0))]
    out = joint(records)
    assert len(out) == len(records) and alarms(out) == []
    assert all(r["anomaly"]["score"] == 0.0 for r in out)


def test_records_leave_in_their_order_untouched_but_for_the_mark():
    records = pump(n=200, channels=3)
    records.insert(7, {"ts": records[7]["ts"], "source": "app", "name": "log", "body": "hi"})
    for before, mark in marks(records, joint(records)):
        assert mark["channels"] == 3 and 0.0 <= mark["score"] < 1.0
        assert mark["series"] == f"pump1/{before['name']}"


@pytest.mark.parametrize("jitter_s", [0, 0.7])
def test_channels_within_the_tolerance_form_one_row(jitter_s):
    records = sorted(pump(n=300, channels=3, jitter=int(jitter_s * 10**9) or 0), key=lambda r: r["ts"])
    table = JointTable(DetectOptions.from_text(joint=True, joint_tolerance="1s"))
    out = list(table.feed(fresh(records))) + list(table.flush())
    rows = {r["ts"][:16] for r in out}  # the minute each record belongs to
    assert len(rows) == 300
    det = table.table[("pump1",)]
    assert sorted(det.channels) == ["ch0", "ch1", "ch2"] and det.model.n == 300  # one scored row a minute


def test_a_tolerance_too_small_splits_rows_and_channels_keep_their_last_value():
    table = JointTable(DetectOptions.from_text(joint=True, joint_tolerance="500ms"))
    # ch1 reports 5 s after ch0: each row holds one channel, the other keeps its last value
    staggered = [dict(r, ts=format_ts(T0 + i // 2 * MINUTE + (i % 2) * 5 * 10**9)) for i, r in enumerate(pump(n=100, channels=2))]
    out = list(table.feed(fresh(staggered))) + list(table.flush())
    assert len(out) == 200
    assert table.table[("pump1",)].model.n == 199  # the first ch0 row alone has too few channels


def test_a_group_with_one_channel_passes_through_unmarked_until_a_second_appears():
    records = [{"ts": format_ts(T0 + i * MINUTE), "source": "m", "name": "a", "value": float(i % 7)} for i in range(10)]
    records += [{"ts": format_ts(T0 + (10 + i) * MINUTE), "source": "m", "name": name, "value": float(i % 5)}
                for i in range(10) for name in ("a", "b")]
    out = joint(records)
    assert all("anomaly" not in r for r in out[:10])
    assert all(r["anomaly"]["channels"] == 2 for r in out[10:])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(0, 399), max_size=3, unique=True), seed=st.integers(0, 3))
def test_state_carried_between_runs_cut_between_rows_scores_as_one_run(tmp_path_factory, cuts, seed):
    records = pump(n=400, brk=300, channels=3, seed=seed)
    records += [dict(r, source="pump2") for r in pump(n=400, brk=350, channels=3, seed=seed + 10)]
    records.sort(key=lambda r: r["ts"])  # the two pumps report together
    state = tmp_path_factory.mktemp("state") / "s.json"
    whole = joint(records)
    split: list[dict] = []
    bounds = [0, *sorted(c * 6 for c in cuts), len(records)]  # a cut falls between minutes (rows)
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        with table_for(DetectOptions.from_text(joint=True, state=state)) as table:
            split += table.feed(fresh(records[lo:hi]))
            split += table.flush()
            table.save()
    assert split == whole
    assert alarms(whole)


def test_a_state_file_written_with_another_tolerance_is_refused(tmp_path):
    state = tmp_path / "s.json"
    with table_for(DetectOptions.from_text(joint=True, state=state)) as table:
        table.save()
    with pytest.raises(StateError, match="written with joint 1.0, this run uses 2.0"):
        table_for(DetectOptions.from_text(joint=True, joint_tolerance="2s", state=state)).load()


def test_what_joint_refuses():
    with pytest.raises(UsageError, match="--joint: ewma watches one number"):
        table_for(DetectOptions.from_text(joint=True, detector="ewma"))
    with pytest.raises(UsageError, match="--by needs two or more fields"):
        table_for(DetectOptions.from_text(joint=True, by="name"))
    with pytest.raises(UsageError, match="with --joint each record gives one field"):
        table_for(DetectOptions.from_text(joint=True, fields=["a,b"]))
    with pytest.raises(UsageError, match="--joint-tolerance"):
        DetectOptions.from_text(joint=True, joint_tolerance="soon")
    table = table_for(DetectOptions.from_text(joint=True))
    with pytest.raises(BadRecord, match="needs each record's time"):
        list(table.feed([{"source": "m", "name": "a", "value": 1.0}]))


def test_the_command_runs_spca_jointly_by_default(cli):
    records = pump(n=1200, brk=1000)
    result = cli(["detect", "-q", "--joint", "--only-anomalies"], input=b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert result.exit_code == 0, result.output
    out = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert out and len(out) % 2 == 0 and {r["anomaly"]["detector"] for r in out} == {"spca"}  # whole rows


def test_workers_keep_a_joint_group_whole():
    from ben_cli.orchestrate.keys import shard_key
    from ben_cli.orchestrate.steps import Planned

    rec = {"source": "pump1", "name": "ch0", "value": 1.0}
    joint_key = shard_key([Planned("detect", DetectOptions.from_text(joint=True))])
    plain_key = shard_key([Planned("detect", DetectOptions.from_text())])
    assert joint_key is not None and plain_key is not None
    assert [get(rec) for get in joint_key] == ["pump1"]  # every channel of pump1 goes to one worker
    assert [get(rec) for get in plain_key] == ["pump1", "ch0"]


def test_the_univariate_default_raises_no_alarm_on_white_noise():
    """The pumps' channels without their break are Gaussian noise: a default that pages on them
    (three short-memory cads without adwin did, 4 times) pays for it at night."""
    for seed in range(6):
        records = pump(seed=seed, brk=10**9)
        assert alarms(list(SeriesTable(DetectOptions()).feed(fresh(records)))) == [], seed
