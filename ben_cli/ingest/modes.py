"""``ben ingest`` as one call: the inputs, a mode, an output; the counts come back.

:func:`run` checks that the options make sense together (a :class:`~ben_cli.errors.UsageError`
when not), opens ``--output`` when records go to a file, and hands over to the mode: the inputs
read once (``files.py``; a half line a killed run left at the end of ``--output`` is cut first), only what is new or followed across rotation (``follow.py``), or a
listening socket (``listen.py``). The summary's counts are the library's: lines read, records
written (to wherever they went), lines rejected.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

from ben_cli.atomic import cut_to_whole_lines
from ben_cli.errors import UsageError
from ben_cli.ingest.files import read_files
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Writer, stdin_file
from ben_cli.rejects import Rejects


def run(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: IngestOptions) -> IngestSummary:
    """Decode ``inputs`` (stdin when empty) into envelopes written to ``writer``, or to
    ``options.output``; bad lines go to ``rejects``."""
    if options.source is not None:  # a NATS JetStream consumer: its own mode, its own checks
        from ben_cli.ingest.nats import consume

        return consume(inputs, writer, rejects, options)
    modes = [flag for flag, on in (("--follow", options.follow), ("--since-last", options.since_last),
                                   ("--listen", options.listen)) if on]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined")
    if options.max_line_bytes < 1:
        raise UsageError("--max-line-bytes must be at least 1 byte")
    if options.ack and not (options.follow or options.since_last):
        raise UsageError("--ack needs --since-last or --follow (it ties their offsets to a sink's)")
    try:
        return _run(inputs, writer, rejects, options, modes)
    except OSError as exc:  # a full disk under -o: say which file
        if options.output is not None and exc.filename is None and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise OSError(exc.errno, exc.strerror, str(options.output)) from exc
        raise


def _run(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: IngestOptions,
         modes: list[str]) -> IngestSummary:
    summary = IngestSummary()
    if options.follow or options.since_last:
        if list(inputs) in ([], ["-"]) and (named := stdin_file()) is not None:
            inputs = [named]  # stdin redirected from a file: continued like the file named
        if not inputs or "-" in inputs:
            raise UsageError(f"{modes[0]} needs named files to read (or stdin redirected from a file, not a pipe)")
        from ben_cli.ingest import follow

        writer = follow.read_new(inputs, writer, rejects, options, summary)
    elif options.output is not None:
        with open(options.output, "ab") as out:
            cut_to_whole_lines(options.output)
            writer = _wrapped(Writer(out, line_buffered=False), options)
            _once(inputs, writer, rejects, options, summary)
    else:
        writer = _wrapped(writer, options)
        _once(inputs, writer, rejects, options, summary)
    summary.written, summary.rejected = writer.count, rejects.count
    return summary


def _wrapped(writer: Writer, options: IngestOptions) -> Writer:
    return writer if options.wrap_writer is None else options.wrap_writer(writer)


def _once(inputs: Sequence[str], writer: Writer, rejects: Rejects, options: IngestOptions,
          summary: IngestSummary) -> None:
    """Read the inputs to their ends, or serve a socket until told to stop."""
    if options.listen is not None:
        from ben_cli.ingest import listen

        listen.serve(writer, rejects, options, summary)
    else:
        read_files(inputs, writer, rejects, options, summary)
    writer.flush()
