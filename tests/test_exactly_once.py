"""Exactly once from ``ben ingest`` to ``ben sink`` (issue 14): positions travel with records,
the sink acknowledges what it holds, ingest resumes from there, every stage passes ``_ingest``
through; and the chaos test, a cron pipeline killed at random and rerun."""

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

from .conftest import run_ben

BEN = str(Path(sys.executable).with_name("ben"))
ENV = {**os.environ, "BEN_LOAD_PLUGINS": ""}


def lines_of(path: Path) -> list[dict]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def pipe(*commands: list[str], input: bytes | None = None, cwd: Path | None = None) -> list[subprocess.CompletedProcess]:
    """Run the commands as one shell pipeline would; each one's result (stderr kept apart)."""
    procs: list[subprocess.Popen] = []
    prev = None
    for n, cmd in enumerate(commands):
        p = subprocess.Popen([BEN, *cmd], stdin=prev if prev is not None else (subprocess.PIPE if input is not None else subprocess.DEVNULL),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=cwd)
        if prev is not None:
            prev.close()
        elif input is not None:
            assert p.stdin is not None
            threading.Thread(target=lambda s=p.stdin: (s.write(input), s.close()), daemon=True).start()
        prev = p.stdout
        procs.append(p)
        del n
    out = procs[-1].stdout.read() if procs[-1].stdout else b""
    results = []
    for p in procs:
        err = p.stderr.read() if p.stderr else b""
        results.append(subprocess.CompletedProcess(p.args, p.wait(), out if p is procs[-1] else b"", err))
    return results


# 1. positions travel with records ----------------------------------------------------------------

def test_since_last_stamps_each_record_with_its_input_and_the_offset_past_its_line(tmp_path):
    log = tmp_path / "app.log"
    data = b'{"msg":"a"}\n\n{"msg":"bb"}\r\nplain? no\n{"msg":"c"'
    log.write_bytes(data)
    proc = run_ben("ingest", "--since-last", "--state", str(tmp_path / "S"), "-f", "ndjson", str(log),
                   "--rejects", str(tmp_path / "bad"))
    recs = [orjson.loads(x) for x in proc.stdout.splitlines()]
    assert [r["body"] for r in recs] == ["a", "bb"]
    marks = [r["_ingest"] for r in recs]
    assert marks[0]["in"] == marks[1]["in"] and marks[0]["in"].count(".") == 2
    assert [m["at"] for m in marks] == [12, 27]  # just past each line: a resume point
    assert data[:12].endswith(b'"a"}\n') and data[:27].endswith(b'"bb"}\r\n')
    log.write_bytes(data + b"}\n")  # the half-written last line, finished
    rest = run_ben("ingest", "--since-last", "--state", str(tmp_path / "S"), str(log)).stdout
    last = orjson.loads(rest)["_ingest"]
    assert (last["in"], last["at"], last["line"]) == (marks[0]["in"], len(data) + 2, 5)


def test_a_renamed_file_keeps_its_id_and_the_new_one_gets_another(tmp_path):
    log = tmp_path / "app.log"
    state = str(tmp_path / "S")
    log.write_bytes(b'{"msg":"1"}\n')
    first = orjson.loads(run_ben("ingest", "--since-last", "--state", state, str(log)).stdout)["_ingest"]
    with open(log, "ab") as fh:
        fh.write(b'{"msg":"2"}\n')
    log.rename(tmp_path / "app.log.1")
    log.write_bytes(b'{"msg":"1"}\n')  # the same first line: the inode tells them apart
    out = [orjson.loads(x)["_ingest"] for x in run_ben("ingest", "--since-last", "--state", state, str(log)).stdout.splitlines()]
    assert out[0]["in"] == first["in"] and out[0]["file"].endswith("app.log.1") and out[0]["at"] == 24
    assert out[1]["in"] != first["in"] and out[1]["at"] == 12


def test_reading_once_without_state_stamps_no_position(tmp_path):
    """Positions are kept only where they can be resumed from: the output of a plain read is as before."""
    log = tmp_path / "app.log"
    log.write_bytes(b'{"msg":"a"}\n')
    mark = orjson.loads(run_ben("ingest", str(log)).stdout)["_ingest"]
    assert mark == {"format": "ndjson", "file": str(log), "line": 1, "ts": "read"}  # no "in", no "at"


