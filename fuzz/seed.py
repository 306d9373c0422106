"""Make the seed corpora in fuzz/corpus/TARGET/ from the tests' own samples (never by hand).

Two sources: the string and bytes literals of the tests that cover a target (read with ``ast``,
kept when the target accepts them, so a seed is an input the parser reads to the end), plus the
sample files under tests/data; and, for formats the tests build at run time (certificates,
revocation lists, signed bundles, age files, minisign keys, handshake messages, spooled batches,
detector state), the same library writers the tests call, with fixed keys so a seed stays valid.
Each corpus is kept small: at most ``--max`` seeds, spread over their lengths, named by
their hash so a rerun writes the same files. ``python fuzz/seed.py`` rewrites them all.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import targets  # noqa: E402

# which tests hold each target's samples (globs under tests/), and sample files under tests/data
SOURCES: dict[str, tuple[str, ...]] = {
    "ingest_ndjson": ("test_ingest_*.py", "test_ndjson*.py", "data/*.ndjson"),
    "ingest_logfmt": ("test_ingest_*.py", "test_logfmt_compiled.py", "data/*.logfmt"),
    "ingest_syslog": ("test_ingest_*.py",),
    "ingest_prom": ("test_ingest_*.py", "data/*.prom"),
    "ingest_csv": ("test_ingest_*.py",),
    "ingest_tsv": ("test_ingest_*.py",),
    "ingest_journal": ("test_ingest_*.py",),
    "ingest_otlp": ("test_ingest_*.py", "otlp_support.py"),
    "ingest_lines": ("test_ingest_*.py", "scrub_logs.py"),
    "ingest_sniff": ("test_ingest_*.py", "data/*.ndjson", "data/*.logfmt", "data/*.prom"),
    "ingest_layouts": ("test_ingest_layouts.py",),
    "ingest_otlp_proto": (),
    "contract_parse": ("test_contract_*.py", "data/contracts/*.ben"),
    "policy_parse": ("test_policy_*.py", "data/policy/*.policy"),
    "ca_cert": (), "ca_bundle": (), "ca_crl": (), "policy_bundle": (),
    "crypto_minisign": ("test_crypto_*.py", "test_key_*.py"),
    "crypto_age": ("test_crypto_*.py", "test_key_*.py"),
    "bee_frames": ("test_bee_*.py",),
    "bee_handshake": (),
    "bee_address": ("test_bee_*.py",),
    "pipeline_file": ("test_run.py", "test_compose.py"),
    "scrub_policy": ("test_scrub*.py",),
    "detect_state": (),
    "sink_spool": ("test_sink_*.py", "test_exactly_once.py"),
    "native_logfmt": ("test_logfmt_compiled.py", "test_ingest_fast_paths.py", "data/*.logfmt"),
    "native_check": ("test_contract_enforce.py", "data/*.ndjson"),
    "native_rowjson": ("test_sink_*.py", "data/*.ndjson"),
    "native_scan": ("test_scrub*.py", "scrub_logs.py"),
    "native_cadose": (),
}
# targets whose first byte picks a sub-parser: literals are tried behind each choice
SELECTOR: dict[str, tuple[bytes, ...]] = {
    "crypto_minisign": (b"\x00", b"\x01", b"\x02"), "crypto_age": (b"\x00", b"\x01", b"\x02", b"\x03"),
    "native_rowjson": (b"M", b"L"), "bee_handshake": (b"\x00", b"\x01"),
}


def literals(path: Path) -> Iterator[bytes]:
    """The string and bytes constants of a test module (joined f-strings are skipped)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes) and 2 <= len(node.value) <= 4096:
            yield node.value.encode("utf-8", "surrogatepass") if isinstance(node.value, str) else node.value


def candidates(name: str) -> Iterator[bytes]:
    for pattern in SOURCES.get(name, ()):
        for path in sorted((ROOT / "tests").glob(pattern)):
            if path.suffix == ".py":
                yield from literals(path)
            else:
                data = path.read_bytes()
                yield data[:4096]
                yield from (line for line in data.splitlines(keepends=True)[:50])
    yield from generated(name)


