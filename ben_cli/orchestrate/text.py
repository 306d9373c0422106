"""A pipeline as text: the shell's pipe syntax (``ben run -e``) and the pipeline file (TOML).

Both give the same thing, a list of :class:`StageCall`: which command a stage is and the words
or the table of options it was given. Turning those into a stage's options is the command's own
parser's job (in ``commands/``), so that ``ben run`` and the command can never read an option
differently.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ben_cli.errors import UsageError


class PipelineError(UsageError):
    """A pipeline that cannot be read: the message names the stage (or file position) and why."""


@dataclass(frozen=True)
class StageCall:
    """One stage as written: ``use`` (a command's name) with ``argv`` (from pipe text) or ``args``
    (a TOML table of option names to values); ``where`` names it in messages (``stage 2``)."""

    use: str
    where: str
    argv: tuple[str, ...] = ()
    args: Mapping[str, object] = field(default_factory=dict)


def split_pipes(text: str) -> list[str]:
    """``text`` cut at each ``|`` outside quotes and not escaped, as a shell would cut it."""
    parts, current, quote, i = [], [], "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i:i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        elif ch in "'\"":
            quote = ch
        elif ch == "|":
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    if quote:
        raise PipelineError(f"-e: unterminated {quote} quote")
    parts.append("".join(current))
    return parts


def parse_text(text: str) -> list[StageCall]:
    """The stages of ``ingest app.log | scrub | detect --by source,name`` (a leading ``ben`` on a
    stage is allowed, so a shell pipeline can be pasted as it is)."""
    calls = []
    for n, part in enumerate(split_pipes(text), 1):
        try:
            words = shlex.split(part)
        except ValueError as exc:
            raise PipelineError(f"-e: stage {n}: {exc}") from None
        if words[:1] == ["ben"]:
            words = words[1:]
        if not words:
            raise PipelineError(f"-e: stage {n} is empty" if part.strip() else f"-e: stage {n} is empty (two | in a row?)")
        calls.append(StageCall(words[0], f"stage {n} ({words[0]})", argv=tuple(words[1:])))
    return calls


def parse_toml(data: str, name: str = "pipeline") -> list[StageCall]:
    """The ``[[stage]]`` tables of a pipeline file, each ``use = "COMMAND"`` and an optional
    ``args = { option = value }`` table; anything else is an error naming where it is."""
    try:
        doc = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{name}: {exc}") from None
    unknown = sorted(set(doc) - {"stage"})
    if unknown:
        raise PipelineError(f"{name}: unknown top-level key {unknown[0]!r} (a pipeline file holds [[stage]] tables)")
    stages = doc.get("stage")
    if not isinstance(stages, list) or not stages:
        raise PipelineError(f"{name}: no [[stage]] tables")
    calls = []
    for n, table in enumerate(stages, 1):
        where = f"{name}: stage {n}"
        if not isinstance(table, dict):
            raise PipelineError(f"{where}: must be a table ([[stage]])")
        extra = sorted(set(table) - {"use", "args"})
        if extra:
            raise PipelineError(f"{where}: unknown key {extra[0]!r} (a stage has use and args)")
        use, args = table.get("use"), table.get("args", {})
        if not isinstance(use, str) or not use:
            raise PipelineError(f"{where}: needs use = \"COMMAND\" (ingest, scrub, detect, ...)")
        if not isinstance(args, dict):
            raise PipelineError(f"{where}: args must be a table, args = {{ by = \"source,name\" }}")
        calls.append(StageCall(use, f"{where} ({use})", args=args))
    return calls


def parse_shard(text: str) -> tuple[int, int]:
    """``--shard 1/3`` as (1, 3): the share I of N this run keeps, 0 <= I < N."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise PipelineError(f"--shard {text!r}: I/N, two whole numbers (1/3)") from None
    if not sep or n < 1 or not 0 <= i < n:
        raise PipelineError(f"--shard {text!r}: I/N with 0 <= I < N (0/3, 1/3, 2/3)")
    return i, n
