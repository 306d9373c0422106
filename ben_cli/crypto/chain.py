"""Tamper-evident NDJSON streams: a hash chain over the records, signed at checkpoints.

The signer adds ``sig`` to every record::

    {"ts": ..., "name": ..., "sig": {"seq": 7, "prev": "<base64 of h6>"}}

where ``h(n) = BLAKE2b-256(h(n-1) || n || record n as serialised without sig)`` and ``h(-1)`` is
derived from a random 16-byte stream id. Every ``every`` records, and on the last record, the
``sig`` also carries a checkpoint, an Ed25519 signature over (stream id, n, h(n), end flag)::

    "sig": {"seq": 999, "prev": "...", "ck": {"id": "<stream id>", "key": "<key id>", "end": false, "sig": "..."}}

A hash per record keeps signing cheap (one signature per ``every`` records), the ``prev`` link
lets the verifier name the first record that no longer fits, the sequence numbers name missing
and reordered records, and the signed end flag tells a complete stream from a truncated one.

The verifier releases records only once a checkpoint covering them has verified, so what comes
out of it is authenticated; it stops at the first problem with a :class:`ChainError` that says
what happened and where. It also requires each line to be byte-for-byte the serialisation the
signer wrote (and to end with a newline), so even a change that leaves the parsed values equal
(an escape spelled differently, a dropped final newline) is reported rather than ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey, VerifyKey, key_id_text
from ben_cli.ndjson import BadRecord, display_name, open_input, parse_object
from ben_cli.rejects import Rejects, Summary

FIELD = "sig"
DEFAULT_EVERY = 1000
_PERSON = b"ben-chain-v1"
_CHECKPOINT = b"ben-chain-v1 checkpoint\x00"
_START = b"ben-chain-v1 start\x00"
STREAM_ID_BYTES = 16
_SIG_KEYS = {"seq", "prev"}
_CK_KEYS = {"id", "key", "end", "sig"}


def _link(prev: bytes, seq: int, body: bytes) -> bytes:
    return hashlib.blake2b(prev + seq.to_bytes(8, "big") + body, digest_size=32, person=_PERSON).digest()


def start_hash(stream_id: bytes) -> bytes:
    return hashlib.blake2b(_START + stream_id, digest_size=32, person=_PERSON).digest()


def checkpoint_message(stream_id: bytes, seq: int, head: bytes, end: bool) -> bytes:
    return _CHECKPOINT + stream_id + seq.to_bytes(8, "big") + head + (b"\x01" if end else b"\x00")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _line(body: bytes, sig: dict) -> bytes:
    """The record's serialisation with ``sig`` appended as its last key (body is ``{...}``)."""
    tail = orjson.dumps(sig)
    return (b'{"sig":' if body == b"{}" else body[:-1] + b',"sig":') + tail + b"}\n"


class StreamSigner:
    """Adds chain links and checkpoints to records, one record behind (the last one must be known
    as last to carry the final checkpoint)."""

    def __init__(self, key: SigningKey, every: int = DEFAULT_EVERY, stream_id: bytes | None = None):
        if every < 1:
            raise ValueError("checkpoint interval must be at least 1")
        self.key, self.every = key, every
        self.stream_id = stream_id or p.random_bytes(STREAM_ID_BYTES)
        self.key_id = key_id_text(key.key_id)
        self.head = start_hash(self.stream_id)
        self.seq = 0
        self.checkpoints = 0
        self._held: bytes | None = None

    def _emit(self, body: bytes, end: bool) -> bytes:
        seq, prev = self.seq, self.head
        self.head = _link(prev, seq, body)
        self.seq += 1
        sig: dict = {"seq": seq, "prev": _b64(prev)}
        if end or (seq + 1) % self.every == 0:
            signature = self.key.sign(checkpoint_message(self.stream_id, seq, self.head, end))
            sig["ck"] = {"id": _b64(self.stream_id), "key": self.key_id, "end": end, "sig": _b64(signature)}
            self.checkpoints += 1
        return _line(body, sig)

    def add(self, record: dict) -> bytes | None:
        """Take one record; return the previous one's signed line (None for the first)."""
        if FIELD in record:
            raise ValueError(f"record already has a {FIELD!r} field (signed twice?)")
        body = orjson.dumps(record)
        held, self._held = self._held, body
        return None if held is None else self._emit(held, end=False)

    def finish(self) -> bytes | None:
        """The last record's line, carrying the final checkpoint (None if there were no records)."""
        held, self._held = self._held, None
        return None if held is None else self._emit(held, end=True)


