"""Series keys: which stages keep state per series, and the hash that sends a series to one
worker (``--workers``) or one host (``--shard i/N``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ben_cli.errors import UsageError
from ben_cli.orchestrate.steps import Planned
from ben_cli.record import path_getter
from ben_cli.series import (
    series_hash as series_hash,  # the hash lives with the shared modules: sinks partition by it too
)


def shard_key(plans: Sequence[Planned]) -> list[Callable[[dict], Any]] | None:
    """The getters of the series key: the ``--by`` of the first stage that keeps state per key."""
    i = first_keyed(plans)
    if i is None:
        return None
    if plans[i].use == "rate":
        return [path_getter("source"), path_getter("name")]  # a rate series is finer: it stays whole
    return [path_getter(b) for b in _by(plans[i])]


def first_keyed(plans: Sequence[Planned]) -> int | None:
    """The index of the first stage that keeps state per series key (the one the key is its)."""
    for i, plan in enumerate(plans):
        if (plan.use in ("detect", "count") and _by(plan)) or plan.use == "rate":
            return i
    return None


def _by(plan: Planned) -> tuple[str, ...]:
    """A stage's series key; a ``detect --joint`` keeps a group whole: its ``--by`` but the channel."""
    by = tuple(getattr(plan.options, "by", None) or ())
    return by[:-1] if plan.use == "detect" and getattr(plan.options, "joint", False) else by


def _key_fields(plan: Planned) -> frozenset[str] | None:
    if plan.use in ("detect", "count"):
        return frozenset(_by(plan))
    if plan.use == "rate":
        return frozenset(("source", "name"))
    return None


def shardable(plans: Sequence[Planned]) -> int:
    """How many of ``plans`` (the stages after the source) the workers run: up to the first stage
    that needs every record (narrate, a sink) or whose series the shard key would split (a
    ``--by`` without every field of the first one's)."""
    shard: frozenset[str] | None = None
    for i, plan in enumerate(plans):
        if plan.use in ("narrate", "sink", "route"):
            return i
        fields = _key_fields(plan)
        if fields is None:
            continue
        if shard is None:
            shard = fields
        elif not shard <= fields:
            return i
    return len(plans)


def shard_filter(plans: Sequence[Planned], shard: tuple[int, int]) -> Callable[[list[dict]], list[dict]]:
    """The records of a batch that ``--shard i/N`` keeps: those whose series hash is i mod N."""
    index, count = shard
    body = list(plans[1:] if plans and plans[0].use == "ingest" else plans)
    getters = shard_key(body[:shardable(body)])

    def keep(batch: list[dict]) -> list[dict]:
        return [rec for rec in batch if series_hash(rec, getters) % count == index]

    return keep


def check_dispatch(plans: Sequence[Planned], dispatch: str) -> None:
    """``--dispatch round-robin`` or ``least-loaded`` would split the series of a stage that keeps
    state per series: a :class:`UsageError` then."""
    body = list(plans[1:] if plans and plans[0].use == "ingest" else plans)
    if dispatch != "hash" and shard_key(body[:shardable(body)]) is not None:
        raise UsageError(f"--dispatch {dispatch}: the workers' stages keep state per series "
                         "(detect, count or rate), which only --dispatch hash keeps on one worker")
