"""ben bee: records/s and MB/s through `ben bee send | ben bee listen` on loopback, beside a plain
TCP listener (`ben ingest --listen tcp://`) fed the same file; and full XX handshakes with
certificate checks per second."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from generate import write_ndjson
from harness import ROOT, Harness, human_rate, table

sys.path.insert(0, str(ROOT))
from tests import bee_support as bs  # noqa: E402  (the same small PKI the tests use)

N = 200_000
HANDSHAKES = 300


def _start(h: Harness, args: list[str], out: Path) -> tuple[subprocess.Popen, str]:
    err = out.with_suffix(".err")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([h.ben, *args], stdout=fo, stderr=fe, env=h.env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"listening on (?:tcp://)?(\S+)", err.read_text())
        if found:
            return proc, found[1]
        time.sleep(0.01)
    raise RuntimeError(f"listener did not start: {err.read_text()}")


def _wait_lines(out: Path, n: int, deadline: float = 120) -> None:
    count, done, end = 0, 0, time.monotonic() + deadline
    while count < n:
        if time.monotonic() > end:
            raise RuntimeError(f"only {count} of {n} lines arrived")
        with open(out, "rb") as fh:
            fh.seek(done)
            chunk = fh.read()
        count += chunk.count(b"\n")
        done += len(chunk)
        if count < n:
            time.sleep(0.005)


def _cpu(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def _plain_tcp(h: Harness, data: Path) -> tuple[float, float]:
    out = h.path("bee-ref.out")
    proc, where = _start(h, ["ingest", "--listen", "tcp://127.0.0.1:0"], out)
    host, port = where.rsplit(":", 1)
    try:
        start, cpu = time.perf_counter(), _cpu(proc.pid)
        with socket.create_connection((host, int(port))) as sock, open(data, "rb") as fh:
            sock.sendfile(fh)
        _wait_lines(out, N)
        return time.perf_counter() - start, _cpu(proc.pid) - cpu
    finally:
        _stop(proc)


def _bee(h: Harness, data: Path, pki: bs.Pki, server: bs.Node, client: bs.Node,
         *extra: str) -> tuple[float, float]:
    out = h.path("bee.out")
    proc, where = _start(h, ["bee", "listen", "127.0.0.1:0", "--cert", str(server.cert), "--key", str(server.key),
                             "--bundle", str(pki.bundle), "--policy", "none", *extra], out)
    try:
        start, cpu, sender_cpu = time.perf_counter(), _cpu(proc.pid), _children_cpu()
        with open(data, "rb") as fin:
            subprocess.run([h.ben, "bee", "send", where, "--cert", str(client.cert), "--key", str(client.key),
                            "--bundle", str(pki.bundle), "-q"], stdin=fin, check=True, env=h.env)
        if not extra:
            _wait_lines(out, N)  # already there: the sender exits only once every record is acknowledged
        return time.perf_counter() - start, _cpu(proc.pid) - cpu + _children_cpu() - sender_cpu
    finally:
        _stop(proc)


def _handshakes(pki: bs.Pki, server: bs.Node, client: bs.Node) -> tuple[float, float]:
    """(seconds per in-memory handshake, both sides with certificate checks; seconds per
    connection over loopback to a listener: connect, handshake, HELLO and its ACK)."""
    from ben_cli.bee import frames
    from ben_cli.bee.framing import Wire
    from ben_cli.bee.handshake import PROLOGUE, initiate
    from ben_cli.bee.noise import Handshake

    sc, cc = bs.creds(pki, server), bs.creds(pki, client)
    scert, ccert = server.cert.read_bytes(), client.cert.read_bytes()
    start = time.perf_counter()
    for _ in range(HANDSHAKES):
        ini = Handshake(True, cc.static_secret, PROLOGUE, static_public=cc.static_public)
        res = Handshake(False, sc.static_secret, PROLOGUE, static_public=sc.static_public)
        res.read_message(ini.write_message(b""))
        cc.check_peer(ini.read_message(res.write_message(scert)), ini.remote_static, "server")
        sc.check_peer(res.read_message(ini.write_message(ccert)), res.remote_static, "client")
    in_memory = (time.perf_counter() - start) / HANDSHAKES
    lst = bs.listener(pki, server)
    with bs.running(lst) as port:
        start = time.perf_counter()
        for _ in range(HANDSHAKES // 3):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as ben bee send does
                wire = Wire(sock)
                _, hs = initiate(wire, cc)
                wire.send(hs.send.encrypt(frames.hello(os.urandom(16))))
                assert frames.parse(hs.receive.decrypt(wire.recv())).kind == frames.ACK
        over_tcp = (time.perf_counter() - start) / (HANDSHAKES // 3)
    return in_memory, over_tcp


def run(h: Harness) -> str:
    data = write_ndjson(h.path("bee-200k.ndjson"), N)
    size = data.stat().st_size
    pki = bs.Pki(h.path("bee-pki"))
    server, client = pki.node("collector", ("server",)), pki.node("edge")
    refs = [_plain_tcp(h, data) for _ in range(h.repeat)]
    bees = [_bee(h, data, pki, server, client) for _ in range(h.repeat)]
    ref, ref_cpu = min(t for t, _ in refs), min(c for _, c in refs)
    bee, bee_cpu = min(t for t, _ in bees), min(c for _, c in bees)
    in_memory, over_tcp = _handshakes(pki, server, client)
    judged = _judged(h, data, pki, server)
    rows = [
        ["`ben ingest --listen tcp://` (plain TCP, reference)", human_rate(N / ref), f"{size / ref / 1e6:.0f}", "1.00x",
         f"{size / ref_cpu / 1e6:.0f}"],
        ["`ben bee send | ben bee listen` (Noise XX, ChaChaPoly)", human_rate(N / bee), f"{size / bee / 1e6:.0f}",
         f"{ref / bee:.2f}x", f"{size / bee_cpu / 1e6:.0f}"],
    ]
    return "\n".join([
        "## ben bee", "",
        f"{N:,} generated application-log records ({size / N:.0f} bytes each, {size / 1e6:.0f} MB), carried over "
        "loopback from the start of sending until every record is in the listener's output (the bee sender's "
        "start-up and its wait for the last ACK included). Best of "
        f"{h.repeat}.", "",
        table(["path", "records/s", "MB/s of NDJSON", "vs plain TCP", "MB per CPU-second"], rows), "",
        "MB per CPU-second counts every process of the path (bee: the sender, its start-up included, and the "
        "listener; plain TCP: the listener, the client being one `sendfile`): on a shared machine it says more "
        "about the work than the wall clock.", "",
        f"Handshakes: a full `Noise_XX_25519_ChaChaPoly_BLAKE2b` handshake with both certificate checks (bundle "
        f"signature, validity, usage, `noise_pub` equal to the proved key) takes **{in_memory * 1e3:.2f} ms** "
        f"in one process, both sides together ({1 / in_memory:,.0f} handshakes/s); a connection to a running "
        f"listener over loopback (connect, handshake, HELLO, ACK) takes {over_tcp * 1e3:.2f} ms "
        f"({1 / over_tcp:,.0f}/s, one at a time).", "",
        judged,
        _two_hosts(h, data, pki, server, client),
    ])


def _judged(h: Harness, data: Path, pki: bs.Pki, server: bs.Node) -> str:
    """The listener with and without ``--policy-file`` (bench_policy.py's 50 rules) on the same
    envelopes, from a sender whose certificate carries the ``ops`` group the last rule allows."""
    from bench_policy import fifty_rules

    envelopes = h.path("bee-200k.envelopes.ndjson")
    if not envelopes.exists():
        h.time_once(f"{h.ben} ingest -q -j1 {h.q(data)}", stdout=envelopes)
    policy = h.path("bee-50.policy")
    policy.write_text(fifty_rules())
    client = pki.node("edge-ops", groups=("ops",))
    plain = min(_bee(h, envelopes, pki, server, client)[0] for _ in range(h.repeat))
    judged = min(_bee(h, envelopes, pki, server, client, "--policy-file", str(policy))[0] for _ in range(h.repeat))
    rows = [["`ben bee listen` (no policy file)", human_rate(N / plain), "1.00x"],
            ["`ben bee listen --policy-file` (50 rules)", human_rate(N / judged), f"{plain / judged:.2f}x"]]
    return "\n".join([
        f"With a policy file: the same {N:,} records as envelopes (`ben ingest`), every one judged by "
        "bench_policy.py's 50-rule policy with the sender's certificate name and groups. Best of "
        f"{h.repeat}.", "",
        table(["listener", "records/s", "vs no policy file"], rows), "",
    ])


ACKED = 50_000  # records of the two-host comparison (each run goes through ben sink as well)


def _acked_run(h: Harness, envelopes: Path, pki: bs.Pki, server: bs.Node, client: bs.Node, new: bool,
               run: int) -> tuple[float, float]:
    """(seconds, CPU seconds of sender, listener and sink) for ``send --spool | listen | sink --ack``
    until the sink's file holds every record; ``new``: with ``send --ack`` and ``listen --ack-from``."""
    import shutil

    folder = h.path(f"bee-acked-{run}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    out = folder / "out.ndjson"
    with open(folder / "listen.err", "wb") as fe:
        listener = subprocess.Popen([h.ben, "bee", "listen", "127.0.0.1:0", "--cert", str(server.cert), "--key",
                                     str(server.key), "--bundle", str(pki.bundle), "--policy", "none",
                                     *(["--ack-from", str(folder / "L")] if new else [])],
                                    stdout=subprocess.PIPE, stderr=fe, env=h.env)
        sink = subprocess.Popen([h.ben, "sink", "-q", "--ack", str(folder / "L"), "--batch-age", "200ms",
                                 "--to", f"file:{out}"], stdin=listener.stdout, stderr=fe, env=h.env)
    assert listener.stdout is not None
    listener.stdout.close()
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"listening on (\S+)", (folder / "listen.err").read_text())):
            if time.monotonic() > deadline:
                raise RuntimeError("listener did not start")
            time.sleep(0.01)
        start, before, cpu = time.perf_counter(), _children_cpu(), _cpu(listener.pid) + _cpu(sink.pid)
        with open(envelopes, "rb") as fin:
            subprocess.run([h.ben, "bee", "send", found[1], "--cert", str(client.cert), "--key", str(client.key),
                            "--bundle", str(pki.bundle), "-q", "--spool", str(folder / "spool"),
                            *(["--ack", str(folder / "S")] if new else [])], stdin=fin, check=True, env=h.env)
        _wait_lines(out, ACKED)
        return time.perf_counter() - start, _children_cpu() - before + _cpu(listener.pid) + _cpu(sink.pid) - cpu
    finally:
        _stop(listener)
        sink.wait(timeout=60)


