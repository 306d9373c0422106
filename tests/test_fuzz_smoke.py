"""A short round of every fuzz target (fuzz/), so that CI runs each one on every change.

Each target runs under atheris for a bounded number of inputs, from its seed corpus, in a process
of its own: a new crash (an exception other than the project's documented errors, a hang, or a
difference between a C extension and its Python twin) fails the test and names the saved input.
``make fuzz`` runs the same targets for minutes; this only keeps them alive and honest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fuzz"))
import run  # noqa: E402
import targets  # noqa: E402

SMOKE_RUNS = 300


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_each_fuzz_target_survives_a_short_round(name, tmp_path):
    result = run.run_one(name, 0, SMOKE_RUNS, None, None, timeout=20, quiet=False, work_root=tmp_path)
    assert result["crashes_new"] == 0
    assert result["executions"] >= SMOKE_RUNS  # it really ran (a broken harness runs nothing)


def test_every_target_has_a_seed_corpus():
    empty = [n for n in targets.TARGETS if not any((ROOT / "fuzz" / "corpus" / n).glob("*"))]
    assert empty == []


def test_a_target_that_breaks_its_contract_is_reported(tmp_path, monkeypatch):
    """The harness tells a foreign exception from a documented error: else it would find nothing."""
    monkeypatch.setenv("BEN_FUZZ_SELFTEST", "1")
    result = run.run_one("selftest", 0, 200_000, None, tmp_path / "results", timeout=20, quiet=True,
                         work_root=tmp_path / "work", crash_root=tmp_path / "crashes")
    assert result["crashes_new"] == 1
    saved = next((tmp_path / "crashes" / "selftest").iterdir())
    assert b"{" in saved.read_bytes()
    written = (tmp_path / "results" / "selftest.json").read_text()
    assert '"crashes_new": 1' in written


def test_the_time_budget_is_the_fuzzers_cpu_time(tmp_path):
    """A budget of CPU seconds: a run that ends early on the wall clock (here a short budget) still
    used at least that much CPU, counted across the rounds it took."""
    result = run.run_one("bee_address", 3, None, None, tmp_path / "results", timeout=20, quiet=True,
                         work_root=tmp_path / "work", crash_root=tmp_path / "crashes")
    assert result["cpu_seconds"] >= 2
    assert result["executions"] > 0 and result["crashes_new"] == 0
