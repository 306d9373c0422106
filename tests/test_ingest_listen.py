"""``ben ingest --listen``: many clients at once, whole lines, bounded memory under a slow
consumer, limits, UDP, Unix sockets, and a clean SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from .conftest import run_ben
from .listening import ListeningBen

CLIENTS = 50
LINES = 20_000


def _send_lines(addr: tuple[str, int], client: int, n: int, errors: list) -> None:
    try:
        with socket.create_connection(addr, timeout=60) as s:
            batch = []
            for i in range(n):
                batch.append(b'{"ts":"2026-11-25T10:00:00Z","c":%d,"i":%d,"msg":"hello from %d"}\n' % (client, i, client))
                if len(batch) == 997:  # odd-sized writes, so lines straddle packets
                    s.sendall(b"".join(batch))
                    batch = []
            s.sendall(b"".join(batch))
    except Exception as exc:  # reported by the test, not lost in a thread
        errors.append(exc)


def _wait_for_lines(path: Path, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as fh:
            if sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) >= n:
                return
        time.sleep(0.25)


def test_fifty_tcp_clients_twenty_thousand_lines_each(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "--format", "ndjson")
    errors: list = []
    threads = [threading.Thread(target=_send_lines, args=(ben.host_port, c, LINES, errors)) for c in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        _wait_for_lines(ben.out_path, CLIENTS * LINES, timeout=120)
        peak = ben.peak_rss_kib()
    finally:
        out, err, code = ben.stop()
    assert not errors, errors
    assert code == 0, err
    assert len(out) == CLIENTS * LINES
    seen = Counter((r["attrs"]["c"], r["attrs"]["i"]) for r in out)
    assert len(seen) == CLIENTS * LINES and max(seen.values()) == 1  # all whole, none twice
    per_client: dict[int, list[int]] = {}
    for r in out:
        per_client.setdefault(r["attrs"]["c"], []).append(r["attrs"]["i"])
        assert r["body"] == f"hello from {r['attrs']['c']}"
    assert all(v == list(range(LINES)) for v in per_client.values())  # each client's order kept
    assert all(r["_ingest"]["line"] == r["attrs"]["i"] + 1 for r in out)
    assert peak < 200 * 1024, f"peak RSS {peak} KiB"
    assert f"read {CLIENTS * LINES}, wrote {CLIENTS * LINES}, rejected 0" in err


def test_a_slow_consumer_pushes_back_on_tcp_clients_with_bounded_memory(tmp_path):
    """stdout is a pipe nobody reads for a while: ben blocks writing, stops reading, and the
    sender blocks too; memory stays flat; then everything arrives."""
    ben_bin = Path(sys.executable).with_name("ben")
    proc = subprocess.Popen([str(ben_bin), "ingest", "--listen", "tcp://127.0.0.1:0", "-f", "lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    line = proc.stderr.readline().decode()
    host, port = line.rsplit(" ", 1)[1].strip().split("://")[1].rsplit(":", 1)
    sent = 0
    total = 60 << 20
    payload = b"x" * 199 + b"\n"
    done = threading.Event()

    def sender():
        nonlocal sent
        with socket.create_connection((host, int(port))) as s:
            block = payload * 5000
            while sent < total:
                s.sendall(block)
                sent += len(block)
        done.set()

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    time.sleep(3.0)
    stalled_at = sent
    hwm = _vm_hwm(proc.pid)
    assert not done.is_set() and stalled_at < total // 2, "the sender was never held back"
    assert hwm < 150 * 1024, f"peak RSS {hwm} KiB while stalled"
    count = 0
    reader_done = threading.Event()

    def reader():
        nonlocal count
        for chunk in iter(lambda: os.read(proc.stdout.fileno(), 1 << 16), b""):
            count += chunk.count(b"\n")
        reader_done.set()

    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(120)
    deadline = time.monotonic() + 120
    while count < sent // len(payload) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    reader_done.wait(30)
    assert count == sent // len(payload)


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_long_lines_are_rejected_and_the_stream_goes_on(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines", "--max-line-bytes", "100",
                       "--rejects", str(tmp_path / "rejects.ndjson"))
    with socket.create_connection(ben.host_port) as s:
        s.sendall(b"short one\n" + b"y" * 5000 + b"\nshort two\n")
    time.sleep(0.3)
    out, err, code = ben.stop()
    assert code == 0
    assert [r["body"] for r in out] == ["short one", "short two"]
    assert [r["_ingest"]["line"] for r in out] == [1, 3]
    rejected = orjson.loads((tmp_path / "rejects.ndjson").read_bytes())
    assert rejected["line"] == 2 and "100-byte limit" in rejected["reason"]


def test_a_long_line_dropped_as_it_arrives_takes_one_line_number(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines", "--max-line-bytes", "100",
                       "--rejects", str(tmp_path / "rejects.ndjson"))
    with socket.create_connection(ben.host_port) as s:
        s.sendall(b"short one\n" + b"y" * 5000)
        time.sleep(0.3)  # the listener meets the limit before the line's newline arrives
        s.sendall(b"y" * 100 + b"\nshort two\n")
    time.sleep(0.3)
    out, err, code = ben.stop()
    assert code == 0
    assert [(r["body"], r["_ingest"]["line"]) for r in out] == [("short one", 1), ("short two", 3)]
    rejected = orjson.loads((tmp_path / "rejects.ndjson").read_bytes())
    assert rejected["line"] == 2 and rejected["reason"] == "line is over the 100-byte limit"
    assert "read 3, wrote 2, rejected 1" in err


def test_client_limit_holds_later_clients_until_a_slot_frees(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines", "--max-clients", "2")
    a = socket.create_connection(ben.host_port)
    b = socket.create_connection(ben.host_port)
    time.sleep(0.3)
    c = socket.create_connection(ben.host_port)  # waits in the backlog
    c.sendall(b"from c\n")
    a.sendall(b"from a\n")
    time.sleep(0.5)
    assert b"from c" not in ben.out_path.read_bytes()
    a.close()
    time.sleep(0.5)
    assert b"from c" in ben.out_path.read_bytes()
    b.close()
    c.close()
    out, _, code = ben.stop()
    assert code == 0 and sorted(r["body"] for r in out) == ["from a", "from c"]


def test_sigterm_flushes_lines_already_sent_including_an_unfinished_last_one(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines")
    s = socket.create_connection(ben.host_port)
    s.sendall(b"".join(b"line %d\n" % i for i in range(5000)) + b"no newline yet")
    time.sleep(0.3)
    out, err, code = ben.stop()
    s.close()
    assert code == 0, err
    assert [r["body"] for r in out] == [f"line {i}" for i in range(5000)] + ["no newline yet"]


def test_unix_socket_and_auto_format_per_client(tmp_path):
    path = tmp_path / "ben.sock"
    ben = ListeningBen(tmp_path, f"unix:{path}")
    for payload in (b'{"msg":"json"}\n', b"level=info msg=logfmt\n", b"<13>1 - h app - - - syslog\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(path))
            s.sendall(payload)
        time.sleep(0.1)
    out, err, code = ben.stop()
    assert code == 0
    assert [(r["_ingest"]["format"], r["body"]) for r in out] == [("ndjson", "json"), ("logfmt", "logfmt"),
                                                                   ("syslog", "syslog")]
    assert err.count("format ") == 3 and not path.exists()  # told what it picked; socket removed


def test_udp_syslog_datagrams(tmp_path):
    ben = ListeningBen(tmp_path, "udp://127.0.0.1:0", "-f", "syslog")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(100):
            s.sendto(b"<14>1 2026-11-25T10:00:00Z h app - - - datagram %d" % i, ben.host_port)
    time.sleep(0.3)
    out, err, code = ben.stop()
    assert code == 0
    assert sorted(r["body"] for r in out) == sorted(f"datagram {i}" for i in range(100))


def test_only_loopback_unless_allowed():
    proc = run_ben("ingest", "--listen", "tcp://0.0.0.0:0")
    assert proc.returncode == 2 and b"not a loopback address" in proc.stderr
    assert run_ben("ingest", "--listen", "http://x:1").returncode == 2


@pytest.mark.parametrize("flag", ["--idle-timeout", "--line-timeout"])
def test_a_timeout_of_zero_is_a_usage_error(flag):
    proc = run_ben("ingest", "--listen", "tcp://127.0.0.1:0", flag, "0")
    assert proc.returncode == 2 and f"{flag} must be longer than 0s".encode() in proc.stderr


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "unix:", "udp://:5"])
def test_bad_addresses_are_usage_errors(address):
    assert run_ben("ingest", "--listen", address).returncode == 2


def test_a_socket_another_server_listens_on_is_busy(tmp_path):
    path = tmp_path / "ben.sock"
    first = ListeningBen(tmp_path, f"unix:{path}", "-f", "lines")
    try:
        second = run_ben("ingest", "--listen", f"unix:{path}")
        assert second.returncode == 1
        assert second.stderr.decode() == f"ben ingest: {path}: another server is listening there\n"
    finally:
        _, _, code = first.stop()
    assert code == 0


# -- no client can hold the service (issue 13, item 13) ------------------------------------------


def _arrives(path: Path, needle: bytes, within: float = 10.0) -> bool:
    """Whether ``needle`` shows in the output file within ``within`` seconds (a bound, not a speed)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if needle in path.read_bytes():
            return True
        time.sleep(0.05)
    return False


