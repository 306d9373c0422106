"""``ben bee listen --policy-file``: each record judged with the certificate of the peer that sent
it, with real certificates from a test CA; denied records are rejected, counted and acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ben_cli.policy.check import load
from ben_cli.policy.enforce import Gate
from ben_cli.policy.evaluate import DENY, LIMITED
from ben_cli.rejects import Rejects
from tests import bee_support as bs
from tests.test_bee_cli import BEN, Listen, output_values, sender

POLICY = """policy bee version {version} default deny
rule no-secrets: deny if name secret.*
rule ops: allow if group ops
rule edges: allow if from edge-* and lane diag
"""


@pytest.fixture
def pki(tmp_path: Path) -> bs.Pki:
    """A test CA of its own for each test, with its CRL."""
    return bs.Pki(tmp_path / "pki")


@pytest.fixture
def collector(pki: bs.Pki) -> bs.Node:
    """The listener's server certificate."""
    return pki.node("collector", ("server",))


def gated(pki: bs.Pki, collector: bs.Node, policy: Path) -> bs.Listener:
    lst = bs.listener(pki, collector)
    lst.gate = Gate(load(policy)[0], lst.rejects)
    return lst


def lines(names: list[str], lane: str = "diag") -> bytes:
    return b"".join(b'{"lane":"%s","name":"%s","value":%d}\n' % (lane.encode(), n.encode(), i)
                    for i, n in enumerate(names, start=1))


def written(lst: bs.Listener) -> list[dict]:
    return [json.loads(line) for line in lst.out.lines()]


def test_a_denied_name_is_not_output_and_is_counted_the_allowed_arrive_once(tmp_path, pki, collector):
    (tmp_path / "p").write_text(POLICY.format(version=1))
    edge = pki.node("edge-1")
    names = ["cpu", "secret.key", "mem", "secret.pin", "disk"]
    lst = gated(pki, collector, tmp_path / "p")
    with bs.running(lst) as port:
        stats = bs.send(pki, edge, port, lines(names))
    assert stats.records == 5  # every record acknowledged, the denied ones too: the sender is done
    assert [(r["name"], r["value"]) for r in written(lst)] == [("cpu", 1), ("mem", 3), ("disk", 5)]
    assert lst.gate is not None and lst.gate.counts[DENY] == 2 and lst.counts.records == 3
    assert lst.rejects.count == 2 and "denied by rule no-secrets" in lst.rejects.first[0]
    assert lst.marks.get(next(iter(lst.marks.marks))) == 5


def test_the_peers_certificate_groups_decide(tmp_path, pki, collector):
    (tmp_path / "p").write_text(POLICY.format(version=1))
    ops, plain = pki.node("db-1", groups=("ops",)), pki.node("db-2")
    lst = gated(pki, collector, tmp_path / "p")
    with bs.running(lst) as port:
        bs.send(pki, ops, port, lines(["cpu", "mem"], lane="event"))
        bs.send(pki, plain, port, lines(["cpu", "mem"], lane="event"))
    out = written(lst)
    assert [r["via"]["peer"] for r in out] == ["db-1", "db-1"]
    assert all(r["via"]["groups"] == ["ops"] for r in out)
    assert lst.gate is not None and lst.gate.counts[DENY] == 2


def test_a_via_written_by_the_sender_does_not_speak_for_it(tmp_path, pki, collector):
    (tmp_path / "p").write_text(POLICY.format(version=1))
    edge = pki.node("db-9")
    forged = b'{"lane":"event","name":"cpu","via":{"peer":"edge-1","groups":["ops"]}}\n'
    lst = gated(pki, collector, tmp_path / "p")
    with bs.running(lst) as port:
        bs.send(pki, edge, port, forged)
    assert lst.out.lines() == [] and lst.gate is not None and lst.gate.counts[DENY] == 1


def test_the_lane_check_stays_on_with_a_policy(tmp_path, pki, collector):
    (tmp_path / "p").write_text("policy open version 1 default allow\n")
    edge = pki.node("edge-1", lanes=("diag",))
    lst = gated(pki, collector, tmp_path / "p")
    with bs.running(lst) as port:
        bs.send(pki, edge, port, lines(["a"]) + lines(["b"], lane="control"))
    assert [r["name"] for r in written(lst)] == ["a"] and lst.counts.rejected == 1


def test_rate_limits_count_and_alerts_are_written(tmp_path, pki, collector):
    (tmp_path / "p").write_text("policy p version 1 default allow\n"
                                "rule loud: alert over 2 within 1h by identity if name cpu\n"
                                "rule few: limit 3 per 1h by identity if name mem\n")
    edge = pki.node("edge-1")
    lst = gated(pki, collector, tmp_path / "p")
    with bs.running(lst) as port:
        bs.send(pki, edge, port, lines(["cpu"] * 4 + ["mem"] * 5))
    out = written(lst)
    alerts = [r for r in out if r.get("name") == "policy.alert"]
    assert len(alerts) == 1 and alerts[0]["attrs"]["by.identity"] == "edge-1" and lst.counts.alerts == 1
    assert [r["name"] for r in out if r["name"] != "policy.alert"] == ["cpu"] * 4 + ["mem"] * 3
    assert lst.gate is not None and lst.gate.counts[LIMITED] == 2 and lst.rejects.count == 0


