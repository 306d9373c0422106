"""The root group: built-in commands loaded lazily, plugins, "did you mean", and shell completion."""

from __future__ import annotations

import os
import sys

SHELLS = ("bash", "zsh", "fish")


def plugin_entry_points() -> list:
    """Entry points of the ``ben.commands`` group. ``BEN_LOAD_PLUGINS`` unset: all of them;
    empty: none; ``a,b``: only those distributions' plugins."""
    from importlib.metadata import entry_points

    eps = list(entry_points(group="ben.commands"))
    wanted = os.environ.get("BEN_LOAD_PLUGINS")
    if wanted is None:
        return eps
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    return [ep for ep in eps if ep.dist is not None and ep.dist.name in names]


def completer(shell: str, cli, complete_var: str = "_BEN_COMPLETE"):
    """Click's own completion for ``shell`` (Typer re-registers its variants when an app is built)."""
    from click import shell_completion as sc

    kind = {"bash": sc.BashComplete, "zsh": sc.ZshComplete, "fish": sc.FishComplete}[shell]
    return kind(cli, {}, "ben", complete_var)


def with_plugins(group, plugins: list):
    """click-plugins' attachment, except that running a plugin that failed to load is one line
    and exit status 7 (``ExitStatus.PLUGIN``) instead of a traceback and 1."""
    import click
    from click_plugins import with_plugins as attach
    from click_plugins.core import BrokenCommand

    from ben_cli.errors import ExitStatus

    class PluginNotLoaded(click.ClickException):
        exit_code = ExitStatus.PLUGIN

    class BrokenPlugin(BrokenCommand):
        def parse_args(self, ctx, args):
            ctx.meta["help"] = bool({"-h", "--help"} & set(args))
            return args

        def invoke(self, ctx):
            if ctx.meta.get("help"):  # the traceback click-plugins captured
                click.echo(self.help, err=True)
            cause = self.help.strip().splitlines()[-1]  # the traceback's last line: the exception
            raise PluginNotLoaded(f"plugin could not be loaded: {cause}")

    attach(plugins)(group)
    for command in group.commands.values():
        if type(command) is BrokenCommand:
            command.__class__ = BrokenPlugin  # keeps the traceback click-plugins captured for --help
    return group


def lazy_group_class():
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
            except click.UsageError:  # click's own suggestions (8.4+) know only the commands loaded so far
                if args and self.get_command(ctx, args[0]) is None:
                    raise click.UsageError(commands.no_such_command(args[0], self.list_commands(ctx)), ctx) from None
                raise

        def _main_shell_completion(self, ctx_args, prog_name, complete_var=None):
            """Click's protocol: ``_BEN_COMPLETE={bash,zsh,fish}_{source,complete}``."""
            shell, _, step = os.environ.get(complete_var or "_BEN_COMPLETE", "").partition("_")
            if shell in SHELLS and step in ("source", "complete"):
                found = completer(shell, self, complete_var or "_BEN_COMPLETE")
                sys.stdout.write(found.source() if step == "source" else found.complete() + "\n")
                sys.exit(0)

    return LazyCommands