def test_five_hundred_idle_connections_from_one_address_leave_room_for_a_good_client(tmp_path):
    """They held every slot and filled the backlog: the good client could not even connect."""
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines")
    idle = []
    try:
        for _ in range(500):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))  # another loopback address: another client machine
            s.setblocking(False)
            s.connect_ex(ben.host_port)
            idle.append(s)
        time.sleep(0.5)
        with socket.create_connection(ben.host_port, timeout=5) as good:
            good.sendall(b"good line\n")
            assert _arrives(ben.out_path, b"good line")
    finally:
        out, err, code = ben.stop()
        for s in idle:
            s.close()
    assert code == 0, err
    assert [r["body"] for r in out] == ["good line"]
    assert "refused " in err  # those past the 64 from 127.0.0.2 were closed at once


def test_idle_connections_are_closed_after_the_idle_timeout(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines", "--max-clients", "4", "--idle-timeout", "500ms")
    idle = [socket.create_connection(ben.host_port) for _ in range(4)]
    try:
        time.sleep(0.2)
        with socket.create_connection(ben.host_port, timeout=5) as good:  # waits in the backlog
            good.sendall(b"good line\n")
            assert _arrives(ben.out_path, b"good line")
        for s in idle:
            s.settimeout(10)
            assert s.recv(10) == b""  # closed by ben
    finally:
        out, err, code = ben.stop()
        for s in idle:
            s.close()
    assert code == 0, err
    assert "timed out 4" in err and "rejected 0" in err  # idle, with nothing half-sent: nothing to reject


def test_four_clients_at_one_byte_a_second_cannot_starve_a_good_one(tmp_path):
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines", "--max-clients", "4", "--line-timeout", "1s",
                       "--rejects", str(rejects))
    slow = [socket.create_connection(ben.host_port) for _ in range(4)]
    stop = threading.Event()

    def drip() -> None:
        while not stop.is_set():
            for s in slow:
                try:
                    s.send(b"x")
                except OSError:
                    pass
            stop.wait(1.0)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(0.2)
        with socket.create_connection(ben.host_port, timeout=5) as good:
            good.sendall(b"good line\n")
            assert _arrives(ben.out_path, b"good line")
    finally:
        stop.set()
        dripper.join()
        out, err, code = ben.stop()
        for s in slow:
            s.close()
    assert code == 0, err
    assert [r["body"] for r in out] == ["good line"]
    bad = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert len(bad) == 4 and "timed out 4" in err
    assert all(r["reason"] == "line unfinished after 1s (--line-timeout): connection closed" for r in bad)
    assert all(set(r["raw"]) == {"x"} for r in bad)  # what the slow client had sent is kept