def generated(name: str) -> Iterator[bytes]:
    """Inputs the tests make at run time, made here the same way (fixed keys, fixed times)."""
    m = targets.ca_material() if name in ("ca_cert", "ca_bundle", "ca_crl", "policy_bundle") else {}
    if name == "ca_cert":
        yield m["leaf"].text.encode()
        yield m["ca"].text.encode()
    elif name == "ca_bundle":
        yield m["bundle"].text.encode() if hasattr(m["bundle"], "text") else m["ca"].text.encode()
        yield m["ca"].text.encode() + m["leaf"].text.encode()
    elif name == "ca_crl":
        from ben_cli.ca import crl as r

        yield r.build(m["ca_key"], sequence=3, issued=targets.NOW, next_update=targets.NOW + 7 * targets.DAY,
                      serials=["02" * 16]).text.encode()
        yield r.build(m["ca_key"], sequence=1, issued=targets.NOW, next_update=targets.NOW + targets.DAY).text.encode()
    elif name == "policy_bundle":
        from ben_cli.policy import bundle

        for path in sorted((ROOT / "tests" / "data" / "policy").glob("*.policy")):
            try:
                yield bundle.sign(path.read_text(), m["admin_key"], m["leaf"].text.encode(), targets.NOW)
            except Exception:  # noqa: BLE001 (a sample this signer will not sign is no seed)
                continue
    elif name == "crypto_minisign":
        from ben_cli.crypto import minisign

        key = targets._fixed_key(5)
        yield b"\x00" + minisign.public_key_text(key.public).encode()
        yield b"\x01" + minisign.secret_key_text(key, None).encode()
        yield b"\x02" + minisign.sign(key, io.BytesIO(b"fuzzed\n"), "trusted").encode()
    elif name == "crypto_age":
        from ben_cli.crypto import age
        from ben_cli.crypto.keys import Identity

        identity = Identity(b"\x06" * 32)
        yield b"\x00" + age.encrypt_bytes(b"hello\n", [identity.recipient])
        yield b"\x00" + age.encrypt_bytes(b"x" * 70000, [identity.recipient], armor=True)
        yield b"\x02" + identity.recipient.text.encode()
        yield b"\x03" + identity.text.encode()
    elif name == "bee_handshake":
        from ben_cli.bee.handshake import PROLOGUE
        from ben_cli.bee.noise import Handshake

        initiator = Handshake(True, b"\x09" * 32, PROLOGUE, ephemeral=b"\x0a" * 32)
        yield b"\x00" + initiator.write_message(b"")
        responder = Handshake(False, b"\x07" * 32, PROLOGUE, ephemeral=b"\x08" * 32)
        responder.read_message(Handshake(True, b"\x09" * 32, PROLOGUE, ephemeral=b"\x0a" * 32).write_message(b""))
        yield b"\x01" + responder.write_message(targets.ca_material()["leaf"].text.encode())
    elif name == "bee_frames":
        from ben_cli.bee import frames

        yield from (frames.hello(b"s" * 16), frames.data(1, b"{}\n"), frames.ack(5), frames.close(9), frames.error("no"))
    elif name == "ingest_otlp_proto":
        yield from otlp_proto_seeds()
    elif name == "detect_state":
        yield from detect_state_seeds()
    elif name == "native_check":
        sys.path.insert(0, str(ROOT))
        import orjson

        from tests import test_contract_enforce as t

        yield orjson.dumps(t.request())
        for mark in getattr(t.test_each_rule_catches_what_it_says, "pytestmark", []):
            for change, _ in mark.args[1]:
                yield orjson.dumps(t.request(**change))
    elif name == "ingest_layouts":  # the layout tests' patterns, each in a layouts file, then their lines
        found = list(literals(ROOT / "tests" / "test_ingest_layouts.py"))
        patterns = [t for t in found if b"(?P<" in t and b"\n" not in t and b"'" not in t]
        lines = [t for t in found if b"(?P<" not in t][:20]
        for pattern in patterns:
            for line in lines:
                yield b"[layouts.t]\npattern = '" + pattern + b"'\n---\n" + line
    elif name == "sink_spool":
        yield from spool_seeds()


def spool_seeds() -> Iterator[bytes]:
    """A spool as the sink leaves it: a batch written by Spool.write, its offsets, a rejected row."""
    import tempfile

    from ben_cli.sink.spool import Spool

    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool(Path(tmp))
        lines = [b'{"ts":"2026-11-25T10:00:00Z","lane":"diag","source":"s","name":"n"}\n'] * 2
        batch = spool.write("b1", lines, {"app.log": {"dev": 1, "ino": 2, "offset": 30}})
        body = batch.path.read_bytes()
        spool.save_offsets({"app.log": {"dev": 1, "ino": 2, "offset": 10}})
        offsets = spool.offsets_path.read_bytes()
        yield body
        yield body + b"\n--\n" + offsets
        yield body + b"\n--\n" + offsets + b"\n--\n1\n2\n"


def otlp_proto_seeds() -> Iterator[bytes]:
    """The OTLP tests' own protobuf requests (tests/otlp_support.py), serialized."""
    sys.path.insert(0, str(ROOT))
    from tests import otlp_support

    for selector, make in ((b"\x00", otlp_support.logs_request), (b"\x01", otlp_support.metrics_request),
                           (b"\x02", otlp_support.traces_request)):
        yield selector + make().SerializeToString()


def detect_state_seeds() -> Iterator[bytes]:
    """Each detector's state after a short series, saved by the detector table itself."""
    import tempfile

    from ben_cli.detect.table import SeriesTable

    with tempfile.TemporaryDirectory() as tmp:
        for i, detector in enumerate(targets.DETECTORS):
            path = Path(tmp) / f"{detector}.json"
            with SeriesTable(targets.detect_options(detector, path)) as table:
                recs = [{"ts": f"2026-11-25T10:00:{n:02d}Z", "source": "web", "name": "cpu", "value": n % 7,
                         "a": n, "b": n % 3, "c": 1.5 * n} for n in range(40)]
                list(table.feed(recs))
                table.save()
            yield bytes([i]) + path.read_bytes()


def accepted(fn: Callable[[bytes], object], data: bytes) -> bool:
    try:
        fn(data)
    except Exception:  # noqa: BLE001 (a refused sample is simply not a seed)
        return False
    return True


def make(name: str, most: int) -> int:
    fn = targets.TARGETS[name].build()
    selectors = SELECTOR.get(name, (b"",))
    seeds: dict[bytes, None] = {}
    for data in candidates(name):
        for choice in selectors:
            attempt = data if (choice and data[:1] in selectors and name in ("crypto_minisign", "crypto_age",
                                                                                "bee_handshake")) else choice + data
            if attempt not in seeds and accepted(fn, attempt):
                seeds[attempt] = None
    ordered = sorted(seeds, key=lambda d: (len(d), d))
    # spread over the lengths: the shortest alone would be fragments, the longest alone few shapes
    kept = [ordered[i * len(ordered) // most] for i in range(most)] if len(ordered) > most else ordered
    folder = HERE / "corpus" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for data in kept:
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(kept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*")
    ap.add_argument("--max", type=int, default=40, help="seeds kept per target")
    args = ap.parse_args()
    for name in args.targets or targets.TARGETS:
        print(f"{name}: {make(name, args.max)} seeds")


if __name__ == "__main__":
    main()
