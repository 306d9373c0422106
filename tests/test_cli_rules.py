"""The rules every command keeps, checked over all of them at once: thin modules, one meaning per
short flag, one summary shape with one way of counting, and help that ends with true examples."""

import re
import shlex
from pathlib import Path

import click
import pytest
from ben_cli.commands._examples import all_examples, examples
from ben_cli.commands._root import build_cli

from .conftest import run_ben

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 150

# The one meaning of each short flag, in every command that has it.
SHORT_FLAGS = {
    "-f": "--format", "-p": "--param", "-t": "--trusted-comment", "-k": "--key", "-o": "--output",
    "-q": "--quiet", "-h": "--help", "-d": "--detector", "-j": "--jobs", "-F": "--follow",
    "-r": "--to", "-a": "--armor", "-x": "--sig", "-P": "--pub", "-e": "--expression",
}
BOX_DRAWING = re.compile("[\u2500-\u257f]")
SUMMARY = re.compile(r"^ben (?P<cmd>[a-z]+): read (?P<read>\d+), wrote (?P<wrote>\d+), rejected (?P<rejected>\d+)(, [^,]+)*$")


def every_command() -> list[tuple[str, click.Command]]:
    """(path without ``ben``, command) for the root, every command and every subcommand."""
    root = build_cli(plugins=[])
    ctx = click.Context(root, info_name="ben")
    found: list[tuple[str, click.Command]] = [("", root)]
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", command.get_command(ctx, sub)) for sub in command.list_commands(ctx)]
    return found


COMMANDS = every_command()


@pytest.mark.parametrize("module", sorted((ROOT / "commands").glob("*.py")), ids=lambda p: p.name)
def test_command_modules_are_thin(module):
    """A command is flags in, one library call, a summary out: the logic lives in ben_cli/."""
    lines = len(module.read_text().splitlines())
    assert lines < MAX_LINES, f"commands/{module.name} has {lines} lines; move logic into the library"


def test_a_short_flag_means_one_long_option_everywhere():
    wrong = []
    for path, command in COMMANDS:
        ctx = click.Context(command, info_name=f"ben {path}".strip())
        for param in command.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            names = param.opts + param.secondary_opts
            longs = [n for n in names if n.startswith("--")]
            for short in (n for n in names if not n.startswith("--")):
                if SHORT_FLAGS.get(short) not in longs:
                    wrong.append(f"ben {path} {short} is {'/'.join(longs)}; {short} means {SHORT_FLAGS.get(short, 'nothing yet')}")
    assert not wrong, "\n".join(wrong)


# Two records, a blank line and a line that is not JSON: three lines read, one rejected.
LINES = (b'{"ts":"2026-11-25T10:00:00Z","source":"a","name":"m","value":1}\n\nnot json\n'
         b'{"ts":"2026-11-25T10:00:01Z","source":"a","name":"m","value":2}\n')
PIPELINE = {
    "ingest": (["--format", "ndjson"], True),
    "scrub": ([], True),
    "detect": ([], True),
    "narrate": ([], False),  # a report, not the records
    "sink": (["--to", "-"], True),
}


@pytest.mark.parametrize("name", PIPELINE)
def test_every_summary_has_one_shape_and_counts_lines_alike(name):
    args, passes_through = PIPELINE[name]
    proc = run_ben(name, *args, input=LINES)
    assert proc.returncode == 0, proc.stderr
    summaries = [line for line in proc.stderr.decode().splitlines() if SUMMARY.match(line)]
    assert len(summaries) == 1, proc.stderr
    counts = SUMMARY.match(summaries[0])
    assert counts["cmd"] == name, summaries[0]
    read, wrote, rejected = int(counts["read"]), int(counts["wrote"]), int(counts["rejected"])
    assert (read, rejected) == (3, 1), f"read counts the non-blank lines: {summaries[0]}"
    if passes_through:
        assert read == wrote + rejected, summaries[0]
        assert wrote == proc.stdout.count(b"\n")


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: p or "ben")
def test_help_ends_with_examples_and_is_plain_text_outside_a_terminal(path):
    proc = run_ben(*path.split(), "--help", env={"NO_COLOR": "", "TERM": "xterm-256color"})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    assert "\x1b" not in text and not BOX_DRAWING.search(text), text
    shown = examples(path or "ben")
    assert shown, f"ben {path} has no examples in commands/examples.toml"
    tail = text[text.rindex("Examples:"):]
    positions = [tail.find(line) for _, line in shown]
    assert -1 not in positions and positions == sorted(positions), tail
    assert text.rstrip().endswith(shown[-1][1]), "the examples end the help"


def test_every_command_has_a_few_examples_and_every_example_a_command():
    assert set(all_examples()) - {"ben"} <= {p for p, _ in COMMANDS}, "examples of a command that does not exist"
    for path, command in COMMANDS:
        if isinstance(command, click.Group) and path:  # the first example of each subcommand
            assert len(examples(path)) == len(command.commands), path
        else:
            assert 2 <= len(examples(path or "ben")) <= 4 or " " in path and len(examples(path)) >= 1, path


def _ben_invocations(line: str) -> list[list[str]]:
    """The ``ben ...`` commands of an example's shell line, without pipes and redirections."""
    words = list(shlex.shlex(line, posix=True, punctuation_chars="|&;<>"))
    found, current, skip = [], [], False
    for word in words + ["|"]:
        if skip:
            skip = False
        elif word in (">", "<", ">>"):
            skip = True
        elif set(word) <= set("|&;"):
            if current[:1] == ["ben"]:
                found.append(current[1:])
            current = []
        else:
            current.append(word)
    return found


@pytest.mark.parametrize("key", all_examples())
def test_every_example_parses_against_the_real_command(key):
    """A renamed or removed flag cannot leave a stale example in --help or the man page."""
    commands = dict(COMMANDS)
    for _, line in all_examples()[key]:
        invocations = _ben_invocations(line)
        assert invocations or key == "ben", line
        for args in invocations:
            path: list[str] = []
            while args and " ".join(path + args[:1]) in commands and not args[0].startswith("-"):
                path.append(args.pop(0))
            command = commands[" ".join(path)]
            ctx = click.Context(command, info_name="ben " + " ".join(path))
            try:
                command.make_parser(ctx).parse_args(list(args))
            except click.UsageError as exc:
                pytest.fail(f"{line!r}: {exc.format_message()}")
