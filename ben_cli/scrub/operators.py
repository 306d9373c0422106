"""What happens to a finding: redact, mask, pseudonym, truncate, hash, drop or keep.

Every operator's output is something no finder reports again (a ``<NAME...>`` token, a mask of
stars, a network address that truncates to itself), which is what makes scrubbing idempotent.

Pseudonyms are ``HMAC-SHA256(key, entity || 0x00 || canonical value)``, the first 16 hex digits,
written ``<EMAIL:3f9a...>``. The canonical value folds spellings of the same thing together
(lower-case e-mail, digits only for cards and phones, compressed IPv6), so one person or card
keeps one pseudonym across formats, runs and hosts that share the key. ``hash`` is the same
construction without a key: anyone can recompute it, so it only hides values with enough
entropy, never phone numbers or SSNs (which can be enumerated).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable

_PLAIN_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)", re.ASCII)
OPERATORS = ("redact", "mask", "pseudonym", "truncate", "hash", "drop", "keep")
DIGEST_HEX = 16


class Drop(Exception):
    """Raised by the ``drop`` operator: the caller removes the whole field."""


def canonical(entity: str, value: str) -> str:
    if entity == "email":
        return value.lower()
    if entity in ("credit_card", "phone", "us_ssn"):
        return "".join(c for c in value if c.isdigit() or c == "+")
    if entity in ("iban", "mac"):
        return "".join(c for c in value if c.isalnum()).upper()
    if entity in ("ipv4", "ipv6"):
        try:
            return str(ipaddress.ip_interface(value.split("%", 1)[0]))
        except ValueError:
            return value
    if entity == "ip_in_hostname":
        return ".".join(str(int(p)) for p in re.split(r"[-.]", value))
    return value


def _email_parts(value: str) -> tuple[str, str]:
    local, _, domain = value.rpartition("@")
    return local, domain.lower()


def redact(entity: str, value: str, key: Callable[[], bytes]) -> str:
    return f"<{entity.upper()}>"


def mask(entity: str, value: str, key: Callable[[], bytes]) -> str:
    """Stars for every letter and digit but the last four (cards keep their last 4 digits);
    an e-mail keeps the first letter of its local part and its domain."""
    if entity == "email":
        local, domain = _email_parts(value)
        return f"{local[:1]}***@{domain}"
    keep_from = max(0, sum(c.isalnum() for c in value) - 4)
    out, seen = [], 0
    for c in value:
        if c.isalnum():
            out.append("*" if seen < keep_from else c)
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def pseudonym(entity: str, value: str, key: Callable[[], bytes]) -> str:
    digest = hmac.new(key(), f"{entity}\x00{canonical(entity, value)}".encode(), hashlib.sha256).hexdigest()
    token = f"<{entity.upper()}:{digest[:DIGEST_HEX]}>"
    if entity == "email":
        return f"{token}@{_email_parts(value)[1]}"
    return token


def hash_(entity: str, value: str, key: Callable[[], bytes]) -> str:
    digest = hashlib.sha256(f"{entity}\x00{canonical(entity, value)}".encode()).hexdigest()
    return f"<{entity.upper()}#{digest[:DIGEST_HEX]}>"


def truncate(entity: str, value: str, key: Callable[[], bytes]) -> str:
    """IPv4 to its /24, IPv6 to its /48 (a shorter given prefix is kept), e-mail to its domain,
    an address spelled in a host name to its /24 in the same spelling (``ip-10-0-0-0``), anything else to its first four characters."""
    if entity == "ipv4" and _PLAIN_IPV4.fullmatch(value):  # the common case, without ipaddress (about 15 µs)
        return value[: value.rindex(".")] + ".0/24"
    if entity in ("ipv4", "ipv6"):
        bits = 24 if entity == "ipv4" else 48
        try:
            iface = ipaddress.ip_interface(value.split("%", 1)[0])
        except ValueError:
            return f"<{entity.upper()}>"
        prefix = min(iface.network.prefixlen, bits)
        return str(iface.network.supernet(new_prefix=prefix) if prefix < iface.network.prefixlen else iface.network)
    if entity == "email":
        return f"<EMAIL>@{_email_parts(value)[1]}"
    if entity == "ip_in_hostname":  # 10-0-0-5 -> 10-0-0-0, in the host name's own spelling
        head, sep, _ = value.rpartition("-" if "-" in value else ".")
        return f"{head}{sep}0"
    return f"{value[:4]}<{entity.upper()}>"


def drop(entity: str, value: str, key: Callable[[], bytes]) -> str:
    raise Drop(entity)


def keep(entity: str, value: str, key: Callable[[], bytes]) -> str:
    return value


APPLY: dict[str, Callable[[str, str, Callable[[], bytes]], str]] = {
    "redact": redact, "mask": mask, "pseudonym": pseudonym, "truncate": truncate,
    "hash": hash_, "drop": drop, "keep": keep,
}
