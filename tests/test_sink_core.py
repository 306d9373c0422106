"""The sink's stage core, the batcher, on records in memory: the same file as `ben sink`, every
storable record once and in order whatever the batch limits, idle batches delivered as they age,
and its state (the ClickHouse spool and input positions) taken by load()."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.errors import BadRecord, Busy
from ben_cli.sink import BatchLimits, DurableRejects, FileOptions, FileTarget, SinkOptions, batcher_for, parse_target
from ben_cli.sink.spool import Spool
from ben_cli.sink.target import spool_root
from ben_cli.stage import Stage, Stateful, chain

from .conftest import run_ben
from .sink_support import canonical, ndjson, read_back, varied_records


def file_core(path: Path, rejects: DurableRejects, limits: BatchLimits | None = None, tee: bool = False):
    options = SinkOptions(target=FileTarget(path), limits=limits or BatchLimits())
    return batcher_for(options, rejects, tee=tee)


def test_feed_and_flush_write_the_file_ben_sink_writes(tmp_path):
    records = varied_records(2500, seed=21)
    records.insert(700, {"name": "no time", "lane": "diag"})  # rejected by both
    (tmp_path / "in.ndjson").write_bytes(ndjson(records))
    shell = run_ben("sink", "-q", "--batch-rows", "300", "--to", f"file:{tmp_path / 'shell.ndjson'}",
                    str(tmp_path / "in.ndjson"))
    assert shell.returncode == 0, shell.stderr
    with DurableRejects(stage="sink") as rejects, \
            file_core(tmp_path / "core.ndjson", rejects, BatchLimits(rows=300)) as core:
        core.load()
        assert list(core.feed(records)) == []  # a sink passes nothing on unless it tees
        assert list(core.flush()) == []
        core.save()
    assert (tmp_path / "core.ndjson").read_bytes() == (tmp_path / "shell.ndjson").read_bytes()
    assert core.written == 2500 and rejects.count == 1 and rejects.first == ["line 701: ts: the record has no ts"]


def test_the_core_is_a_stage_with_state_and_tees_through_chain(tmp_path):
    records = varied_records(40, seed=22)
    with DurableRejects(stage="sink") as rejects, file_core(tmp_path / "t.ndjson", rejects, tee=True) as core:
        assert isinstance(core, Stage) and isinstance(core, Stateful)
        core.load()
        assert list(chain([core], records)) == records
    assert [orjson.loads(x) for x in (tmp_path / "t.ndjson").read_bytes().splitlines()] == records


times = st.integers(0, 2**32 - 1).map(lambda s: f"20{s % 80 + 10:02d}-0{s % 9 + 1}-1{s % 10}T10:00:{s % 60:02d}Z")
records = st.lists(st.fixed_dictionaries({"name": st.text(max_size=8)}, optional={"ts": times,
                                                                                  "value": st.integers(-5, 5)}),
                   max_size=60)


@settings(max_examples=40, deadline=None)
@given(records, st.integers(1, 12), st.integers(1, 400))
def test_every_storable_record_lands_once_in_order_whatever_the_limits(recs, rows, nbytes):
    storable = [r for r in recs if "ts" in r]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "o.ndjson"
        with DurableRejects(stage="sink") as rejects, \
                file_core(out, rejects, BatchLimits(rows=rows, bytes=nbytes, age=60), tee=True) as core:
            core.load()
            passed = list(core.feed(recs))
            core.flush()
        assert [orjson.loads(x) for x in out.read_bytes().splitlines()] == storable == passed
        assert (core.written, rejects.count) == (len(storable), len(recs) - len(storable))


def test_an_idle_batch_is_delivered_when_it_ages(tmp_path):
    out = tmp_path / "slow.ndjson"
    seen: list[bytes] = []

    def slow():
        yield {"ts": "2026-11-25T10:00:00Z", "name": "first"}
        time.sleep(0.6)  # the input is idle: the batch's age closes it
        seen.append(out.read_bytes())
        yield {"ts": "2026-11-25T10:00:01Z", "name": "second"}

    with DurableRejects(stage="sink") as rejects, file_core(out, rejects, BatchLimits(age=0.1)) as core:
        core.load()
        list(core.feed(slow()))
        core.flush()
    assert seen == [b'{"ts":"2026-11-25T10:00:00Z","name":"first"}\n']
    assert out.read_bytes().count(b"\n") == 2


def test_strict_raises_out_of_feed_and_leaving_releases_the_file(tmp_path):
    out = tmp_path / "s.ndjson"
    options = SinkOptions(target=FileTarget(out), file=FileOptions())
    rejects = DurableRejects(stage="sink", strict=True)
    with pytest.raises(BadRecord, match="line 2: ts: the record has no ts"), batcher_for(options, rejects) as core:
        core.load()
        with pytest.raises(Busy):  # the file is locked while the core holds it
            file_core(out, rejects).load()
        list(core.feed([{"ts": "2026-11-25T10:00:00Z"}, {"name": "no time"}]))
    again = file_core(out, rejects)
    again.load()  # the lock went with the failed core
    again.delivery.close()


def test_load_replays_the_spool_and_learns_where_inputs_were(clickhouse, cli, tmp_path):
    """The ClickHouse core's state: a batch an earlier run spooled but never confirmed is stored by
    load(), and the input position its header carries is where the next read starts."""
    db = f"c_{uuid.uuid4().hex[:12]}"
    url = f"clickhouse://{clickhouse.host}:{clickhouse.port}/{db}"
    assert cli(["db", "init", "--to", url]).exit_code == 0
    client = clickhouse.client()
    try:
        target = parse_target(url)
        left = varied_records(30, seed=23)
        position = {"dev": 1, "ino": 2, "offset": 4096}
        spool = Spool(spool_root() / "clickhouse" / target.key)
        spool.lock()
        spool.write(uuid.uuid4().hex, [orjson.dumps(r) + b"\n" for r in left], {"/data/app.ndjson": position})
        spool.unlock()
        fresh = varied_records(20, seed=24)
        with DurableRejects(stage="sink") as rejects, batcher_for(SinkOptions(target=target), rejects) as core:
            core.load()
            assert core.resume == {"/data/app.ndjson": position}
            assert core.delivery.replayed == 30  # type: ignore[attr-defined]
            assert list(core.feed(fresh)) == []
            core.flush()
        assert core.written == 20 and rejects.count == 0
        assert canonical(read_back(client, db)) == canonical(left + fresh)
        assert list(spool.folder.glob("*.ndjson")) == []
    finally:
        client.execute(f"DROP DATABASE IF EXISTS `{db}`")
        client.disconnect()
