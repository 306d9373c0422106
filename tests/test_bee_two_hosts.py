"""Exactly once across two hosts that share no files: 20 randomised runs of

    edge:       ben ingest --since-last --ack --state S app.log | ben bee send --spool SP --ack S
    collector:  ben bee listen --ack-from L | ben sink --ack L --to file:out.ndjson

and 10 with the collector storing into ClickHouse (``--to clickhouse://``) instead of a file.

The edge (its log, S, the spool, its BEN_HOME) and the collector (L, the sink's file, its BEN_HOME)
live in separate folders, and each of the four processes is its own process group. Each run appends
lines to the log, starts the edge (the collector keeps running from run to run, as a service does)
and may kill with SIGKILL one of: the sender (often stalled first with SIGSTOP, so that what ingest writes waits in
the pipe), the edge's ingest, the listener, the collector's sink (stalled first, so that records
fill its pipe);
or cut the connection (a proxy). A killed edge process is followed by the next cron run of the
edge; a killed collector process ends the collector's pipeline, which is restarted. After the runs
and a quiet one, every line of the log is in the collector's file exactly once.

Nothing carries a position between the hosts but the bridge: the edge's ingest resumes from what
the spool holds (S.ack, written by ben bee send), the collector's ACK follows what the sink holds
(L.ack, read by ben bee listen).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests import bee_support as bs

BIN = Path(sys.executable).parent
RUNS = 20
LINES = 240  # per run: small runs, so that 20 of them (and their restarts) stay quick
KILLS = ("sender", "ingest", "listener", "sink", "cut")


def env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "BEN_LOAD_PLUGINS": "", "BEN_HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"}


def _listening(port: int) -> bool:
    """Whether 127.0.0.1:port is listened on now (from /proc, without connecting to it)."""
    rows = (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
    return any(f[3] == "0A" and int(f[1].split(":")[1], 16) == port for f in rows)


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def pipeline(first: list[str], second: list[str], environ: dict[str, str], err: Path
             ) -> tuple[subprocess.Popen, subprocess.Popen]:
    """``first | second``, each in a process group of its own."""
    with open(err, "ab") as fh:
        a = subprocess.Popen(first, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=fh, env=environ,
                             start_new_session=True)
        b = subprocess.Popen(second, stdin=a.stdout, stdout=subprocess.DEVNULL, stderr=fh, env=environ,
                             start_new_session=True)
    assert a.stdout is not None
    a.stdout.close()
    return a, b


def test_twenty_runs_across_two_hosts_lose_and_duplicate_nothing(tmp_path):
    out = tmp_path / "collector" / "out.ndjson"
    two_hosts(tmp_path, f"file:{out}", RUNS, 23,
              lambda: [json.loads(line)["attrs"]["n"] for line in out.read_bytes().splitlines()])


def test_ten_runs_into_clickhouse_across_two_hosts_lose_and_duplicate_nothing(tmp_path, clickhouse, cli):
    """The collector's sink commits to ClickHouse (batch ids, its spool) before L.ack moves."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}"
    assert cli(["db", "init", "--to", url]).exit_code == 0
    client = clickhouse.client()
    try:
        two_hosts(tmp_path, url, 10, 2323, lambda: [int(body.split()[1]) for (body,) in
                                                    client.execute(f"SELECT body FROM `{name}`.telemetry")])
    finally:
        client.execute(f"DROP DATABASE IF EXISTS `{name}`")
        client.disconnect()


