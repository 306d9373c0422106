"""``ben run``: the stages of a pipeline in one process (or in worker processes), supervised.

    from ben_cli.orchestrate import Planned, RunOptions, run
    run([Planned("scrub", ScrubOptions()), Planned("detect", DetectOptions())], RunOptions())

The parts: :mod:`text` (the pipe syntax and the pipeline file into stage calls), :mod:`steps`
(each stage around its part's core), :mod:`pipeline` (one process: batches through the steps,
supervision, SIGTERM, statistics) and :mod:`shards` (``--workers``: processes sharded by the
series key). The options of each stage come from its command's own parser, in ``commands/``.
"""

from ben_cli.orchestrate.keys import check_dispatch
from ben_cli.orchestrate.pipeline import RunOptions, StageFailed, check_plans, run
from ben_cli.orchestrate.steps import STAGES, Planned, RouteOptions
from ben_cli.orchestrate.text import PipelineError, StageCall, parse_shard, parse_text, parse_toml

__all__ = ["STAGES", "PipelineError", "Planned", "RouteOptions", "RunOptions", "StageCall", "StageFailed", "check_dispatch", "check_plans",
           "parse_shard", "parse_text", "parse_toml", "run"]