STAMPED = [{"ts": f"2026-11-25T10:00:{i:02d}Z", "lane": "diag", "name": "cpu", "value": float(i % 7) + (40 if i == 30 else 0),
            "body": f"user{i}@example.com logged in", "_ingest": {"format": "ndjson", "file": "app.log", "in": "fe.12.abcd", "line": i + 1, "at": 12 * (i + 1)}}
           for i in range(40)]


@pytest.mark.parametrize("stage", [["scrub"], ["detect"], ["detect", "--state", "{tmp}/d.json"], ["narrate", "--every", "10s"],
                                   ["sink", "--to", "file:{tmp}/out.ndjson", "--tee"]])
def test_every_stage_passes_the_position_through_unchanged(tmp_path, stage):
    args = [a.replace("{tmp}", str(tmp_path)) for a in stage]
    proc = run_ben(*args, input=b"".join(orjson.dumps(r) + b"\n" for r in STAMPED))
    assert proc.returncode == 0, proc.stderr
    out = [orjson.loads(x) for x in proc.stdout.splitlines()]
    passed = [r["_ingest"] for r in out if r.get("name") != "ben.narrative"]
    assert passed == [r["_ingest"] for r in STAMPED]
    if stage[0] == "scrub":
        assert "user0@example.com" not in proc.stdout.decode()  # it did its work on the same records
    if stage[0] == "sink":
        assert [r["_ingest"] for r in lines_of(tmp_path / "out.ndjson")] == passed


# 2. the sink acknowledges ------------------------------------------------------------------------