def test_a_client_streaming_at_full_speed_does_not_starve_another(tmp_path):
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines")
    stop = threading.Event()

    def flood() -> None:
        with socket.create_connection(ben.host_port) as s:
            block = (b"f" * 99 + b"\n") * 1000
            while not stop.is_set():
                try:
                    s.sendall(block)
                except OSError:  # reset when ben stops
                    return

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    try:
        time.sleep(0.5)
        with socket.create_connection(ben.host_port, timeout=5) as good:
            good.sendall(b"".join(b"good %d\n" % i for i in range(100)))
            assert _arrives(ben.out_path, b"good 99")
        assert flooder.is_alive()  # the flood never paused for it
    finally:
        stop.set()
        out, err, code = ben.stop()
        flooder.join(10)
    assert code == 0, err
    assert [r["body"] for r in out if r["body"].startswith("good")] == [f"good {i}" for i in range(100)]


def test_sigterm_while_a_client_streams_at_full_speed_drains_within_bounds(tmp_path):
    """SIGTERM was ignored for as long as the client kept sending; now ben takes what had come,
    rejects the line the client was in the middle of, and exits."""
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, "tcp://127.0.0.1:0", "-f", "lines", "--rejects", str(rejects))
    payload = b"y" * 99 + b"\n"
    stop = threading.Event()

    def flood() -> None:
        with socket.create_connection(ben.host_port) as s:
            s.sendall(b"y" * 50)
            block = b"y" * 49 + b"\n" + payload * 999 + b"y" * 50  # every block leaves a line half-sent
            while not stop.is_set():
                try:
                    s.sendall(block)
                except OSError:
                    return

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    quiet = socket.create_connection(ben.host_port)
    quiet.sendall(b"whole\nno newline yet")
    try:
        assert _arrives(ben.out_path, b"whole")
        time.sleep(0.5)
        ben.proc.send_signal(signal.SIGTERM)
        code = ben.proc.wait(timeout=10)  # the bound: it was 20 s and more
    finally:
        stop.set()
        quiet.close()
        out, err, _ = ben.stop()
    assert code == 0, err
    bodies = [r["body"] for r in out]
    assert bodies.count("whole") == 1 and bodies.count("no newline yet") == 1  # a quiet client's last line counts
    assert all(b in ("whole", "no newline yet", "y" * 99) for b in bodies)  # no cut line became a record
    cut = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [r["reason"] for r in cut] == ["line cut off: the client was still sending when ben stopped"]
    assert "cut 1" in err


