"""``ben run`` over NATS JetStream: the pipeline's source is ``ingest --from nats://``.

Three things change when the source is a JetStream consumer, and this module makes them before
the pipeline starts:

- ``--shard i/N`` chooses partitions, not records: the ingest reads the partitions ``p`` with
  ``p % N == i`` (each series is on one partition, so on one shard) and no record is filtered.
- A sink with ``--ack STATE`` at the end ties the consumer to it: the ingest follows ``STATE.ack``
  (as ``--ack --state STATE``), acknowledges to NATS only what the sink holds, and a restart reads
  again from there.
- A detector with ``--state`` (each worker's, with ``--workers``) holds positions too: what it
  learned and saved (``STATE.positions``). A restarted consumer starts past the least of them and
  the sink's, so that after a crash the detector is fed again every record its saved state lacks
  (the sink drops those it already stored) and its marks are those an uninterrupted run gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ben_cli.errors import UsageError
from ben_cli.orchestrate.pipeline import RunOptions
from ben_cli.orchestrate.steps import Planned


def reads_nats(plans: Sequence[Planned]) -> bool:
    return bool(plans) and plans[0].use == "ingest" and getattr(plans[0].options, "source", None) is not None


def adopt(plans: Sequence[Planned], options: RunOptions) -> tuple[list[Planned], RunOptions]:
    """The pipeline and run options with the NATS source tied to the shard, the sink and the
    detectors (unchanged when the source is not NATS)."""
    if not reads_nats(plans):
        return list(plans), options
    source = plans[0].options
    changes: dict = {}
    if options.shard is not None:
        if source.partitions is not None:
            raise UsageError(f"{plans[0].where}: --partitions and ben run --shard both choose partitions: give one")
        changes["partitions"] = options.shard
        options = replace(options, shard=None)
    last = plans[-1]
    if last.use == "sink" and last.options.ack is not None and not source.ack:
        changes.update(ack=True, state=last.options.ack)
    floors = list(source.floors)
    for plan in plans[1:]:
        state = getattr(plan.options, "state", None) if plan.use == "detect" else None
        if state is None:
            continue
        shards = [plan.for_shard(i, options.workers) for i in range(options.workers)]
        floors += [Path(f"{each.options.state}.positions") for each in shards]
    changes["floors"] = tuple(floors)
    return [replace(plans[0], options=replace(source, **changes)), *plans[1:]], options
