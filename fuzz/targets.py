"""The fuzz targets: one per decoder or parser of ben, each holding it to its contract.

A parser's contract is that it returns a value or raises the project's documented error (a
:class:`ben_cli.errors.BenError`, or the one named error a module documents for its callers, such
as the bee's ``BadFrame``). Any other exception, a hang or a crash is a finding. Targets that read
records also check what comes out: every record an ingest decoder yields serializes as JSON.

The native targets hold the five C extensions to their Python twins (a differential check) as
well as to the contract, and are run under AddressSanitizer by ``make fuzz-native``.

A target is named here and built lazily (``build()`` imports what it fuzzes), so the runner can
import the library under atheris' instrumentation before the first input.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

NOW = 1_800_000_000  # the fixed "now" of every target that checks validity windows (2027-01-15)
DAY = 86400


@dataclass(frozen=True)
class Target:
    name: str
    build: Callable[[], Callable[[bytes], object]]
    what: str
    native: bool = False  # fuzzes a C extension (also run under ASan by make fuzz-native)
    # regression tests (tests/FILE::NAME) for the crashes this target found and that were fixed
    fixed: tuple[str, ...] = field(default_factory=tuple)
    # reads JSON lines after this many selector bytes: mutated JSON-aware too (fuzz/mutate.py)
    json_prefix: int | None = None


TARGETS: dict[str, Target] = {}


def target(name: str, what: str, native: bool = False, fixed: tuple[str, ...] = (),
           json_prefix: int | None = None) -> Callable:
    def register(build: Callable[[], Callable[[bytes], object]]) -> Callable:
        TARGETS[name] = Target(name, build, what, native, fixed, json_prefix)
        return build

    return register


class Finding(AssertionError):
    """A parser broke its contract in a way that is not an exception of its own (a wrong answer)."""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _scratch() -> Path:
    """A private folder for targets that read files (in memory where the machine has /dev/shm)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return Path(tempfile.mkdtemp(prefix="ben-fuzz-", dir=base))


# --- ingest: every format, through the core that drives it -------------------------------------

def _ingest(fmt: str) -> Callable[[bytes], object]:
    import orjson

    from ben_cli.ingest import DecodeOptions, Ingester

    def one(data: bytes) -> object:
        errors: list = []
        options = DecodeOptions(clock=lambda: NOW * 10**9, tz=UTC, source="fuzz")
        ingester = Ingester(fmt, options, file="fuzz", on_error=errors.append)
        out = list(ingester.feed(data.splitlines(keepends=True)))
        out += list(ingester.flush())
        for rec in out:
            orjson.dumps(rec)  # a record that cannot be written is a decoder bug
        return out

    return one


for _fmt, _what in [("ndjson", "one JSON object per line"), ("logfmt", "key=value lines"),
                    ("syslog", "RFC 5424 and RFC 3164 lines"), ("prom", "Prometheus/OpenMetrics text"),
                    ("csv", "comma-separated values with a header"), ("tsv", "tab-separated values"),
                    ("journal", "journalctl -o json"), ("otlp", "OTLP/JSON export requests"),
                    ("lines", "plain log lines through the built-in layouts, multi-line off")]:
    target(f"ingest_{_fmt}", f"ingest --format {_fmt}: {_what}",
           json_prefix=0 if _fmt in ("ndjson", "journal", "otlp") else None,
           fixed=("tests/test_fuzz_regressions.py::test_a_thread_id_past_64_bits_stays_text_and_the_record_can_be_written",)
           if _fmt == "lines" else ())(lambda _f=_fmt: _ingest(_f))


@target("ingest_sniff", "ingest's format guess on a file's first bytes")
def _sniff() -> Callable[[bytes], object]:
    from ben_cli.ingest.sniff import choose_format

    def one(data: bytes) -> object:
        return choose_format(None, data, "fuzz", None, refuse_binary=True)

    return one