def two_hosts(tmp_path: Path, sink_to: str, runs: int, seed: int, stored) -> None:
    """``runs`` randomised runs (each kill at least once when ``runs`` allows), then a quiet one:
    ``stored()`` must give every line's number once."""
    rng = random.Random(seed)
    pki = bs.Pki(tmp_path / "pki")
    server, client = pki.node("collector", ("server",)), pki.node("edge")
    edge, coll = tmp_path / "edge", tmp_path / "collector"
    edge_env, coll_env = env(edge / "home"), env(coll / "home")
    log, state, spool = edge / "app.log", edge / "S", edge / "spool"
    marks = coll / "L"
    edge_err, coll_err = edge / "stderr.log", coll / "stderr.log"
    port = bs.free_port()
    listen_cmd = (f"ben bee listen 127.0.0.1:{port} --cert {server.cert} --key {server.key} --bundle {pki.bundle} "
                  f"--ack-from {marks} -q").split()
    sink_cmd = f"ben sink -q --ack {marks} --batch-age 300ms --to {sink_to}".split()

    def start_collector() -> tuple[subprocess.Popen, subprocess.Popen]:
        listener, sink = pipeline(listen_cmd, sink_cmd, coll_env, coll_err)
        deadline = time.monotonic() + 30
        while not _listening(port) and time.monotonic() < deadline:
            time.sleep(0.02)
        return listener, sink

    def start_edge(to: int) -> tuple[subprocess.Popen, subprocess.Popen]:
        ingest = f"ben ingest -q --since-last --ack --state {state} {log}".split()
        send = (f"ben bee send 127.0.0.1:{to} --cert {client.cert} --key {client.key} --bundle {pki.bundle} "
                f"--spool {spool} --ack {state} --backoff-max 100ms -q").split()
        return pipeline(ingest, send, edge_env, edge_err)

    def restart_collector(listener: subprocess.Popen, sink: subprocess.Popen) -> tuple[subprocess.Popen, subprocess.Popen]:
        """One of them was killed: the other ends by itself (the sink at the end of its input, the
        listener when its output's reader is gone); the supervisor starts both again."""
        assert sink.wait(timeout=60) in (0, -signal.SIGKILL)
        assert listener.wait(timeout=60) in (1, -signal.SIGKILL), coll_err.read_text()[-2000:]
        return start_collector()

    def in_flight(sender: subprocess.Popen) -> None:
        """Wait until the sender has spooled some of this run's records (or ended): a kill then
        lands while records are on their way, in the spool, the connection or the sink's batch."""
        deadline = time.monotonic() + 30
        while sender.poll() is None and time.monotonic() < deadline:
            if any(f.stat().st_size for f in spool.glob("records-*")):
                return
            time.sleep(0.01)

    each = min(3, runs // len(KILLS))
    plan = list(KILLS) * each + rng.choices((*KILLS, "none"), k=runs - each * len(KILLS))
    rng.shuffle(plan)
    listener, sink = start_collector()
    written = 0
    for run, chaos in enumerate([*plan, "none"]):
        with open(log, "ab") as fh:
            n = 0 if run == runs else rng.randrange(LINES // 4, LINES + 1)  # some fit in a pipe, some do not
            fh.write(b"".join(b'{"msg":"line %d","n":%d}\n' % (i, i) for i in range(written, written + n)))
        written += n
        proxy = bs.Proxy(port, bs.random_cuts(run, cuts=3, span=40_000)) if chaos == "cut" else None
        if chaos == "sink":  # a sink that stalls (a slow store), so records pile up in its pipe, then dies
            os.killpg(sink.pid, signal.SIGSTOP)
        ingest, sender = start_edge(proxy.listen_port if proxy else port)
        if chaos == "sender" and rng.random() < 0.7:
            # a sender that stalls (swapped out, a slow disk) and dies: what ingest wrote into the
            # pipe meanwhile was never spooled, the hole `send --ack` closes
            os.killpg(sender.pid, signal.SIGSTOP)
            try:
                ingest.wait(timeout=3)  # all its lines are in the pipe, or the pipe is full
            except subprocess.TimeoutExpired:
                pass
            kill(sender)
            ingest, sender = start_edge(port)
        elif chaos in ("sender", "ingest", "listener", "sink"):
            if rng.random() < 0.5:  # early: the sender may still be starting while ingest has written
                time.sleep(rng.uniform(0.05, 0.8))
            else:
                in_flight(sender)
                time.sleep(rng.uniform(0, 0.3))
            if chaos == "sender":
                kill(sender)
                ingest.wait(timeout=60)  # it ends on the broken pipe, or had written everything
                ingest, sender = start_edge(port)  # the next cron run of the edge
            elif chaos == "ingest":
                kill(ingest)
                assert sender.wait(timeout=120) == 0, (run, chaos, edge_err.read_text()[-3000:])
                ingest, sender = start_edge(port)
            elif chaos == "listener":
                kill(listener)
                listener, sink = restart_collector(listener, sink)
            else:
                kill(sink)
                listener, sink = restart_collector(listener, sink)
        assert sender.wait(timeout=120) == 0, (run, chaos, edge_err.read_text()[-3000:])
        assert ingest.wait(timeout=60) == 0, (run, chaos, edge_err.read_text()[-3000:])
        if proxy is not None:
            proxy.close()
    listener.send_signal(signal.SIGTERM)  # a clean stop: the sink sees the end of its input
    assert listener.wait(timeout=60) == 0 and sink.wait(timeout=60) == 0
    assert not set(os.listdir(edge)) & set(os.listdir(coll)) - {"home", "stderr.log"}
    got = stored()
    missing, twice = sorted(set(range(written)) - set(got)), len(got) - len(set(got))
    assert not missing and not twice, (plan, len(got), written, missing[:20], twice)
