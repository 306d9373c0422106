"""The ingest core: raw lines of one input in a producer's format in, envelopes out.

:class:`Ingester` is what ``ben ingest`` is made of, and what composes with the other stages'
cores in one process (``ben_cli.stage.chain``): its envelopes are exactly the ones the command
writes, ``_ingest`` marks included. The lines go through the one NDJSON reader's line loop
(:meth:`ben_cli.ndjson.Reader.lines_of`), so numbering, CRLF, blank lines, the length limit and
the wording of rejects are the reader's; the core adds only decoding and marking, in one flat
loop that ``run`` feeds straight from an open input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from ben_cli import registry
from ben_cli.ingest.format import DecodeError, DecodeOptions, DecoderMark, Format, Resync
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, OnError, Reader


class Ingester:
    """Decodes the lines of one input (a file, stdin, a client connection) in one format.

    ``feed(lines)`` takes raw lines (bytes, with or without their terminators) in order, as many
    calls as you like, and yields each line's envelopes as it is read, marked
    ``_ingest: {format, file or peer, line}``; ``flush()`` yields what a decoder still holds at
    the end of the input. A line that cannot be decoded goes to ``on_error`` as a
    :class:`~ben_cli.errors.BadRecord` (raised when there is none). ``lineno`` is the number of the
    line before the first one fed (a resumed file). ``reader``: number, count and reject through
    this reader instead of one of the core's own (``run`` keeps one count over every input so);
    its ``on_error`` and limit then apply.
    """

    def __init__(self, format: Format | str, options: DecodeOptions | None = None, *, file: str | None = None,
                 peer: str | None = None, lineno: int = 0, on_error: OnError | None = None,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, reader: Reader | None = None):
        self.format = registry.formats.get(format) if isinstance(format, str) else format
        options = options or DecodeOptions()
        self.decoder = self.format.make_decoder(options)
        self.require_ts = options.require_ts
        self.read_time = 0  # records given the time of reading (marked _ingest.ts: "read")
        self.mark: dict = {"format": self.format.name}
        if file is not None:
            self.mark["file"] = file
        elif peer is not None:
            self.mark["peer"] = peer
        if reader is None:
            reader = Reader([], on_error, max_line_bytes=max_line_bytes)
            reader.file = file or peer or "<stdin>"
            reader.lineno = lineno
        self.reader = reader
        if hasattr(self.decoder, "reader"):  # a decoder that holds lines numbers its records itself
            self.decoder.reader = reader
        self._read_before = reader.read
        # numbers of the last lines the decoder returned None for: the lines it may be holding
        self._quiet: deque[int] = deque(maxlen=1 << 12)

    @property
    def lineno(self) -> int:
        """The number of the last line fed."""
        return self.reader.lineno

    @property
    def read(self) -> int:
        """Non-blank lines fed so far (the ``read`` of the summary)."""
        return self.reader.read - self._read_before

    def prime(self, lines: Iterable[bytes]) -> None:
        """Show the decoder lines that later lines depend on (a CSV header, when resuming or
        decoding a block from the middle of a file), unnumbered and unrejected: the part of the
        input that holds them reports their errors."""
        decode = self.decoder.decode
        for line in lines:
            try:
                decode(line)
            except DecodeError:
                pass  # the decoder remembers it (an unusable header rejects every row)

    def feed(self, lines: Iterable[bytes]) -> Iterator[dict]:
        reader = self.reader
        reject = reader.reject
        decode = self.decoder.decode
        mark = self.mark.copy  # a copy and one key set: half the time of {**mark, "line": n}
        quiet = self._quiet
        for data in reader.lines_of(lines):
            try:
                out = decode(data)
            except Resync as exc:
                yield from self._resync(exc, [*list(quiet)[len(quiet) - len(exc.held) + 1:], reader.lineno])
                continue
            except DecodeError as exc:
                reject(str(exc), data)
                continue
            if out is None:
                quiet.append(reader.lineno)
                continue
            if type(out) is dict:
                where = mark()
                where["line"] = reader.lineno
                # one call sets the mark, or finds a decoder's DecoderMark there (see _read_time)
                if out.setdefault("_ingest", where) is not where and not self._read_time(out, where, data):
                    continue
                yield out
            else:
                for rec in out:
                    where = mark()
                    where["line"] = reader.lineno
                    if rec.setdefault("_ingest", where) is not where and not self._read_time(rec, where, data):
                        continue
                    yield rec

    def _read_time(self, rec: dict, where: dict, data: bytes) -> bool:
        """A record that has the time of reading, not its own: marked and counted, or rejected
        under ``--require-ts`` (False). Any other ``_ingest`` a decoder left is replaced."""
        told = rec.pop("_ingest")
        if type(told) is DecoderMark:
            if "line" in told:  # a record of several lines, held by the decoder until it ended
                where["line"] = told["line"]
            if "ts" in told:
                if self.require_ts:
                    self.reader.reject("no time of its own (--require-ts)", data)
                    return False
                where["ts"] = "read"
                self.read_time += 1
        rec["_ingest"] = where  # last, where the core puts it
        return True

    def _resync(self, exc: Resync, numbers: list[int]) -> Iterator[dict]:
        """Reject the first line the decoder held, under its own number, and decode the others
        again (each may hold lines or resync in turn); the reader's line number is put back after."""
        reader = self.reader
        last = reader.lineno
        try:
            reader.lineno = numbers[0]
            reader.reject(str(exc), exc.held[0])
            for n, data in zip(numbers[1:], exc.held[1:], strict=True):
                reader.lineno = n
                try:
                    out = self.decoder.decode(data)
                except Resync as again:
                    quiet = self._quiet
                    yield from self._resync(again, [*list(quiet)[len(quiet) - len(again.held) + 1:], n])
                    continue
                except DecodeError as bad:
                    reader.reject(str(bad), data)
                    continue
                if out is None:
                    self._quiet.append(n)
                    continue
                for rec in [out] if type(out) is dict else out:
                    where = self.mark.copy()
                    where["line"] = n
                    if rec.setdefault("_ingest", where) is not where and not self._read_time(rec, where, data):
                        continue
                    yield rec
        finally:
            reader.lineno = last

    def flush(self) -> Iterator[dict]:
        tail: list[dict] = []
        while True:  # lines read again after a resync may leave a cell open once more
            try:
                tail = self.decoder.end()
                break
            except Resync as exc:
                quiet = self._quiet
                yield from self._resync(exc, list(quiet)[len(quiet) - len(exc.held):])
            except DecodeError as exc:
                self.reader.reject(str(exc))
                return
        for rec in tail:
            if type(rec.get("_ingest")) is DecoderMark:
                where = dict(self.mark)
                if not self._read_time(rec, where, b""):
                    continue
                rec["_ingest"] = where
            rec.setdefault("_ingest", dict(self.mark))
            yield rec