@target("ingest_layouts", "a --layouts TOML file of user line layouts, then a line through them")
def _layouts() -> Callable[[bytes], object]:
    from ben_cli.ingest import DecodeOptions, Ingester
    from ben_cli.ingest.layouts import layouts_from_options

    folder = _scratch()

    def one(data: bytes) -> object:
        head, _, line = data.partition(b"\n---\n")
        path = folder / "layouts.toml"
        path.write_bytes(head)
        layouts = layouts_from_options((), str(path), ())
        options = DecodeOptions(clock=lambda: NOW * 10**9, tz=UTC, layouts=layouts)
        ingester = Ingester("lines", options, on_error=lambda _e: None)
        return list(ingester.feed(line.splitlines(keepends=True))) + list(ingester.flush())

    return one


@target("ingest_otlp_proto", "OTLP/protobuf export requests (the gRPC and HTTP listeners' bodies)")
def _otlp_proto() -> Callable[[bytes], object]:
    from ben_cli.ingest import otlp_proto
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.otlp import OtlpDecoder

    decoder = OtlpDecoder(DecodeOptions(clock=lambda: NOW * 10**9))

    def one(data: bytes) -> object:
        signal = ("logs", "metrics", "traces")[data[0] % 3] if data else "logs"
        message = otlp_proto.parse(signal, data[1:])
        return decoder.request(otlp_proto.as_json(signal, message))

    return one


# --- the contract and policy languages ----------------------------------------------------------

@target("contract_parse", "the telemetry contract language: parse, then the checker")
def _contract() -> Callable[[bytes], object]:
    from ben_cli.contract import load_text
    from ben_cli.contract.pycode import compile_validator

    def one(data: bytes) -> object:
        contract = load_text(_text(data), "fuzz.ben")
        return compile_validator(contract)

    return one


@target("policy_parse", "the policy language: parse and check")
def _policy() -> Callable[[bytes], object]:
    from ben_cli.policy import parser

    def one(data: bytes) -> object:
        return parser.parse(_text(data), "fuzz.policy")

    return one


# --- certificates, revocation lists, trust bundles, signed policy bundles -----------------------

def _fixed_key(n: int):  # noqa: ANN202 (a SigningKey, imported late)
    from ben_cli.crypto.keys import SigningKey, derived_key_id
    from ben_cli.crypto.primitives import ed25519_keypair

    seed = bytes([n]) * 32
    return SigningKey(seed, derived_key_id(ed25519_keypair(seed)[1]))


def ca_material() -> dict:
    """A fixed CA, its bundle and a leaf: the same bytes in every run, so seeds stay valid."""
    from ben_cli.ca import cert as c
    from ben_cli.ca.verify import TrustBundle
    from ben_cli.crypto.primitives import x25519_keypair

    ca_key, admin_key = _fixed_key(1), _fixed_key(2)
    ca = c.issue(ca_key, name="ben-ca", groups=(), lanes=(), usage=("ca",), noise_pub=x25519_keypair(b"\x03" * 32)[1],
                 sign_pub=ca_key.public.key, not_before=NOW - DAY, not_after=NOW + 365 * DAY, serial="01" * 16)
    leaf = c.issue(ca_key, name="web1", groups=("web", "policy-admin"), lanes=("diag", "event"), usage=("client", "sign"),
                   noise_pub=x25519_keypair(b"\x04" * 32)[1], sign_pub=admin_key.public.key,
                   not_before=NOW - 60, not_after=NOW + DAY, serial="02" * 16)
    return {"ca_key": ca_key, "admin_key": admin_key, "ca": ca, "leaf": leaf, "bundle": TrustBundle.of([ca])}


@target("ca_cert", "a node certificate, parsed then verified against a trust bundle")
def _cert() -> Callable[[bytes], object]:
    from ben_cli.ca import cert as c
    from ben_cli.ca.verify import Verifier

    verifier = Verifier(ca_material()["bundle"])

    def one(data: bytes) -> object:
        parsed = c.parse(data)
        return parsed, verifier.check(data, NOW)

    return one


