#!/usr/bin/env python3
"""Keep man/ true to the CLI: the SYNOPSIS and OPTIONS of every page are generated from the
real click commands, its EXAMPLES from the examples ``--help`` shows (``commands/examples.toml``),
and ben(1)'s EXIT STATUS from ``ExitStatus`` and what the root says each means; everything else
in a page (DESCRIPTION, ENVIRONMENT ...) is written by hand and left alone.

    python tests/support/manpages.py --write   # regenerate the generated part of every page
    python tests/support/manpages.py --check   # exit 1 and name the pages that drifted (the test suite runs this)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent.parent
MAN = ROOT / "man"
BEGIN = '.\\" BEGIN GENERATED FROM --help: edit the command, then run make man'
END = '.\\" END GENERATED'
EXAMPLES = ('.\\" BEGIN EXAMPLES FROM commands/examples.toml: edit them there, then run make man', '.\\" END EXAMPLES')
STATUSES = ('.\\" BEGIN EXIT STATUS FROM ExitStatus: edit commands/_root.py, then run make man', '.\\" END EXIT STATUS')


def roff_escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines())


def _option_lines(cmd: click.Command, ctx: click.Context) -> list[str]:
    out: list[str] = []
    for param in cmd.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out += [".TP", f"\\fB{roff_escape(names)}\\fR", roff_escape(help_text or "")]
    return out


def _synopsis(cmd: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(cmd, info_name=" ".join(path))
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    return [".B " + roff_escape(" ".join(path)), roff_escape(pieces), ".br"]


def generated_section(cmd: click.Command, path: list[str]) -> str:
    """SYNOPSIS and OPTIONS of a command and, for a group, of each of its subcommands."""
    lines = [BEGIN, ".SH SYNOPSIS"]
    subs: list[tuple[list[str], click.Command]] = []
    if isinstance(cmd, click.Group) and path != ["ben"]:
        ctx = click.Context(cmd, info_name=" ".join(path))
        for name in cmd.list_commands(ctx):
            subs.append((path + [name], cmd.get_command(ctx, name)))  # type: ignore[arg-type]
    for sub_path, sub in subs or [(path, cmd)]:
        lines += _synopsis(sub, sub_path)
    lines.append(".SH OPTIONS")
    for sub_path, sub in subs or [(path, cmd)]:
        if subs:
            lines += [".SS " + roff_escape(" ".join(sub_path))]
            if sub.help:
                lines.append(roff_escape(sub.help.split("\n\n")[0].strip()))
        lines += _option_lines(sub, click.Context(sub, info_name=" ".join(sub_path)))
    if isinstance(cmd, click.Group) and path == ["ben"]:
        lines.append(".SH COMMANDS")
        ctx = click.Context(cmd, info_name="ben")
        for name in cmd.list_commands(ctx):
            listed = cmd.get_command(ctx, name)
            lines += [".TP", f"\\fBben {name}\\fR", roff_escape(listed.get_short_help_str(120) if listed else "")]
    lines.append(END)
    return "\n".join(lines) + "\n"


def examples_section(path: list[str]) -> str:
    from ben_cli.commands._examples import page_examples

    lines = [EXAMPLES[0], ".SH EXAMPLES"]
    for what, command in page_examples(" ".join(path[1:]) or "ben"):
        lines += [".PP", roff_escape(what) + ":", ".RS", ".nf", roff_escape(command), ".fi", ".RE"]
    return "\n".join(lines + [EXAMPLES[1]]) + "\n"


def exit_status_section() -> str:
    from ben_cli.commands._root import EXIT_STATUS_MEANINGS

    from ben_cli.errors import ExitStatus

    lines = [STATUSES[0], ".SH EXIT STATUS"]
    for status in ExitStatus:
        lines += [".TP", f"\\fB{status.value}\\fR", roff_escape(EXIT_STATUS_MEANINGS[status.name])]
    return "\n".join(lines + [STATUSES[1]]) + "\n"


def _put(text: str, markers: tuple[str, str], section: str, heading: str) -> str:
    """Bring a generated section up to date. The first time, it takes the place of the page's
    hand-written section of that name (up to its first ``.fi``, for EXAMPLES; hand-written notes
    after that stay), else goes before SEE ALSO."""
    begin, end = markers
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + section + rest.split(end, 1)[1].lstrip("\n")
    start = text.find(f"\n.SH {heading}\n")
    if start >= 0:
        ends = [i for i in (text.find("\n.SH ", start + 1), text.find('\n.\\" BEGIN ', start + 1)) if i >= 0]
        stop = min(ends, default=len(text))
        closing = text.find("\n.fi\n", start, stop)
        stop = closing + len("\n.fi") if heading == "EXAMPLES" and closing >= 0 else stop
        return text[: start + 1] + section + text[stop:].lstrip("\n")
    see_also = text.find("\n.SH SEE ALSO\n")
    if see_also < 0:
        return text.rstrip("\n") + "\n" + section
    return text[: see_also + 1] + section + text[see_also + 1:]


def pages() -> dict[Path, tuple[click.Command, list[str]]]:
    sys.path.insert(0, str(ROOT))
    from ben_cli.commands._root import build_cli

    root = build_cli(plugins=[])
    ctx = click.Context(root, info_name="ben")
    found: dict[Path, tuple[click.Command, list[str]]] = {MAN / "ben.1": (root, ["ben"])}
    for name in root.list_commands(ctx):
        cmd = root.get_command(ctx, name)
        assert cmd is not None
        found[MAN / f"ben-{name}.1"] = (cmd, ["ben", name])
    return found


def render(page: Path, cmd: click.Command, path: list[str]) -> str:
    """The page's text with its generated parts brought up to date (a new page gets a skeleton)."""
    text = page.read_text() if page.exists() else _skeleton(cmd, path)
    text = _put(text, (BEGIN, END), generated_section(cmd, path), "SYNOPSIS")
    text = _put(text, EXAMPLES, examples_section(path), "EXAMPLES")
    return _put(text, STATUSES, exit_status_section(), "EXIT STATUS") if path == ["ben"] else text


def _skeleton(cmd: click.Command, path: list[str]) -> str:
    title = "-".join(path).upper()
    summary = (cmd.help or "").strip().split("\n")[0].rstrip(".")
    return (
        f'.TH {title} 1 "" "ben" "ben manual"\n.SH NAME\n{"-".join(path)} \\- {roff_escape(summary)}\n'
        + generated_section(cmd, path)
        + ".SH DESCRIPTION\n" + roff_escape((cmd.help or "").strip()) + "\n"
    )


def drift() -> list[str]:
    problems = []
    for page, (cmd, path) in pages().items():
        if not page.exists():
            problems.append(f"{page.relative_to(ROOT)} is missing")
        elif page.read_text() != render(page, cmd, path):
            problems.append(f"{page.relative_to(ROOT)} does not match `{' '.join(path)} --help`")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.write:
        MAN.mkdir(exist_ok=True)
        for page, (cmd, path) in pages().items():
            page.write_text(render(page, cmd, path))
        return 0
    problems = drift()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("run `make man` and review the diff", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
