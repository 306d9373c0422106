"""The ``/`` filter of ``ben watch``: what narrows the lists on screen (never the counts).

A filter is words separated by spaces, all of which must hold:

- ``lane:event``, ``source:api*``, ``name:http.*``: the field matches the pattern (shell-style
  ``*`` and ``?``, case-insensitive);
- ``severity:warn``: that severity or worse (``severity:error`` also shows fatal);
- any other word: found in the record's JSON text (case-insensitive), e.g. ``timeout``.

The counts go on over everything: a filter only chooses which records, anomalies and keys are
drawn, so clearing it loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

import orjson

from ben_cli.errors import UsageError
from ben_cli.record import SEVERITIES

FIELDS = ("lane", "source", "name", "severity")
RANK = {name: i for i, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Filter:
    """Parsed filter terms; the empty filter matches everything."""

    fields: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Filter:
        """Read a filter; an unknown severity is a :class:`UsageError` naming it."""
        fields, words = [], []
        for term in text.split():
            key, colon, pattern = term.partition(":")
            if colon and key.lower() in FIELDS and pattern:
                key = key.lower()
                if key == "severity" and pattern.lower() not in RANK:
                    raise UsageError(f"severity:{pattern}: not one of {', '.join(SEVERITIES)}")
                fields.append((key, pattern.lower()))
            else:
                words.append(term.lower())
        return cls(tuple(fields), tuple(words), " ".join(text.split()))

    def __bool__(self) -> bool:
        return bool(self.fields or self.words)

    def matches(self, rec: dict) -> bool:
        for key, pattern in self.fields:
            value = rec.get(key)
            if key == "severity":
                if RANK.get(value if isinstance(value, str) else "", -1) < RANK[pattern]:
                    return False
            elif not fnmatchcase(str(value).lower() if value is not None else "", pattern):
                return False
        if self.words:
            text = orjson.dumps(rec).decode("utf-8", "replace").lower()
            return all(w in text for w in self.words)
        return True

    def matches_key(self, kind: str, key: str) -> bool:
        """Whether a row of the top table (``kind`` source or name) is shown: its own field's
        pattern must match, and a free word must be part of the key."""
        for field, pattern in self.fields:
            if field == kind and not fnmatchcase(key.lower(), pattern):
                return False
        return all(w in key.lower() for w in self.words)
