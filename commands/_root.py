"""The ``ben`` root command: subcommands, plugins, completion, and how errors become exit statuses."""


import os
import sys
from typing import NoReturn

# What each exit status means, for ben(1) and the README (generated from here, checked by a test).
EXIT_STATUS_MEANINGS: dict[str, str] = {
    "OK": "Success. Rejected lines, kept in --rejects and counted, do not change it.",
    "ERROR": "A data or runtime error: a bad line under --strict, an unreadable file, a failed server, "
             "a lock held by another run, or a closed pipe downstream (which ends ben quietly).",
    "USAGE": "A usage error: an unknown command or option, a bad option value, a missing argument.",
    "NO_TTY": "A terminal user interface with no terminal to draw on.",
    "PLUGIN": "A plugin command could not be loaded.",
    "INTERRUPTED": "Interrupted (Ctrl-C).",
}
SHELLS = ("bash", "zsh", "fish")


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
    import click
    import typer

    from ben_cli import __version__

    from . import _common, _examples

    app = typer.Typer(
        cls=_lazy_group_class(),
        help="Unix filters for telemetry: NDJSON envelopes in, NDJSON envelopes out.",
        epilog=_examples.epilog("ben", rich=_common.help_markup() is not None),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        suggest_commands=False,  # the root suggests from every command, loaded or not
        rich_markup_mode=_common.help_markup(),  # type: ignore[arg-type]
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def show_version(value: bool) -> None:
        if value:
            sys.stdout.write(f"ben {__version__}\n")
            raise typer.Exit()

    def show_completion(ctx: typer.Context, value: str | None) -> None:
        if value:
            sys.stdout.write(_completer(value, ctx.find_root().command).source())
            raise typer.Exit()

    @app.callback()
    def root(
        version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Print the version and exit."),
        completion: str = typer.Option(None, "--show-completion", metavar="SHELL", callback=show_completion, is_eager=True,
                                       expose_value=False, click_type=click.Choice(SHELLS),
                                       help="Print the completion script for bash, zsh or fish, and exit."),
    ) -> None:
        """ben: ingest, scrub, detect, narrate and sink telemetry as a pipeline of filters.

        Every command reads NDJSON envelopes (or raw producer formats, for ingest) from files or
        stdin and writes NDJSON to stdout; messages and summaries go to stderr.
        """

    return app


def _completer(shell: str, cli, complete_var: str = "_BEN_COMPLETE"):
    """Click's own completion for ``shell`` (Typer re-registers its variants when an app is built)."""
    from click import shell_completion as sc

    kind = {"bash": sc.BashComplete, "zsh": sc.ZshComplete, "fish": sc.FishComplete}[shell]
    return kind(cli, {}, "ben", complete_var)


def _lazy_group_class():
    """The root group's class: built-in commands are imported the first time they are asked for."""
    import click
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

        def resolve_command(self, ctx, args):
            try:
                return super().resolve_command(ctx, args)
            except click.UsageError as exc:
                if args and self.get_command(ctx, args[0]) is None:
                    exc.message = commands.no_such_command(args[0], self.list_commands(ctx))
                raise

        def _main_shell_completion(self, ctx_args, prog_name, complete_var=None):
            """Click's protocol: ``_BEN_COMPLETE={bash,zsh,fish}_{source,complete}``."""
            shell, _, step = os.environ.get(complete_var or "_BEN_COMPLETE", "").partition("_")
            if shell in SHELLS and step in ("source", "complete"):
                completer = _completer(shell, self, complete_var or "_BEN_COMPLETE")
                sys.stdout.write(completer.source() if step == "source" else completer.complete() + "\n")
                sys.exit(0)

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
    """Run ``ben``. Every error ends here, once, as one line on stderr named by the command
    (``ben COMMAND: message``) and its exit status: library errors carry theirs, usage errors are 2,
    Ctrl-C is 130. Click runs outside its standalone mode so that it prints no usage block."""
    _version_fast_path()
    import click

    from ben_cli.errors import BenError, ExitStatus

    cli = None
    try:
        cli = build_cli()
        status = cli.main(prog_name="ben", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        status = ExitStatus.USAGE
    except click.ClickException as exc:
        _fail(getattr(exc, "ctx", None) and exc.ctx.command_path or _command_path(cli), exc.format_message(), exc.exit_code)
    except click.Abort as exc:  # a prompt met Ctrl-C or the end of its input
        if isinstance(exc.__context__, KeyboardInterrupt):
            status = ExitStatus.INTERRUPTED
        else:
            _fail(_command_path(cli), "aborted: no answer", ExitStatus.ERROR)
    except BenError as exc:
        _fail(_command_path(cli), str(exc), exc.status)
    except BrokenPipeError:
        _quiet_broken_pipe()
        status = ExitStatus.ERROR
    except KeyboardInterrupt:
        status = ExitStatus.INTERRUPTED
    except OSError as exc:
        _fail(_command_path(cli), f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), ExitStatus.ERROR)
    sys.exit(status if isinstance(status, int) else ExitStatus.OK)


def _fail(where: str, message: str, status: int) -> NoReturn:
    """One line, whatever the message held."""
    sys.stderr.write(f"{where}: {' '.join(part.strip() for part in message.splitlines() if part.strip())}\n")
    sys.exit(status)


def _command_path(cli) -> str:
    """``ben COMMAND [SUBCOMMAND]`` as named on the command line (plugins too), else ``ben``."""
    import click

    path, command = ["ben"], cli
    for arg in (a for a in sys.argv[1:] if not a.startswith("-")):
        if not isinstance(command, click.Group):
            break
        command = command.get_command(click.Context(command, info_name=" ".join(path)), arg)
        if command is None:
            break
        path.append(arg)
    return " ".join(path)


def _quiet_broken_pipe() -> None:
    """Downstream closed the pipe (``| head``): point stdout at /dev/null so the interpreter's
    final flush cannot raise again, and leave without a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    main()