@target("ca_bundle", "a trust bundle (several certificates) and the bundle a CA serves")
def _bundle() -> Callable[[bytes], object]:
    from ben_cli.ca.verify import TrustBundle

    def one(data: bytes) -> object:
        return TrustBundle.parse(data)

    return one


@target("ca_crl", "a certificate revocation list, parsed then checked against the CA")
def _crl() -> Callable[[bytes], object]:
    from ben_cli.ca import crl as r
    from ben_cli.ca.verify import check_crl

    bundle = ca_material()["bundle"]

    def one(data: bytes) -> object:
        return r.parse(data), check_crl(bundle, data, NOW)

    return one


@target("policy_bundle", "a signed policy bundle, verified against the CA")
def _policy_bundle() -> Callable[[bytes], object]:
    from ben_cli.policy.bundle import verify_bundle

    bundle = ca_material()["bundle"]

    def one(data: bytes) -> object:
        return verify_bundle(data, bundle, None, NOW)

    return one


# --- minisign and age ---------------------------------------------------------------------------

@target("crypto_minisign", "minisign public key, secret key and signature files, read as ben key reads them",
        fixed=("tests/test_fuzz_regressions.py::test_a_minisign_signature_file_that_is_not_utf8_is_refused_by_name",
               "tests/test_fuzz_regressions.py::test_a_key_file_that_is_not_utf8_is_refused_by_name",
               "tests/test_fuzz_regressions.py::test_ben_key_verify_with_a_binary_signature_says_so_without_a_traceback"))
def _minisign() -> Callable[[bytes], object]:
    from ben_cli.crypto import keyfiles, minisign

    key = _fixed_key(5)
    folder = _scratch()
    signed = folder / "signed"
    signed.write_bytes(b"fuzzed\n")
    path = folder / "fuzz.key"

    def one(data: bytes) -> object:
        which = data[0] % 3 if data else 0
        path.write_bytes(data[1:])
        path.chmod(0o600)
        if which == 0:
            return keyfiles.load_verify_key(str(path))
        if which == 1:
            return keyfiles.load_signing_key(path, lambda: b"fuzz")
        return minisign.verify_file(key.public, signed, path)

    return one


@target("crypto_age", "age files (binary and armored) and age recipients/identities")
def _age() -> Callable[[bytes], object]:
    from ben_cli.crypto import age
    from ben_cli.crypto.keys import Identity, Recipient

    identity = Identity(b"\x06" * 32)

    def one(data: bytes) -> object:
        which = data[0] % 4 if data else 0
        rest = data[1:]
        if which == 0:
            return age.decrypt_bytes(rest, [identity])
        if which == 1:
            return age.decrypt_bytes(rest, [age.Passphrase(b"fuzz")])
        if which == 2:
            return Recipient.parse(_text(rest))
        return Identity.parse(_text(rest))

    return one


# --- bee: frames, handshake messages, addresses -------------------------------------------------

@target("bee_frames", "the bee's decrypted transport frames")
def _frames() -> Callable[[bytes], object]:
    from ben_cli.bee import frames

    def one(data: bytes) -> object:
        try:
            return frames.parse(data)
        except frames.BadFrame:  # the module's documented refusal (the listener answers it with ERROR)
            return None

    return one


@target("bee_handshake", "Noise XX handshake messages 1 and 2 as a responder and initiator read them")
def _handshake() -> Callable[[bytes], object]:
    from ben_cli.bee.handshake import PROLOGUE
    from ben_cli.bee.noise import Handshake

    def one(data: bytes) -> object:
        responder = Handshake(False, b"\x07" * 32, PROLOGUE, ephemeral=b"\x08" * 32)
        if data[:1] == b"\x00":
            return responder.read_message(data[1:])
        initiator = Handshake(True, b"\x09" * 32, PROLOGUE, ephemeral=b"\x0a" * 32)
        initiator.write_message(b"")
        return initiator.read_message(data[1:])

    return one


