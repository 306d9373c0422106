"""Canonical JSON as RFC 8785 (JCS) defines it: the one byte form of a JSON value.

A certificate's body is signed as bytes, and a verifier must be able to tell whether the bytes it
holds are *the* encoding of the values it read, not merely an equivalent one: otherwise two
different byte strings (an escape spelled ``\\u0041``, a key order changed, ``1.0`` for ``1``)
would carry the same meaning and one signature, and anything keyed on the bytes (the certificate
id) could be changed without the signer. JCS fixes every choice:

- object members sorted by their keys compared as UTF-16 code units (not code points: they differ
  for keys holding characters above U+FFFF), no whitespace anywhere;
- strings as UTF-8 with only ``"``, ``\\`` and the control characters escaped, the five short
  escapes where JSON has one and ``\\u00xx`` (lower-case hex) for the rest;
- numbers as ECMAScript prints a double (``Number.prototype.toString``): the shortest digits that
  read back to the same double, plain up to 21 integer digits, ``1e+21`` beyond, ``1e-7`` below
  ``1e-6``; ``-0`` is ``0``; NaN and the infinities have no encoding and are refused.

Integers that are not exactly a double (some beyond 2**53) are refused rather than rounded: JCS works on doubles, and a value that
would change on the way through is not one this module will vouch for.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

_MAX_SAFE = 2**53
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = {chr(c): _SHORT.get(chr(c), f"\\u{c:04x}") for c in range(0x20)} | {'"': '\\"', "\\": "\\\\"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f]')


class CanonicalError(ValueError):
    """A value that has no canonical JSON encoding (NaN, an infinity, a lone surrogate, a huge
    integer, a type JSON does not have)."""


def number(value: float | int) -> str:
    """``value`` as ECMAScript's ``Number.prototype.toString`` spells the double."""
    if isinstance(value, int):
        if -_MAX_SAFE <= value <= _MAX_SAFE:
            return str(value)
        as_double = float(value)
        if int(as_double) != value:
            raise CanonicalError(f"integer {value} is not exactly a double")
        value = as_double
    if value != value or value in (float("inf"), float("-inf")):
        raise CanonicalError(f"{value} has no JSON encoding")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr is the shortest round-tripping form, as ECMAScript's is; read its digits and exponent
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent = int(exponent) + len("".join(map(str, digit_tuple))) - len(digits)
    k = len(digits)
    n = exponent + k  # the value is 0.DIGITS x 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def string(value: str) -> str:
    """``value`` as a JSON string literal in JCS's spelling."""
    if _NEEDS_ESCAPE.search(value):
        value = _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m[0]], value)
    return '"' + value + '"'


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(string(value))
    elif isinstance(value, (int, float)):
        out.append(number(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for key in value:
            if not isinstance(key, str):
                raise CanonicalError(f"object key {key!r} is not a string")
        # ASCII keys sort the same by code point as by UTF-16 unit: skip the encoding then
        ordered = sorted(value) if all(key.isascii() for key in value) else sorted(value, key=_utf16_key)
        for i, key in enumerate(ordered):
            if i:
                out.append(",")
            out.append(string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise CanonicalError(f"{type(value).__name__} is not a JSON value")


def canonical(value: object) -> bytes:
    """The RFC 8785 encoding of ``value`` (UTF-8 bytes); :class:`CanonicalError` if it has none."""
    out: list[str] = []
    _encode(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalError("a string holds a lone surrogate, which UTF-8 cannot encode") from None


_FAST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode


def _flat(value: dict) -> bool:
    """An object whose keys are ASCII and whose values are strings, safe integers, booleans, null
    or lists of strings: for these the standard library's C encoder spells exactly what JCS does
    (it escapes the same characters, in lower-case hex, and sorts ASCII keys the same way)."""
    for key, item in value.items():
        if not key.isascii():
            return False
        if isinstance(item, int) and not isinstance(item, bool):
            if not -_MAX_SAFE <= item <= _MAX_SAFE:
                return False
        elif isinstance(item, list):
            if not all(type(each) is str for each in item):
                return False
        elif not (item is None or type(item) in (str, bool)):
            return False
    return True


def is_canonical(value: object, data: bytes) -> bool:
    """Whether ``data`` is exactly :func:`canonical` of ``value`` (what a verifier asks of every
    body it reads); flat objects take the C encoder's path, everything else the full one."""
    if isinstance(value, dict) and _flat(value):
        try:
            return _FAST(value).encode("utf-8") == data
        except UnicodeEncodeError:
            pass  # a lone surrogate: the full path says so
    return canonical(value) == data


def _integer(text: str) -> int | float:
    """An integer as JCS reads one: exactly, while it fits a double's 53 bits; as a double beyond."""
    value = int(text)
    return value if -_MAX_SAFE <= value <= _MAX_SAFE else float(value)


def loads(data: bytes) -> object:
    """Parse JSON text, numbers as JCS's doubles (the standard parser: a duplicate key keeps its
    last value, which the canonical re-encoding then fails to reproduce, so a verifier comparing
    bytes refuses it)."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant, parse_int=_integer)
    except UnicodeDecodeError as exc:
        raise CanonicalError(f"not UTF-8 at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not JSON: {exc.msg} at character {exc.pos}") from None


def _no_constant(name: str) -> object:
    raise CanonicalError(f"{name} is not JSON")
