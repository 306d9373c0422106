"""Chaos scenarios shared by the tests (one seeded run each, in ``make test``) and by
``make reliability`` (tests/support/reliability.py: many randomised runs, written to RELIABILITY.md).

Each scenario is a function ``(folder, rng) -> str``: it builds what it needs under ``folder``,
breaks something chosen by ``rng``, checks the outcome with plain asserts, and returns a short
note of what this run did. What every scenario checks is in :data:`CHECKED`.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
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


def check_refusal(proc: subprocess.CompletedProcess, state: Path, before: bytes, kind: str) -> None:
    """A refusal is exit status 1, one message naming the file, no traceback, the file untouched
    (never silently reset); a mutation that still makes a valid state may run (status 0)."""
    err = proc.stderr.decode(errors="replace")
    assert "Traceback" not in err, f"{state} ({kind}): a traceback\n{err}"
    if kind in MUST_REFUSE or proc.returncode != 0:
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
    batch = spool.write("b%d" % rng.randrange(1 << 30), [b'{"name":"n","body":"L%d"}\n' % i for i in range(10)],
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
    check_refusal(proc, target, blob, kind)
    return f"{target.name}: {kind} -> exit {proc.returncode}"


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