def test_a_second_sigterm_ends_ben_while_its_consumer_is_not_reading(tmp_path):
    ben_bin = Path(sys.executable).with_name("ben")
    proc = subprocess.Popen([str(ben_bin), "ingest", "--listen", "tcp://127.0.0.1:0", "-f", "lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    host, port = proc.stderr.readline().decode().rsplit(" ", 1)[1].strip().split("://")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port))) as s:
        s.settimeout(2)
        try:
            while True:  # until ben, blocked on its full stdout, stops reading
                s.sendall(b"z" * 199 + b"\n" * 1)
        except (TimeoutError, OSError):
            pass
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None  # the first waits for the consumer (backpressure)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 130
    proc.stdout.close()
    proc.stderr.close()


def test_the_per_address_cap_counts_a_unix_socket_peer_by_user(tmp_path):
    path = tmp_path / "ben.sock"
    ben = ListeningBen(tmp_path, f"unix:{path}", "-f", "lines", "--max-per-address", "2")
    held = []
    try:
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(path))
            held.append(s)
        held[2].settimeout(10)
        assert held[2].recv(10) == b""  # the third from this user is closed at once
        held[0].sendall(b"first\n")
        assert _arrives(ben.out_path, b"first")
    finally:
        for s in held:
            s.close()
        out, err, code = ben.stop()
    assert code == 0 and "refused 1" in err
