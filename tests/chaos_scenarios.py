"""Chaos scenarios shared by the tests (one seeded run each, in ``make test``) and by
``make reliability`` (tests/support/reliability.py: many randomised runs, written to RELIABILITY.md).

Each scenario is a function ``(folder, rng) -> str``: it builds what it needs under ``folder``,
breaks something chosen by ``rng``, checks the outcome with plain asserts, and returns a short
note of what this run did. What every scenario checks is in :data:`CHECKED`.
"""

from __future__ import annotations

import atexit
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

BEN = str(Path(sys.executable).with_name("ben"))
PASSPHRASE = "correct horse battery"


def ben(*args: str, input: bytes | None = None, home: Path, timeout: float = 120,
        preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BEN_LOAD_PLUGINS": "", "BEN_HOME": str(home), "BEN_PASSPHRASE": PASSPHRASE}
    return subprocess.run([BEN, *args], input=input, capture_output=True, env=env, timeout=timeout,
                          preexec_fn=preexec)


# --- corrupted state files ------------------------------------------------------------------------

MUST_REFUSE = ("empty", "truncated", "garbage", "not-an-object")


def corrupt(blob: bytes, rng: random.Random, json_file: bool = True) -> tuple[str, bytes]:
    """One way of breaking a state file: (what was done, the new bytes). The kinds in
    :data:`MUST_REFUSE` can never be a valid state; ``mutated`` (a JSON value replaced by one of
    another type or sign) may be, and is then allowed to run."""
    kinds = [*MUST_REFUSE, "mutated"] if json_file else ["empty", "truncated", "garbage"]
    kind = rng.choice(kinds)
    body = blob.rstrip()
    if kind == "empty":
        return kind, b""
    if kind == "truncated":
        return kind, body[:rng.randrange(1, len(body))]
    if kind == "garbage":
        return kind, bytes([rng.choice(b"\x00\xff<#%")]) + rng.randbytes(rng.randrange(0, 64))
    if kind == "not-an-object":
        return kind, rng.choice([b"[]\n", b"null\n", b"42\n", b'"state"\n', b"[{}]\n"])
    data = orjson.loads(blob)
    paths = list(_leaves(data, ()))
    path = rng.choice(paths) if paths else ()
    replacement = rng.choice([None, -1, 2**62, "x", [], {}, 1.5, True])
    return f"mutated {'/'.join(map(str, path)) or 'root'}", orjson.dumps(_replace(data, path, replacement)) + b"\n"


def _leaves(value: object, path: tuple) -> list[tuple]:
    out: list[tuple] = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _leaves(v, (*path, i))
    return out


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    if isinstance(value, dict):
        return {k: _replace(v, path[1:], new) if k == path[0] else v for k, v in value.items()}
    assert isinstance(value, list)
    return [_replace(v, path[1:], new) if i == path[0] else v for i, v in enumerate(value)]


def check_refusal(proc: subprocess.CompletedProcess, state: Path, before: bytes, kind: str,
                  later_failure: str | None = None) -> None:
    """A refusal is exit status 1, one message naming the file, no traceback, the file untouched
    (never silently reset); a mutation that still makes a valid state may run (status 0), or, where
    the scenario makes the run fail after its state is read (``later_failure``, e.g. the sink's
    server is down), fail with that message."""
    err = proc.stderr.decode(errors="replace")
    assert "Traceback" not in err, f"{state} ({kind}): a traceback\n{err}"
    accepted_then_failed = later_failure is not None and proc.returncode == 1 and later_failure in err
    if kind in MUST_REFUSE or (proc.returncode != 0 and not accepted_then_failed):
        assert proc.returncode == 1, f"{state} ({kind}): exit {proc.returncode}, not 1\n{err}"
        assert str(state) in err or state.name in err, f"{state} ({kind}): the error does not name the file\n{err}"
        assert state.read_bytes() == before, f"{state} ({kind}): the refused file was changed"


def _stamped(lo: int, hi: int) -> bytes:
    return b"".join(orjson.dumps({"ts": f"2026-11-25T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                                  "name": "cpu", "value": float(i % 7),
                                  "_ingest": {"format": "ndjson", "in": "fe.1.ab", "line": i + 1, "at": 10 * (i + 1)}})
                    + b"\n" for i in range(lo, hi))


def _cli_state(folder: Path, rng: random.Random, args: list[str], state: Path, first: bytes, again: bytes,
               json_file: bool = True, pick: Callable[[Path], Path] | None = None) -> str:
    home = folder / "home"
    made = ben(*args, input=first, home=home)
    assert made.returncode == 0, made.stderr.decode()
    target = pick(state) if pick else state
    assert target.is_file(), f"{target} was not written"
    kind, blob = corrupt(target.read_bytes(), rng, json_file)
    target.write_bytes(blob)
    proc = ben(*args, input=again, home=home)
    check_refusal(proc, target, blob, kind)
    return f"{target.name}: {kind} -> exit {proc.returncode}"


def corrupt_ingest_offsets(folder: Path, rng: random.Random) -> str:
    log = folder / "app.log"
    log.write_bytes(b"".join(b'{"msg":"L%d"}\n' % i for i in range(rng.randrange(1, 50))))
    state = folder / "S"
    return _cli_state(folder, rng, ["ingest", "-q", "--since-last", "--state", str(state), str(log)], state, b"", b"")


def corrupt_sink_acks(folder: Path, rng: random.Random) -> str:
    state = folder / "S"
    args = ["sink", "-q", "--ack", str(state), "--to", f"file:{folder / 'out.ndjson'}"]
    return _cli_state(folder, rng, args, Path(f"{state}.ack"), _stamped(0, 20), _stamped(10, 40))


def corrupt_ingest_acks(folder: Path, rng: random.Random) -> str:
    """The acknowledgements as the tied ingest reads them (the other end of the same file)."""
    log = folder / "app.log"
    log.write_bytes(b"".join(b'{"msg":"L%d"}\n' % i for i in range(30)))
    state = folder / "S"
    home = folder / "home"
    ingest = ["ingest", "-q", "--since-last", "--ack", "--state", str(state), str(log)]
    first = ben(*ingest, home=home)
    sunk = ben("sink", "-q", "--ack", str(state), "--to", f"file:{folder / 'out.ndjson'}", input=first.stdout, home=home)
    assert sunk.returncode == 0, sunk.stderr.decode()
    ack = Path(f"{state}.ack")
    kind, blob = corrupt(ack.read_bytes(), rng)
    ack.write_bytes(blob)
    proc = ben(*ingest, home=home)
    check_refusal(proc, ack, blob, kind)
    return f"{ack.name} read by ingest: {kind} -> exit {proc.returncode}"


def corrupt_detect_state(folder: Path, rng: random.Random) -> str:
    points = b"".join(b'{"ts":"2026-11-25T10:%02d:%02dZ","name":"cpu","value":%d}\n' % (i // 60, i % 60, i % 5)
                      for i in range(rng.randrange(5, 200)))
    state = folder / "D"
    return _cli_state(folder, rng, ["detect", "-q", "--state", str(state)], state, points, points)


def corrupt_narrate_state(folder: Path, rng: random.Random) -> str:
    state = folder / "N"
    return _cli_state(folder, rng, ["narrate", "-q", "--every", "5m", "--state", str(state)], state,
                      _stamped(0, 400), _stamped(400, 800), json_file=False)


def _down_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def corrupt_sink_spool(folder: Path, rng: random.Random) -> str:
    """A batch left in the spool (as a run killed before the server confirmed it leaves it), its
    list of rejected rows, or the spool's offsets file; the rerun reads them before it connects,
    so the server here is a closed port."""
    from ben_cli.sink.spool import Spool

    home = folder / "home"
    log = folder / "app.log"
    log.write_bytes(b"".join(b'{"ts":"2026-11-25T10:00:00Z","name":"n","body":"L%d"}\n' % i for i in range(50)))
    port = _down_port()
    spool = Spool(home / "spool" / "clickhouse" / f"127.0.0.1_{port}_ben_telemetry")
    spool.lock()
    batch = spool.write(f"b{rng.randrange(1 << 30)}", [b'{"name":"n","body":"L%d"}\n' % i for i in range(10)],
                        {str(log): {"dev": 1, "ino": 2, "offset": 300}})
    spool.unlock()
    which = rng.choice(["batch", "batch", "rejected", "offsets"])
    if which == "batch":
        target = batch.path
        header, _, rest = target.read_bytes().partition(b"\n")
        kind, head = corrupt(header + b"\n", rng)
        blob = head.rstrip(b"\n") + b"\n" + rest if kind != "empty" else b""
    else:  # read only once connected (replay, input offsets): loaded through the library here
        target = batch.rejected_path if which == "rejected" else spool.offsets_path
        good = b"3\n7\n" if which == "rejected" else orjson.dumps({str(log): {"dev": 1, "ino": 2, "offset": 30}})
        kind, blob = corrupt(good, rng, json_file=which == "offsets")
        if which == "rejected":  # a shorter list of row numbers is still one
            kind, blob = "garbage", rng.choice([b"row three\n", b"3\n\x00\n", b"7.5\n"])
        target.write_bytes(blob)
        load = (lambda: spool.rejected_rows(batch)) if which == "rejected" else spool.offsets
        return f"{target.name}: {kind} -> {_library_refusal(load, target, blob, kind)}"
    target.write_bytes(blob)
    proc = ben("sink", "-q", "--retry-for", "0s", "--to", f"clickhouse://127.0.0.1:{port}/ben", str(log), home=home)
    # A mutation that leaves a valid batch (an empty "inputs", say) is read, and the run then fails
    # to reach the closed port: the state was accepted, not refused.
    check_refusal(proc, target, blob, kind, later_failure="connect: gave up")
    accepted = proc.returncode == 1 and target.name not in proc.stderr.decode(errors="replace")
    return f"{target.name}: {kind} -> exit {proc.returncode}{' (accepted; then the closed port)' if accepted else ''}"


def _library_refusal(load: Callable[[], object], target: Path, blob: bytes, kind: str) -> str:
    from ben_cli.errors import StateError

    try:
        load()
    except StateError as exc:
        assert str(target) in str(exc), f"{target} ({kind}): the error does not name the file: {exc}"
        assert target.read_bytes() == blob, f"{target} ({kind}): the refused file was changed"
        return "refused"
    assert kind not in MUST_REFUSE, f"{target} ({kind}): accepted"
    return "accepted"


def corrupt_bee_state(folder: Path, rng: random.Random) -> str:
    """``ben bee listen --state`` (its high-water marks) and ``ben bee send --spool`` (its
    state.json): loaded through the library, as the commands load them (a whole bee with
    certificates is not started here; test_bee_cli.py drives the commands)."""
    from ben_cli.bee.listener import Marks
    from ben_cli.bee.window import Spool

    if rng.random() < 0.5:
        target = folder / "marks.json"
        marks = Marks(target)
        marks.set((bytes(32), bytes(16)), rng.randrange(1, 1000))
        marks.save()
        kind, blob = corrupt(target.read_bytes(), rng)
        target.write_bytes(blob)
        return f"listen --state {kind}: {_library_refusal(lambda: Marks(target), target, blob, kind)}"
    spool = Spool(folder / "spool")
    spool.close()
    spool._lock.__exit__(None, None, None)
    target = folder / "spool" / "state.json"
    kind, blob = corrupt(target.read_bytes(), rng)
    target.write_bytes(blob)

    def reopen() -> None:
        again = Spool(folder / "spool")
        again.close()
        again._lock.__exit__(None, None, None)
    return f"send --spool {kind}: {_library_refusal(reopen, target, blob, kind)}"


_CA_TEMPLATE: dict[str, Path] = {}


def _ca_home(folder: Path) -> Path:
    """A CA with one issued certificate, made once per process and copied for each run."""
    if "home" not in _CA_TEMPLATE:
        import tempfile

        base = Path(tempfile.mkdtemp(prefix="ben-ca-template-"))
        atexit.register(shutil.rmtree, base, True)
        home = base / "home"
        assert ben("ca", "init", "--name", "chaos", "--cost", "interactive", home=home).returncode == 0
        assert ben("key", "gen", "-q", "--type", "x25519", "--out", str(base / "node"), home=home).returncode == 0
        issued = ben("ca", "issue", "--name", "node", "--pub", f"{base / 'node'}.pub", "--usage", "client", home=home)
        assert issued.returncode == 0, issued.stderr.decode()
        (base / "node.cert").write_bytes(issued.stdout)
        _CA_TEMPLATE["home"] = base
    shutil.copytree(_CA_TEMPLATE["home"], folder, dirs_exist_ok=True)
    return folder / "home"


CA_READERS = {  # a file of the CA folder, and a command that must read it
    "state.json": ["ca", "show"],
    "revoked.json": ["ca", "list"],
    "tokens.json": ["ca", "list"],
    "issued": ["ca", "list"],
}


def corrupt_ca_store(folder: Path, rng: random.Random) -> str:
    home = _ca_home(folder)
    ca = home / "ca"
    name = rng.choice(sorted(n for n in CA_READERS if n == "issued" or (ca / n).exists()))
    target = next((ca / "issued").iterdir()) if name == "issued" else ca / name
    kind, blob = corrupt(target.read_bytes(), rng, json_file=name != "issued")
    target.write_bytes(blob)
    proc = ben(*CA_READERS[name], home=home)
    check_refusal(proc, target, blob, kind)
    return f"{name}: {kind} -> exit {proc.returncode}"


def corrupt_policy_install(folder: Path, rng: random.Random) -> str:
    """The installed version's record (``NAME/current.json``), read before every install."""
    from ben_cli.policy.bundle import Installed

    installed = Installed("web", folder)
    installed.folder.mkdir(parents=True)
    installed.current_path.write_bytes(orjson.dumps({"name": "web", "version": rng.randrange(1, 9), "sha256": "00" * 32,
                                                      "signer": "admin", "signer_serial": "ab" * 16}))
    kind, blob = corrupt(installed.current_path.read_bytes(), rng)
    installed.current_path.write_bytes(blob)
    return f"current.json {kind}: {_library_refusal(installed.current, installed.current_path, blob, kind)}"


CORRUPTIONS: dict[str, Callable[[Path, random.Random], str]] = {
    "ingest offsets": corrupt_ingest_offsets,
    "sink acknowledgements": corrupt_sink_acks,
    "acknowledgements read by ingest": corrupt_ingest_acks,
    "detect state": corrupt_detect_state,
    "narrate state": corrupt_narrate_state,
    "sink spool": corrupt_sink_spool,
    "bee state and spool": corrupt_bee_state,
    "CA folder": corrupt_ca_store,
    "policy install": corrupt_policy_install,
}


# --- a full disk for the state, the output and the spool -----------------------------------------

class SmallDisk:
    """A small filesystem for one scenario: a tmpfs with a size limit when this process may mount
    one (root, or CAP_SYS_ADMIN), filled up to leave ``free`` bytes. Where mounting is not allowed
    the stand-in is RLIMIT_FSIZE on the ben processes: no file of theirs may grow past ``free``
    bytes, which fails their writes with EFBIG as a full disk fails them with ENOSPC (it limits each
    file, not their sum: weaker, and said so in RELIABILITY.md)."""

    def __init__(self, folder: Path, free: int):
        self.path = folder / "disk"
        self.path.mkdir()
        self.free = free
        mounted = False
        if not os.environ.get("BEN_CHAOS_NO_MOUNT") and shutil.which("mount"):
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(self.path)],
                                     capture_output=True).returncode == 0
        self.kind = "tmpfs" if mounted else "RLIMIT_FSIZE"
        self.filler = self.path / "filler"
        self.fill(free)

    def fill(self, free: int) -> None:
        """Leave about ``free`` bytes (tmpfs counts in pages) for the files of the scenario."""
        self.free = self.tightest = free
        if self.kind == "tmpfs":
            self.filler.unlink(missing_ok=True)
            st = os.statvfs(self.path)
            self.filler.write_bytes(bytes(max(0, st.f_bavail * st.f_frsize - free)))

    def limit(self) -> Callable[[], None] | None:
        """The preexec hook of a ben process on this disk while it is full."""
        if self.kind == "tmpfs":
            return None
        free = self.free
        return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (free, free))

    def make_room(self) -> None:
        self.filler.unlink(missing_ok=True)
        self.free = 16 << 20

    def close(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


FULL = ("No space left on device", "File too large")


def _refused_for_space(proc: subprocess.CompletedProcess, what: str) -> str:
    err = proc.stderr.decode(errors="replace")
    assert "Traceback" not in err, f"{what}: a traceback\n{err}"
    assert proc.returncode == 1, f"{what}: exit {proc.returncode} on a full disk\n{err}"
    assert any(reason in err for reason in FULL), f"{what}: the error does not say the disk is full\n{err}"
    return err.strip().splitlines()[-1]


def full_disk(folder: Path, rng: random.Random) -> str:
    """ingest --since-last --output, detect --state and sink --ack --to file: on a disk that fills
    up: exit 1 with the reason, the state the old one or the new one (never half), and once there
    is room again the rerun ends with every record once."""
    case = rng.choice(["ingest", "detect", "sink"])
    home = folder / "home"
    lines = rng.randrange(2000, 4000)
    disk = SmallDisk(folder, rng.randrange(2, 48) << 10)
    try:
        if case == "ingest":
            log = folder / "app.log"
            log.write_bytes(b"".join(b'{"msg":"L%05d with some padding"}\n' % i for i in range(lines)))
            args = ["ingest", "-q", "--since-last", "--state", str(disk.path / "S"), "--output", str(disk.path / "out"), str(log)]
            err = _refused_for_space(ben(*args, home=home, preexec=disk.limit()), "ingest --output")
            disk.make_room()
            again = ben(*args, home=home)
            assert again.returncode == 0, again.stderr.decode()
            got = [orjson.loads(x)["body"] for x in (disk.path / "out").read_bytes().splitlines()]
            assert got == [f"L{i:05d} with some padding" for i in range(lines)], "lost or repeated lines"
        elif case == "detect":
            state = disk.path / "D"
            points = b"".join(b'{"ts":"2026-11-25T10:%02d:%02dZ","source":"s%d","name":"cpu","value":%d}\n'
                              % (i // 60 % 60, i % 60, i % 400, i % 7) for i in range(lines))
            disk.make_room()
            first = ben("detect", "-q", "--state", str(state), input=points[:len(points) // 4], home=home)
            assert first.returncode == 0, first.stderr.decode()
            before = state.read_bytes()
            disk.fill(rng.randrange(0, len(before)))
            full = ben("detect", "-q", "--state", str(state), input=points, home=home, preexec=disk.limit())
            if full.returncode == 0:  # the state still fitted: the new state then is whole
                orjson.loads(state.read_bytes())
                err = "fitted"
            else:
                err = _refused_for_space(full, "detect --state")
                assert str(state) in err, f"the error does not name the state file: {err}"
                assert state.read_bytes() == before, "the old state was damaged"
            assert not [p for p in disk.path.iterdir() if p.name.endswith(".tmp")], "a temporary file was left"
            disk.make_room()
            again = ben("detect", "-q", "--state", str(state), input=points, home=home)
            assert again.returncode == 0, again.stderr.decode()
        else:
            out, state = disk.path / "out", folder / "S"
            stamped = _stamped(0, lines)
            args = ["sink", "-q", "--ack", str(state), "--to", f"file:{out}"]
            err = _refused_for_space(ben(*args, input=stamped, home=home, preexec=disk.limit()), "sink --to file:")
            disk.make_room()
            again = ben(*args, input=stamped, home=home)
            assert again.returncode == 0, again.stderr.decode()
            got = [orjson.loads(x)["_ingest"]["line"] for x in out.read_bytes().splitlines()]
            assert got == list(range(1, lines + 1)), "lost or repeated records"
        return f"{case} on {disk.kind} ({disk.tightest >> 10} KiB free): {err[:90]}"
    finally:
        disk.close()


# --- a slow consumer on stdout ---------------------------------------------------------------------

_SLOW_READER = """
import os, sys, time
stop, pause = int(sys.argv[1]), float(sys.argv[2])
got = 0
with open(sys.argv[3], "wb") as out:
    while True:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        if stop >= 0 and got + chunk.count(b"\\n") >= stop:  # keep whole lines up to stop, then hang up
            lines = chunk.split(b"\\n")[:stop - got]
            out.write(b"".join(x + b"\\n" for x in lines))
            break
        out.write(chunk)
        got += chunk.count(b"\\n")
        time.sleep(pause)
"""


def slow_consumer(folder: Path, rng: random.Random) -> str:
    """``ben ingest --since-last | a reader that is slow`` and sometimes hangs up early: ingest
    waits for it (the pipe's back-pressure) and loses nothing; a hang-up ends it with status 1 and
    no traceback, and the rerun gives the rest: each line at least once, and repeated only within
    the last uncommitted batch."""
    lines = rng.randrange(3000, 20000)
    log = folder / "app.log"
    log.write_bytes(b"".join(b'{"msg":"L%d"}\n' % i for i in range(lines)))
    stop = rng.choice([-1, rng.randrange(1, lines)])
    env = {**os.environ, "BEN_LOAD_PLUGINS": "", "BEN_HOME": str(folder / "home")}
    args = [BEN, "ingest", "-q", "--since-last", "--state", str(folder / "S"), str(log)]
    first = folder / "first"
    reader = subprocess.Popen([sys.executable, "-c", _SLOW_READER, str(stop), str(rng.choice([0.001, 0.005])), str(first)],
                              stdin=subprocess.PIPE)
    ingest = subprocess.run(args, stdout=reader.stdin, stderr=subprocess.PIPE, env=env, timeout=300)
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(timeout=300)
    err = ingest.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    seen = [orjson.loads(x)["body"] for x in first.read_bytes().splitlines()]
    if stop < 0:
        assert ingest.returncode == 0, err
        assert seen == [f"L{i}" for i in range(lines)]
        return f"{lines} lines, read slowly: all once"
    assert seen == [f"L{i}" for i in range(stop)]
    rest = subprocess.run(args, capture_output=True, env=env, timeout=300)
    assert rest.returncode == 0, rest.stderr.decode()
    again = [int(orjson.loads(x)["body"][1:]) for x in rest.stdout.splitlines()]
    resumed = again[0] if again else lines
    assert resumed <= stop, f"lines {stop}..{resumed - 1} were lost"
    assert again == list(range(resumed, lines)), "the rerun is not the rest in order"
    from ben_cli.ingest.follow import BATCH_BYTES

    repeated = sum(len(b'{"msg":"L%d"}\n' % i) for i in range(resumed, stop))
    assert repeated <= BATCH_BYTES, f"{repeated} bytes read again: more than the one uncommitted batch"
    return f"{lines} lines, hung up after {stop} (exit {ingest.returncode}): rerun from {resumed}, {stop - resumed} repeated"


# --- clock skew for certificates --------------------------------------------------------------------

def clock_skew(folder: Path, rng: random.Random) -> str:
    """A certificate (and the CRL) judged by a verifier whose clock is off by up to two hours
    either way: valid exactly inside [not_before - 60 s, not_after + 60 s] (the allowed skew),
    refused outside it with the reason; a CRL past its next update + 60 s refuses everything."""
    from ben_cli.ca import verify
    from ben_cli.ca.cert import Refused
    from tests.bee_support import Pki

    pki = Pki(folder / "pki")
    life = rng.randrange(60, 7200)
    node = pki.node("edge", not_before=pki.now, not_after=pki.now + life)
    trust = verify.TrustBundle.parse(pki.bundle.read_bytes())
    skew = rng.randrange(-3000, 7200 + life)  # the test CA is valid from an hour ago
    now = pki.now + skew
    verifier = verify.Verifier(trust, verify.check_crl(trust, pki.crl.read_bytes(), now))
    inside = pki.now - verify.SKEW <= now <= pki.now + life + verify.SKEW
    try:
        verifier.check(node.cert.read_bytes(), now)
        outcome = "valid"
    except Refused as exc:
        outcome = f"refused ({exc.reason})"
        assert str(abs(now - (pki.now if now < pki.now else pki.now + life))) in str(exc), f"no distance in: {exc}"
    assert (outcome == "valid") == inside, f"skew {skew} s, life {life} s: {outcome}"
    late = rng.randrange(-600, 600)  # the CRL (next update in a day) judged around that time
    try:
        verify.check_crl(trust, pki.crl.read_bytes(), pki.now + 86400 + late)
        stale = False
    except Refused:  # stale, or its CA (whose life ends with it here) expired: refused either way
        stale = True
    assert stale == (late > verify.SKEW), f"a CRL {late} s past its next update: stale={stale}"
    return f"skew {skew:+d} s on a {life} s certificate: {outcome}; CRL {late:+d} s past due: {'stale' if stale else 'fresh'}"


# --- a peer flooding handshakes at the listener ----------------------------------------------------

def handshake_flood(folder: Path, rng: random.Random) -> str:
    """Connections that send nothing, garbage, or half a HELLO, many at once, while a real sender
    streams: the listener refuses or times out each flooder, stays up, and the real stream
    arrives once, in order; afterwards no handshake is left open."""
    import threading

    from tests import bee_support as bs

    pki = bs.Pki(folder / "pki")
    collector = pki.node("collector", ("server",))
    edge = pki.node("edge")
    per_source = rng.choice([2, 4, 8])
    listener = bs.listener(pki, collector, handshake_timeout=0.3, handshakes_per_source=per_source)
    flooders = rng.randrange(10, 60)
    count = rng.randrange(100, 1000)
    with bs.running(listener) as port:
        def flood() -> None:
            for _ in range(flooders):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                except OSError:
                    continue
                with sock:
                    what = rng.random()
                    try:
                        if what < 0.4:
                            sock.sendall(rng.randbytes(rng.randrange(1, 300)))
                        elif what < 0.7:
                            sock.sendall(b"\x00\x20" + rng.randbytes(10))  # a frame header promising more
                        if rng.random() < 0.5:
                            sock.recv(64)
                    except OSError:
                        pass

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        bs.send(pki, edge, port, bs.records(count), log=lambda _m: None, give_up=60.0)
        for t in threads:
            t.join(timeout=60)
        deadline = time.monotonic() + 10
        while listener.handshaking and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not listener.handshaking, f"{listener.handshaking} handshakes left open"
        bs.send(pki, edge, port, bs.records(3, start=count + 1), log=lambda _m: None)  # still serving
    values = [orjson.loads(x)["value"] for x in listener.out.lines()]
    assert values == list(range(1, count + 4)), "records lost, repeated or out of order"
    return f"{3 * flooders} flooding connections (cap {per_source} per source), {count} records: once, in order; " \
           f"{listener.counts.refused} refused"


CHAOS: dict[str, Callable[[Path, random.Random], str]] = {
    "full disk": full_disk,
    "slow consumer on stdout": slow_consumer,
    "clock skew for certificates": clock_skew,
    "a peer flooding handshakes": handshake_flood,
}
