"""The cron pipeline across the bridge on one host, with chaos: 20 randomised runs of

    edge:       ben ingest --since-last --ack --state S app.log | ben bee send --spool SP --ack S
    collector:  ben bee listen --ack-from C | ben sink --ack C --to file:out.ndjson

each appending new lines to the log, then killing (SIGKILL) the edge pipeline, or the collector
pipeline, or cutting the connection at random points (a proxy), or nothing. After the runs and
one quiet run, every line of the log is in the sink's file exactly once.

An earlier form of this test tied ingest to the sink's own acknowledgements (``listen --state`` and
one ``S.ack``): a collector killed with records in its pipe could then lose them once the sink had
committed later ones (an acknowledgements file holds the furthest position, not the gaps below it),
which a clean-clone run caught (240 of 30,000 lines). Each hop now acknowledges only what the next
one holds durably; tests/test_bee_two_hosts.py runs the same chain with no shared files.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import bee_support as bs

BIN = Path(sys.executable).parent
ENV = {**os.environ, "BEN_LOAD_PLUGINS": "", "PATH": f"{BIN}:{os.environ['PATH']}"}
RUNS = 20
LINES = 1500


def start(command: str, log: Path) -> subprocess.Popen:
    with open(log, "ab") as err:
        return subprocess.Popen(["bash", "-c", "set -o pipefail; " + command], stdout=subprocess.DEVNULL, stderr=err,
                                env=ENV, start_new_session=True)


def _listening() -> str:
    """The loopback TCP ports listened on now, as 127.0.0.1:PORT lines (from /proc)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return "\n".join(f"127.0.0.1:{int(f[1].split(':')[1], 16)}" for f in (line.split() for line in lines) if f[3] == "0A")


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def test_twenty_runs_of_chaos_lose_and_duplicate_nothing(tmp_path):
    rng = random.Random(20)
    pki = bs.Pki(tmp_path / "pki")
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    log, out, errors = tmp_path / "app.log", tmp_path / "out.ndjson", tmp_path / "stderr.log"
    port = bs.free_port()
    state, committed, spool = tmp_path / "S", tmp_path / "C", tmp_path / "spool"
    listen_cmd = (f"ben bee listen 127.0.0.1:{port} --cert {collector.cert} --key {collector.key} --bundle {pki.bundle} "
                  f"--ack-from {committed} -q").split()
    sink_cmd = f"ben sink -q --ack {committed} --to file:{out}".split()

    def start_collector() -> tuple[subprocess.Popen, subprocess.Popen]:
        with open(errors, "ab") as err:
            listener = subprocess.Popen(listen_cmd, stdout=subprocess.PIPE, stderr=err, env=ENV, start_new_session=True)
            sink = subprocess.Popen(sink_cmd, stdin=listener.stdout, stderr=err, env=ENV, start_new_session=True)
        assert listener.stdout is not None
        listener.stdout.close()
        deadline = time.monotonic() + 20
        while f"127.0.0.1:{port}" not in _listening() and time.monotonic() < deadline:
            time.sleep(0.02)
        return listener, sink

    def edge_cmd(to: int) -> str:
        return (f"ben ingest -q --since-last --ack --state {state} {log} | ben bee send 127.0.0.1:{to} "
                f"--cert {edge.cert} --key {edge.key} --bundle {pki.bundle} --spool {spool} --ack {state} --backoff-max 200ms -q")

    written = 0
    happened: list[str] = []
    for run in range(RUNS + 1):
        quiet = run == RUNS
        with open(log, "ab") as fh:
            for i in range(written, written + (0 if quiet else LINES)):
                fh.write(b'{"msg":"line %d","n":%d}\n' % (i, i))
        written += 0 if quiet else LINES
        chaos = "none" if quiet else rng.choice(["edge", "collector", "cut", "none"])
        happened.append(chaos)
        proxy = bs.Proxy(port, bs.random_cuts(run, cuts=3, span=60_000)) if chaos == "cut" else None
        listener, sink = start_collector()
        sender = start(edge_cmd(proxy.listen_port if proxy else port), errors)
        if chaos in ("edge", "collector"):
            time.sleep(rng.uniform(0.3, 1.5))
            if chaos == "edge":
                kill(sender)
                sender = start(edge_cmd(port), errors)  # the next cron run of the edge
            else:
                kill(listener)  # the whole collector dies: the listener and the sink
                kill(sink)
                listener, sink = start_collector()  # and its supervisor restarts it
        assert sender.wait(timeout=120) == 0, (run, chaos, errors.read_text()[-3000:])
        kill(listener, signal.SIGTERM)  # a clean stop: the sink sees the end of its input and acknowledges
        assert sink.wait(timeout=60) == 0
        if proxy is not None:
            proxy.close()
    got = [json.loads(line)["attrs"]["n"] for line in out.read_bytes().splitlines()]
    assert sorted(got) == list(range(written)), (happened, len(got), written)
    assert len(set(got)) == len(got)
    assert {"edge", "collector", "cut"} <= set(happened)


def test_a_long_running_sink_drops_positions_it_already_took_in_this_run(tmp_path):
    """What the chaos test needs of ben sink --ack: records resent within one run of the sink (an
    edge's ingest rerun behind the bridge) are dropped, not only those stored by earlier runs."""
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b'{"n":%d}\n' % i for i in range(5)))
    stamped = subprocess.run(["ben", "ingest", "-q", "--since-last", "--ack", "--state", str(tmp_path / "S"), str(log)],
                             capture_output=True, env=ENV, check=True).stdout
    resent = stamped + b"".join(stamped.splitlines(keepends=True)[2:])  # records 3..5 come again
    sink = subprocess.run(["ben", "sink", "--ack", str(tmp_path / "S"), "--to", f"file:{tmp_path / 'out'}"],
                          input=resent, capture_output=True, env=ENV)
    assert sink.returncode == 0 and b"wrote 5" in sink.stderr and b"already stored 3" in sink.stderr
    assert (tmp_path / "out").read_bytes().count(b"\n") == 5
