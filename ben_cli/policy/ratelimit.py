"""Token buckets, one per key, in exact integer arithmetic.

A bucket holds up to ``burst`` tokens and gains ``count`` tokens every ``per`` seconds; a record
takes one token or, when none is left, is rate-limited. Time is event time (the records' ``ts``,
so a replay of yesterday's file is limited as it was lived) or wall time (the clock of the
enforcing process). Tokens are kept scaled by the period in nanoseconds, so refilling is an
integer multiply and the decisions never depend on float rounding: the differential test holds
this to a reference implementation exactly.

Time that goes backwards (records out of order) refills nothing; it never takes tokens back.
"""

from __future__ import annotations

from ben_cli.contract.cardinality import epoch_of


class Buckets:
    """Token buckets of one rule, keyed (per source, identity, name...)."""

    __slots__ = ("burst", "count", "cap", "per_ns", "state", "limit_keys")

    def __init__(self, count: int, per_ns: int, burst: int, limit_keys: int = 100_000):
        self.count = count
        self.per_ns = per_ns
        self.burst = burst
        self.cap = burst * per_ns  # a full bucket, scaled
        self.state: dict[object, list[int]] = {}  # key -> [scaled tokens, last time in ns]
        self.limit_keys = limit_keys

    def take(self, key: object, now_ns: int) -> bool:
        """Take one token for ``key`` at ``now_ns``; False when the bucket is empty."""
        slot = self.state.get(key)
        if slot is None:
            if len(self.state) >= self.limit_keys:  # a flood of new keys cannot grow memory without end
                self.state.clear()
            slot = self.state[key] = [self.cap, now_ns]
        elif now_ns > slot[1]:
            tokens = slot[0] + (now_ns - slot[1]) * self.count
            slot[0] = tokens if tokens < self.cap else self.cap
            slot[1] = now_ns
        if slot[0] >= self.per_ns:
            slot[0] -= self.per_ns
            return True
        return False


def ts_ns(ts: object) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 ``ts`` with up to nine digits of fraction
    (None when it is not one)."""
    seconds = epoch_of(ts)
    if seconds is None:
        return None
    assert isinstance(ts, str)
    frac = 0
    if len(ts) > 20 and ts[19] == ".":
        end = 20
        while end < len(ts) and ts[end].isdigit():
            end += 1
        digits = ts[20:end][:9]
        if digits:
            frac = int(digits.ljust(9, "0"))
    return int(seconds) * 1_000_000_000 + frac
