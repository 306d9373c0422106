"""Cores compose in one process the way filters compose in a pipe, flushes included."""

from collections.abc import Iterable, Iterator

from ben_cli.stage import Stage, chain


class Doubler:
    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        for rec in records:
            yield rec
            yield {**rec, "copy": True}

    def flush(self) -> Iterator[dict]:
        return iter(())


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        for rec in records:
            self.n += 1
            yield rec

    def flush(self) -> Iterator[dict]:
        yield {"count": self.n}


def test_a_flush_flows_through_the_later_stages():
    out = list(chain([Counter(), Doubler()], [{"a": 1}, {"a": 2}]))
    assert out == [{"a": 1}, {"a": 1, "copy": True}, {"a": 2}, {"a": 2, "copy": True}, {"count": 2}, {"count": 2, "copy": True}]


def test_cores_are_stages():
    assert isinstance(Counter(), Stage) and isinstance(Doubler(), Stage)
