"""What every stage core looks like, and how cores compose in one process.

A stage core is one object that owns a stage's logic and state, independent of files and
terminals: ``feed`` takes an iterable of records and lazily yields the records that come out
(the same ones, marked; fewer; or new ones), ``flush`` yields what the stage still holds when the
input has ended (a last window's report, a last batch's receipts). Cores with state that must
outlive a run also have ``save()`` and ``load()``.

Because ``feed`` is a generator over an iterable, a chain of cores costs one generator step per
record per stage and no list per record; the shell pipeline ``ben scrub | ben detect`` and
:func:`chain` over the same cores give the same records in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Stage(Protocol):
    """A record-level stage: records in, records out."""

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Yield the output of each record as it is read (lazily: nothing is held back needlessly)."""
        ...

    def flush(self) -> Iterator[dict]:
        """Yield what the stage still holds once its input has ended."""
        ...


@runtime_checkable
class Stateful(Protocol):
    """A stage whose state outlives a run (detector memory, file positions)."""

    def load(self) -> None: ...

    def save(self) -> None: ...


def fed_then_flushed(stage: Stage, records: Iterable[dict]) -> Iterator[dict]:
    """Everything ``stage`` yields for ``records``, then what it flushes at their end."""
    yield from stage.feed(records)
    yield from stage.flush()


def chain(stages: Sequence[Stage], records: Iterable[dict]) -> Iterator[dict]:
    """The records that leave the last of ``stages`` when ``records`` enter the first.

    A stage's flush output flows through the stages after it, as its output would through a
    shell pipe when it exits."""
    stream: Iterable[dict] = records
    for stage in stages:
        stream = fed_then_flushed(stage, stream)
    return iter(stream)