class ChainError(p.CryptoError):
    """The first problem in a signed stream: ``kind`` is altered, missing, reordered, inserted or
    truncated; ``line`` is the input line where it showed."""

    def __init__(self, kind: str, line: int, message: str):
        super().__init__(f"line {line}: {kind}: {message}")
        self.kind, self.line = kind, line


@dataclass
class VerifySummary:
    records: int = 0
    checkpoints: int = 0
    complete: bool = False


class StreamVerifier:
    """Checks signed lines and yields them, in batches, as each checkpoint verifies."""

    def __init__(self, key: VerifyKey):
        self.key = key
        self.key_id = key_id_text(key.key_id)
        self.summary = VerifySummary()
        self.lines = 0
        self.expected = 0
        self.head: bytes | None = None
        self.first_prev: bytes | None = None
        self.stream_id: bytes | None = None
        self.pending: list[bytes] = []
        self.pending_from = 0
        self.ended = False

    def _parse(self, raw: bytes, line: int) -> tuple[dict, dict, bytes]:
        if not raw.endswith(b"\n"):
            raise ChainError("truncated", line, "the last line has no newline: the stream was cut mid-record")
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ChainError("altered", line, "not valid JSON: the record was altered or cut") from None
        if not isinstance(record, dict) or not isinstance(record.get(FIELD), dict):
            raise ChainError("inserted", line, f"record has no {FIELD!r}: it was not part of the signed stream")
        sig = record.pop(FIELD)
        body = orjson.dumps(record)
        if _line(body, sig) != raw:
            raise ChainError("altered", line, "record is not byte-for-byte as it was signed")
        return record, sig, body

    def _decode(self, value: object, line: int, what: str, size: int) -> bytes:
        try:
            data = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except (binascii.Error, ValueError):
            data = b""
        if len(data) != size or _b64(data) != value:  # canonical only: spare bits must be zero
            raise ChainError("altered", line, f"{what} is not {size} bytes of canonical base64")
        return data

    def feed(self, raw: bytes, line: int) -> list[bytes]:
        """Check one raw line (with its newline); return the lines a verified checkpoint released."""
        _, sig, body = self._parse(raw, line)
        if not _SIG_KEYS <= sig.keys() <= _SIG_KEYS | {"ck"}:
            raise ChainError("altered", line, f"sig has fields {sorted(sig)}, not seq, prev and an optional ck")
        seq = sig.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ChainError("altered", line, "sig.seq is not an integer")
        if self.ended:
            raise ChainError("inserted", line, f"record seq {seq} comes after the stream's final checkpoint")
        if seq != self.expected:
            if seq > self.expected:
                gone = f"seq {self.expected}" if seq == self.expected + 1 else f"seq {self.expected} to {seq - 1}"
                raise ChainError("missing", line, f"record {gone} is missing before this record (seq {seq})")
            raise ChainError("reordered", line, f"record seq {seq} arrives after seq {self.expected - 1}: "
                             "reordered, duplicated or inserted")
        if self.head is None:
            prev = self.first_prev = self._decode(sig.get("prev"), line, "sig.prev", 32)
        else:
            # compare the text: equal to the canonical base64 of our own hash, or altered
            link = sig.get("prev")
            if not isinstance(link, str) or not p.equal(link.encode(), _b64(self.head).encode()):
                raise ChainError("altered", line - 1, f"record seq {seq - 1} does not hash to the link that "
                                 "the next record carries: it (or that link) was altered")
            prev = self.head
        self.head = _link(prev, seq, body)
        self.expected += 1
        if not self.pending:
            self.pending_from = seq
        self.pending.append(raw)
        self.summary.records += 1
        ck = sig.get("ck")
        if ck is None:
            return []
        return self._checkpoint(ck, seq, line)

    def _checkpoint(self, ck: object, seq: int, line: int) -> list[bytes]:
        if not isinstance(ck, dict) or ck.keys() != _CK_KEYS or not isinstance(ck["end"], bool):
            raise ChainError("altered", line, "checkpoint is malformed")
        if ck.get("key") != self.key_id:
            raise ChainError("altered", line, f"checkpoint was signed by key {ck.get('key')}, not {self.key_id}")
        stream_id = self._decode(ck.get("id"), line, "checkpoint id", STREAM_ID_BYTES)
        if self.stream_id is None:
            if self.first_prev is None or not p.equal(self.first_prev, start_hash(stream_id)):
                raise ChainError("altered", line, "the stream's first link does not belong to this stream id")
            self.stream_id = stream_id
        elif not p.equal(stream_id, self.stream_id):
            raise ChainError("inserted", line, "checkpoint belongs to a different stream")
        signature = self._decode(ck.get("sig"), line, "checkpoint signature", 64)
        assert self.head is not None
        try:
            self.key.verify(checkpoint_message(stream_id, seq, self.head, ck["end"]), signature)
        except p.CryptoError:
            raise ChainError("altered", line, f"checkpoint signature over records seq {self.pending_from} to {seq} "
                             "does not verify: one of them was altered (or the wrong key was given)") from None
        released, self.pending = self.pending, []
        self.summary.checkpoints += 1
        if ck["end"]:
            self.ended = True
            self.summary.complete = True
        return released

    def finish(self, line: int) -> None:
        """Raise if the input ended anywhere but right after a final checkpoint."""
        if self.summary.records == 0 and not self.pending:
            return
        if not self.ended:
            held = len(self.pending)
            raise ChainError("truncated", line, f"the stream ends after seq {self.expected - 1} without its final "
                             f"checkpoint; {held} unverified record(s) were withheld")