@target("bee_address", "bee peer addresses (host:port, [v6]:port)",
        fixed=("tests/test_fuzz_regressions.py::test_a_bee_port_of_digits_that_are_not_ascii_is_a_usage_error",))
def _address() -> Callable[[bytes], object]:
    from ben_cli.bee.address import parse

    def one(data: bytes) -> object:
        return parse(_text(data))

    return one


# --- pipelines, scrub policy, detector state, sink spool ----------------------------------------

@target("pipeline_file", "ben run's pipeline files (TOML) and pipeline text (a | b)")
def _pipeline() -> Callable[[bytes], object]:
    from ben_cli.orchestrate.text import parse_text, parse_toml

    def one(data: bytes) -> object:
        if data[:1] == b"|":
            return parse_text(_text(data[1:]))
        return parse_toml(_text(data), "fuzz.toml")

    return one


@target("scrub_policy", "the scrub policy file (TOML)",
        fixed=("tests/test_fuzz_regressions.py::test_a_scrub_policy_whose_tables_are_not_tables_is_refused_by_name",))
def _scrub_policy() -> Callable[[bytes], object]:
    from ben_cli.scrub.policy import parse_policy

    def one(data: bytes) -> object:
        return parse_policy(_text(data), "fuzz.toml")

    return one


# one-field detectors (spca watches several fields and gets its own options)
DETECTORS = ("adwin", "art", "auto", "cad", "cusum", "ewma", "knn", "mad", "pagehinkley", "seasonal", "spca")


def detect_options(detector: str, path: Path):  # noqa: ANN201 (DetectOptions, imported late)
    from ben_cli.detect.options import DetectOptions

    fields = ("a", "b", "c") if detector == "spca" else ("value",)
    return DetectOptions(detector=detector, fields=fields, state=path)


@target("detect_state", "a detector state file, loaded and restored into each detector's table", json_prefix=1,
        fixed=("tests/test_fuzz_regressions.py::test_a_detector_state_whose_series_key_is_not_a_list_is_refused_by_name",
               "tests/test_fuzz_regressions.py::test_a_detector_state_whose_series_state_is_too_short_is_refused_by_name"))
def _detect_state() -> Callable[[bytes], object]:
    from ben_cli.detect.table import SeriesTable

    folder = _scratch()
    path = folder / "state.json"

    def one(data: bytes) -> object:
        detector = DETECTORS[data[0] % len(DETECTORS)] if data else "ewma"
        path.write_bytes(data[1:])
        table = SeriesTable(detect_options(detector, path))
        try:
            table.load()
            return len(table.table)
        finally:
            table.close()

    return one


@target("sink_spool", "the sink's spool folder: a spooled batch, its rejected rows and the offsets file")
def _spool() -> Callable[[bytes], object]:
    from ben_cli.sink.spool import Spool

    folder = _scratch()

    def one(data: bytes) -> object:
        for old in folder.iterdir():
            old.unlink()
        batch, _, rest = data.partition(b"\n--\n")
        offsets, _, rejected = rest.partition(b"\n--\n")
        (folder / "000000000001-fuzz.ndjson").write_bytes(batch)
        if offsets:
            (folder / "offsets.json").write_bytes(offsets)
        if rejected:
            (folder / "000000000001-fuzz.rejected").write_bytes(rejected)
        spool = Spool(folder)
        out = [spool.offsets()]
        for pending in spool.pending():
            out.append((spool.rejected_rows(pending), list(pending.lines())))
        return out

    return one


# --- the C extensions, each against its Python twin ---------------------------------------------

