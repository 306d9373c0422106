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
(an escape spelled differently, a dropped final newline) is reported rather than ignored. Blank
lines carry no record and are skipped, as every reader of ben's skips them.

A stream may go on after its final checkpoint when a later run continues it: ``ben key sign
--stream -o FILE`` appends to FILE by resuming the chain at FILE's last checkpoint (:func:`resume`),
so the next record carries the next sequence number and links to the last hash; it must reach a
new final checkpoint in its turn. A stream that starts over (sequence 0) after an end is still an
insertion, so one input holds one stream, and a replayed or prepended stream is caught.

Both are stage cores working on lines rather than parsed records, because the signature covers
the exact bytes: :class:`StreamSigner` takes records and yields signed lines, one record behind
(its ``flush`` yields the last one, which carries the final checkpoint); :class:`StreamVerifier`
takes lines and yields them again once verified (its ``flush`` checks that the stream ended
where it was signed to end). :func:`sign_stream` and :func:`verify_stream` run them over the
shared NDJSON reader for ``ben key sign --stream`` and ``ben key verify --stream``.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import orjson

from ben_cli.atomic import cut_to_whole_lines, exclusive_lock
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey, VerifyKey, key_id_text
from ben_cli.errors import BadRecord
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Reader, Writer, display_name
from ben_cli.rejects import Rejects, Summary

FIELD = "sig"
DEFAULT_EVERY = 1000
_PERSON = b"ben-chain-v1"
_CHECKPOINT = b"ben-chain-v1 checkpoint\x00"
_START = b"ben-chain-v1 start\x00"
STREAM_ID_BYTES = 16
_SIG_KEYS = {"seq", "prev"}
_CK_KEYS = {"id", "key", "end", "sig"}
# a signed line is its record's line plus the sig field (under 300 bytes): a record that was
# within the reader's limit when signed stays within it when verified
SIGNED_LINE_BYTES = DEFAULT_MAX_LINE_BYTES + 1024
# The verifier holds the records after the last checkpoint until the next one verifies (it never
# releases a record unverified), and refuses to hold more than this many records or bytes: a
# stream with no checkpoint for longer is refused at the line that crosses the limit. The signer
# never lets that happen: --every is at most MAX_EVERY, and it checkpoints early once the lines
# since its last checkpoint reach half of MAX_UNVERIFIED_BYTES, so every stream ben signs verifies.
MAX_EVERY = 100_000
MAX_UNVERIFIED_BYTES = 64 << 20
_SIGNER_SPAN_BYTES = MAX_UNVERIFIED_BYTES // 2


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
    return (b'{"sig":' if body == b"{}" else body[:-1] + b',"sig":') + orjson.dumps(sig) + b"}\n"


class StreamSigner:
    """Adds chain links and checkpoints to records, one record behind (the last one must be known
    as last to carry the final checkpoint)."""

    def __init__(self, key: SigningKey, every: int = DEFAULT_EVERY, stream_id: bytes | None = None,
                 seq: int = 0, head: bytes | None = None):
        if not 1 <= every <= MAX_EVERY:
            raise ValueError(f"checkpoint interval must be from 1 to {MAX_EVERY}")
        self.key, self.every = key, every
        self.stream_id = stream_id or p.random_bytes(STREAM_ID_BYTES)
        self.key_id = key_id_text(key.key_id)
        self.head = start_hash(self.stream_id) if head is None else head  # a resumed stream goes on from its head
        self.seq = seq
        self.checkpoints = 0
        self._span = 0  # bytes of the lines since the last checkpoint
        self._held: bytes | None = None

    def _emit(self, body: bytes, end: bool) -> bytes:
        seq, prev = self.seq, self.head
        self.head = _link(prev, seq, body)
        self.seq = seq + 1
        if not end and (seq + 1) % self.every and self._span < _SIGNER_SPAN_BYTES:
            # a link without a checkpoint, spelled as orjson spells {"seq": seq, "prev": b64}
            # (the verifier compares with that); formatting it here skips a dict and a dumps per record
            tail = b'{"seq":%d,"prev":"%b"}}\n' % (seq, binascii.b2a_base64(prev, newline=False))
            line = (b'{"sig":' if body == b"{}" else body[:-1] + b',"sig":') + tail
            self._span += len(line)
            return line
        signature = self.key.sign(checkpoint_message(self.stream_id, seq, self.head, end))
        self.checkpoints += 1
        self._span = 0
        return _line(body, {"seq": seq, "prev": _b64(prev), "ck": {"id": _b64(self.stream_id), "key": self.key_id,
                                                                  "end": end, "sig": _b64(signature)}})

    def feed(self, records: Iterable[dict]) -> Iterator[bytes]:
        """The signed line of each record before the current one (the current one is held back
        until the next record or :meth:`flush` says whether it is the last)."""
        dumps, emit = orjson.dumps, self._emit
        for record in records:
            if FIELD in record:
                raise p.CryptoError(f"record already has a {FIELD!r} field (signed twice?)")
            held, self._held = self._held, dumps(record)
            if held is not None:
                yield emit(held, False)

    def flush(self) -> Iterator[bytes]:
        """The last record's line, carrying the final checkpoint (nothing if there were no records)."""
        held, self._held = self._held, None
        if held is not None:
            yield self._emit(held, True)


