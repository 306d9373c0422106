"""Checks that turn a pattern match into a finding: checksums, issuer ranges, allocation rules.

A regular expression only says a string has the right shape. These functions say whether it can
be what it looks like: a card number passes Luhn and belongs to an issuer's range, an IBAN has
its country's length and a mod-97 remainder of 1, an SSN uses an area, group and serial the
Social Security Administration issues. Each one is a pure function of the matched text.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
from collections import Counter

import orjson


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) checksum every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# (first digits low, first digits high, allowed lengths). Ranges are compared on a prefix of the
# same width as their bounds. Sources: ISO/IEC 7812 issuer tables as published by the networks.
_CARD_RANGES: list[tuple[str, str, tuple[int, ...]]] = [
    ("1", "1", (15,)),  # UATP
    ("1800", "1800", (15,)),  # JCB (legacy 15-digit)
    ("2131", "2131", (15,)),  # JCB (legacy 15-digit)
    ("2200", "2204", (16, 17, 18, 19)),  # Mir
    ("2221", "2720", (16,)),  # Mastercard 2-series
    ("300", "305", (14, 15, 16, 17, 18, 19)),  # Diners Club International
    ("3095", "3095", (14, 15, 16, 17, 18, 19)),  # Diners Club
    ("34", "34", (15,)),  # American Express
    ("35", "35", (16, 17, 18, 19)),  # JCB 3528-3589, RuPay 353/356
    ("36", "36", (14, 15, 16, 17, 18, 19)),  # Diners Club
    ("37", "37", (15,)),  # American Express
    ("38", "39", (14, 15, 16, 17, 18, 19)),  # Diners Club
    ("4", "4", (13, 16, 19)),  # Visa (and Visa Electron)
    ("50", "50", (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro, Dankort, Verve, RuPay 508
    ("51", "55", (16,)),  # Mastercard
    ("56", "69", (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro, Discover, UnionPay, RuPay, Troy...
    ("81", "82", (16, 17, 18, 19)),  # RuPay, UnionPay 81
    ("9792", "9792", (16,)),  # Troy
]


def card_issuer_ok(digits: str) -> bool:
    """True when the number's prefix and length belong to a current issuer range."""
    n = len(digits)
    for low, high, lengths in _CARD_RANGES:
        if n in lengths and low <= digits[: len(low)] <= high:
            return True
    return False


def card_ok(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and card_issuer_ok(digits) and luhn_ok(digits)


# IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def iban_ok(compact: str) -> bool:
    """Country length and the ISO 7064 mod-97 check (``compact``: no spaces, any case)."""
    iban = compact.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """US SSN allocation rules: area not 000, 666 or 900-999; group not 00; serial not 0000.
    Two numbers that were printed in advertisements and never issued are refused as well."""
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return (area, group, serial) not in {("078", "05", "1120"), ("219", "09", "9999")}


def ipv6_ok(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def jwt_ok(token: str) -> bool:
    """A JWT's first part is base64url JSON with an ``alg`` (or ``typ``) member."""
    header = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        obj = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return False
    return isinstance(obj, dict) and ("alg" in obj or "typ" in obj)


def basic_credentials_ok(value: str) -> bool:
    """``Basic`` values are base64 of ``user:password``."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw


def shannon_entropy(text: str) -> float:
    """Bits per character of the string's own character distribution."""
    n = len(text)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def char_classes(text: str) -> int:
    return sum((any(c.islower() for c in text), any(c.isupper() for c in text), any(c.isdigit() for c in text),
                any(not c.isalnum() for c in text)))
