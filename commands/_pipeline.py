"""How ``ben run`` reads a pipeline: each stage's words by its own command's parser, a pipeline
file's tables as those words, and ``route``'s own options (it has no command of its own)."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import click
import typer

from ben_cli import orchestrate as core


@click.command("route")
@click.option("--when", multiple=True, metavar="FILTER",
              help="Route records where FIELD OP VALUE holds (ben count --where's grammar); repeatable, all must hold.")
@click.option("--to", "to", required=True, metavar="PIPELINE", help="The branch's stages, as pipe text.")
@click.option("--move", is_flag=True, help="Take the routed records off the main line (default: a copy goes to the branch).")
@click.option("--queue", type=click.IntRange(min=1), default=1024, metavar="N",
              help="Records the branch takes before they are pushed through it.")
def route(**_: object) -> None:
    """Send records to a branch of stages of its own."""


def _as_the_command_gets_them(module: Any, params: dict) -> dict:
    """The parameters as the command's function receives them: Typer converts some of click's
    values on the way (a path's text into a Path), so ``ben run`` converts them the same way."""
    import typer.main

    callback = module.app.registered_commands[0].callback
    _, convertors, _ = typer.main.get_params_convertors_ctx_param_name_from_function(callback)
    return {k: convertors[k](v) if k in convertors else v for k, v in params.items()}


def _route_options(call: core.StageCall, p: dict, quiet: bool) -> core.RouteOptions:
    from ben_cli.count import parse_where
    from ben_cli.errors import UsageError

    try:
        parse_where(p["when"])
    except UsageError as exc:
        raise click.UsageError(f"{call.where}: {exc}") from None
    branch = [replace(c, where=f"{call.where} -> {c.where}") for c in core.parse_text(p["to"])]
    return core.RouteOptions(branch=tuple(plan(branch, quiet, checked=False)), when=tuple(p["when"]),
                             move=p["move"], queue=p["queue"])


def _command(use: str, where: str) -> tuple[click.Command, Any]:
    """The stage's own command (its click parser) and its module (its ``options_from``)."""
    from . import load

    if use == "route":
        return route, None
    if use not in core.STAGES:
        raise click.UsageError(f"{where}: {use!r} is not a stage ben run holds ({', '.join(core.STAGES)}, route)")
    return load(use), importlib.import_module(f"{__package__}.{use}")


def _argv(command: click.Command, call: core.StageCall) -> list[str]:
    """A pipeline file's ``args`` table as the words the command's parser reads: ``by = "x"`` is
    ``--by x``, ``true`` a flag, ``false`` its ``--no-`` form (or nothing), a list the option
    repeated, and ``inputs`` the files. The option names are the command's own."""
    params = {p.name: p for p in command.params if p.name}
    argv: list[str] = []
    inputs: list[str] = []
    for key, value in call.args.items():
        name = key.replace("-", "_")
        param = params.get(name) or params.get(f"{name}_")
        if name == "inputs":
            inputs = [str(v) for v in (value if isinstance(value, list) else [value])]
            continue
        if not isinstance(param, click.Option):
            known = ", ".join(sorted(p.replace("_", "-") for p, o in params.items() if isinstance(o, click.Option)))
            raise click.UsageError(f"{call.where}: no option {key!r} (options: inputs, {known})")
        flag = max(param.opts, key=len)
        if param.is_flag and not param.secondary_opts:
            if not isinstance(value, bool):
                raise click.UsageError(f"{call.where}: {key} is a flag: true or false")
            argv += [flag] if value else []
        elif param.is_flag:
            if not isinstance(value, bool):
                raise click.UsageError(f"{call.where}: {key} is a flag: true or false")
            argv.append(flag if value else max(param.secondary_opts, key=len))
        else:
            for each in value if isinstance(value, list) else [value]:
                if isinstance(each, (dict, list)):
                    raise click.UsageError(f"{call.where}: {key} takes a string or a number")
                argv += [flag, str(each).lower() if isinstance(each, bool) else str(each)]
    return argv + ["--", *inputs] if inputs else argv


def plan(calls: list[core.StageCall], quiet: bool = False, checked: bool = True) -> list[core.Planned]:
    """Each stage's options read by its own command's parser: an option means in ``ben run``
    exactly what it means on the command line, and a bad one fails the same way."""
    plans = []
    for call in calls:
        command, module = _command(call.use, call.where)
        argv = list(call.argv) if call.argv or not call.args else _argv(command, call)
        try:
            ctx = command.make_context(call.use, argv, resilient_parsing=False)
        except click.exceptions.Exit:  # --help inside a stage printed its help
            raise typer.Exit() from None
        except click.ClickException as exc:
            raise click.UsageError(f"{call.where}: {exc.format_message()}") from None
        p = _as_the_command_gets_them(module, ctx.params) if module is not None else ctx.params
        if quiet and "quiet" in p:  # ben run -q quiets every stage's messages too
            p["quiet"] = True
        if module is None:
            plans.append(core.Planned("route", _route_options(call, p, quiet), where=call.where))
            continue
        bad = [name for name in module.NOT_IN_RUN if p.get(name)]
        if bad:
            raise click.UsageError(f"{call.where}: --{bad[0].rstrip('_').replace('_', '-')} is for the command alone, "
                                   "not in ben run")
        try:
            options = module.options_from(p)
        except click.BadParameter as exc:
            raise click.UsageError(f"{call.where}: {exc.format_message()}") from None
        plans.append(core.Planned(call.use, options, where=call.where, inputs=list(p.get("inputs") or []),
                                  rejects=p.get("rejects"), strict=bool(p.get("strict")),
                                  keep_raw=p.get("rejects_raw", True), max_reject_share=p.get("max_reject_share")))
    if checked:
        core.check_plans(plans)
    return plans


def read_calls(file: Optional[Path], expression: Optional[str]) -> list[core.StageCall]:
    if (file is None) == (expression is None):
        raise click.UsageError("give a pipeline FILE or -e 'STAGE | STAGE ...' (one of them)")
    if expression is not None:
        return core.parse_text(expression)
    assert file is not None
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"{file}: {exc.strerror}") from None
    return core.parse_toml(text, str(file))
