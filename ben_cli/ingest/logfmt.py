"""logfmt input: ``key=value key2="quoted value" flag`` lines, as Heroku and Go's logfmt write them.

Values stay strings except canonical numbers (``12``, ``-3.5``, ``1e3``) and ``true``/``false``,
which become JSON numbers and booleans; ``007`` stays ``"007"``. A bare key is a ``true`` flag.
The line is matched with one regular expression whose last alternative catches anything that is
not a pair, so malformed lines are found without a second pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ben_cli.ingest.envelope import Normaliser
from ben_cli.ingest.format import DecodeError, Format, IngestOptions, register_format

_TOKEN = re.compile(
    r'([^\s="]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*)))?|(\S+)'
)
_CANONICAL_INT = re.compile(r"-?(?:0|[1-9]\d{0,17})")
_CANONICAL_FLOAT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], "\\" + m[1]), text) if "\\" in text else text


def typed(value: str) -> object:
    """Numbers and booleans written canonically become JSON types; all else stays text."""
    if _CANONICAL_INT.fullmatch(value):
        return int(value)
    if value == "true":
        return True
    if value == "false":
        return False
    if _CANONICAL_FLOAT.fullmatch(value):
        number = float(value)
        if number == number and number not in (float("inf"), float("-inf")):
            return number
    return value


def parse_logfmt(line: str) -> dict:
    """The pairs of one logfmt line; raises DecodeError naming the first piece that is not a pair."""
    out: dict = {}
    for key, quoted, bare, junk in _TOKEN.findall(line):
        if junk:
            raise DecodeError(f"not a key=value pair: {junk[:40]!r}")
        if quoted:
            out[key] = _unescape(quoted)
        elif bare:
            out[key] = typed(bare)
        else:
            # key= (empty) or a bare flag; tell them apart by looking for '='
            out[key] = "" if f"{key}=" in line else True
    if not out:
        raise DecodeError("no key=value pairs")
    return out


class LogfmtDecoder:
    def __init__(self, options: IngestOptions):
        self._normalise = Normaliser(options).normalise

    def decode(self, data: bytes) -> dict:
        if b"\x00" in data:
            raise DecodeError("line contains NUL bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
        return self._normalise(parse_logfmt(text))

    def end(self) -> list[dict]:
        return []


_PAIR = re.compile(rb'(?:^|\s)[A-Za-z_@][\w.@/-]*=(?:"|[^\s"=]*(?=\s|$))')


def sniff(sample: Sequence[bytes]) -> float:
    """Likely when most lines are made of two or more key=value pairs."""
    lines = [s for s in sample[:10] if s.strip()]
    if not lines:
        return 0.0
    hits = sum(1 for s in lines if len(_PAIR.findall(s)) >= 2)
    return 0.8 * hits / len(lines)


LOGFMT = register_format(Format("logfmt", "key=value pairs, one record per line", LogfmtDecoder, sniff,
                                  stateless=True))