class ChainError(p.CryptoError):
    """The first problem in a signed stream: ``kind`` is altered, missing, reordered, inserted,
    truncated or unverifiable (too long without a checkpoint); ``line`` is the input line where it showed, in ``file`` when one is named."""

    def __init__(self, kind: str, line: int, message: str, file: str | None = None):
        super().__init__(f"{file + ': ' if file else ''}{f'line {line}: ' if line else ''}{kind}: {message}")
        self.kind, self.line, self.file = kind, line, file


@dataclass
class VerifySummary:
    records: int = 0
    checkpoints: int = 0
    complete: bool = False


class Position(Protocol):
    """Where a reader is (an :class:`~ben_cli.ndjson.Reader` is one)."""

    lineno: int


class StreamVerifier:
    """Checks signed lines (each as read, with its newline) and yields them again, a checkpoint's
    worth at a time, as each checkpoint verifies.

    ``file`` names the input in errors; ``source`` tells the input's line number when the lines
    come from a reader that skips blank ones (without it, lines fed are counted). An input with no
    signed record at all is a stream truncated to nothing unless ``allow_empty``. At most
    ``MAX_EVERY`` records or ``MAX_UNVERIFIED_BYTES`` are held awaiting a checkpoint."""

    def __init__(self, key: VerifyKey, *, file: str | None = None, source: Position | None = None,
                 allow_empty: bool = False):
        self.key = key
        self.key_id = key_id_text(key.key_id)
        self.file = file
        self.summary = VerifySummary()
        self.lines = 0
        self.last_line = 0  # the line of the last record checked
        self.expected = 0
        self.head: bytes | None = None
        self.first_prev: bytes | None = None
        self.stream_id: bytes | None = None
        self.pending: list[bytes] = []
        self.pending_from = 0
        self.pending_bytes = 0
        self.allow_empty = allow_empty
        self.ended = False
        self._source = source

    def feed(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        """The lines fed, released as the checkpoints covering them verify; :class:`ChainError`
        at the first problem (lines released before it are authentic)."""
        check, source, n = self._check, self._source, self.lines
        for raw in lines:
            n += 1
            released = check(raw, n if source is None else source.lineno)
            if released:
                self.lines = n
                yield from released
        self.lines = n

    def flush(self) -> Iterator[bytes]:
        """Nothing (unverified lines are never released); raises if the input ended anywhere but
        right after the final checkpoint."""
        if not self.summary.records and not self.allow_empty:
            raise self._error("truncated", 0, "the input holds no signed record: an empty stream is refused, since "
                              "a stream cut to nothing looks the same (give --allow-empty to accept one)")
        if self.summary.records and not self.ended:
            raise self._error("truncated", self.last_line, f"the stream ends after seq {self.expected - 1} without "
                              f"its final checkpoint; {len(self.pending)} unverified record(s) were withheld")
        yield from ()

    def _error(self, kind: str, line: int, message: str) -> ChainError:
        return ChainError(kind, line, message, self.file)

    def _parse(self, raw: bytes, line: int) -> tuple[dict, dict, bytes]:
        if not raw.endswith(b"\n"):
            raise self._error("truncated", line, "the last line has no newline: the stream was cut mid-record")
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise self._error("altered", line, "not valid JSON: the record was altered or cut") from None
        if not isinstance(record, dict) or not isinstance(record.get(FIELD), dict):
            raise self._error("inserted", line, f"record has no {FIELD!r}: it was not part of the signed stream")
        sig = record.pop(FIELD)
        body = orjson.dumps(record)
        if _line(body, sig) != raw:
            raise self._error("altered", line, "record is not byte-for-byte as it was signed")
        return record, sig, body

    def _decode(self, value: object, line: int, what: str, size: int) -> bytes:
        try:
            data = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except (binascii.Error, ValueError):
            data = b""
        if len(data) != size or _b64(data) != value:  # canonical only: spare bits must be zero
            raise self._error("altered", line, f"{what} is not {size} bytes of canonical base64")
        return data

    def _check(self, raw: bytes, line: int) -> list[bytes]:
        """Check one line; return the lines a verified checkpoint released."""
        _, sig, body = self._parse(raw, line)
        if not _SIG_KEYS <= sig.keys() <= _SIG_KEYS | {"ck"}:
            raise self._error("altered", line, f"sig has fields {sorted(sig)}, not seq, prev and an optional ck")
        seq = sig.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise self._error("altered", line, "sig.seq is not an integer")
        if self.ended:
            if seq != self.expected:
                raise self._error("inserted", line, f"record seq {seq} comes after the stream's final checkpoint")
            self.ended = False  # a later run continued the stream (sign --stream -o): it must end again
        if seq != self.expected:
            if seq > self.expected:
                gone = f"seq {self.expected}" if seq == self.expected + 1 else f"seq {self.expected} to {seq - 1}"
                raise self._error("missing", line, f"record {gone} is missing before this record (seq {seq})")
            raise self._error("reordered", line, f"record seq {seq} arrives after seq {self.expected - 1}: "
                              "reordered, duplicated or inserted")
        if self.head is None:
            prev = self.first_prev = self._decode(sig.get("prev"), line, "sig.prev", 32)
        else:
            # compare the text: equal to the canonical base64 of our own hash, or altered
            link = sig.get("prev")
            if not isinstance(link, str) or not p.equal(link.encode(), _b64(self.head).encode()):
                raise self._error("altered", self.last_line, f"record seq {seq - 1} does not hash to the link that "
                                  "the next record carries: it (or that link) was altered")
            prev = self.head
        self.head = _link(prev, seq, body)
        self.expected += 1
        self.last_line = line
        if not self.pending:
            self.pending_from = seq
            self.pending_bytes = 0
        elif len(self.pending) >= MAX_EVERY or self.pending_bytes + len(raw) > MAX_UNVERIFIED_BYTES:
            raise self._error("unverifiable", line, f"no checkpoint after {len(self.pending)} records "
                              f"({self.pending_bytes} bytes, from seq {self.pending_from}): more than the "
                              f"{MAX_EVERY} records or {MAX_UNVERIFIED_BYTES >> 20} MiB held awaiting one, and "
                              "records are never released unverified")
        self.pending.append(raw)
        self.pending_bytes += len(raw)
        self.summary.records += 1
        ck = sig.get("ck")
        if ck is None:
            return []
        return self._checkpoint(ck, seq, line)

    def _checkpoint(self, ck: object, seq: int, line: int) -> list[bytes]:
        if not isinstance(ck, dict) or ck.keys() != _CK_KEYS or not isinstance(ck["end"], bool):
            raise self._error("altered", line, "checkpoint is malformed")
        if ck.get("key") != self.key_id:
            raise self._error("altered", line, f"checkpoint was signed by key {ck.get('key')}, not {self.key_id}")
        stream_id = self._decode(ck.get("id"), line, "checkpoint id", STREAM_ID_BYTES)
        if self.stream_id is None:
            if self.first_prev is None or not p.equal(self.first_prev, start_hash(stream_id)):
                raise self._error("altered", line, "the stream's first link does not belong to this stream id")
            self.stream_id = stream_id
        elif not p.equal(stream_id, self.stream_id):
            raise self._error("inserted", line, "checkpoint belongs to a different stream")
        signature = self._decode(ck.get("sig"), line, "checkpoint signature", 64)
        assert self.head is not None
        try:
            self.key.verify(checkpoint_message(stream_id, seq, self.head, ck["end"]), signature)
        except p.CryptoError:
            raise self._error("altered", line, f"checkpoint signature over records seq {self.pending_from} to {seq} "
                              "does not verify: one of them was altered (or the wrong key was given)") from None
        released, self.pending = self.pending, []
        self.summary.checkpoints += 1
        if ck["end"]:
            self.ended = True
            self.summary.complete = True
        return released


def sign_records(records: Iterable[dict], key: SigningKey, every: int = DEFAULT_EVERY) -> Iterator[bytes]:
    """Signed lines for ``records``: the signer fed, then flushed."""
    signer = StreamSigner(key, every)
    yield from signer.feed(records)
    yield from signer.flush()


def verify_lines(lines: Iterable[bytes], key: VerifyKey, allow_empty: bool = False) -> Iterator[bytes]:
    """The verified lines of one signed stream (each line with its newline): the verifier fed, then flushed."""
    verifier = StreamVerifier(key, allow_empty=allow_empty)
    yield from verifier.feed(lines)
    yield from verifier.flush()


def _unsigned(reader: Reader) -> Iterator[dict]:
    """The reader's records; one that already carries ``sig`` is rejected, not signed again."""
    for line, record in reader.pairs():
        if FIELD in record:
            reader.reject(f"record already has a {FIELD!r} field", line)
        else:
            yield record


def sign_stream(inputs: Sequence[str], writer: Writer, rejects: Rejects, key: SigningKey,
                every: int = DEFAULT_EVERY, signer: StreamSigner | None = None) -> Summary:
    """Sign the NDJSON records of ``inputs`` (``-`` is stdin) as one stream onto ``writer``
    (continuing ``signer``'s stream when given, as :func:`resume` makes one).

    Lines that are not JSON objects, or that already carry ``sig``, go to ``rejects`` and are not
    part of the signed stream."""
    signer = signer or StreamSigner(key, every)
    reader = Reader(inputs, rejects.add)
    write = writer.write_line
    for line in signer.feed(_unsigned(reader)):
        write(line)
    for line in signer.flush():
        write(line)
    return Summary("key sign", read=reader.read, written=writer.count, rejected=rejects.count,
                   extra={"checkpoints": signer.checkpoints})


def sign_into(path: Path | None, inputs: Sequence[str], rejects: Rejects, key: SigningKey,
              every: int = DEFAULT_EVERY) -> Summary:
    """Sign ``inputs`` onto stdout, or onto the end of the file ``path``, continuing the signed
    stream it holds (:func:`resume`), under a lock that keeps two signers apart. Written in large
    blocks of whole lines; after a kill or a full disk the next run cuts what no checkpoint covers."""
    if path is None:
        with Writer() as writer:
            return sign_stream(inputs, writer, rejects, key, every)
    with exclusive_lock(path, "another ben key sign"):
        before = rejects.count
        signer = resume(path, key, every, rejects)
        cut = rejects.count - before
        try:
            with open(path, "ab") as out, Writer(out, line_buffered=False) as writer:
                summary = sign_stream(inputs, writer, rejects, key, every, signer)
        except OSError as exc:  # a full disk: say which file
            if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
            raise
    if cut:
        summary.extra["cut"] = cut
    return summary


def verify_stream(inputs: Sequence[str], writer: Writer, key: VerifyKey,
                  verified: Callable[[str, VerifySummary], None] | None = None, allow_empty: bool = False) -> Summary:
    """Verify each input as one signed stream, writing its lines to ``writer`` as checkpoints
    verify; ``verified`` hears of each input that verified whole. The first problem raises
    :class:`ChainError` naming the input and line (what was written before it is authentic); an
    input with no signed record is one, unless ``allow_empty``."""
    summary = Summary("key verify")
    write = writer.write_line
    for path in inputs or ["-"]:
        reader = Reader([path], max_line_bytes=SIGNED_LINE_BYTES)  # no rejects: any bad line is fatal
        verifier = StreamVerifier(key, file=display_name(path), source=reader, allow_empty=allow_empty)
        for line in verifier.feed(reader.lines(keep_ends=True)):
            write(line)
        for line in verifier.flush():
            write(line)
        summary.read += reader.read
        if verified is not None:
            verified(display_name(path), verifier.summary)
    summary.written = writer.count
    return summary


# -- appending to a signed file ---------------------------------------------------------------------


def resume(path: str | os.PathLike[str], key: SigningKey, every: int, rejects: Rejects) -> StreamSigner:
    """A signer that continues the signed stream in the file ``path`` (a new stream if it is empty
    or missing), after making the file end where it can be continued.

    A run killed mid-write (SIGKILL, a full disk) leaves a partial last line, and records after its
    last checkpoint that no checkpoint covers. The partial line is cut. The uncovered records are
    cut as well and go to ``rejects`` with their text: the signer does not vouch for lines it did
    not sign in this run (anyone could have written them). Then the chain resumes from the last
    checkpoint, which must verify with ``key`` (else :class:`~ben_cli.crypto.primitives.CryptoError`
    and nothing is cut): the next record takes the next sequence number and links to its hash. A
    file that does not end in records ben signed is refused the same way."""
    cut_to_whole_lines(path)
    name = os.fspath(path)
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return StreamSigner(key, every)
    with fh:
        size = os.fstat(fh.fileno()).st_size
        found, tail, start = _last_checkpoint(fh, size, name)
        if found is None:
            if start:
                raise p.CryptoError(f"{name}: no checkpoint in its last {size - start} bytes: not a stream ben "
                                    "signed, or not whole; refusing to append to it")
            signer = StreamSigner(key, every)
        else:
            signer = _resumed(found, key, every, name)
        expected = signer.seq
        for _offset, raw in tail:
            if _sig_of(raw, name)["seq"] != expected:
                raise p.CryptoError(f"{name}: the records after its last checkpoint are not in sequence: refusing "
                                    "to append to it")
            expected += 1
        if tail:
            for _offset, raw in tail:  # the file is one stream from seq 0, a record a line
                seq = _sig_of(raw, name)["seq"]
                rejects.add(BadRecord(seq + 1, f"seq {seq}: signed by a run that ended before a checkpoint covered it; "
                                      "cut from the output", raw.rstrip(b"\n"), name))
            fh.truncate(tail[0][0])
    return signer


def _sig_of(raw: bytes, name: str) -> dict:
    """The ``sig`` of a line ben signed, checked to be as the signer writes it; else a refusal."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        record = None
    sig = record.pop(FIELD, None) if isinstance(record, dict) else None
    if isinstance(sig, dict) and type(sig.get("seq")) is int and _line(orjson.dumps(record), sig) == raw:
        return sig
    raise p.CryptoError(f"{name}: ends with a line that is not a record ben signed: refusing to append to it")


def _last_checkpoint(fh: BinaryIO, size: int, name: str) -> tuple[bytes | None, list[tuple[int, bytes]], int]:
    """The last line of the file carrying a checkpoint (``None`` if none), the lines after it with
    their offsets, and where the search started. Read from the end, no further back than the
    records a verifier may hold awaiting a checkpoint."""
    window = 1 << 20
    while True:
        start = max(0, size - window)
        fh.seek(start)
        block = fh.read(size - start)
        lines, offset = [], start
        if start:
            skip = block.find(b"\n") + 1  # the first line may begin before the window
            offset += skip
            block = block[skip:]
        for raw in block.splitlines(keepends=True):
            lines.append((offset, raw))
            offset += len(raw)
        for i in range(len(lines) - 1, -1, -1):
            raw = lines[i][1]
            if b'"ck":' in raw and "ck" in _sig_of(raw, name):
                return raw, lines[i + 1:], start
        if start == 0 or window > 2 * MAX_UNVERIFIED_BYTES:
            return None, lines, start
        window *= 4


def _resumed(line: bytes, key: SigningKey, every: int, name: str) -> StreamSigner:
    """A signer going on from the checkpoint on ``line``, once it verifies with ``key``."""
    record = orjson.loads(line)
    sig = record.pop(FIELD)
    ck = sig["ck"]
    try:
        stream_id = base64.b64decode(ck["id"], validate=True)
        prev = base64.b64decode(sig["prev"], validate=True)
        signature = base64.b64decode(ck["sig"], validate=True)
        head = _link(prev, sig["seq"], orjson.dumps(record))
        key.public.verify(checkpoint_message(stream_id, sig["seq"], head, ck["end"] is True), signature)
    except (KeyError, TypeError, binascii.Error, ValueError, p.CryptoError):
        raise p.CryptoError(f"{name}: its last checkpoint does not verify with this key: refusing to append "
                            "to it (another key's stream, or altered)") from None
    return StreamSigner(key, every, stream_id, sig["seq"] + 1, head)
