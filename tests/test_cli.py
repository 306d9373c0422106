"""The root command: a click group, its version, its plugins, its exit statuses, its start-up cost."""

import os
import pty
import re
import select
import signal
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import click
import pytest
import typer.main
from ben_cli.commands import available
from ben_cli.commands._root import build_app, build_cli

from ben_cli import __version__
from ben_cli.errors import BenError, ExitStatus, UsageError

from .conftest import run_ben

HEAVY = ("numpy", "clickhouse_driver", "textual")


def test_root_is_a_click_group():
    """Guards the typer<0.26 pin: click-plugins can only attach to a real click.Group."""
    assert isinstance(typer.main.get_command(build_app()), click.Group)


def test_version(cli):
    result = cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"ben {__version__}\n"


def test_version_fast_path_matches():
    proc = run_ben("--version", check=True)
    assert proc.stdout.decode() == f"ben {__version__}\n"


def test_help_lists_every_command_and_nothing_else(cli):
    result = cli(["--help"])
    assert result.exit_code == 0
    group = build_cli(plugins=[])
    listed = set(group.list_commands(click.Context(group)))
    assert listed == set(available())  # no placeholders: exactly the modules that exist
    for name in listed:
        assert name in result.stdout


def test_every_command_has_help(cli):
    for name in available():
        result = cli([name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.stdout


def test_unknown_option_is_a_usage_error():
    proc = run_ben("ingest", "--no-such-flag")
    assert proc.returncode == 2
    assert b"No such option" in proc.stderr


def test_plugin_command_is_attached():
    ep = EntryPoint(name="hello", value="tests.fake_plugin:hello", group="ben.commands")
    from click.testing import CliRunner

    result = CliRunner().invoke(build_cli(plugins=[ep]), ["hello", "bee"])
    assert result.exit_code == 0
    assert result.stdout == "hello bee\n"


def test_broken_plugin_is_reported_not_fatal():
    from click.testing import CliRunner

    broken = EntryPoint(name="broken", value="tests.no_such_module:cmd", group="ben.commands")
    group = build_cli(plugins=[broken])
    ran = CliRunner().invoke(group, ["broken"])
    assert ran.exit_code == ExitStatus.PLUGIN
    assert "plugin could not be loaded: ModuleNotFoundError: No module named 'tests.no_such_module'" in ran.output
    assert "Traceback" in CliRunner().invoke(group, ["broken", "--help"]).output  # --help shows why
    ok = CliRunner().invoke(group, ["ingest", "-q"], input=b'{"msg":"still works"}\n')
    assert ok.exit_code == 0
    assert b"still works" in ok.stdout_bytes


def _modules_loaded_by(args: list[str], stdin: str) -> set[str]:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from ben_cli.commands._root import build_cli\n"
        f"r = CliRunner().invoke(build_cli(plugins=[]), {args!r}, input={stdin!r})\n"
        "assert r.exit_code == 0, r.output\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    return set(filter(None, out.split(",")))


def test_a_command_imports_only_its_own_library():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from ben_cli.commands._root import build_cli\n"
        "r = CliRunner().invoke(build_cli(plugins=[]), ['ingest', '-q'], input='{}\\n')\n"
        "assert r.exit_code == 0, r.output\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('ben_cli.') and m.count('.') == 1)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    loaded = set(out.split(","))
    assert "ben_cli.ingest" in loaded
    assert loaded.isdisjoint({"ben_cli.crypto", "ben_cli.sink", "ben_cli.detect", "ben_cli.narrate", "ben_cli.scrub"})


def test_help_and_ingest_do_not_import_heavy_modules():
    assert _modules_loaded_by(["--help"], "") == set()
    assert _modules_loaded_by(["ingest", "-q"], '{"msg":"x"}\n') == set()


def test_version_imports_nothing_heavy():
    code = (
        "import sys, io\n"
        "sys.argv = ['ben', '--version']\n"
        "from ben_cli.commands._root import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in ('typer', 'click', 'rich') + " + repr(HEAVY) + " if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == ""


def test_library_imports_no_ui_packages():
    """ben_cli is a plain library: typer, click, rich and textual only in commands/ and watch/."""
    root = Path(__file__).resolve().parent.parent / "ben_cli"
    pattern = re.compile(r"^\s*(?:import|from)\s+(typer|click|rich|textual|click_plugins)\b", re.M)
    offenders = [
        str(path.relative_to(root.parent))
        for path in root.rglob("*.py")
        if "watch" not in path.relative_to(root).parts[:1] and pattern.search(path.read_text())
    ]
    assert offenders == []


def test_closed_pipe_exits_quietly(tmp_path):
    big = tmp_path / "big.ndjson"
    big.write_bytes(b'{"msg":"line","n":1}\n' * 200_000)
    proc = subprocess.run(
        f"set -o pipefail; {sys.executable[:-len('python')]}ben ingest -q {big} | head -1",
        shell=True, executable="/bin/bash", capture_output=True,
    )
    assert proc.stdout.count(b"\n") == 1
    assert b"Traceback" not in proc.stderr
    assert b"BrokenPipe" not in proc.stderr


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_output_is_flushed_per_line_on_a_terminal(unbuffered):
    """On a terminal each record appears as soon as it is read, before the input ends."""
    proc, master = _start_on_a_terminal(["ingest", "-q", "-f", "ndjson"], env={"PYTHONUNBUFFERED": unbuffered})
    try:
        proc.stdin.write(b'{"msg":"live"}\n')
        proc.stdin.flush()
        _read_until(master, b"live")
        assert proc.poll() is None  # the input is still open: this was not the final flush
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
        os.close(master)


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_output_to_a_pipe_is_written_in_blocks(unbuffered):
    """Into a pipe, records are collected into large writes, even under PYTHONUNBUFFERED=1."""
    ben = str(Path(sys.executable).with_name("ben"))
    script = (
        f"import os, subprocess\n"
        f"r, w = os.pipe()\n"
        f"p = subprocess.Popen([{ben!r}, 'ingest', '-q', '-f', 'ndjson'], stdin=subprocess.PIPE, stdout=w)\n"
        f"os.close(w)\n"
        f"p.stdin.write(b'{{\"msg\":\"x\"}}\\n' * 2000); p.stdin.close()\n"
        f"sizes = []\n"
        f"while chunk := os.read(r, 1 << 20): sizes.append(len(chunk))\n"
        f"p.wait(); print(len(sizes), sum(sizes))\n"
    )
    env = {**os.environ, "BEN_LOAD_PLUGINS": "", "PYTHONUNBUFFERED": unbuffered}
    reads, total = map(int, subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                           check=True, env=env).stdout.split())
    assert total > 2000 * 80
    assert reads < 20  # a write per record would show up as hundreds of reads


# Errors: one line, named by the command, with the documented status.

BOX_OR_ESCAPE = re.compile("[\u2500-\u257f\x1b]")


@pytest.mark.parametrize(("args", "line"), [
    (["ingest", "--format", "nope"], "ben ingest: Invalid value for '--format' / '-f': must be auto or one of "),
    (["ingest", "--fomat", "x"], "ben ingest: No such option '--fomat'. (Did you mean one of: '--format', '--from', '--ts-format'?)"),
    (["db", "query", "SELECT 1"], "ben db query: Missing option '--to'"),
    (["ingets"], "ben: No such command 'ingets'. Did you mean 'ingest'?"),
    (["--show-completion", "tcsh"], "ben: Invalid value for '--show-completion': 'tcsh' is not one of"),
])
def test_usage_errors_are_one_line_and_exit_2(args, line):
    proc = run_ben(*args, input=b"", env={"BEN_CLICKHOUSE_URL": "", "COLUMNS": "60"})
    assert proc.returncode == ExitStatus.USAGE
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(line), err
    assert not BOX_OR_ESCAPE.search(err) and proc.stdout == b""


def test_a_misspelt_command_is_suggested_from_plugins_too():
    from click.testing import CliRunner

    hello = EntryPoint(name="hello", value="tests.fake_plugin:hello", group="ben.commands")
    result = CliRunner().invoke(build_cli(plugins=[hello]), ["helo"])
    assert result.exit_code == 2
    assert "No such command 'helo'. Did you mean 'hello'?" in result.output


def test_no_suggestion_when_nothing_is_close():
    proc = run_ben("zzzz")
    assert proc.stderr == b"ben: No such command 'zzzz'.\n" and proc.returncode == 2


def test_a_library_error_reaches_main_once_as_one_line():
    """A BenError raised inside a command, under click, is printed by main() with its status."""
    proc = run_ben("scrub", "--strict", input=b'{"ok":1}\nnot json\n')
    assert proc.returncode == ExitStatus.ERROR
    assert proc.stderr.decode().startswith("ben scrub: line 2: invalid JSON") and proc.stderr.count(b"\n") == 1


@click.command("lunch")
def raises_usage_error():
    raise UsageError("no such thing as a free lunch")


def test_main_prints_a_plugins_library_error_with_its_status(monkeypatch, capsys):
    from ben_cli.commands import _group, _root

    plugin = EntryPoint(name="lunch", value="tests.test_cli:raises_usage_error", group="ben.commands")
    monkeypatch.setattr(_group, "plugin_entry_points", lambda: [plugin])
    monkeypatch.setattr(sys, "argv", ["ben", "lunch"])
    with pytest.raises(SystemExit) as exited:
        _root.main()
    assert exited.value.code == ExitStatus.USAGE
    assert capsys.readouterr().err == "ben lunch: no such thing as a free lunch\n"
    # under click's standalone mode too, nothing on the way swallows a library error
    from click.testing import CliRunner

    with pytest.raises(BenError, match="free lunch"):
        CliRunner().invoke(_root.build_cli(plugins=[plugin]), ["lunch"], catch_exceptions=False)


@pytest.mark.parametrize("args", [["ingest", "-f", "ndjson"], ["scrub"], ["detect"], ["sink", "--to", "-"]])
def test_ctrl_c_exits_130(args):
    """A real SIGINT to a real ben reading a pipe that never ends: status 130, no traceback.
    Its stdout is a terminal, so each record shows up as soon as it is read: then it is running."""
    proc, master = _start_on_a_terminal([*args, "-q"], stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b'{"ts":"2026-11-25T10:00:00Z","name":"live","value":1}\n')
        proc.stdin.flush()
        _read_until(master, b"live")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == ExitStatus.INTERRUPTED
        assert b"Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.stdin.close()
        os.close(master)


# Colour: only for a person at a terminal, never under NO_COLOR.

def _start_on_a_terminal(args: list[str], env: dict | None = None, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL):
    """A real ben process whose stdout is a terminal: (the process, the terminal's other end)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("ben")), *args], stdin=stdin, stdout=slave,
                            stderr=stderr, env={**os.environ, "BEN_LOAD_PLUGINS": "", **(env or {})})
    os.close(slave)
    return proc, master


def _read_until(master: int, marker: bytes | None) -> bytes:
    """What the terminal shows until ``marker`` appears (None: until ben closes it)."""
    seen = b""
    while marker is None or marker not in seen:
        ready, _, _ = select.select([master], [], [], 20)
        assert ready, f"ben showed nothing for 20 s; so far {seen!r}"
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: ben is done
            chunk = b""
        if not chunk:
            assert marker is None, f"{marker!r} never showed; got {seen!r}"
            return seen
        seen += chunk
    return seen


def _on_a_terminal(args: list[str], env: dict) -> bytes:
    """Everything ben writes to stdout when stdout is a terminal."""
    proc, master = _start_on_a_terminal(args, env={"TERM": "xterm-256color", "COLUMNS": "100", **env},
                                        stdin=subprocess.DEVNULL)
    try:
        return _read_until(master, None)
    finally:
        proc.wait(timeout=20)
        os.close(master)


@pytest.mark.parametrize("args", [[], ["ingest"], ["key", "gen"]], ids=lambda a: " ".join(a) or "ben")
def test_help_has_colour_on_a_terminal_unless_no_color(args):
    coloured = _on_a_terminal([*args, "--help"], {"NO_COLOR": ""})
    assert b"\x1b[" in coloured  # so the test below can fail
    plain = _on_a_terminal([*args, "--help"], {"NO_COLOR": "1"})
    assert b"\x1b" not in plain and b"Usage:" in plain and b"Examples:" in plain


# Shell completion: click's protocol, for bash, zsh and fish.

@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell):
    shown = run_ben("--show-completion", shell, check=True).stdout.decode()
    assert "ben" in shown and "_BEN_COMPLETE" in shown and f"{shell}_complete" in shown
    sourced = run_ben(env={"_BEN_COMPLETE": f"{shell}_source"}, check=True).stdout.decode()
    assert sourced.strip() == shown.strip()


def _complete(shell: str, words: str) -> str:
    cword = str(len(words.split()) - 1) if shell != "fish" else words.split()[-1]
    env = {"_BEN_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    return run_ben(env=env, check=True).stdout.decode()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_offers_commands_and_options(shell):
    def offered(words: str) -> list[str]:
        return re.split(r"[\s,]", _complete(shell, words))

    assert "ingest" in offered("ben in") and "scrub" not in offered("ben in")
    assert "--format" in offered("ben ingest --fo")
    assert "gen" in offered("ben key g")


def test_bash_completion_through_the_real_script():
    ben_dir = str(Path(sys.executable).parent)
    script = (f'PATH={ben_dir}:$PATH; eval "$(ben --show-completion bash)"; '
              'COMP_WORDS=(ben ingest --fo); COMP_CWORD=2; _ben_completion ben; echo "${COMPREPLY[@]}"; '
              'COMPREPLY=(); COMP_WORDS=(ben sc); COMP_CWORD=1; _ben_completion ben; echo "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "BEN_LOAD_PLUGINS": ""}).stdout.splitlines()
    assert out == ["--format --follow", "scrub"]
