"""The one retry loop every network target uses (ben_cli/retry.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.retry import RetryPolicy, retrying


class Flaky:
    """Fails with the given errors in turn, then returns how many calls it took."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.calls


def run(fn, policy=None, **kw):
    told: list[tuple[str, float]] = []
    slept: list[float] = []
    result = retrying(fn, policy or RetryPolicy(base=0.1, cap=1.0), transient=lambda e: isinstance(e, OSError),
                      on_retry=lambda e, pause: told.append((str(e), pause)), sleep=slept.append,
                      gave_up=lambda e, waited: TimeoutError(f"gave up: {e}"), **kw)
    return result, told, slept


def test_transient_failures_are_retried_with_each_pause_told_then_slept():
    result, told, slept = run(Flaky(OSError("refused"), OSError("reset")))
    assert result == 3
    assert [m for m, _ in told] == ["refused", "reset"]
    assert [p for _, p in told] == slept and all(0 <= p <= 1.0 for p in slept)


def test_an_error_that_is_not_transient_is_raised_as_it_is_at_once():
    fn = Flaky(OSError("refused"), KeyError("schema"))
    with pytest.raises(KeyError):
        run(fn)
    assert fn.calls == 2


def test_past_the_time_allowed_the_last_error_is_given_up_on():
    fn = Flaky(*[OSError(f"down {i}") for i in range(5)])
    with pytest.raises(TimeoutError, match="gave up: down 0") as info:
        run(fn, RetryPolicy(give_up_after=-1.0))
    assert fn.calls == 1 and isinstance(info.value.__cause__, OSError)


def test_a_caller_that_already_failed_waits_before_the_first_attempt():
    fn = Flaky()
    result, told, slept = run(fn, failed=OSError("lost"))
    assert result == 1 and [m for m, _ in told] == ["lost"] and len(slept) == 1


@given(st.integers(0, 30))
def test_backoff_pauses_stay_within_the_cap(attempt):
    policy = RetryPolicy(base=0.2, cap=10.0)
    assert 0 <= policy.wait(attempt) <= min(10.0, 0.2 * 2 ** attempt)
