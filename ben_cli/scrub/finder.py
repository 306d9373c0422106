"""Find every entity in a string: prefilter, run the triggered finders, resolve overlaps."""

from __future__ import annotations

import re
from urllib.parse import unquote

from ben_cli import registry
from ben_cli.scrub import entities as ents
from ben_cli.scrub.entities import Entity
from ben_cli.scrub.prefilter import ALL, Prefilter

Finding = tuple[int, int, str]  # start, end, entity name

# Entities found by shape alone: an id, digest or date that happens to fit is left alone.
# (Entities found by context, such as password=..., are hidden whatever their value looks like.)
SHAPE_ENTITIES = frozenset(("phone", "credit_card", "us_ssn", "ipv4", "ipv6", "mac", "iban", "high_entropy"))
MIN_TEXT = 3  # "::1" is the shortest thing any finder reports
_MEMO_TEXT = 64  # strings up to this long have their findings remembered ...
_MEMO_LIMIT = 50_000  # ... this many of them (then the memo starts again)

# Zero-width characters vanish and Unicode spaces become " " before matching (then spans are mapped
# back), so "ali\u200bce@example.com" is one e-mail and "4111\u00a01111..." one card.
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"
_SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_UNICODE = re.compile(f"[{_INVISIBLE}{_SPACES}]")
_FOLD = {ord(c): None for c in _INVISIBLE} | {ord(c): " " for c in _SPACES}
# A percent-encoded token of a URL or query string: no separator, even an encoded one (%20 %26 %3D
# %2F %3F %2C %3B %22 %27 %3C %3E, CR, LF, TAB) is part of it.
_PCT_TOKEN = re.compile(
    r"(?:[^\s&?=/;,\"'<>()\[\]{}|%]|%(?!20|26|3[dDfFbBcCeE]|2[fFcC2]|27|0[aAdD9])[0-9A-Fa-f]{2})*"
    r"%(?!20|26|3[dDfFbBcCeE]|2[fFcC2]|27|0[aAdD9])[0-9A-Fa-f]{2}"
    r"(?:[^\s&?=/;,\"'<>()\[\]{}|%]|%(?!20|26|3[dDfFbBcCeE]|2[fFcC2]|27|0[aAdD9])[0-9A-Fa-f]{2})*"
)


def _fold(text: str) -> tuple[str, list[int]]:
    """``text`` without zero-width characters and with plain spaces, and for each of its
    characters the index it came from."""
    out, pos = [], []
    for i, c in enumerate(text):
        r = _FOLD.get(ord(c), c)
        if r is not None:
            out.append(r)
            pos.append(i)
    return "".join(out), pos


def plain(value: str) -> str:
    """A finding as its plain spelling (percent-decoded, zero-width characters removed), so every
    spelling of one value gets one pseudonym."""
    if "%" in value:
        value = unquote(value)
    return value if value.isascii() else value.translate(_FOLD)


_PREFILTER: Prefilter | None = None


def shared_prefilter() -> Prefilter:
    """The Hyperscan database is compiled once per process (about 20 ms)."""
    global _PREFILTER
    if _PREFILTER is None:
        _PREFILTER = Prefilter()
    return _PREFILTER


class EntityFinder:
    """Finds the registered entities (built-in and plugins) in text.

    ``use_prefilter=False`` runs every finder on every string; it exists so tests can prove the
    prefilter never hides a finding.
    """

    def __init__(self, names: list[str] | None = None, *, use_prefilter: bool = True):
        chosen = names if names is not None else registry.entities.names()
        entities: list[Entity] = sorted((registry.entities.get(n) for n in chosen), key=lambda e: -e.priority)
        self.entities = entities
        self.always = [e for e in entities if e.families is None]
        self.prefilter = shared_prefilter() if use_prefilter else None
        self.memo: dict[tuple[str, str], list[Finding]] = {}  # (short text, context) -> its findings
        self._chosen: dict[frozenset[str], list[tuple[Entity, bool]]] = {}
        # the prefilter's compiled scan of a str and its masks, called here without two calls between
        self._scan_str = self.prefilter.scan_str if self.prefilter is not None else None
        self._masks = self.prefilter.masks if self.prefilter is not None else {}

    def families(self, data: bytes | str) -> frozenset[str] | set[str]:
        return self.prefilter.families(data) if self.prefilter is not None else ALL

    def find(self, text: str, context: str = "", families: frozenset[str] | set[str] | None = None) -> list[Finding]:
        """:meth:`find_uncached`, remembered for short strings: a stream repeats its short values
        (sources, names, methods, paths), and the findings are a function of (text, context) alone.
        The list returned is shared: callers must not change it."""
        if len(text) > _MEMO_TEXT:
            return self.find_uncached(text, context, families)
        ck = (text, context)
        hit = self.memo.get(ck)
        if hit is None:
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            hit = self.memo[ck] = self.find_uncached(text, context, families)
        return hit

    def find_uncached(self, text: str, context: str = "", families: frozenset[str] | set[str] | None = None) -> list[Finding]:
        """Non-overlapping findings in text order; the higher priority wins an overlap.
        ``context`` is text the value is read after (a field's name), never rewritten itself.
        ``families``: triggers already known to cover ``text`` (those of the line it came from),
        which saves scanning a short string again."""
        if len(text) < MIN_TEXT:
            return []
        if context:
            shift = len(context) + 1
            return [(s - shift, e - shift, n) for s, e, n in self.find(f"{context} {text}", "", families) if s >= shift]
        if not text.isascii() and _UNICODE.search(text):
            folded, pos = _fold(text)
            return [(pos[s], pos[e - 1] + 1, n) for s, e, n in self.find(folded)] if folded else []
        if families is not None:
            fams = families
        else:  # what self.families(text) gives; a mask not seen before is made a set there
            known = self._masks.get(self._scan_str(text)) if self._scan_str is not None else None
            fams = known if known is not None else self.families(text)
        if not fams and not self.always:
            return []
        taken: list[Finding] = []
        key = fams if type(fams) is frozenset else frozenset(fams)
        chosen = self._chosen.get(key)
        if chosen is None:  # the finders these families trigger, highest priority first (few sets recur)
            if len(self._chosen) >= _MEMO_LIMIT:
                self._chosen.clear()
            chosen = self._chosen[key] = [(e, e.name in SHAPE_ENTITIES) for e in self.entities
                                          if e.families is None or not key.isdisjoint(e.families)]
        for e, by_shape in chosen:
            for s, end in e.find(text):
                if end <= s:
                    continue
                clash = False
                for ts, te, _ in taken:  # (a loop, not any(): no generator per finding)
                    if s < te and ts < end:
                        clash = True
                        break
                if clash:
                    continue
                if by_shape and ents.protected(text[s:end]):
                    continue
                taken.append((s, end, e.name))
        if "pct" in fams and "%" in text:
            for m in _PCT_TOKEN.finditer(text):
                s, end = m.span()
                if any(s < te and ts < end for ts, te, _ in taken):
                    continue
                decoded = unquote(m.group())
                inner = self.find(decoded) if decoded != m.group() else []
                if inner:  # the whole encoded token goes, as the entity found in it
                    taken.append((s, end, inner[0][2]))
        taken.sort()
        return taken
