"""The door of the OTLP service: one export request in, its records written out, the answer back.

Both transports (``otlp_grpc.py``, ``otlp_http.py``) hand every request to one :class:`Door`,
which keeps the protocol's promises the same way for both:

- **written before acknowledged**: a request's records are written and flushed to the output
  before :meth:`Door.take` returns, so a producer that got an answer has its data downstream, and
  one that did not retries without loss;
- **whole or refused**: a request is decoded completely first; then it waits for the output
  (requests are written one at a time, each one's records together). When the output has not taken
  it within ``retry_after`` (the consumer is not keeping up) nothing of it is written and
  :class:`Backpressure` tells the transport to refuse it as retryable (gRPC ``RESOURCE_EXHAUSTED``
  with ``RetryInfo``, HTTP 503 with ``Retry-After``);
- **partial success**: a log record, metric or span the mapping cannot read, or one the
  ``check`` hook refuses, goes to ``--rejects`` and is counted in the answer's
  ``partial_success`` with the first reason; the rest of the request is written;
- **a bad request** (not protobuf, not JSON, not OTLP) is refused whole as invalid
  (:class:`BadRequest`: not retryable) and goes to ``--rejects``.

``check`` is the seam for validation at the door (a telemetry contract, a policy): a function of
one envelope returning a reason to refuse it, or None. It runs on each record after decoding and
before anything is written, so a refused record is never acknowledged as accepted.
"""

from __future__ import annotations

import hmac
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from ben_cli.errors import BadRecord, BenError, UsageError
from ben_cli.ingest.format import DecodeError, DecodeOptions, DecoderMark
from ben_cli.ingest.otlp import OtlpDecoder
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

Check = Callable[[dict], "str | None"]


class Backpressure(Exception):
    """The output did not take the request in time: refuse it, retryable after ``retry_after`` s."""


class BadRequest(Exception):
    """The request cannot be read at all: refuse it, not retryable."""


class Unauthenticated(Exception):
    """No bearer token, or the wrong one."""


@dataclass
class Outcome:
    """What the answer says: records accepted, items rejected and why (the first reason)."""

    accepted: int
    rejected: int
    message: str = ""


_METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary")


def _weight(item: object) -> int:
    """How many the answer counts for a rejected item: a metric counts its data points (the
    protocol's ``rejected_data_points``), a log record, a span or an envelope counts one."""
    if isinstance(item, dict):
        for kind in _METRIC_KINDS:
            body = item.get(kind)
            points = body.get("dataPoints", body.get("data_points")) if isinstance(body, dict) else None
            if isinstance(points, list):
                return max(1, len(points))
    return 1


def _raw(item: object) -> bytes:
    """A rejected item as JSON text for ``--rejects`` (one nested past what JSON writers go to is
    said so, not written)."""
    try:
        return orjson.dumps(item, default=str)
    except TypeError:
        return b'"(nested too deeply to be written back)"'


def read_token(path: Path | None) -> bytes | None:
    """The bearer token from its file (the first line; a token is never given on the command line,
    where ``ps`` shows it)."""
    if path is None:
        return None
    try:
        token = path.read_bytes().strip().split(b"\n", 1)[0].strip()
    except OSError as exc:
        raise UsageError(f"--token-file {path}: {exc.strerror}") from None
    if not token:
        raise UsageError(f"--token-file {path}: the file is empty")
    return token


