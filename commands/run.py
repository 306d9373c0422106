"""``ben run``: a pipeline of ben's stages in one process, from a pipeline file or pipe text."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import click
import typer

from ben_cli import orchestrate as core

from ._common import QuietOpt, as_duration, say

app = typer.Typer()


def _command(use: str, where: str) -> tuple[click.Command, Any]:
    """The stage's own command (its click parser) and its module (its ``options_from``)."""
    from . import load

    if use not in core.STAGES:
        raise click.UsageError(f"{where}: {use!r} is not a stage ben run holds ({', '.join(core.STAGES)})")
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


def plan(calls: list[core.StageCall], quiet: bool = False) -> list[core.Planned]:
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
        p = ctx.params
        if quiet and "quiet" in p:  # ben run -q quiets every stage's messages too
            p["quiet"] = True
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
                                  keep_raw=p.get("rejects_raw", True)))
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


@app.command()
def run(
    file: Annotated[Optional[Path], typer.Argument(help="Pipeline file (TOML): [[stage]] tables of use = COMMAND and args = { option = value }.", show_default=False)] = None,
    expression: Annotated[Optional[str], typer.Option("--expression", "-e", metavar="PIPELINE", help="The pipeline as shell pipe text: 'ingest app.log | scrub | detect | sink --to file:out.ndjson'.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Read and validate the pipeline (every stage's options, its shape), print its stages, and exit.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes running the stages between ingest and sink, sharded by the series key (detect's or count's --by): each series on one worker, in order.")] = 1,
    batch: Annotated[int, typer.Option("--batch", min=1, metavar="N", help="Records per batch between stages (and across processes).")] = 1024,
    stats_every: Annotated[Optional[str], typer.Option("--stats-every", callback=as_duration, metavar="DURATION", help="Emit diag records (name ben.run.stage) about each stage this often: records/s, counts, restarts.")] = None,
    max_restarts: Annotated[int, typer.Option("--max-restarts", min=0, metavar="N", help="Restart a failing stage (or worker) this many times in a row, with a doubling pause, before stopping.")] = 5,
    quiet: QuietOpt = False,
) -> None:
    """Run a pipeline of ben's stages in one process, or in worker processes.

    Records pass between the stages as objects, never as text, so the pipeline runs faster than
    the same shell pipe and gives the same output.

    Each stage takes the options of its command, read by that command's own parser. Ingest can
    only be first, sink or narrate's report only last; without ingest the first stage reads NDJSON
    from its files or stdin, and without a sink the records go to stdout. A stage that fails is
    restarted with the state it last saved; SIGTERM drains the pipeline and exits 0; SIGHUP
    reloads the pipeline file when it still validates.
    """
    calls = read_calls(file, expression)
    plans = plan(calls, quiet)
    if check:
        for n, each in enumerate(plans, 1):
            sys.stdout.write(f"{n}. {each.use}\n")
        say(f"ben run: the pipeline is valid ({len(plans)} stages)", quiet)
        return
    def reload() -> list[core.Planned]:  # SIGHUP: the file read and checked again by the same parsers
        try:
            return plan(read_calls(file, None), quiet)
        except click.ClickException as exc:
            raise core.PipelineError(exc.format_message()) from None

    options = core.RunOptions(batch=batch, workers=workers, stats_every=float(stats_every) if stats_every else None,
                              max_restarts=max_restarts, quiet=quiet, reload=reload if file is not None else None)
    summaries = core.run(plans, options)
    if not quiet:
        for summary in summaries:
            summary.report(sys.stderr)
