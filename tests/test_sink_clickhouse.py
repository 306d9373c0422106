"""ben sink against the real ClickHouse server: fields read back equal, bad rows go to rejects
with the server's reason, a spool left by a crash is replayed without duplicates, and a sink
killed with SIGKILL again and again still stores every record exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest

from ben_cli.sink.rows import LEGACY, RowBuilder, insert_columns, to_columns
from ben_cli.sink.spool import Spool
from ben_cli.sink.target import parse_target, spool_root

from .conftest import run_ben
from .sink_support import canonical, ndjson, read_back, varied_records


def sink_url(protocol: str, host: str, native_port: int, http_port: int, database: str) -> str:
    """The --to URL of one of the two ways to ClickHouse (``ben db`` always takes the native one)."""
    if protocol == "http":
        return f"clickhouse+http://{host}:{http_port}/{database}"
    return f"clickhouse://{host}:{native_port}/{database}"


@pytest.fixture(params=["native", "http"])
def sinkdb(request, clickhouse, cli):
    """A fresh database with the ben schema: (sink URL for each protocol, client, name); dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    result = cli(["db", "init", "--to", f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}"])
    assert result.exit_code == 0, result.output
    client = clickhouse.client()
    yield sink_url(request.param, clickhouse.host, clickhouse.port, clickhouse.http_port, name), client, name
    client.execute(f"DROP DATABASE IF EXISTS `{name}`")
    client.disconnect()


def test_every_field_of_a_varied_stream_reads_back_equal(sinkdb, cli):
    url, client, db = sinkdb
    records = varied_records(3000)
    result = cli(["sink", "--to", url, "--batch-rows", "700"], input=ndjson(records))
    assert result.exit_code == 0, result.output
    assert "read 3000, wrote 3000, rejected 0" in result.stderr
    back = read_back(client, db)
    assert len(back) == 3000
    assert canonical(back) == canonical(records)
    # nanoseconds survive: the stored times are exactly the input's
    assert sorted(r["ts"] for r in back) == sorted(r["ts"] for r in records)
    # each batch numbered its rows 0..n-1 and no row is stored twice
    assert client.execute(f"SELECT count(), uniqExact(batch_id, batch_row) FROM `{db}`.telemetry") == [(3000, 3000)]
    assert client.execute(f"SELECT uniqExact(batch_id) FROM `{db}`.telemetry") == [(5,)]
    # the server filled in the insert time (JSONEachRow leaves omitted columns at 0 unless told)
    assert client.execute(f"SELECT min(inserted_at) > now() - 3600 FROM `{db}`.telemetry") == [(1,)]


def test_rows_the_server_refuses_go_to_rejects_with_its_reason(sinkdb, cli, tmp_path):
    url, client, db = sinkdb
    # a user's derived column that throws for negative values: the server, not ben, refuses the row
    client.execute(f"ALTER TABLE `{db}`.telemetry ADD COLUMN checked UInt8 MATERIALIZED throwIf(ifNull(value, 0) < 0)")
    records = [{"ts": f"2026-11-25T10:00:{i % 60:02d}.{i:09d}Z", "lane": "diag", "source": "s", "name": "n",
                "value": -1.5 if i in (3, 77, 78) else float(i)} for i in range(100)]
    rejects = tmp_path / "rejects.ndjson"
    result = cli(["sink", "--to", url, "--rejects", str(rejects)], input=ndjson(records))
    assert result.exit_code == 0, result.output
    assert "read 100, wrote 97, rejected 3" in result.stderr
    bad = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert sorted(b["line"] for b in bad) == [4, 78, 79]
    for b in bad:
        assert b["stage"] == "sink"
        assert "Code: 395" in b["reason"] and "throwIf" in b["reason"]
        assert orjson.loads(b["raw"]) == records[b["line"] - 1]
    assert client.execute(f"SELECT count(), min(value) FROM `{db}`.telemetry") == [(97, 0.0)]
    assert list(spool_root().glob("clickhouse/*/*.ndjson")) == []


def test_a_spooled_batch_is_replayed_without_storing_any_row_twice(sinkdb, cli):
    """The crash window: a batch is spooled and half of it reached the server, then the process died."""
    url, client, db = sinkdb
    target = parse_target(url)
    records = varied_records(100, seed=5)
    spool = Spool(spool_root() / "clickhouse" / target.key)
    spool.lock()
    batch = spool.write(uuid.uuid4().hex, [orjson.dumps(r) + b"\n" for r in records], {})
    spool.unlock()
    rows = [RowBuilder(LEGACY).row(r) for r in records]
    half = list(range(0, 100, 2))
    client.execute(f"INSERT INTO `{db}`.telemetry ({', '.join(insert_columns(LEGACY))}) VALUES",
                   to_columns(LEGACY, [rows[i] for i in half], batch.batch_id, half), columnar=True)
    more = varied_records(10, seed=6)
    result = cli(["sink", "--to", url], input=ndjson(more))
    assert result.exit_code == 0, result.output
    assert "replayed 50" in result.stderr and "read 10, wrote 10" in result.stderr
    assert canonical(read_back(client, db)) == canonical(records + more)
    assert not batch.path.exists()


def test_a_second_sink_on_the_same_spool_is_kept_out(sinkdb):
    url, _, _ = sinkdb
    spool = Spool(spool_root() / "clickhouse" / parse_target(url).key)
    spool.lock()
    try:
        proc = run_ben("sink", "--to", url, input=b"", env={"BEN_HOME": os.environ["BEN_HOME"]})
    finally:
        spool.unlock()
    assert proc.returncode == 1
    assert b"another ben sink is using the spool" in proc.stderr


@pytest.mark.parametrize("protocol", ["native", "http"])
def test_a_table_that_does_not_exist_is_an_error_that_says_what_to_do(clickhouse, protocol):
    url = sink_url(protocol, clickhouse.host, clickhouse.port, clickhouse.http_port, "nothing_here")
    proc = run_ben("sink", "--to", url, input=b'{"ts":"2026-11-25T10:00:00Z"}\n')
    assert proc.returncode == 1
    assert b"ben db init" in proc.stderr


def test_sigkill_at_random_points_and_rerun_stores_every_record_exactly_once(sinkdb, tmp_path):
    url, client, db = sinkdb
    records = varied_records(30_000, seed=9)
    data = tmp_path / "input.ndjson"
    data.write_bytes(ndjson(records))
    ben = Path(sys.executable).with_name("ben")
    env = {**os.environ, "BEN_LOAD_PLUGINS": ""}
    rng = random.Random(42)
    count = f"SELECT count() FROM `{db}`.telemetry"
    command = [str(ben), "sink", "-q", "--to", url, "--batch-rows", "1000", str(data)]
    kills = 0
    for _ in range(20):
        # kill at a random point after this run's first commit (a replay or a new batch), so that the
        # kill lands mid-stream however fast or slow the machine is; a run that finished first gets
        # more input to be read from where it got to
        stored = client.execute(count)[0][0]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120  # a sink that never commits is a failure, not a wait forever
        while proc.poll() is None and client.execute(count)[0][0] == stored and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            if kills == 2:
                break
            continue
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        more = varied_records(10_000, seed=10 + len(records))
        with open(data, "ab") as fh:
            fh.write(ndjson(more))
        records += more
    else:
        pytest.fail("ben sink finished every run before it could be killed mid-stream twice")
    rest = subprocess.run(command, env=env, capture_output=True, timeout=300)  # the run after the kills finishes
    assert rest.returncode == 0, rest.stderr
    final = run_ben("sink", "--to", url, str(data))  # a rerun after success stores nothing new
    assert final.returncode == 0 and b"read 0, wrote 0" in final.stderr
    assert client.execute(f"SELECT count() FROM `{db}`.telemetry") == [(len(records),)]
    assert canonical(read_back(client, db)) == canonical(records)


@pytest.mark.parametrize("protocol", ["native", "http"])
def test_server_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(tmp_path, protocol):
    """Our own throw-away server: killed with SIGKILL while the sink is sending, started again."""
    root = Path(__file__).resolve().parent / "support"
    ports = [subprocess.run([sys.executable, str(root / "free-port")], capture_output=True, text=True,
                            check=True).stdout.strip() for _ in range(2)]
    env = {**os.environ, "BEN_CH_TCP_PORT": ports[0], "BEN_CH_HTTP_PORT": ports[1], "BEN_LOAD_PLUGINS": ""}
    folder = tmp_path / "server"
    script = str(root / "clickhouse-test-server")
    subprocess.run([script, "start", str(folder)], env=env, check=True)
    try:
        assert run_ben("db", "init", "--to", f"clickhouse://127.0.0.1:{ports[0]}/crashy").returncode == 0
        url = sink_url(protocol, "127.0.0.1", int(ports[0]), int(ports[1]), "crashy")
        records = varied_records(20_000, seed=3)
        ben = Path(sys.executable).with_name("ben")
        sink = subprocess.Popen([str(ben), "sink", "--to", url, "--batch-rows", "500", "--batch-age", "100ms",
                                 "--retry-for", "120s"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert sink.stdin is not None
        chunks = [records[i:i + 1000] for i in range(0, len(records), 1000)]
        for n, chunk in enumerate(chunks):
            if sink.poll() is not None:
                pytest.fail(f"ben sink exited early: {sink.stderr.read().decode() if sink.stderr else ''}")
            sink.stdin.write(ndjson(chunk))
            sink.stdin.flush()
            time.sleep(0.05)
            if n == 6:  # the sink blocks its input while the server is away, so restart on a timer
                pid = int((folder / "server.pid").read_text())
                os.kill(pid, signal.SIGKILL)
                restart = threading.Timer(3.0, subprocess.run, ([script, "start", str(folder)],), {"env": env, "check": True})
                restart.start()
        sink.stdin.close()
        restart.join()
        err = sink.stderr.read().decode() if sink.stderr else ""
        assert sink.wait(timeout=180) == 0, err
        assert "retrying" in err, "the server was down, so the sink must have retried"
        assert "read 20000, wrote 20000, rejected 0" in err
        from clickhouse_driver import Client

        client = Client(host="127.0.0.1", port=int(ports[0]))
        assert client.execute("SELECT count() FROM crashy.telemetry") == [(20_000,)]
        assert canonical(read_back(client, "crashy")) == canonical(records)
        client.disconnect()
    finally:
        subprocess.run([script, "stop", str(folder)], env=env, check=False)


def test_lines_that_are_not_storable_records_go_to_rejects_once(sinkdb, cli, tmp_path):
    """Unreadable lines and records without a usable time: on the HTTP path the workers find them
    after the batch was spooled, and they are rejected through the spool's list like refused rows."""
    url, client, db = sinkdb
    good = varied_records(50, seed=12)
    lines = [orjson.dumps(r) for r in good]
    lines.insert(10, b"{not json")
    lines.insert(20, b'{"lane":"diag","source":"s","name":"no time"}')
    lines.insert(30, b"[1, 2]")
    data = tmp_path / "in.ndjson"
    data.write_bytes(b"\n".join(lines) + b"\n")
    rejects = tmp_path / "rejects.ndjson"
    result = cli(["sink", "--to", url, "--rejects", str(rejects), "--batch-rows", "17", str(data)])
    assert result.exit_code == 0, result.output
    assert "wrote 50, rejected 3" in result.stderr
    bad = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [(b["line"], b["raw"]) for b in bad] == [(11, "{not json"), (21, lines[20].decode()), (31, "[1, 2]")]
    assert "no ts" in bad[1]["reason"]
    assert canonical(read_back(client, db)) == canonical(good)
    assert list(spool_root().glob("clickhouse/*/*.ndjson")) == []


def test_a_replayed_batch_rejects_a_bad_line_once(sinkdb, cli, tmp_path):
    """A spooled batch with a line that cannot be stored, left by a run that died before handling
    it, and another whose bad line was already rejected (listed in its .rejected file)."""
    url, client, db = sinkdb
    target = parse_target(url)
    records = varied_records(20, seed=13)
    lines = [orjson.dumps(r) + b"\n" for r in records]
    spool = Spool(spool_root() / "clickhouse" / target.key)
    spool.lock()
    fresh = spool.write(uuid.uuid4().hex, lines[:10] + [b"{broken\n"], {})
    handled = spool.write(uuid.uuid4().hex, [b"{also broken\n"] + lines[10:], {})
    spool.mark_rejected(handled, 0)
    spool.unlock()
    rejects = tmp_path / "rejects.ndjson"
    result = cli(["sink", "--to", url, "--rejects", str(rejects)], input=b"")
    assert result.exit_code == 0, result.output
    assert "replayed 20" in result.stderr
    bad = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [b["raw"] for b in bad] == ["{broken"]
    assert canonical(read_back(client, db)) == canonical(records)
    assert not fresh.path.exists() and not handled.path.exists()


def _spool_folder(url: str) -> Path:
    folder = spool_root() / "clickhouse" / parse_target(url).key
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize(("name", "content", "says"), [
    ("000000000000-abc.ndjson", b"", "is empty"),
    ("000000000000-abc.ndjson", b"garbage\n{}\n", "has no valid batch header"),
    ("000000000000-abc.ndjson", b'{"batch_id": 7}\n', "has no valid batch header"),
    ("offsets.json", b"garbage", "is not a map of input positions"),
    ("offsets.json", b'{"/x": {"offset": "9"}}', "is not a map of input positions"),
])
def test_wrong_shaped_spool_state_is_a_one_line_refusal_naming_the_file(sinkdb, tmp_path, name, content, says):
    url, client, db = sinkdb
    bad = _spool_folder(url) / name
    bad.write_bytes(content)
    data = tmp_path / "in.ndjson"
    data.write_bytes(ndjson(varied_records(20)))
    proc = run_ben("sink", "--to", url, str(data))
    assert proc.returncode == 1, proc.stderr
    assert b"Traceback" not in proc.stderr
    line = proc.stderr.decode().strip()
    assert line.count("\n") == 0 and line.startswith("ben sink: ") and str(bad) in line and says in line
    assert read_back(client, db) == []
    assert bad.read_bytes() == content  # nothing is thrown away behind the user's back


def test_a_stray_file_in_the_spool_is_left_alone_and_the_sink_goes_on(sinkdb, cli):
    url, client, db = sinkdb
    stray = _spool_folder(url) / "notes.ndjson"
    stray.write_bytes(b"my notes\n")
    records = varied_records(30, seed=3)
    result = cli(["sink", "--to", url], input=ndjson(records))
    assert result.exit_code == 0, result.output
    assert canonical(read_back(client, db)) == canonical(records)
    assert stray.read_bytes() == b"my notes\n"


@pytest.mark.parametrize("where", ["mid-line", "past the end"])
def test_a_saved_offset_that_is_not_a_line_boundary_of_the_input_is_refused(sinkdb, tmp_path, where):
    """offsets.json ahead of real progress must not silently skip rows of the input."""
    url, client, db = sinkdb
    data = tmp_path / "in.ndjson"
    data.write_bytes(ndjson(varied_records(1000, seed=8)))
    size = data.stat().st_size
    offset = size // 5 + 1 if where == "mid-line" else size + 100
    while where == "mid-line" and data.read_bytes()[offset - 1:offset] == b"\n":
        offset += 1
    st = data.stat()
    (_spool_folder(url) / "offsets.json").write_bytes(orjson.dumps(
        {os.path.abspath(data): {"dev": st.st_dev, "ino": st.st_ino, "offset": offset}}))
    proc = run_ben("sink", "--to", url, str(data))
    assert proc.returncode == 1, proc.stderr
    assert b"Traceback" not in proc.stderr and f"byte {offset}".encode() in proc.stderr
    says = "in the middle of a line" if where == "mid-line" else "past the end"
    assert says.encode() in proc.stderr and b"--from-start" in proc.stderr
    assert read_back(client, db) == []
    proc = run_ben("sink", "--to", url, "--from-start", str(data))
    assert proc.returncode == 0, proc.stderr
    assert len(read_back(client, db)) == 1000


def test_a_saved_offset_on_a_line_boundary_resumes_there(sinkdb, tmp_path):
    url, client, db = sinkdb
    records = varied_records(100, seed=9)
    data = tmp_path / "in.ndjson"
    data.write_bytes(ndjson(records))
    offset = len(ndjson(records[:40]))
    st = data.stat()
    (_spool_folder(url) / "offsets.json").write_bytes(orjson.dumps(
        {os.path.abspath(data): {"dev": st.st_dev, "ino": st.st_ino, "offset": offset}}))
    proc = run_ben("sink", "--to", url, str(data))
    assert proc.returncode == 0, proc.stderr
    assert canonical(read_back(client, db)) == canonical(records[40:])


def test_a_files_unfinished_last_line_is_left_for_the_next_run(sinkdb, tmp_path):
    """A sink run from cron over a file being written finds its last line half written. Rejected,
    the record would be lost and the saved position would fall mid-line once the writer finished
    it (every later run refused); left unread, the next run resumes before it and stores it whole."""
    url, client, db = sinkdb
    records = varied_records(30, seed=10)
    whole = ndjson(records)
    data = tmp_path / "in.ndjson"
    data.write_bytes(whole[:len(ndjson(records[:29])) + 25])  # the 30th line's first 25 bytes
    proc = run_ben("sink", "--to", url, "--rejects", str(tmp_path / "bad"), str(data))
    assert proc.returncode == 0, proc.stderr
    assert b"in.ndjson:30: the last line has no newline and is not a whole record" in proc.stderr
    assert b"read 29, wrote 29, rejected 0" in proc.stderr
    assert not (tmp_path / "bad").exists() or (tmp_path / "bad").read_bytes() == b""
    data.write_bytes(whole)  # the writer finished the line
    proc = run_ben("sink", "--to", url, "--rejects", str(tmp_path / "bad"), str(data))
    assert proc.returncode == 0, proc.stderr
    assert canonical(read_back(client, db)) == canonical(records)
