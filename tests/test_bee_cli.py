"""``ben bee`` as processes: a sender killed with SIGKILL and rerun with its spool, a listener
killed and restarted with --state, exit statuses, SIGHUP."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import bee_support as bs

BEN = str(Path(sys.executable).with_name("ben"))
ENV = {**os.environ, "BEN_LOAD_PLUGINS": ""}


class Listen:
    def __init__(self, tmp: Path, pki: bs.Pki, node: bs.Node, *args: str, port: int = 0):
        self.out_path, self.err_path = tmp / f"out-{time.monotonic_ns()}", tmp / f"err-{time.monotonic_ns()}"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([BEN, "bee", "listen", f"127.0.0.1:{port}", "--cert", str(node.cert), "--key",
                                          str(node.key), "--bundle", str(pki.bundle), "--crl", str(pki.crl), *args],
                                         stdout=out, stderr=err, env=ENV)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.err_path.read_text())
            if found:
                self.port = int(found[1])
                return
            assert self.proc.poll() is None, self.err_path.read_text()
            time.sleep(0.02)
        raise AssertionError("the listener did not start")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)


def sender(pki: bs.Pki, node: bs.Node, port: int, stdin, *args: str) -> subprocess.Popen:
    return subprocess.Popen([BEN, "bee", "send", f"127.0.0.1:{port}", "--cert", str(node.cert), "--key", str(node.key),
                             "--bundle", str(pki.bundle), "--backoff-max", "100ms", *args],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)


def spooled(spool: Path) -> int:
    """The number of the last record the spool has taken in."""
    base = json.loads((spool / "state.json").read_text())["base"]
    records = spool / f"records-{base}"
    return base - 1 + (records.read_bytes().count(b"\n") if records.exists() else 0)


def output_values(*paths: Path) -> list[int]:
    return [json.loads(line)["value"] for path in paths for line in path.read_bytes().splitlines()]


@pytest.fixture
def pki(tmp_path):
    return bs.Pki(tmp_path / "pki")


@pytest.mark.parametrize("seed", range(3))
def test_a_sender_killed_with_sigkill_resumes_from_its_spool_exactly_once(tmp_path, pki, seed):
    rng = random.Random(seed)
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    spool, n = tmp_path / "spool", 40000
    (tmp_path / "a").write_bytes(bs.records(n))
    (tmp_path / "b").write_bytes(bs.records(n, start=n + 1))
    listener = Listen(tmp_path, pki, collector)
    port = listener.port
    listener.stop()
    # run 1: the listener is away; the sender spools all of a, then is killed mid-stream once it is back
    with open(tmp_path / "a", "rb") as stdin:
        first = sender(pki, edge, port, stdin, "--spool", str(spool))
    deadline = time.monotonic() + 30
    while (not (spool / "state.json").exists() or spooled(spool) < n) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert spooled(spool) == n
    listener = Listen(tmp_path, pki, collector, port=port)
    time.sleep(rng.uniform(0.0, 0.4))
    first.kill()
    first.wait()
    # run 2: new input b, killed at a random moment (some of b may not have reached the spool)
    with open(tmp_path / "b", "rb") as stdin:
        second = sender(pki, edge, port, stdin, "--spool", str(spool))
        time.sleep(rng.uniform(0.05, 0.5))
        second.kill()
        second.wait()
    # run 3: the input the killed run did not take (what an upstream that was not acknowledged resends)
    rest = bs.records(2 * n - spooled(spool), start=spooled(spool) + 1) if spooled(spool) < 2 * n else b""
    (tmp_path / "rest").write_bytes(rest)
    with open(tmp_path / "rest", "rb") as stdin:
        third = sender(pki, edge, port, stdin, "--spool", str(spool))
        _, err = third.communicate(timeout=60)
    assert third.returncode == 0, err
    assert listener.stop() == 0
    assert output_values(listener.out_path) == list(range(1, 2 * n + 1))


def test_a_listener_killed_and_restarted_with_state_loses_nothing(tmp_path, pki):
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    state, n = tmp_path / "bee.state", 60000
    (tmp_path / "in").write_bytes(bs.records(n))
    first = Listen(tmp_path, pki, collector, "--state", str(state))
    with open(tmp_path / "in", "rb") as stdin:
        send = sender(pki, edge, first.port, stdin)
        time.sleep(0.3)
        first.stop(signal.SIGTERM)  # a clean stop saves the marks: the restart goes on from them
        second = Listen(tmp_path, pki, collector, "--state", str(state), port=first.port)
        _, err = send.communicate(timeout=60)
    assert send.returncode == 0, err
    assert second.stop() == 0
    assert output_values(first.out_path, second.out_path) == list(range(1, n + 1))


def test_exit_statuses(tmp_path, pki):
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    pki.revoke(edge.certificate)
    listener = Listen(tmp_path, pki, collector)
    try:
        refused = subprocess.run([BEN, "bee", "send", f"127.0.0.1:{listener.port}", "--cert", str(edge.cert), "--key",
                                  str(edge.key), "--bundle", str(pki.bundle)], input=b"{}\n", capture_output=True, env=ENV)
        assert refused.returncode == 1 and b"refused (revoked)" in refused.stderr
        usage = subprocess.run([BEN, "bee", "send", "nowhere:port", "--cert", str(edge.cert), "--key", str(edge.key),
                                "--bundle", str(pki.bundle)], input=b"", capture_output=True, env=ENV)
        assert usage.returncode == 2 and b"is not an address" in usage.stderr
        wrong_key = subprocess.run([BEN, "bee", "send", f"127.0.0.1:{listener.port}", "--cert", str(edge.cert),
                                    "--key", str(collector.key), "--bundle", str(pki.bundle)], input=b"", capture_output=True, env=ENV)
        assert wrong_key.returncode == 2 and b"does not hold the X25519 key" in wrong_key.stderr
    finally:
        listener.stop()
    assert b"refused 1" in listener.err_path.read_bytes()


def test_sighup_rereads_the_crl_and_drops_a_revoked_sender(tmp_path, pki):
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    listener = Listen(tmp_path, pki, collector)
    read, write = os.pipe()
    send = sender(pki, edge, listener.port, read, "--give-up", "2s")
    os.close(read)
    os.write(write, bs.records(3))
    deadline = time.monotonic() + 20
    while listener.out_path.read_bytes().count(b"\n") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    pki.revoke(edge.certificate)
    listener.proc.send_signal(signal.SIGHUP)
    _, err = send.communicate(timeout=30)
    os.close(write)
    assert send.returncode == 1 and b"refused (revoked)" in err
    assert listener.stop() == 0
    assert b"dropped 1 connection" in listener.err_path.read_bytes()
    assert output_values(listener.out_path) == [1, 2, 3]


def test_the_sender_refuses_a_revoked_listener_with_its_crl(tmp_path, pki):
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    listener = Listen(tmp_path, pki, collector)
    pki.revoke(collector.certificate)
    try:
        refused = subprocess.run([BEN, "bee", "send", f"127.0.0.1:{listener.port}", "--cert", str(edge.cert), "--key",
                                  str(edge.key), "--bundle", str(pki.bundle), "--crl", str(pki.crl)], input=b"{}\n",
                                 capture_output=True, env=ENV)
    finally:
        listener.stop()
    assert refused.returncode == 1 and b"refused (revoked)" in refused.stderr
    assert listener.out_path.read_bytes() == b""
