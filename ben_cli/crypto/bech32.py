"""Bech32 (BIP 173) encoding, as age uses it for recipients and identities.

An encoding with a checksum, not cryptography. age lifts BIP 173's 90-character limit (its
identities are longer) and requires a string to be all lower or all upper case.
"""

from __future__ import annotations

from ben_cli.errors import BenError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(BenError, ValueError):
    """A string that is not valid bech32 (a mistyped or altered recipient or identity): exit status 1."""


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= _GEN[i] if (top >> i) & 1 else 0
    return chk


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc, bits, out, maxv = 0, 0, [], (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (to_bits - bits)) & maxv)
    elif not pad and (bits >= from_bits or (acc << (to_bits - bits)) & maxv):
        raise Bech32Error("bech32 data has non-zero padding bits")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Lower-case bech32 of ``data`` under the human-readable part ``hrp``."""
    hrp = hrp.lower()
    words = _convert(data, 8, 5, True)
    polymod = _polymod(_expand(hrp) + words + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)


def decode(text: str) -> tuple[str, bytes]:
    """(human-readable part in lower case, data); :class:`Bech32Error` on any defect."""
    if text != text.lower() and text != text.upper():
        raise Bech32Error("bech32 string mixes upper and lower case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise Bech32Error("bech32 string has no separator or is too short")
    hrp, rest = text[:pos], text[pos + 1 :]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise Bech32Error("bech32 prefix has invalid characters")
    try:
        words = [_CHARSET.index(c) for c in rest]
    except ValueError:
        raise Bech32Error("bech32 string has a character outside its alphabet") from None
    if _polymod(_expand(hrp) + words) != 1:
        raise Bech32Error("bech32 checksum does not match (a character was mistyped or altered)")
    return hrp, bytes(_convert(words[:-6], 5, 8, False))
