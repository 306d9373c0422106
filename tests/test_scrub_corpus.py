"""Quality on the generated labeled corpus: per entity, at most 0.5% of secrets survive; per
kind of hard negative (ids, digests, timestamps, epochs, order numbers, versions, names, paths),
at most 0.5% are changed. bench/bench_scrub.py reports the same rates on a larger corpus."""

from __future__ import annotations

import orjson
import pytest

from ben_cli.scrub import Scrubber

from .scrub_corpus import ENTITIES, NEGATIVES, corpus, measure

PER_LABEL = 400
LIMIT = 0.005


@pytest.fixture(scope="module")
def items():
    return list(corpus(PER_LABEL, seed=23))


@pytest.fixture(scope="module")
def rates(items):
    return measure(items, Scrubber(key=b"c" * 32).scrub)


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_leak_rate(rates, entity):
    leaked, total = rates[entity]
    assert total == PER_LABEL and leaked / total <= LIMIT, f"{entity}: {leaked} of {total} survived"


@pytest.mark.parametrize("kind", list(NEGATIVES))
def test_negative_damage_rate(rates, kind):
    damaged, total = rates[kind]
    assert total == PER_LABEL and damaged / total <= LIMIT, f"{kind}: {damaged} of {total} changed"


def test_lines_passed_by_the_prefilter_are_really_clean(items):
    """The fast path (a line no trigger fires on is copied, not walked) agrees with the walk."""
    s = Scrubber(key=b"c" * 32)
    passed = 0
    for it in items:
        line = orjson.dumps(it.record)
        if s.line_is_clean(line):
            passed += 1
            assert s.scrub(it.record) == {**it.record, "redacted": []}
            assert it.positive is False
    assert passed > 0