def test_reload_policy_swaps_and_a_faulty_file_keeps_the_one_in_force(tmp_path, pki, collector):
    policy = tmp_path / "p"
    policy.write_text(POLICY.format(version=1))
    lst = gated(pki, collector, policy)
    policy.write_text("policy bee version 2\nrule a: allow\n")  # no default: does not check
    with pytest.raises(Exception, match="explicit default"):
        lst.reload_policy(policy)
    assert lst.gate is not None and lst.gate.policy.version == 1
    policy.write_text(POLICY.format(version=2).replace("if name secret.*", "if name mem"))
    assert lst.reload_policy(policy) == "bee version 2"
    with bs.running(lst) as port:
        bs.send(pki, pki.node("edge-1"), port, lines(["secret.key", "mem"]))
    assert [r["name"] for r in written(lst)] == ["secret.key"]


def test_without_a_policy_file_reload_policy_is_refused(pki, collector):
    with pytest.raises(Exception, match="without --policy-file"):
        bs.listener(pki, collector).reload_policy(Path("nowhere"))


def test_the_command_judges_counts_and_rereads_the_policy_on_sighup(tmp_path, pki, collector):
    policy, rejects = tmp_path / "p", tmp_path / "rejects"
    policy.write_text(POLICY.format(version=1))
    edge = pki.node("edge-1")
    listener = Listen(tmp_path, pki, collector, "--policy-file", str(policy), "--rejects", str(rejects))
    try:
        read, write = os.pipe()
        send = sender(pki, edge, listener.port, read)
        os.close(read)
        os.write(write, lines(["cpu", "secret.a", "mem"]))
        deadline = time.monotonic() + 20
        while listener.out_path.read_bytes().count(b"\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        policy.write_text(POLICY.format(version=2).replace("if name secret.*", "if name disk"))
        listener.proc.send_signal(signal.SIGHUP)
        while b"reloaded the policy" not in listener.err_path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.write(write, b'{"lane":"diag","name":"disk","value":4}\n{"lane":"diag","name":"secret.b","value":5}\n')
        os.close(write)
        _, err = send.communicate(timeout=30)
        assert send.returncode == 0, err
    finally:
        status = listener.stop()
    assert status == 0
    assert output_values(listener.out_path) == [1, 3, 5]
    log = listener.err_path.read_text()
    assert "reloaded the policy" in log and "(bee version 2)" in log
    assert "denied 2" in log
    kept = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["file"], r["line"], r["rule"]) for r in kept] == [("edge-1", 2, "no-secrets"), ("edge-1", 4, "no-secrets")]


def test_a_policy_that_does_not_check_stops_the_listener_before_it_listens(tmp_path, pki, collector):
    (tmp_path / "bad").write_text("policy p version 1\nrule a: allow\n")
    done = subprocess.run([BEN, "bee", "listen", "127.0.0.1:0", "--cert", str(collector.cert), "--key",
                           str(collector.key), "--bundle", str(pki.bundle), "--policy-file", str(tmp_path / "bad")],
                          capture_output=True, timeout=30)
    assert done.returncode == 2 and b"bad:2:1: a policy needs an explicit default" in done.stderr
    assert b"listening" not in done.stderr


def test_rejects_from_the_gate_are_the_listeners(pki, collector, tmp_path):
    (tmp_path / "p").write_text(POLICY.format(version=1))
    with Rejects(tmp_path / "r", stage="bee listen") as bad:
        gate = Gate(load(tmp_path / "p")[0], bad)
        assert not gate.admit({"lane": "diag", "name": "secret.x", "via": {"peer": "edge-1"}}, b"x", "edge-1", 7)
    assert "denied by rule no-secrets" in (tmp_path / "r").read_text()


@pytest.mark.parametrize("seed", range(2))
def test_the_listener_decides_as_the_evaluator_does_over_random_traffic(tmp_path, pki, collector, seed):
    import random

    from ben_cli.policy.evaluate import ALLOW, Evaluator

    rng = random.Random(seed)
    (tmp_path / "p").write_text(POLICY.format(version=1) + "rule many: limit 5 per 1h by identity if name mem\n")
    peers = {"edge-1": pki.node("edge-1"), "db-1": pki.node("db-1", groups=("ops",)), "db-2": pki.node("db-2")}
    sent = {name: [{"lane": rng.choice(["diag", "event"]), "name": rng.choice(["cpu", "mem", "secret.x", "disk"]),
                    "value": i} for i in range(1, 201)] for name in peers}
    lst = gated(pki, collector, tmp_path / "p")
    with bs.running(lst) as port:
        for name, node in peers.items():
            bs.send(pki, node, port, b"".join(json.dumps(r).encode() + b"\n" for r in sent[name]))
    reference = Evaluator(load(tmp_path / "p")[0])
    expected = []
    for name, node in peers.items():
        via = {"peer": name, "groups": list(node.certificate.groups)}
        expected += [(name, r["value"]) for r in sent[name] if reference.decide({**r, "via": via})[1] == ALLOW]
    assert [(r["via"]["peer"], r["value"]) for r in written(lst)] == expected
    assert lst.gate is not None and lst.counts.records + lst.gate.counts[DENY] + lst.gate.counts[LIMITED] == 600
