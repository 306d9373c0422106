"""How long and how often to try again when a server is away: one policy for every network target.

A sink that gives up at the first refused connection turns a server's restart into an exit 1
and a cron rerun; one that retries forever hides an outage. So each target retries transient
failures with exponential backoff and full jitter (many sinks restarting together do not knock
on the server in step) until ``give_up_after`` seconds have passed since the first failure,
then fails with the last reason (``ben sink --retry-for``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: a random wait up to base * 2**attempt, capped."""

    base: float = 0.2
    cap: float = 10.0
    give_up_after: float = 300.0

    def wait(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * (2 ** attempt)))
