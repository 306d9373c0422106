"""NATS JetStream: ``ben sink --to nats://`` and ``ben ingest --from nats://`` against a real
nats-server, the partition function's properties, and the scale-out of ``ben run --shard``
with a consumer killed mid-stream."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.errors import UsageError
from ben_cli.jetstream import committed, owned, parse_address, parse_share, stream_partitions
from ben_cli.series import key_getters, partition_of

from .conftest import run_ben

ROOT = Path(__file__).resolve().parent.parent
BEN = str(Path(sys.executable).with_name("ben"))
_subjects = itertools.count()


def subject() -> str:
    """A subject (so a stream) of its own per test: the server is shared by the session."""
    return f"t{os.getpid()}.s{next(_subjects)}"


def envelopes(n: int, series: int = 12) -> bytes:
    lines = []
    for i in range(n):
        rec = {"ts": f"2026-11-25T10:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i % 10}00Z", "lane": "diag",
               "source": f"web-{i % 3}", "name": "http.request", "value": float((i * 37) % 101),
               "attrs": {"path": f"/p{i % series}"}}
        lines.append(orjson.dumps(rec))
    return b"\n".join(lines) + b"\n"


def records(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in data.splitlines()]


# the address, the share, the partition function ------------------------------------------------
def test_an_address_names_host_port_and_subject() -> None:
    a = parse_address("nats://127.0.0.1:4333/telemetry.eu")
    assert (a.host, a.port, a.subject, a.stream) == ("127.0.0.1", 4333, "telemetry.eu", "BEN_telemetry_eu")
    assert parse_address("nats://host/x").port == 4222
    assert a.partition_subject(3) == "telemetry.eu.3" and a.input_id(3) == "nats:BEN_telemetry_eu.3"


@pytest.mark.parametrize("url", ["nats://host", "nats://host/a.*", "nats://host/a..b", "nats:///x",
                                 "nats://host:99999/x", "http://host/x"])
def test_a_bad_address_is_a_usage_error_saying_the_shape(url: str) -> None:
    with pytest.raises(UsageError, match="nats://|port"):
        parse_address(url)


@pytest.mark.parametrize("text", ["3/3", "-1/2", "a/b", "1", "0/0"])
def test_a_bad_share_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--partitions"):
        parse_share(text)


def test_shares_split_the_partitions_between_consumers() -> None:
    assert [owned(6, (i, 3)) for i in range(3)] == [[0, 3], [1, 4], [2, 5]]
    assert owned(4, None) == [0, 1, 2, 3]
    assert sorted(itertools.chain(*(owned(7, (i, 3)) for i in range(3)))) == list(range(7))


def test_the_stream_description_and_the_held_positions_are_read_back() -> None:
    assert stream_partitions("ben partitions=6") == 6 and stream_partitions("other") is None
    assert stream_partitions("ben partitions=0") is None and stream_partitions(None) is None
    assert committed(b'{"version":1,"inputs":{"nats:S.1":[40,40]},"file":{}}') == {"nats:S.1": 40}
    assert committed(b'{"nats:S.1":12,"x":"y"}') == {"nats:S.1": 12}


values = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False)
records_st = st.fixed_dictionaries({"source": values, "name": values},
                                   optional={"value": values, "attrs": st.dictionaries(st.text(max_size=4), values, max_size=3)})


@given(records_st, records_st, st.integers(1, 64))
def test_a_partition_is_in_range_and_follows_the_series_key_only(a: dict, b: dict, count: int) -> None:
    getters = key_getters(["source", "name"])
    p = partition_of(a, getters, count)
    assert 0 <= p < count and partition_of(dict(a), getters, count) == p
    same_series = {**b, "source": a["source"], "name": a["name"]}  # other fields differ
    assert partition_of(same_series, getters, count) == p


def test_the_partition_is_stable_across_processes_and_releases() -> None:
    """Pinned values: a change of the hash would move every series to another partition."""
    getters = key_getters(["source", "name"])
    got = [partition_of({"source": f"web-{i}", "name": "cpu"}, getters, 12) for i in range(6)]
    code = ("from ben_cli.series import key_getters, partition_of;"
            "print([partition_of({'source': f'web-{i}', 'name': 'cpu'}, key_getters(['source','name']), 12) for i in range(6)])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.strip()
    assert other == str(got)
    assert got == PINNED


PINNED = [8, 7, 6, 5, 8, 3]  # CRC-32 of the key's JSON (["web-0","cpu"]) mod 12


def test_without_the_client_a_nats_address_names_the_extra(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['nats'] = None; from ben_cli.commands._root import main;"
            "sys.argv = ['ben', 'sink', '-q', '--to', 'nats://127.0.0.1:1/x']; main()")
    done = subprocess.run([sys.executable, "-c", code], input=b'{"name":"a"}\n', capture_output=True)
    assert done.returncode == 2
    assert "pip install 'ben[nats]'" in done.stderr.decode()


# against the server -------------------------------------------------------------------------------
def test_published_records_come_back_once_each_on_their_series_partition(nats_server: str) -> None:
    url = f"{nats_server}/{subject()}"
    data = envelopes(300)
    sent = run_ben("sink", "--to", url, "--partitions", "4", "--by", "source,attrs.path", input=data)
    assert sent.returncode == 0, sent.stderr.decode()
    assert sent.stderr.decode().endswith("ben sink: read 300, wrote 300, rejected 0\n")
    got = run_ben("ingest", "-q", "--from", url, "--durable", "c", "--max-idle", "0.5s")
    assert got.returncode == 0, got.stderr.decode()
    back = records(got.stdout)
    assert sorted(orjson.dumps({k: v for k, v in r.items() if k != "_ingest"}) for r in back) == sorted(data.splitlines())
    getters = key_getters(["source", "attrs.path"])
    address = parse_address(url)
    for rec in back:
        mark = rec["_ingest"]
        assert mark["format"] == "nats" and mark["in"] == address.input_id(partition_of(rec, getters, 4))
    per_input: dict[str, list[int]] = {}
    for rec in back:
        per_input.setdefault(rec["_ingest"]["in"], []).append(rec["_ingest"]["at"])
    assert all(seqs == sorted(seqs) for seqs in per_input.values())  # in stream order per partition


def test_a_republish_is_stored_once_and_acknowledged_records_are_not_read_again(nats_server: str) -> None:
    url = f"{nats_server}/{subject()}"
    data = envelopes(120)
    run_ben("sink", "-q", "--to", url, input=data, check=True)
    again = run_ben("sink", "--to", url, input=data)
    assert again.stderr.decode().endswith("read 120, wrote 0, rejected 0, already in the stream 120\n")
    first = run_ben("ingest", "-q", "--from", url, "--durable", "d", "--max-idle", "0.5s")
    assert len(first.stdout.splitlines()) == 120
    second = run_ben("ingest", "-q", "--from", url, "--durable", "d", "--max-idle", "0.3s")
    assert second.returncode == 0 and second.stdout == b""


def test_with_ack_the_consumer_resumes_after_what_the_sink_holds(nats_server: str, tmp_path: Path) -> None:
    """ingest --ack --state S follows S.ack: what the sink has not stored is read again."""
    url, state, out = f"{nats_server}/{subject()}", tmp_path / "S", tmp_path / "out.ndjson"
    run_ben("sink", "-q", "--to", url, "--partitions", "2", input=envelopes(200), check=True)
    lost = run_ben("ingest", "-q", "--from", url, "--durable", "d", "--ack", "--state", str(state), "--max-idle", "0.3s")
    assert len(lost.stdout.splitlines()) == 200  # handed to a sink that never stored them
    first = run_ben("ingest", "-q", "--from", url, "--durable", "d", "--ack", "--state", str(state), "--max-idle", "0.3s")
    assert len(first.stdout.splitlines()) == 200  # so read again
    stored = run_ben("sink", "-q", "--ack", str(state), "--to", f"file:{out}", input=first.stdout)
    assert stored.returncode == 0, stored.stderr.decode()
    after = run_ben("ingest", "-q", "--from", url, "--durable", "d", "--ack", "--state", str(state), "--max-idle", "0.3s")
    assert after.stdout == b"" and len(out.read_bytes().splitlines()) == 200


def test_sigterm_ends_a_consumer_that_waits_for_more_with_everything_handed_on(nats_server: str) -> None:
    url = f"{nats_server}/{subject()}"
    run_ben("sink", "-q", "--to", url, input=envelopes(50), check=True)
    proc = subprocess.Popen([BEN, "ingest", "--from", url, "--durable", "d"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    got = [proc.stdout.readline() for _ in range(50)]  # all handed on while it waits for more
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and rest == b"" and len(records(b"".join(got))) == 50
    assert err.decode().endswith("ben ingest: read 50, wrote 50, rejected 0\n")
    again = run_ben("ingest", "-q", "--from", url, "--durable", "d", "--max-idle", "0.3s")
    assert again.stdout == b""  # and acknowledged before it stopped


def test_a_missing_stream_and_a_partition_count_change_are_refused(nats_server: str) -> None:
    url = f"{nats_server}/{subject()}"
    none = run_ben("ingest", "--from", url, "--durable", "d", "--max-idle", "0.1s")
    assert none.returncode == 2 and b"publish to it first" in none.stderr
    run_ben("sink", "-q", "--to", url, "--partitions", "3", input=envelopes(3), check=True)
    other = run_ben("sink", "--to", url, "--partitions", "4", input=envelopes(3))
    assert other.returncode == 2 and b"has 3 partitions, not 4" in other.stderr


def test_an_unreachable_server_is_an_error_naming_it() -> None:
    done = run_ben("sink", "--to", "nats://127.0.0.1:1/x", input=envelopes(1))
    assert done.returncode == 1 and b"nats://127.0.0.1:1: cannot connect" in done.stderr


# the scale-out ------------------------------------------------------------------------------------
DETECT = "detect -d ewma --by source,attrs.path"


def _pipeline(url: str, durable: str, state: Path, out: Path) -> str:
    return (f"ingest --from {url} --durable {durable} --max-idle 1500ms | {DETECT} --state {state} | "
            f"sink --ack {state}.sink --batch-rows 200 --batch-age 50ms --to file:{out}")


def test_three_shards_one_killed_and_restarted_give_the_unsharded_run_exactly_once(nats_server: str, tmp_path: Path) -> None:
    """The Done-when of the scale-out: 12,000 records of 24 series published through ben sink --to nats://; three
    ben run --shard i/3 consumers, each sinking to its own file; one SIGKILLed mid-stream and
    started again. The union of their files is the unsharded run's, record for record (detector
    marks included), every record once, every series on one shard."""
    url = f"{nats_server}/{subject()}"
    sent = run_ben("sink", "-q", "--to", url, "--partitions", "6", "--by", "source,attrs.path", input=envelopes(12000, 24))
    assert sent.returncode == 0, sent.stderr.decode()
    whole = tmp_path / "whole.ndjson"
    done = run_ben("run", "-q", "-e", _pipeline(url, "whole", tmp_path / "W", whole))
    assert done.returncode == 0, done.stderr.decode()
    outs = [tmp_path / f"part{i}.ndjson" for i in range(3)]

    def shard(i: int) -> subprocess.Popen:
        return subprocess.Popen([BEN, "run", "-q", "--batch", "16", "--shard", f"{i}/3", "-e",
                                 _pipeline(url, "shard", tmp_path / f"S{i}", outs[i])], stderr=subprocess.PIPE)

    procs = [shard(i) for i in range(3)]
    victim = procs[1]
    while not outs[1].exists() or outs[1].read_bytes().count(b"\n") < 400:
        assert victim.poll() is None, "the shard ended before it could be killed"
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = outs[1].read_bytes().count(b"\n")
    assert killed_at < 4000  # mid-stream: a third of the corpus is about 4000
    procs[1] = shard(1)
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    parts = [out.read_bytes() for out in outs]
    assert sorted(b"".join(parts).splitlines()) == sorted(whole.read_bytes().splitlines())
    assert len(whole.read_bytes().splitlines()) == 12000
    homes: dict[tuple, set[int]] = {}
    for i, part in enumerate(parts):
        for rec in records(part):
            homes.setdefault((rec["source"], rec["attrs"]["path"]), set()).add(i)
    assert len(homes) == 24 and all(len(shards) == 1 for shards in homes.values())
    assert all(part for part in parts)


def test_with_workers_each_detector_file_holds_its_partitions_and_a_rerun_reads_nothing_again(
        nats_server: str, tmp_path: Path) -> None:
    """--workers 2: each worker's detector names only the partitions its series come from; a
    partition another worker's file does not name is held by the file that does, so the second
    run starts past everything (it read the whole stream again when a missing name counted as 0)."""
    url, out = f"{nats_server}/{subject()}", tmp_path / "out.ndjson"
    run_ben("sink", "-q", "--to", url, "--partitions", "6", "--by", "source,attrs.path", input=envelopes(2000, 24),
            check=True)
    pipeline = _pipeline(url, "w", tmp_path / "D", out)
    first = run_ben("run", "--workers", "2", "-e", pipeline)
    assert first.returncode == 0 and b"ben ingest: read 2000," in first.stderr, first.stderr.decode()
    second = run_ben("run", "--workers", "2", "-e", pipeline)
    assert second.returncode == 0 and b"ben ingest: read 0," in second.stderr, second.stderr.decode()
    assert len(out.read_bytes().splitlines()) == 2000


def test_a_contract_holds_records_read_from_nats_at_the_door(nats_server: str, tmp_path: Path) -> None:
    url, bad = f"{nats_server}/{subject()}", tmp_path / "bad.ndjson"
    rec = {"ts": "2026-11-25T10:00:00Z", "lane": "event", "source": "a", "name": "http.request", "value": 99999.0,
           "attrs": {"method": "GET"}}
    good = {**rec, "value": 12.0}
    run_ben("sink", "-q", "--to", url, input=orjson.dumps(rec) + b"\n" + orjson.dumps(good) + b"\n", check=True)
    done = run_ben("ingest", "-q", "--from", url, "--durable", "c", "--max-idle", "0.3s", "--rejects", str(bad),
                   "--contract", str(ROOT / "tests" / "data" / "contracts" / "web.ben"))
    assert [r["value"] for r in records(done.stdout)] == [12.0]
    assert "range value=99999" in orjson.loads(bad.read_bytes())["reason"]