class Door:
    def __init__(self, writer: Writer, rejects: Rejects, summary: IngestSummary, decode: DecodeOptions, *,
                 retry_after: float = 1.0, token: bytes | None = None, check: Check | None = None):
        self.writer, self.rejects, self.summary = writer, rejects, summary
        self.decoder = OtlpDecoder(decode)
        self.require_ts = decode.require_ts
        self.retry_after = retry_after
        self.expected = None if token is None else b"Bearer " + token
        self.check = check
        self.output = threading.Lock()  # one request's records at a time, together
        self.bookkeeping = threading.Lock()  # rejects and counts (a bad request waits for no output)
        self.numbers = itertools.count(1)
        self.refused = 0  # requests refused under backpressure
        self.failure: BaseException | None = None  # a fatal error (--strict, a broken output): the service stops
        self.on_failure: Callable[[], None] = lambda: None

    # -- authentication --------------------------------------------------------------------

    def authenticate(self, header: str | bytes | None) -> None:
        """Raise :class:`Unauthenticated` unless ``header`` is ``Bearer TOKEN`` (when a token is set)."""
        if self.expected is None:
            return
        given = header.encode("latin-1", "replace") if isinstance(header, str) else (header or b"")
        if not hmac.compare_digest(given, self.expected):
            raise Unauthenticated("a bearer token is required (Authorization: Bearer TOKEN)")

    # -- a request -------------------------------------------------------------------------

    def take(self, request: object, peer: str, raw: bytes) -> Outcome:
        """Decode ``request`` (parsed JSON, or protobuf put in its shape), write its records, answer.

        ``raw`` is the request as received, kept for ``--rejects`` when it is refused whole."""
        number = next(self.numbers)
        bad: list[tuple[str, object]] = []
        try:
            records = self.decoder.request(request, lambda reason, item: bad.append((reason, item)))
        except DecodeError as exc:
            self._reject_whole(str(exc), raw, peer, number)
            raise BadRequest(str(exc)) from None
        kept = []
        mark = {"format": "otlp", "peer": peer, "request": number}
        read_time = 0
        for rec in records:
            told = rec.pop("_ingest", None)
            if type(told) is DecoderMark:
                if self.require_ts:
                    bad.append(("no time of its own (--require-ts)", rec))
                    continue
                rec["_ingest"] = {**mark, "ts": "read"}
                read_time += 1
            else:
                rec["_ingest"] = mark
            if self.check is not None:
                reason = self.check(rec)
                if reason is not None:
                    bad.append((reason, rec))
                    continue
            kept.append(rec)
        self._write(kept, bad, peer, number, read_time)
        message = ""
        if bad:
            message = f"{len(bad)} rejected; the first: {bad[0][0]}"
        return Outcome(len(kept), sum(_weight(item) for _, item in bad), message)

    def _write(self, kept: list[dict], bad: list[tuple[str, object]], peer: str, number: int, read_time: int) -> None:
        if not self.output.acquire(timeout=self.retry_after):
            with self.bookkeeping:
                self.refused += 1
            raise Backpressure("the output is not keeping up; retry later")
        try:
            if self.failure is not None:
                raise Backpressure("the service is stopping")
            write = self.writer.write
            try:
                for rec in kept:
                    write(rec)
                self.writer.flush()
            except OSError as exc:  # the output is gone (a closed pipe, a full disk): stop serving
                self._fail(exc)
                raise Backpressure(f"the output failed: {exc.strerror or exc}") from None
            with self.bookkeeping:
                for reason, item in bad:
                    self._reject(reason, _raw(item), peer, number)
                self.summary.add("otlp", len(kept) + len(bad), len(kept), len(bad))
                self.summary.read_time += read_time
        finally:
            self.output.release()

    def refuse(self, reason: str, raw: bytes, peer: str) -> None:
        """A request that could not even be parsed: to ``--rejects``, counted as one read and rejected."""
        self._reject_whole(reason, raw, peer, next(self.numbers))

    def _reject_whole(self, reason: str, raw: bytes, peer: str, number: int) -> None:
        with self.bookkeeping:
            self._reject(reason, raw, peer, number)
            self.summary.add("otlp", 1, 0, 1)

    def _reject(self, reason: str, raw: bytes, peer: str, number: int) -> None:
        try:
            self.rejects.add(BadRecord(number, reason, raw, f"{peer} request"))
        except BenError as exc:  # --strict: the first bad record ends the service
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            self.on_failure()
