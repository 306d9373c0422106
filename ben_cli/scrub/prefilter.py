"""Cheap triggers that decide which finders are worth running on a string (or a whole line).

Running every entity's regular expression over every string costs several microseconds per
pattern in Python's backtracking engine, which would make ``ben scrub`` slower than the jq it is
measured against. So each finder belongs to a *family* with a trigger: a small pattern that every
real finding must contain (no ``@``, no e-mail; fewer than 12 digits in a row, no card). All
triggers are compiled into one Hyperscan database and run in a single pass over the bytes, which
reports the set of families that fired; only their finders run.

The triggers are a superset by construction, and a property test checks it: the spans found with
the prefilter equal the spans found with every finder forced on. Without Hyperscan (a platform it
does not build on) :func:`families` reports every family, which is slower but finds the same.
"""

from __future__ import annotations

import re

try:  # the compiled scan of a str (optional at build; a property test holds it to families_python)
    from ben_cli.scrub import _scan
except ImportError:  # pragma: no cover - only where the extension could not be built
    _scan = None

# family -> (trigger patterns, caseless?)
TRIGGERS: dict[str, tuple[list[str], bool]] = {
    "at": ([r"@"], False),
    "kv": ([r"(?:pass|pwd|secret|token|key|credential|sess|sid|cookie|auth|hmac|signature)[A-Za-z0-9_.-]*[\"']?[ \t]*[=:]"], True),
    "kw": ([r"secret|token|key|passw|credential|signature|bearer|basic|auth|hmac|cookie|aws"], True),
    "vendor": ([r"AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA|gh[pousr]_|github_pat_|xox[abposre]-|"
                r"xapp-|hooks\.slack\.com|[sr]k_(?:live|test)_|whsec_|AIza|PRIVATE KEY|eyJ"], False),
    "card": ([r"\d(?:[ .-]?\d){11}"], False),
    # percent-encoding (alice%40example.com), decoded before matching
    "pct": ([r"%[0-9A-Fa-f]{2}"], False),
    # Unicode separators and zero-width characters (UTF-8 bytes), normalised before matching:
    # NBSP, the U+2000 spaces, ZW space/joiners, LRM/RLM, NNBSP, MMSP, word joiner, BOM, soft hyphen
    "uni": ([r"\xc2[\xa0\xad]|\xe2\x80[\x80-\x8f\xaf]|\xe2\x81[\x9f\xa0]|\xef\xbb\xbf|\xe3\x80\x80"], False),
    "ssn": ([r"\d{3}[- ]\d{2}[- ]\d{4}"], False),
    "iban": ([r"[A-Z]{2}\d\d"], False),
    # "+0" starts no phone (find_phone skips it): an access log's time zone (+0000) does not fire
    "phone": ([r"\+[1-9]", r"\(\d{1,4}\)", r"\d{3}[ .-]\d{3}[ .-]\d{4}", r"(?:^|[^A-Za-z0-9_+.:/=-])0\d",
               r"phone|tel|mobile|cell|call|contact|fax|sms|msisdn|whatsapp|number|reach|dial|ph\b|mob\b"], True),
    "ipv4": ([r"\d\.\d{1,3}\.\d{1,3}\.\d"], False),
    "user": ([r"user|login|logname|tty=|\(to |su for |uid=|for \S+ from|incorrect password|command not allowed|/dev/|"
              r"permissions: set\(|for '|\] (?:ok|fail) |\) (?:cmd|reload|replace|list|delete|begin edit|end edit) |"
              r"- [a-z0-9_]\S* \[\d"], True),
    "iphost": ([r"\d-\d{1,3}-\d{1,3}-\d", r"[A-Za-z0-9][.-]\d+\.\d+\.\d+\.\d", r"\d\.\d+\.\d+\.\d+[.-][A-Za-z]"], False),
    "prose": ([r"(?:passw|passphrase|pass phrase|pwd|passcode|pin|secret)[a-z]*(?: for \S+)? (?:is|was|will|has|set|changed|reset) "], True),
    "colon": ([r"::", r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
               r"[0-9A-Fa-f]-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]",
               r"[0-9A-Fa-f]\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]"], False),
    "cli": ([r"sshpass|mysql|mariadb|redis-cli|curl |docker login|--pass|--token|--secret|--api"], True),
}
ALL = frozenset(TRIGGERS)

# The definition of a family firing: one of its triggers occurs in the UTF-8 bytes, searched as
# Hyperscan searches (Python's re on bytes, like Hyperscan without its UTF-8 and Unicode flags,
# reads \d, \s, \b and case as ASCII). Hyperscan and the compiled scan both compute this.
# (Compiled on first use: the scrubber never needs it, and compiling costs start-up time.)
_DEFINITION: list[tuple[str, re.Pattern[bytes]]] = []


