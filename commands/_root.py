"""The ``ben`` root command: its options, and how every error becomes one line and an exit status."""

import os
import sys
from typing import NoReturn

# What each exit status means, for ben(1) and the README (generated from here, checked by a test).
EXIT_STATUS_MEANINGS: dict[str, str] = {
    "OK": "Success; rejected lines, kept in --rejects and counted, do not change it.",
    "ERROR": "A data or runtime error: a bad line under --strict, an unreadable file, a failed server, "
             "a lock held by another run, or a closed pipe downstream (which ends ben quietly).",
    "USAGE": "A usage error: an unknown command or option, a bad option value, a missing argument.",
    "NO_TTY": "A terminal user interface with no terminal to draw on.",
    "PLUGIN": "A plugin command could not be loaded.",
    "INTERRUPTED": "Interrupted (Ctrl-C). ben ingest --follow and --listen take SIGINT, like SIGTERM, as their normal end: they finish the batch (--listen: drain what clients had sent), save their offsets and exit 0; a second Ctrl-C ends --listen's drain at once, with 130.",
}


def _version_fast_path() -> None:
    """``ben --version`` answers before Typer loads: start-up is part of performance."""
    if sys.argv[1:] == ["--version"]:
        from ben_cli import __version__

        sys.stdout.write(f"ben {__version__}\n")
        sys.exit(0)


def build_app():
    import click
    import typer

    from ben_cli import __version__

    from . import _common, _examples, _group

    app = typer.Typer(
        cls=_group.lazy_group_class(),
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
            sys.stdout.write(_group.completer(value, ctx.find_root().command).source())
            raise typer.Exit()

    @app.callback()
    def root(
        version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Print the version and exit."),
        completion: str = typer.Option(None, "--show-completion", metavar="SHELL", callback=show_completion, is_eager=True,
                                       expose_value=False, click_type=click.Choice(_group.SHELLS),
                                       help="Print the completion script for bash, zsh or fish, and exit."),
    ) -> None:
        """ben: ingest, scrub, detect, narrate and sink telemetry as a pipeline of filters.

        Every command reads NDJSON envelopes (or raw producer formats, for ingest) from files or
        stdin and writes NDJSON to stdout; messages and summaries go to stderr.
        """

    return app


def build_cli(plugins: list | None = None):
    """The root click group with plugins attached (tests pass their own entry points)."""
    import click
    import typer.main

    from . import _group

    group = typer.main.get_command(build_app())
    assert isinstance(group, click.Group), "typer>=0.26 vendors click; click-plugins needs typer<0.26"
    return _group.with_plugins(group, _group.plugin_entry_points() if plugins is None else plugins)


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
        ctx = getattr(exc, "ctx", None)  # usage errors know their command, subcommand included
        _fail(ctx.command_path if ctx is not None else _command_path(cli), exc.format_message(), exc.exit_code)
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