def _two_hosts(h: Harness, data: Path, pki: bs.Pki, server: bs.Node, client: bs.Node) -> str:
    """The cost of exactly once across two hosts: the same stamped envelopes with and without
    ``send --ack`` and ``listen --ack-from`` (both with a spool and ``ben sink --ack``), alternated."""
    envelopes = h.path("bee-50k.stamped.ndjson")
    if not envelopes.exists():
        head = h.path("bee-50k.ndjson")
        with open(data, "rb") as fin, open(head, "wb") as fout:
            fout.writelines(line for _, line in zip(range(ACKED), fin, strict=False))
        h.time_once(f"{h.ben} ingest -q --since-last --ack --state {h.q(h.path('bee-50k.S'))} {h.q(head)}",
                    stdout=envelopes)
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for i in range(h.repeat):
        for new in (False, True):
            runs[new].append(_acked_run(h, envelopes, pki, server, client, new, i))
    from statistics import median  # a loaded machine's outliers go both ways: the middle run of each

    old_t, new_t = (median(t for t, _ in runs[k]) for k in (False, True))
    old_cpu, new_cpu = (median(c for _, c in runs[k]) for k in (False, True))
    rows = [["`send --spool \\| listen \\| sink --ack` (ACK when written)", human_rate(ACKED / old_t), "1.00x",
             f"{old_cpu:.2f}", "1.00x"],
            ["`send --spool --ack S \\| listen --ack-from L \\| sink --ack L` (ACK when committed)",
             human_rate(ACKED / new_t), f"{old_t / new_t:.2f}x", f"{new_cpu:.2f}", f"{old_cpu / new_cpu:.2f}x"]]
    return "\n".join([
        f"Exactly once across two hosts: {ACKED:,} records stamped by `ben ingest --since-last --ack`, from the "
        "start of sending until the collector's `ben sink --to file:` holds every one (`--batch-age 200ms`), "
        f"with and without the two-host acknowledgements, alternated; the median of {h.repeat}.", "",
        table(["path", "records/s", "vs without", "CPU s (all three)", "CPU vs without"], rows), "",
    ])