def families_python(data: bytes | str) -> set[str]:
    """The families whose trigger occurs in ``data``: the definition, slow (a search per pattern)."""
    if not _DEFINITION:
        _DEFINITION.extend((name, re.compile(pattern.encode(), re.I if caseless else 0))
                           for name, (patterns, caseless) in TRIGGERS.items() for pattern in patterns)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return {name for name, pattern in _DEFINITION if pattern.search(data)}


class Prefilter:
    """One Hyperscan block-mode database of every trigger; ``families(data)`` is one scan.
    A str is scanned by the compiled scan where it is built: Hyperscan's call costs some 6k
    instructions before its first byte, and the text would have to be encoded first."""

    def __init__(self) -> None:
        self.available: bool | None = None  # not known until the first scan of bytes (compiled then)
        self.masks: dict[int, frozenset[str]] = {}  # the compiled scan's bit masks, as sets
        # the compiled scan of a str (None where it is not built): families(text) is
        # masks[scan_str(text)] once that mask has been seen
        self.scan_str = _scan.families if _scan is not None else None

    def _compile(self) -> None:
        """The Hyperscan database, compiled when bytes are first scanned: about a fifth of the
        start-up of ``ben scrub``, which a stream of records that all have escapes never needs."""
        self.available = False
        try:
            import hyperscan
        except ImportError:  # pragma: no cover - the wheel is a dependency; this is a safety net
            return
        expressions: list[bytes] = []
        ids: list[int] = []
        flags: list[int] = []
        self._names: list[str] = []
        for name, (patterns, caseless) in TRIGGERS.items():
            for pattern in patterns:
                ids.append(len(self._names))
                self._names.append(name)
                expressions.append(pattern.encode())
                flags.append(hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if caseless else 0))
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        self._scratch = hyperscan.Scratch(self._db)
        self.available = True

    def families(self, data: bytes | str) -> frozenset[str] | set[str]:
        """The families whose trigger occurs in ``data`` (all of them when Hyperscan is missing)."""
        if isinstance(data, str):
            if _scan is not None:
                mask = _scan.families(data)
                fams = self.masks.get(mask)
                if fams is None:
                    fams = self.masks[mask] = frozenset(n for k, n in enumerate(_scan.FAMILIES) if mask >> k & 1)
                return fams
            data = data.encode("utf-8", "surrogatepass")
        if self.available is None:
            self._compile()
        if not self.available:
            return ALL
        found: set[str] = set()
        names = self._names

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            found.add(names[pid])

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)
        return found


class Literals:
    """Which of some lower-case ASCII strings occur in an ASCII text, ignoring case: one scan
    instead of a substring search per string (:func:`ben_cli.scrub.entities.find_username`
    has some thirty gates). Each string has an id (several may share one); ``present(text)`` is
    the set of ids found, or None where neither the compiled scan nor Hyperscan is there. The
    compiled scan (``_scan.literals``) is used where it is built; Hyperscan's database is
    compiled on first use otherwise."""

    def __init__(self, literals: list[tuple[str, int]]) -> None:
        self._literals = literals
        self._db: object | None = None
        self._scratch: object | None = None
        self.available: bool | None = None  # not known until the first use
        # the compiled scan takes the table as a tuple (compiled on its first use); ids up to 63
        self._table = tuple(literals) if max((i for _, i in literals), default=0) < 64 else None
        self._sets: dict[int, set[int]] = {}
        self._ordered: dict[int, tuple[int, ...]] = {}

    def _compile(self) -> None:
        try:
            import hyperscan
        except ImportError:  # pragma: no cover - the wheel is a dependency; this is a safety net
            self.available = False
            return
        flags = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=["".join(f"\\x{ord(c):02x}" for c in lit).encode() for lit, _ in self._literals],
                   ids=[i for _, i in self._literals], elements=len(self._literals), flags=[flags] * len(self._literals))
        self._db, self._scratch, self.available = db, hyperscan.Scratch(db), True

    def ids(self, text: str) -> tuple[int, ...] | None:
        """The ids :meth:`present` finds, in order, as a tuple shared by every text with the same
        ids (callers must not change it)."""
        if _scan is not None and self._table is not None:
            mask = _scan.literals(text, self._table)
            ids = self._ordered.get(mask)
            if ids is None:
                ids = self._ordered[mask] = tuple(i for i in range(64) if mask >> i & 1)
            return ids
        found = self.present(text)
        return None if found is None else tuple(sorted(found))

    def present(self, text: str) -> set[int] | None:
        if _scan is not None and self._table is not None:
            mask = _scan.literals(text, self._table)
            ids = self._sets.get(mask)
            if ids is None:
                ids = self._sets[mask] = {i for i in range(64) if mask >> i & 1}
            return set(ids)
        if self.available is None:
            self._compile()
        if not self.available:
            return None
        found: set[int] = set()

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            found.add(pid)

        self._db.scan(text.encode("ascii"), match_event_handler=on_match, scratch=self._scratch)  # type: ignore[union-attr]
        return found
