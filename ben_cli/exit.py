"""Exit statuses shared by every command, so scripts can tell data errors from usage errors."""

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # bad input with --strict, a failed server, a broken pipe downstream
    USAGE = 2  # click's own status for bad options
    NO_TTY = 3  # a terminal UI with nowhere to draw
    PLUGIN = 7
    INTERRUPTED = 130