@target("native_logfmt", "the compiled logfmt tokenizer against parse_python", native=True)
def _native_logfmt() -> Callable[[bytes], object]:
    from ben_cli.ingest import _logfmt
    from ben_cli.ingest.format import DecodeError
    from ben_cli.ingest.logfmt import parse_python

    def one(data: bytes) -> object:
        line = data.decode("utf-8", "replace")
        try:
            want: object = parse_python(line)
        except DecodeError as exc:
            want = DecodeError
            why = str(exc)
        try:
            got: object = _logfmt.parse(line)
        except DecodeError as exc:
            got = DecodeError
            if want is DecodeError and str(exc) != why:
                raise Finding(f"C and Python refuse {line!r} for different reasons: {exc} / {why}") from None
        if got != want or (isinstance(got, dict) and list(got) != list(want)):  # type: ignore[arg-type]
            raise Finding(f"C and Python read {line!r} differently: {got!r} / {want!r}")
        return got

    return one


@target("native_scan", "scrub's compiled IPv4, trigger, user-gate, user-context and e-mail scans against their definitions", native=True)
def _native_scan() -> Callable[[bytes], object]:
    from ben_cli.scrub import _scan
    from ben_cli.scrub.entities import (
        _COMPILED_CONTEXTS,
        _user_contexts,
        email_spans_python,
        ipv4_spans_python,
        user_context_spans_python,
        user_contexts_python,
    )
    from ben_cli.scrub.prefilter import families_python

    def one(data: bytes) -> object:
        text = data.decode("utf-8", "replace")  # 1-, 2- and 4-byte strings alike
        got, want = _scan.ipv4_spans(text), ipv4_spans_python(text)
        if got != want:
            raise Finding(f"the compiled scan and the pattern find different addresses in {text!r}: {got} / {want}")
        mask = _scan.families(text)
        fams, want_fams = {n for k, n in enumerate(_scan.FAMILIES) if mask >> k & 1}, families_python(text)
        if fams != want_fams:
            raise Finding(f"the compiled trigger scan and the patterns find different families in {text!r}: {fams} / {want_fams}")
        if text.isascii() and list(_user_contexts(text)) != user_contexts_python(text):
            raise Finding(f"the compiled user-name gates and the substring checks differ on {text!r}")
        emails = _scan.email_spans(text, 0)
        if emails is not None and emails != email_spans_python(text):
            raise Finding(f"the compiled e-mail scan and the pattern find different addresses in {text!r}: {emails}")
        for i, which in _COMPILED_CONTEXTS.items():
            if _scan.user_matches(text, which) != user_context_spans_python(i, text):
                raise Finding(f"the compiled user-name context {i} and its pattern differ on {text!r}")
        return got, mask

    return one


