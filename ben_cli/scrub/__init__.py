"""PII and secret redaction for telemetry: detect, validate, and rewrite with stable operators.

    from ben_cli.scrub import Scrubber, scrub_text
    Scrubber().scrub({"body": "login bob@example.com from 203.0.113.9"})
    list(Scrubber().feed(records))                  # the stage core: records in, records out
    scrub_text("card 4111 1111 1111 1111")          # 'card <CREDIT_CARD>'

The parts: :mod:`entities` (patterns and finders), :mod:`validators` (Luhn, mod-97, SSN rules),
:mod:`prefilter` (one Hyperscan pass decides which finders run), :mod:`finder` (overlaps),
:mod:`operators` (redact, mask, pseudonym, truncate, hash, drop, keep), :mod:`policy` (TOML),
:mod:`keys` (the HMAC key file), :mod:`scrubber` (the stage core), :mod:`stream` (``run`` over
NDJSON inputs), :mod:`report` (``--report``) and :mod:`logfilter` (a ``logging.Filter``).
"""

from __future__ import annotations

from ben_cli.scrub.entities import Entity
from ben_cli.scrub.finder import EntityFinder
from ben_cli.scrub.keys import HmacKeyError
from ben_cli.scrub.logfilter import ScrubFilter
from ben_cli.scrub.operators import OPERATORS
from ben_cli.scrub.policy import (
    DEFAULT_POLICY,
    FieldRule,
    Policy,
    PolicyError,
    default_policy,
    load_policy,
    parse_policy,
)
from ben_cli.scrub.report import report_json, report_text
from ben_cli.scrub.scrubber import Scrubber, Unscrubbable, scrub_text
from ben_cli.scrub.stream import ScrubOptions, ScrubSummary, run

__all__ = [
    "DEFAULT_POLICY", "OPERATORS", "Entity", "EntityFinder", "FieldRule", "HmacKeyError", "Policy", "PolicyError",
    "ScrubFilter", "ScrubOptions", "ScrubSummary", "Scrubber", "Unscrubbable", "default_policy", "load_policy",
    "parse_policy", "report_json", "report_text", "run", "scrub_text",
]
