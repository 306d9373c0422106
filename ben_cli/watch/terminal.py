"""Getting a keyboard back when the data comes down a pipe.

Textual reads keys from stdin and draws on stderr. In ``producer | ben watch`` stdin is the data,
so the data is moved to a new descriptor and the terminal itself (``/dev/tty``) is opened as
descriptor 0, as ``less`` and ``fzf`` do. Without a terminal (cron, a CI job) the dashboard has
nowhere to draw: that is :class:`NoTerminal`, exit status 3, and ``--once`` or ``--snapshot`` are
the ways to watch there.
"""

from __future__ import annotations

import os

from ben_cli.errors import BenError, ExitStatus


class NoTerminal(BenError):
    """A dashboard with no terminal to draw on or read keys from."""

    status = ExitStatus.NO_TTY


def need_terminal(draw_fd: int = 2) -> None:
    """Refuse early, with a hint, when the descriptor textual draws on is not a terminal."""
    if not os.isatty(draw_fd):
        raise NoTerminal("stderr is not a terminal, so the dashboard has nowhere to draw "
                         "(use --once for a text summary or --snapshot FILE.svg for a picture)")


def reclaim_keyboard(keep_data: bool) -> int | None:
    """Make descriptor 0 the terminal. When stdin is not one, its descriptor is first duplicated
    and returned if ``keep_data`` (it carries the records); None when stdin already was the
    terminal (or its data is not wanted)."""
    return _reclaim(0, keep_data)


def reclaim_size(keep_data: bool) -> int | None:
    """Make descriptor 1 the terminal too, when stdout is a pipe or a file: textual asks stdout
    for the terminal's size, and without this a dashboard whose stdout goes elsewhere
    (``--tee > file``) is drawn 80 columns wide whatever the window. The records ``--tee`` passes
    on go to the returned duplicate of the old stdout (with ``keep_data``)."""
    return _reclaim(1, keep_data)


def _reclaim(fd: int, keep_data: bool) -> int | None:
    if os.isatty(fd):
        return None
    data = os.dup(fd) if keep_data else None
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError as exc:
        if data is not None:
            os.close(data)
        raise NoTerminal(f"no terminal to read keys from (/dev/tty: {exc.strerror}); "
                         "use --once or --snapshot FILE.svg") from None
    os.dup2(tty, fd)
    os.close(tty)
    return data
