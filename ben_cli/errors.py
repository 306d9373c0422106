"""The one error contract: every error the library raises for a user to read is a :class:`BenError`.

An error carries the exit status it deserves, so a command never decides it: ``ben``'s root
catches :class:`BenError` once and prints ``ben COMMAND: message`` on one line, then exits with
``error.status``. Scripts tell a data or runtime failure (1) from a usage mistake (2) without
parsing messages. Standard library only: this is on the start-up path of every command.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What a ``ben`` process's exit status means, the same in every command."""

    OK = 0
    ERROR = 1  # bad input with --strict, a failed server, a broken pipe downstream, a busy lock
    USAGE = 2  # a bad option or argument (click's own status for those)
    NO_TTY = 3  # a terminal UI with nowhere to draw
    PLUGIN = 7
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class BenError(Exception):
    """An error whose message is meant for the person running ben; ``status`` is its exit status."""

    status: ExitStatus = ExitStatus.ERROR


class UsageError(BenError):
    """An option or argument the library cannot work with (a bad URL, an unknown detector)."""

    status = ExitStatus.USAGE


class Busy(BenError):
    """Another process holds the lock on state this run needs (a spool, an offsets or state file).

    Exit status 1: nothing is wrong with the command; rerun it when the other run is done."""


class StateError(BenError):
    """A state file that exists but cannot be used (unreadable, from another configuration)."""


class BadRecord(BenError, ValueError):
    """A line that could not be read; carries where it was and why.

    Usually it goes to ``--rejects``; with ``--strict`` (or where no rejects are kept) it is raised,
    and then it is fatal with status 1."""

    def __init__(self, lineno: int, reason: str, raw: bytes = b"", file: str = "-", *, size: int | None = None):
        where = f"{file}:{lineno}" if file not in ("-", "<stdin>") else f"line {lineno}"
        super().__init__(f"{where}: {reason}")
        self.lineno = lineno
        self.reason = reason
        self.raw = raw
        self.file = file
        self.size = len(raw) if size is None else size  # the whole line's length: raw may be its start
