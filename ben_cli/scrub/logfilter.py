"""A ``logging.Filter`` that scrubs log records inside an application, before any handler
formats or ships them::

    handler.addFilter(ScrubFilter())

The message is formatted with its arguments first (a secret often arrives as an argument), then
scrubbed; string ``extra`` attributes are scrubbed as well. A finding whose operator is ``drop``
drops the whole log record.
"""

from __future__ import annotations

import logging

from ben_cli.scrub.operators import Drop
from ben_cli.scrub.policy import Policy
from ben_cli.scrub.scrubber import Plan, Scrubber

_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime"}


class ScrubFilter(logging.Filter):
    def __init__(self, policy: Policy | None = None, *, key: bytes | None = None, scrubber: Scrubber | None = None):
        super().__init__()
        self.scrubber = scrubber or Scrubber(policy, key=key)

    def filter(self, record: logging.LogRecord) -> bool:
        sc = self.scrubber
        found: set[str] = set()
        try:
            msg = record.getMessage()
            plan = Plan("message", False, "scan", "pii", None, sc._ops, False)
            record.msg = sc._text(msg, plan, found)
            record.args = None
            for name, value in list(vars(record).items()):
                if name not in _STANDARD and isinstance(value, str):
                    setattr(record, name, sc._value(value, sc._plan("", name, None), found))
        except Drop:
            return False
        record.redacted = sorted(found)
        return True