def sign_records(records: Iterable[dict], key: SigningKey, every: int = DEFAULT_EVERY) -> Iterator[bytes]:
    """Signed lines for ``records`` (a convenience over :class:`StreamSigner`)."""
    signer = StreamSigner(key, every)
    for record in records:
        out = signer.add(record)
        if out is not None:
            yield out
    last = signer.finish()
    if last is not None:
        yield last


def verify_lines(stream: BinaryIO, key: VerifyKey, verifier: StreamVerifier | None = None) -> Iterator[bytes]:
    """Verified lines from a signed NDJSON stream, released checkpoint by checkpoint; raises
    :class:`ChainError` at the first problem (lines released before it are authentic).
    One input holds one stream: records after its final checkpoint are refused as inserted."""
    verifier = verifier or StreamVerifier(key)
    for raw in stream:
        verifier.lines += 1
        released = verifier.feed(raw, verifier.lines)
        if released:
            yield from released
    verifier.finish(verifier.lines)


def sign_stream(paths: Iterable[str], sink: BinaryIO, key: SigningKey, rejects: Rejects,
                every: int = DEFAULT_EVERY) -> Summary:
    """Sign the NDJSON records of ``paths`` (``-`` is stdin) as one stream into ``sink``.

    Lines that are not JSON objects, or that already carry ``sig``, go to ``rejects`` and are not
    part of the signed stream.
    """
    signer = StreamSigner(key, every)
    summary = Summary("key sign")
    for path in paths:
        name = display_name(path)
        stream = open_input(path)
        try:
            for lineno, raw in enumerate(stream, 1):
                data = raw.rstrip(b"\r\n")
                if not data.strip():
                    continue
                summary.read += 1
                try:
                    record = parse_object(data, lineno, name)
                    if FIELD in record:
                        raise BadRecord(lineno, f"record already has a {FIELD!r} field", data, name)
                except BadRecord as bad:
                    summary.rejected += 1
                    rejects.add(bad)
                    continue
                out = signer.add(record)
                if out is not None:
                    sink.write(out)
                    summary.written += 1
        finally:
            if path != "-":
                stream.close()
    last = signer.finish()
    if last is not None:
        sink.write(last)
        summary.written += 1
    summary.extra["checkpoints"] = signer.checkpoints
    return summary