def test_the_sink_acknowledges_and_drops_what_it_already_stored_on_file_and_tee(tmp_path):
    state = tmp_path / "S"
    data = b"".join(orjson.dumps(r) + b"\n" for r in STAMPED)
    out = tmp_path / "out.ndjson"
    first = run_ben("sink", "--ack", str(state), "--to", f"file:{out}", input=data[: len(data) // 2])
    assert first.returncode == 0, first.stderr
    held = orjson.loads((tmp_path / "S.ack").read_bytes())["inputs"]
    assert held == {"fe.12.abcd": [12 * 20, 20]}
    again = run_ben("sink", "--ack", str(state), "--to", f"file:{out}", "--tee", input=data)  # re-read from the start
    assert again.returncode == 0, again.stderr
    assert b"already stored 20" in again.stderr
    assert [r["_ingest"]["line"] for r in lines_of(out)] == list(range(1, 41))
    assert [orjson.loads(x)["_ingest"]["line"] for x in again.stdout.splitlines()] == list(range(21, 41))  # --tee too


@pytest.mark.parametrize("gz", [False, True])
def test_a_file_target_killed_after_writing_but_before_acknowledging_learns_from_its_tail(tmp_path, gz):
    """The window between a batch reaching the disk and the acknowledgement being saved."""
    import gzip

    state = tmp_path / "S"
    out = tmp_path / "out.ndjson"
    flags = ["--gzip"] if gz else []
    lines = [orjson.dumps(r) + b"\n" for r in STAMPED]
    data = b"".join(lines)
    assert run_ben("sink", *flags, "--ack", str(state), "--to", f"file:{out}", input=b"".join(lines[:10])).returncode == 0
    with open(out, "ab") as fh:  # as if the next batch was written, and the run killed then
        tail = b"".join(lines[10:20])
        fh.write(gzip.compress(tail) if gz else tail)
    again = run_ben("sink", *flags, "--ack", str(state), "--to", f"file:{out}", input=data)
    assert b"already stored 20" in again.stderr, again.stderr
    stored = gzip.decompress(out.read_bytes()) if gz else out.read_bytes()
    assert [orjson.loads(x)["_ingest"]["line"] for x in stored.splitlines()] == list(range(1, 41))


# 3. ingest resumes from what the sink holds ------------------------------------------------------

def test_ingest_tied_to_the_sink_reads_again_what_never_reached_it(tmp_path):
    log = tmp_path / "app.log"
    state = str(tmp_path / "S")
    out = tmp_path / "out.ndjson"
    log.write_bytes(b"".join(b'{"msg":"%d"}\n' % i for i in range(100)))
    # the sink of the first run died before storing anything: ingest read it all, nobody holds any
    assert run_ben("ingest", "--since-last", "--ack", "--state", state, str(log)).returncode == 0
    res = pipe(["ingest", "--since-last", "--ack", "--state", state, str(log)], ["sink", "--ack", state, "--to", f"file:{out}"])
    assert [r.returncode for r in res] == [0, 0], [r.stderr for r in res]
    assert [r["body"] for r in lines_of(out)] == [str(i) for i in range(100)]
    res = pipe(["ingest", "--since-last", "--ack", "--state", state, str(log)], ["sink", "--ack", state, "--to", f"file:{out}"])
    assert b"read 0" in res[0].stderr and len(lines_of(out)) == 100


def test_without_the_tie_ingest_resumes_from_what_it_read_as_before(tmp_path):
    log = tmp_path / "app.log"
    state = str(tmp_path / "S")
    log.write_bytes(b'{"msg":"a"}\n')
    assert run_ben("ingest", "--since-last", "--state", state, str(log)).stdout
    assert run_ben("ingest", "--since-last", "--state", state, str(log)).stdout == b""


def test_ack_without_an_offset_mode_is_a_usage_error(tmp_path):
    proc = run_ben("ingest", "--ack", str(tmp_path / "x"))
    assert proc.returncode == 2 and b"--ack needs --since-last" in proc.stderr


@pytest.mark.parametrize("protocol", ["file", "native", "http"])
def test_a_last_line_cut_short_by_a_killed_stage_is_not_acknowledged(tmp_path, clickhouse, chaosdb, protocol):
    """A stage killed mid-line leaves the sink a last line cut short, whose ``_ingest`` mark can be
    whole (it comes before ``redacted`` and ``anomaly``). The HTTP target's reader hands lines to
    worker processes unparsed and read that mark from the bytes: it acknowledged a record it never
    stored, and the rerun's ingest skipped it (a chaos run lost one line). Only what is stored is
    acknowledged, on every target, and the rerun stores the cut record once."""
    name, client = chaosdb
    log, state, out = tmp_path / "app.log", str(tmp_path / "S"), tmp_path / "out.ndjson"
    log.write_bytes(b'{"msg":"L1","value":1}\n{"msg":"L2","value":2}\n')
    to = {"file": f"file:{out}", "native": f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}",
          "http": f"clickhouse+http://{clickhouse.host}:{clickhouse.http_port}/{name}"}[protocol]
    stages = pipe(["ingest", "-q", "--since-last", "--ack", "--state", state, str(log)], ["scrub", "-q"], ["detect", "-q"])
    first, second = stages[-1].stdout.splitlines(keepends=True)
    cut = first + second[:second.index(b'"at":46}') + len(b'"at":46}')]  # the mark whole, the record not
    sink = pipe(["sink", "--ack", state, "--to", to], input=cut)[0]
    assert sink.returncode == 0 and b"rejected line 2: invalid JSON" in sink.stderr, sink.stderr
    held = orjson.loads((tmp_path / "S.ack").read_bytes())["inputs"]
    assert list(held.values()) == [[23, 1]]  # line 1, not the cut line 2
    rerun = pipe(["ingest", "-q", "--since-last", "--ack", "--state", state, str(log)], ["sink", "-q", "--ack", state, "--to", to])
    assert [r.returncode for r in rerun] == [0, 0], [r.stderr for r in rerun]
    stored = ([r["body"] for r in lines_of(out)] if protocol == "file"
              else [r[0] for r in client.execute(f"SELECT body FROM `{name}`.telemetry ORDER BY body")])
    assert stored == ["L1", "L2"]

# 7. the chaos test --------------------------------------------------------------------------------

class Producer(threading.Thread):
    """Appends numbered lines to app.log and rotates it when asked, by rename or by copy and
    truncate (between writes, as logrotate does with a writer that reopens). ``--since-last``
    reads a file's one predecessor, so the file rotates at most once between two runs, as with
    a daily logrotate and an hourly cron job."""

    def __init__(self, folder: Path, rng: random.Random, start: int = 0):
        super().__init__(daemon=True)
        self.folder, self.rng, self.n = folder, rng, start
        self.stop = threading.Event()
        self.rotate_soon = threading.Event()
        self.generation = 0

    @property
    def log(self) -> Path:
        return self.folder / "app.log"

    def write(self, count: int) -> None:
        with open(self.log, "ab") as fh:
            fh.write(b"".join(b'{"msg":"L%d","value":%d}\n' % (self.n + i, (self.n + i) % 10) for i in range(count)))
        self.n += count

    def rotate(self) -> None:
        self.generation += 1
        rotated = self.folder / f"app.log.{self.generation}"
        if self.rng.random() < 0.5:
            self.log.rename(rotated)
        else:
            rotated.write_bytes(self.log.read_bytes())
            os.truncate(self.log, 0)

    def run(self) -> None:
        while not self.stop.is_set():
            self.write(self.rng.randrange(50, 400))
            if self.rotate_soon.is_set():
                self.rotate_soon.clear()
                self.rotate()
            time.sleep(self.rng.uniform(0.005, 0.03))


def spawn(commands: list[list[str]], stderr: Path | None = None) -> list[subprocess.Popen]:
    """The commands started as one shell pipeline, the last (the sink) writing nowhere; their
    standard error appended to ``stderr`` when given (the chaos test's history of a failure)."""
    procs: list[subprocess.Popen] = []
    prev = None
    for n, cmd in enumerate(commands):
        err = open(stderr, "ab") if stderr is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
        p = subprocess.Popen([BEN, *cmd], stdin=prev if prev is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE if n < len(commands) - 1 else subprocess.DEVNULL,
                             stderr=err, env=ENV)
        if stderr is not None:
            err.close()
        if prev is not None:
            prev.close()
        prev = p.stdout
        procs.append(p)
    return procs


def run_pipeline(folder: Path, sink_to: str, rng: random.Random | None, producer: Producer | None = None) -> list[int]:
    """``ingest --since-last --ack | scrub | detect --state | sink --ack`` once; with ``rng``, one
    stage is killed with SIGKILL at a random moment, and with ``producer`` the log may be rotated
    meanwhile. The exit statuses. What happened goes to ``folder/history`` (with the stages'
    standard error), for the message of a failure."""
    state = str(folder / "S")
    history = folder / "history"
    commands = [["ingest", "--since-last", "--ack", "--state", state, str(folder / "app.log")],
                ["scrub", "-q"], ["detect", "-q", "--state", str(folder / "detect.json")],
                ["sink", "--ack", state, "--to", sink_to, "--batch-rows", "300", "--batch-age", "50ms"]]
    with open(history, "a") as fh:
        fh.write(f"-- run at {time.monotonic():.2f}\n")
    procs = spawn(commands, history)
    event = "no kill"
    if rng is not None:
        if producer is not None and rng.random() < 0.7:
            time.sleep(rng.uniform(0, 0.5))
            producer.rotate_soon.set()
        time.sleep(rng.uniform(0.2, 1.5))
        victim = rng.choice(procs)
        victim.send_signal(signal.SIGKILL)
        event = f"killed {commands[procs.index(victim)][0]} at {time.monotonic():.2f}"
    codes = [p.wait(timeout=120) for p in procs]
    with open(history, "a") as fh:
        fh.write(f"-- {event}; exits {codes}; log written to L{producer.n if producer else '?'}\n")
    return codes


def chaos(folder: Path, seed: int, sink_to: str, stored, kills: int, *, mid_run=None) -> None:
    """Kill ``kills`` pipelines at random while the log grows and rotates, then rerun;
    ``stored()`` must hold every line once. ``--since-last`` follows one rotation between two
    of its passes over a file (a file rotated twice in between held lines it never saw), so the
    log is rotated during a run only when the previous run's ingest finished its pass."""
    rng = random.Random(seed)
    producer = Producer(folder, rng)
    producer.write(2000)
    # the job has run before: a file rotated before ingest ever saw it is not one it can know of
    assert run_pipeline(folder, sink_to, None) == [0, 0, 0, 0]
    producer.start()
    try:
        seen = True  # the previous ingest read the log as it is now
        for k in range(kills):
            if mid_run is not None and k == 0:
                mid_run()
            before = producer.generation
            ok = run_pipeline(folder, sink_to, rng, producer if seen else None)[0] == 0
            while producer.rotate_soon.is_set() and producer.is_alive():
                time.sleep(0.01)  # a rotation asked for happens before the next run
            seen = (seen or ok) if producer.generation == before else False
    finally:
        producer.stop.set()
        producer.join()
    assert run_pipeline(folder, sink_to, None) == [0, 0, 0, 0], f"seed {seed}: the clean rerun failed"
    got = stored()
    want = [f"L{i}" for i in range(producer.n)]
    missing = sorted(set(want) - set(got), key=lambda s: int(s[1:]))
    twice = len(got) - len(set(got))
    assert not missing and not twice, (f"seed {seed}: {len(missing)} lines lost (first {missing[:5]}), {twice} stored twice"
                                        f"\n{(folder / 'history').read_text()[-6000:]}")


SEED = int(os.environ.get("BEN_CHAOS_SEED", random.randrange(1 << 30)))


def test_chaos_file_target_every_line_stored_exactly_once(tmp_path):
    out = tmp_path / "out.ndjson"
    chaos(tmp_path, SEED, f"file:{out}", lambda: [x["body"] for x in lines_of(out)], kills=4)


@pytest.fixture
def chaosdb(clickhouse, cli):
    name = f"t_{uuid.uuid4().hex[:12]}"
    assert cli(["db", "init", "--to", f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}"]).exit_code == 0
    client = clickhouse.client()
    yield name, client
    client.execute(f"DROP DATABASE IF EXISTS `{name}`")
    client.disconnect()


@pytest.mark.parametrize("protocol", ["native", "http"])
def test_chaos_clickhouse_every_line_stored_exactly_once(tmp_path, clickhouse, chaosdb, protocol):
    name, client = chaosdb
    url = (f"clickhouse+http://{clickhouse.host}:{clickhouse.http_port}/{name}" if protocol == "http"
           else f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}")
    chaos(tmp_path, SEED + 7, url, lambda: [r[0] for r in client.execute(f"SELECT body FROM `{name}`.telemetry")], kills=3)


# 5. failure is visible ---------------------------------------------------------------------------

def test_clickhouse_down_for_the_whole_run_exits_1_acknowledges_nothing_and_the_rerun_stores_all(tmp_path, clickhouse, chaosdb):
    name, client = chaosdb
    log = tmp_path / "app.log"
    state = str(tmp_path / "S")
    log.write_bytes(b"".join(b'{"msg":"L%d"}\n' % i for i in range(5000)))
    free = subprocess.run([sys.executable, str(Path(__file__).parent / "support" / "free-port")], capture_output=True,
                          text=True, check=True).stdout.strip()
    down = pipe(["ingest", "--since-last", "--ack", "--state", state, str(log)],
                ["sink", "--ack", state, "--retry-for", "1s", "--to", f"clickhouse://127.0.0.1:{free}/{name}"])
    assert down[1].returncode == 1, down[1].stderr
    assert any(r.returncode != 0 for r in down)  # with pipefail, the pipeline fails
    assert not (tmp_path / "S.ack").exists() or orjson.loads((tmp_path / "S.ack").read_bytes())["inputs"] == {}
    up = pipe(["ingest", "--since-last", "--ack", "--state", state, str(log)],
              ["sink", "--ack", state, "--to", f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}"])
    assert [r.returncode for r in up] == [0, 0], [r.stderr for r in up]
    assert client.execute(f"SELECT count(), uniqExact(body) FROM `{name}`.telemetry") == [(5000, 5000)]


@pytest.mark.parametrize("protocol", ["native", "http"])
def test_chaos_with_the_clickhouse_server_killed_and_restarted_mid_run(tmp_path, protocol):
    """A dedicated server, so that killing it disturbs no other test."""
    root = Path(__file__).resolve().parent / "support"
    ports = [subprocess.run([sys.executable, str(root / "free-port")], capture_output=True, text=True,
                            check=True).stdout.strip() for _ in range(2)]
    env = {**ENV, "BEN_CH_TCP_PORT": ports[0], "BEN_CH_HTTP_PORT": ports[1]}
    server, script = tmp_path / "server", str(root / "clickhouse-test-server")
    subprocess.run([script, "start", str(server)], env=env, check=True)
    timers: list[threading.Timer] = []

    def kill_server() -> None:
        def kill() -> None:
            os.kill(int((server / "server.pid").read_text()), signal.SIGKILL)
            with open(tmp_path / "history", "a") as fh:
                fh.write(f"-- server killed at {time.monotonic():.2f}\n")
            restart = threading.Timer(1.5, subprocess.run, ([script, "start", str(server)],), {"env": env, "check": True})
            restart.start()
            timers.append(restart)
        timer = threading.Timer(random.Random(SEED).uniform(0.5, 1.5), kill)
        timer.start()
        timers.append(timer)

    try:
        assert run_ben("db", "init", "--to", f"clickhouse://127.0.0.1:{ports[0]}/crashy").returncode == 0
        url = (f"clickhouse+http://127.0.0.1:{ports[1]}/crashy" if protocol == "http"
               else f"clickhouse://127.0.0.1:{ports[0]}/crashy")
        from clickhouse_driver import Client

        def stored() -> list[str]:
            client = Client(host="127.0.0.1", port=int(ports[0]))
            try:
                return [r[0] for r in client.execute("SELECT body FROM crashy.telemetry")]
            finally:
                client.disconnect()

        chaos(tmp_path, SEED + 11, url, stored, kills=1, mid_run=kill_server)
    finally:
        for timer in timers:
            timer.join()
        subprocess.run([script, "stop", str(server)], env=env, check=False)


# 4. stdin that is a regular file -----------------------------------------------------------------

def test_sink_from_stdin_redirected_from_a_file_killed_and_rerun_stores_every_record_once(tmp_path, clickhouse, chaosdb):
    name, client = chaosdb
    data = tmp_path / "records.ndjson"
    data.write_bytes(b"".join(b'{"ts":"2026-11-25T10:00:00Z","name":"n","body":"L%d"}\n' % i for i in range(40_000)))
    url = f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}"
    with open(data, "rb") as stdin:
        proc = subprocess.Popen([BEN, "sink", "-q", "--to", url, "--batch-rows", "1000"], stdin=stdin, env=ENV,
                                stderr=subprocess.PIPE)
        while client.execute(f"SELECT count() FROM `{name}`.telemetry")[0][0] == 0 and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with open(data, "rb") as stdin:
        again = subprocess.run([BEN, "sink", "--to", url], stdin=stdin, env=ENV, capture_output=True)
    assert again.returncode == 0, again.stderr
    assert client.execute(f"SELECT count(), uniqExact(body) FROM `{name}`.telemetry") == [(40_000, 40_000)]


def test_ingest_since_last_continues_stdin_redirected_from_a_file_and_refuses_a_pipe(tmp_path):
    log = tmp_path / "app.log"
    state = str(tmp_path / "S")
    log.write_bytes(b'{"msg":"a"}\n')
    with open(log, "rb") as stdin:
        first = subprocess.run([BEN, "ingest", "--since-last", "--state", state], stdin=stdin, env=ENV, capture_output=True)
    with open(log, "ab") as fh:
        fh.write(b'{"msg":"b"}\n')
    with open(log, "rb") as stdin:
        second = subprocess.run([BEN, "ingest", "--since-last", "--state", state], stdin=stdin, env=ENV, capture_output=True)
    assert [orjson.loads(x)["body"] for x in first.stdout.splitlines()] == ["a"]
    assert [orjson.loads(x)["body"] for x in second.stdout.splitlines()] == ["b"]
    piped = run_ben("ingest", "--since-last", "--state", state, input=b'{"msg":"c"}\n')
    assert piped.returncode == 2 and b"not a pipe" in piped.stderr


# 6. stateful middles ------------------------------------------------------------------------------

def _records(lo: int, hi: int) -> bytes:
    return b"".join(orjson.dumps({"ts": f"2026-11-25T10:{i // 60:02d}:{i % 60:02d}Z", "name": f"cpu{i % 3}",
                                  "value": float(i % 7) + (50 if i == 70 else 0),
                                  "_ingest": {"format": "ndjson", "file": "app.log", "in": "fe.1.ab", "line": i, "at": 10 * i}}) + b"\n"
                    for i in range(lo, hi))


def _series(path: Path) -> dict:
    return {orjson.dumps(key): (seen, state) for key, seen, state in orjson.loads(path.read_bytes())["series"]}


@pytest.mark.parametrize("detector", ["auto", "ewma"])
def test_detect_state_does_not_learn_twice_from_records_seen_again_but_still_marks_them(tmp_path, detector):
    once, twice = tmp_path / "once.json", tmp_path / "twice.json"
    assert run_ben("detect", "-d", detector, "--state", str(once), input=_records(1, 91)).returncode == 0
    assert run_ben("detect", "-d", detector, "--state", str(twice), input=_records(1, 61)).returncode == 0
    again = run_ben("detect", "-d", detector, "--state", str(twice), input=_records(31, 91))  # 31-60 seen before
    assert again.returncode == 0, again.stderr
    assert b"seen before 30" in again.stderr
    marked = [orjson.loads(x) for x in again.stdout.splitlines()]
    assert len(marked) == 60 and all("anomaly" in r for r in marked)
    assert _series(twice) == _series(once)  # the model is the one a single pass builds
