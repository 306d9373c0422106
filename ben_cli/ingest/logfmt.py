"""logfmt input: ``key=value key2="quoted value" flag`` lines, as Heroku and Go's logfmt write them.

Values stay strings except canonical numbers (``12``, ``-3.5``, ``1e3``) and ``true``/``false``,
which become JSON numbers and booleans; ``007`` stays ``"007"``. A bare key is a ``true`` flag.
The line is matched with one regular expression whose last alternative catches anything that is
not a pair, so malformed lines are found without a second pass.

That Python tokenizer is the definition. ``_logfmt.c`` is the same tokenizer compiled (about ten
times faster; see deepdives/ingest-formats.md): :func:`parse_logfmt` and the decoder use it when
it was built, and fall back to the Python code, which gives the same answers, when it was not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ben_cli.ingest.envelope import Normaliser
from ben_cli.ingest.format import DecodeError, DecodeOptions, Format, decode_text, register_format

# a quoted value in the unrolled form "[^"\\]*(?:\\.[^"\\]*)*": the same language as
# "(?:[^"\\]|\\.)*" with less backtracking bookkeeping, about a quarter faster on this machine
_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_BARE = r'([^\s"]*)'
_TOKEN = re.compile(rf'([^\s="]+)(?:(=)(?:{_QUOTED}|{_BARE}))?|(\S+)')
# canonical numbers; an integer of up to 18 digits (no fraction, no exponent) stays an int
_CANONICAL_NUMBER = re.compile(r"-?(?:0|[1-9]([0-9]*))(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NUMBER_START = frozenset("-0123456789")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\(.)")
_MAX_SHAPES = 64


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], "\\" + m[1]), text) if "\\" in text else text


def typed(value: str) -> object:
    """Numbers and booleans written canonically become JSON types; all else stays text."""
    if value[:1] in _NUMBER_START:  # every canonical number starts so; most text does not
        m = _CANONICAL_NUMBER.fullmatch(value)
        if m is not None:
            if m[2] is None and m[3] is None and (m[1] is None or len(m[1]) < 18):
                return int(value)
            number = float(value)
            if number == number and number not in (float("inf"), float("-inf")):
                return number
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    return value


def _parse(line: str) -> tuple[dict, tuple | None]:
    """The pairs of a line, and its shape (keys and which values were quoted) when every pair has
    a non-empty value and so can be matched again by a shape pattern."""
    out: dict = {}
    shape: list | None = []
    for key, eq, quoted, bare, junk in _TOKEN.findall(line):
        if junk:
            raise DecodeError(f"not a key=value pair: {junk[:40]!r}")
        if quoted:
            out[key] = _unescape(quoted)
        elif bare:
            out[key] = typed(bare)
        else:
            out[key] = "" if eq else True  # key= (empty) or a bare flag
            shape = None
        if shape is not None:
            shape.append((key, bool(quoted)))
    if not out:
        raise DecodeError("no key=value pairs")
    return out, None if shape is None else tuple(shape)


def parse_python(line: str) -> dict:
    """The pairs of one logfmt line; raises DecodeError naming the first piece that is not a pair.
    This is the definition the compiled tokenizer is tested against."""
    return _parse(line)[0]


try:
    from ben_cli.ingest._logfmt import parse as _compiled_parse
except ImportError:  # installed without a C compiler
    _compiled_parse = None

COMPILED = _compiled_parse is not None
# The pairs of one logfmt line, as parse_python reads them: compiled when it could be built.
parse_logfmt: Callable[[str], dict] = _compiled_parse if _compiled_parse is not None else parse_python


class _Shape:
    """One line layout, ``k1=v1 k2="v 2" ...`` with these keys in this order, single spaces and
    each value bare or quoted as here, matched by one anchored pattern.

    A line this pattern matches is tokenised by ``_TOKEN`` into exactly these pairs (the bare and
    quoted sub-patterns are ``_TOKEN``'s own, and a single space ends each pair), so the values
    read from its groups are the ones :func:`parse_python` gives; a property test checks it.
    """

    __slots__ = ("pattern", "keys", "quoted")

    def __init__(self, shape: tuple):
        self.keys = tuple(k for k, _ in shape)
        self.quoted = tuple(q for _, q in shape)
        self.pattern = re.compile(" ".join(re.escape(k) + "=" + (_QUOTED if q else _BARE) for k, q in shape))

    def parse(self, line: str) -> dict | None:
        m = self.pattern.fullmatch(line)
        if m is None:
            return None
        out: dict = {}
        for key, quoted, value in zip(self.keys, self.quoted, m.groups(), strict=True):
            out[key] = (_unescape(value) if quoted else typed(value)) if value else ""
        return out


class LogfmtParser:
    """:func:`parse_python` for a stream, the decoder's parser when the compiled tokenizer is not
    built: lines of one producer share a layout, so the last line's layout is tried first as one
    anchored pattern; any other line takes the general tokeniser."""

    def __init__(self) -> None:
        self._shapes: dict[tuple, _Shape] = {}
        self._last: _Shape | None = None

    def parse(self, line: str) -> dict:
        last = self._last
        if last is not None:
            out = last.parse(line)
            if out is not None:
                return out
        out, shape = _parse(line)
        if shape is not None:
            known = self._shapes.get(shape)
            if known is None and len(self._shapes) < _MAX_SHAPES:
                known = self._shapes[shape] = _Shape(shape)
            self._last = known
        return out


class LogfmtDecoder:
    def __init__(self, options: DecodeOptions):
        self._normalise = Normaliser(options).normalise
        self._parse = parse_logfmt if COMPILED else LogfmtParser().parse

    def decode(self, data: bytes) -> dict:
        text = decode_text(data)
        return self._normalise(self._parse(text))

    def end(self) -> list[dict]:
        return []


_PAIR = re.compile(rb'(?:^|\s)[A-Za-z_@][\w.@/-]*=(?:"|[^\s"=]*(?=\s|$))')
_QUOTED_SPAN = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _is_logfmt(line: bytes) -> bool:
    """Two pairs or more, and pairs are at least half of the line's words (a quoted value is one
    word): ``uid=0 euid=0`` inside a sentence of syslog prose is not enough."""
    pairs = len(_PAIR.findall(line))
    if pairs < 2:
        return False
    words = len(_QUOTED_SPAN.sub(b"q", line).split())
    return 2 * pairs >= words


def sniff(sample: Sequence[bytes]) -> float:
    """Likely when most lines are made mostly of key=value pairs."""
    lines = [s for s in sample if s.strip()]
    if not lines:
        return 0.0
    hits = sum(1 for s in lines if _is_logfmt(s))
    return 0.8 * hits / len(lines)


LOGFMT = register_format(Format("logfmt", "key=value pairs, one record per line", LogfmtDecoder, sniff,
                                  stateless=True))