@target("native_cadose", "cadose's compiled step against its definition, cut and resumed through its state", native=True)
def _native_cadose() -> Callable[[bytes], object]:
    import struct

    import orjson

    from ben_cli.detect.cadose import Cadose

    variants = [{}, {"range": "0:100", "probation": 20}, {"contexts": 16}, {"contexts": 24, "neurons": 15},
                {"bits": 4, "neurons": 0, "contexts": 16}, {"bits": 1, "margin": 0.0, "lag": 0}]

    def one(data: bytes) -> object:
        if len(data) < 2:
            return None
        cfg = Cadose.configure(variants[data[0] % len(variants)])
        # a byte a point (levels a small dictionary meets again), or doubles within +-1e100 (what
        # ben detect scores; past it the range's arithmetic overflows and a saved state holds nulls)
        body = data[2:]
        if data[1] & 1:
            values = [v for (v,) in struct.iter_unpack("<d", body[: len(body) // 8 * 8]) if abs(v) <= 1e100]
        else:
            values = [float(b) for b in body]
        # the definition's step walks every slot, so an input is held to about 16k slot-steps: a
        # few dozen points at the default 480 contexts, hundreds in the small variants (which fill
        # and reuse their slots); under the sanitizers a longer input ran past the 10-s timeout
        values = values[: max(16, 16_384 // cfg.contexts)]
        cut = data[1] >> 1
        native, python = Cadose(cfg), Cadose(cfg)
        python.use_definition()
        got = [native.raw(v) for v in values[:cut]]
        want = [python.raw(v) for v in values[:cut]]
        saved = orjson.loads(orjson.dumps(python.state()))  # both resume from the definition's state
        if orjson.loads(orjson.dumps(native.state())) != saved:
            raise Finding(f"the compiled cadose and its definition hold different states after {values[:cut]!r}")
        native, python = Cadose.restore(cfg, saved), Cadose.restore(cfg, saved)
        python.use_definition()
        got += [native.raw(v) for v in values[cut:]]
        want += [python.raw(v) for v in values[cut:]]
        if got != want:
            raise Finding(f"the compiled cadose and its definition score {values!r} differently: {got} / {want}")
        if orjson.dumps(native.state()) != orjson.dumps(python.state()):
            raise Finding(f"the compiled cadose and its definition end in different states after {values!r}")
        return got

    return one


@target("native_check", "the compiled contract check against the Python validator", native=True, json_prefix=0)
def _native_check() -> Callable[[bytes], object]:
    import orjson

    from ben_cli.contract import fast, load
    from ben_cli.contract.pycode import compile_validator

    root = Path(__file__).resolve().parent.parent / "tests" / "data" / "contracts"
    tables = []
    for path in sorted(root.glob("*.ben")):
        contract = load(path)
        module = compile_validator(contract)
        tables.append((module, fast.specs(contract, module)))

    def one(data: bytes) -> object:
        try:
            rec = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(rec, dict):
            return None
        for module, specs in tables:
            verdicts = fast.both_verdicts(module, specs, rec)
            if verdicts is None:
                continue
            python, compiled = verdicts
            if compiled != python:
                raise Finding(f"C and Python checks differ on {rec!r}: {compiled!r} / {python!r}")
        return rec

    return one


@target("native_rowjson", "the compiled JSONEachRow line against json_line", native=True, json_prefix=1)
def _native_rowjson() -> Callable[[bytes], object]:
    import orjson

    from ben_cli.ndjson import BadRecord
    from ben_cli.sink.rows import LEGACY, MODERN, JsonLines, RowBuilder, json_line

    def as_json(line: bytes) -> dict:
        d = orjson.loads(line)
        if d["extra"]:
            d["extra"] = orjson.loads(d["extra"])
        return d

    def one(data: bytes) -> object:
        try:
            rec = orjson.loads(data[1:])
        except orjson.JSONDecodeError:
            return None
        if not isinstance(rec, dict):
            return None
        flavour = LEGACY if data[:1] == b"L" else MODERN
        try:
            row = RowBuilder(flavour).row(dict(rec))
            ts_ns = row["ts_ns"]  # json_line takes it out of the row
            want: object = (as_json(json_line(flavour, row, "b1", 7)), ts_ns)
        except BadRecord as exc:
            want = exc.reason
        lines = JsonLines(flavour, 7)
        try:
            ts = lines.add_record(RowBuilder(flavour), rec, "b1")
            got: object = (as_json(bytes(lines.body)), ts)
        except BadRecord as exc:
            got = exc.reason
            if lines.body:
                raise Finding(f"a rejected record left bytes behind: {bytes(lines.body)!r}") from None
        if got != want:
            raise Finding(f"C and Python rows differ on {rec!r}: {got!r} / {want!r}")
        return got

    return one


if os.environ.get("BEN_FUZZ_SELFTEST"):  # only for the test that the harness reports a finding

    @target("selftest", "a target that breaks its contract on any input holding '{'")
    def _selftest() -> Callable[[bytes], object]:
        from ben_cli.errors import BenError

        def one(data: bytes) -> object:
            if b"{" in data:
                raise KeyError("not a documented error")
            raise BenError("a documented refusal")

        return one


def contract_errors() -> tuple[type[BaseException], ...]:
    """What a target may raise and still keep its contract."""
    from ben_cli.errors import BenError

    return (BenError,)
