"""The ``ben`` root command: subcommands, plugins, and how errors become exit statuses."""

from __future__ import annotations

import os
import sys


def _version_fast_path() -> None:
    """``ben --version`` answers before Typer loads: start-up is part of performance."""
    if sys.argv[1:] == ["--version"]:
        from ben_cli import __version__

        sys.stdout.write(f"ben {__version__}\n")
        sys.exit(0)


def _plugin_entry_points() -> list:
    """Entry points of the ``ben.commands`` group. ``BEN_LOAD_PLUGINS`` unset: all of them;
    empty: none; ``a,b``: only those distributions' plugins."""
    from importlib.metadata import entry_points

    eps = list(entry_points(group="ben.commands"))
    wanted = os.environ.get("BEN_LOAD_PLUGINS")
    if wanted is None:
        return eps
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    return [ep for ep in eps if ep.dist is not None and ep.dist.name in names]


def build_app():
    import typer

    from ben_cli import __version__

    app = typer.Typer(
        cls=_lazy_group_class(),
        help="Unix filters for telemetry: NDJSON envelopes in, NDJSON envelopes out.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def show_version(value: bool) -> None:
        if value:
            sys.stdout.write(f"ben {__version__}\n")
            raise typer.Exit()

    @app.callback()
    def root(
        version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Print the version and exit."),
    ) -> None:
        """ben: ingest, scrub, detect, narrate and sink telemetry as a pipeline of filters.

        Every command reads NDJSON envelopes (or raw producer formats, for ingest) from files or
        stdin and writes NDJSON to stdout; messages and summaries go to stderr.
        """

    return app


def _lazy_group_class():
    """The root group's class: built-in commands are imported the first time they are asked for."""
    from typer.core import TyperGroup

    from ben_cli import commands

    class LazyCommands(TyperGroup):
        def list_commands(self, ctx):
            plugins = [name for name in self.commands if name not in commands.COMMANDS]
            return commands.available() + sorted(plugins)

        def get_command(self, ctx, name):
            if name not in self.commands and name in commands.available():
                self.commands[name] = commands.load(name)
            return self.commands.get(name)

    return LazyCommands


def build_cli(plugins: list | None = None):
    """The root click group with plugins attached (tests pass their own entry points)."""
    import click
    import typer.main
    from click_plugins import with_plugins

    group = typer.main.get_command(build_app())
    assert isinstance(group, click.Group), "typer>=0.26 vendors click; click-plugins needs typer<0.26"
    return with_plugins(_plugin_entry_points() if plugins is None else plugins)(group)


def main() -> None:
    """Run ``ben``: every library error is caught here, once, and becomes one line on stderr
    (``ben COMMAND: message``) and its own exit status."""
    _version_fast_path()
    from ben_cli.errors import BenError, ExitStatus

    try:
        build_cli().main(prog_name="ben", standalone_mode=True)
    except BenError as exc:
        sys.stderr.write(f"{_command_name()}: {exc}\n")
        sys.exit(exc.status)
    except BrokenPipeError:
        _quiet_broken_pipe()
        sys.exit(ExitStatus.ERROR)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(ExitStatus.INTERRUPTED)
    except OSError as exc:
        sys.stderr.write(f"{_command_name()}: {exc.strerror or exc}: {exc.filename}\n" if exc.filename
                         else f"{_command_name()}: {exc}\n")
        sys.exit(ExitStatus.ERROR)


def _command_name() -> str:
    """``ben COMMAND`` for messages: the first argument that names a command, else ``ben``."""
    from ben_cli import commands

    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            return f"ben {arg}" if arg in commands.COMMANDS else "ben"
    return "ben"


def _quiet_broken_pipe() -> None:
    """Downstream closed the pipe (``| head``): point stdout at /dev/null so the interpreter's
    final flush cannot raise again, and leave without a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    main()
