"""How long and how often to try again when a server is away: one policy for every network target.

A sink that gives up at the first refused connection turns a server's restart into an exit 1
and a cron rerun; one that retries forever hides an outage. So each target retries transient
failures with exponential backoff and full jitter (many sinks restarting together do not knock
on the server in step) until ``give_up_after`` seconds have passed since the first failure,
then fails with the last reason (``ben sink --retry-for``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: a random wait up to base * 2**attempt, capped."""

    base: float = 0.2
    cap: float = 10.0
    give_up_after: float = 300.0

    def wait(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * (2 ** attempt)))


def retrying(attempt: Callable[[], T], policy: RetryPolicy, *, transient: Callable[[Exception], bool],
             on_retry: Callable[[Exception, float], None], gave_up: Callable[[Exception, float], Exception],
             failed: Exception | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """``attempt()``'s result, calling it again after each transient failure.

    Before each retry ``on_retry(error, pause)`` is told (to say so, to drop a connection whose
    state is not trusted after a failure); past ``give_up_after`` seconds since the first failure,
    ``gave_up(error, seconds waited)`` is raised instead. An error that is not transient is raised
    as it is. ``failed``: the failure that brought the caller here, so even the first attempt waits."""
    started, attempts, error = time.monotonic(), 0, failed
    while True:
        if error is not None:
            attempts += 1
            waited = time.monotonic() - started
            if waited > policy.give_up_after:
                raise gave_up(error, waited) from error
            pause = policy.wait(attempts)
            on_retry(error, pause)
            sleep(pause)
        try:
            return attempt()
        except Exception as exc:  # noqa: BLE001 - the caller's predicate decides
            if not transient(exc):
                raise
            error = exc
