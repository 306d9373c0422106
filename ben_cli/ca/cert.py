"""The certificate format, ``ben-cert-v1``: three lines of UTF-8 text, each ending in ``\\n``.

1. ``ben-cert-v1``
2. the body, canonical JSON (RFC 8785, :mod:`.jcs`) with ``version`` (1), ``serial`` (32 hex
   digits: 16 random bytes), ``name``, ``groups``, ``lanes``, ``usage`` (of ``client``,
   ``server``, ``sign``, ``ca``), ``noise_pub`` (the node's X25519 key), ``sign_pub`` (its Ed25519
   key, optional), ``not_before`` and ``not_after`` (RFC 3339 UTC to the second) and ``issuer``
   (the key id of the CA that signed: base64url BLAKE2b-256 of its raw Ed25519 public key);
3. the CA's Ed25519 signature over ``ben-cert-v1\\n`` + body, base64url.

Every base64url value here is unpadded, and read back only if it is the one unpadded spelling of
its bytes. The certificate id is the BLAKE2b-256 of the body alone: a signature is not part of it,
so the one malleability Ed25519 leaves (none, with canonical S enforced; but a second valid
signature by the same key would do) cannot change what revocation lists and logs name.

This module parses and builds; it judges only the *form* (:class:`Malformed`,
:class:`NonCanonicalBody`). Whether a well-formed certificate is to be trusted is
:mod:`.verify`'s question.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ben_cli.ca import jcs
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey
from ben_cli.record import LANES

MAGIC = "ben-cert-v1"
HEADER = b"ben-cert-v1\n"
VERSION = 1
USAGES = ("client", "server", "sign", "ca")
SERIAL_BYTES = 16
BACKDATE = 60  # seconds a certificate's not_before is set before the moment it is issued
_REQUIRED = {"version", "serial", "name", "groups", "lanes", "usage", "noise_pub", "not_before", "not_after", "issuer"}
_OPTIONAL = {"sign_pub"}
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_SERIAL = re.compile(r"[0-9a-f]{32}")


class Refused(p.CryptoError):
    """A certificate, revocation list or bundle that is not to be trusted; ``reason`` names why
    in one word a program can test (``expired``, ``revoked`` ...), the message says it to a person."""

    reason = "refused"

    def __init__(self, message: str, reason: str | None = None):
        if reason is not None:
            self.reason = reason
        self.detail = message
        super().__init__(f"refused ({self.reason}): {message}")


class Malformed(Refused):
    """Not a ``ben-cert-v1`` (or ``ben-crl-v1``) document at all: lines, header, fields, types."""

    reason = "malformed"


class NonCanonicalBody(Refused):
    """The body's values are fine but its bytes are not their one canonical JSON encoding."""

    reason = "non-canonical"


# --- encodings -------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: object, what: str, size: int | None = None) -> bytes:
    """The bytes of an unpadded base64url string, refused unless it is their only spelling
    (no padding, no other alphabet, spare bits zero) and, when ``size`` is given, that long."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise Malformed(f"{what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Malformed(f"{what} is not unpadded base64url") from None
    if b64url(data) != text:
        raise Malformed(f"{what} is not the canonical base64url of its bytes")
    if size is not None and len(data) != size:
        raise Malformed(f"{what} must be {size} bytes, got {len(data)}")
    return data


def key_id(sign_pub: bytes) -> str:
    """A CA's key id, as certificates name their issuer: base64url BLAKE2b-256 of the raw key."""
    return b64url(p.blake2b(sign_pub, 32))


def format_time(seconds: int) -> str:
    """RFC 3339 UTC to the second: ``2026-12-05T01:17:25Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def parse_time(text: object, what: str) -> int:
    """Seconds since the epoch from the one spelling :func:`format_time` writes."""
    found = _TIME.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise Malformed(f"{what} is not an RFC 3339 UTC time to the second (YYYY-MM-DDTHH:MM:SSZ)")
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    fields = (year, month, day, hour, minute, second)
    try:
        datetime.datetime(year, month, day, hour, minute, second)  # refuses Feb 30, hour 24, second 60
    except ValueError:
        raise Malformed(f"{what} is not a valid date and time: {text}") from None
    return calendar.timegm(fields)


def new_serial() -> str:
    return p.random_bytes(SERIAL_BYTES).hex()


# --- the certificate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """A parsed certificate: its fields, the exact body bytes and the signature."""

    serial: str
    name: str
    groups: tuple[str, ...]
    lanes: tuple[str, ...]
    usage: tuple[str, ...]
    noise_pub: bytes
    sign_pub: bytes | None
    not_before: int
    not_after: int
    issuer: str
    body: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def id(self) -> str:
        """BLAKE2b-256 of the body (line 2) alone, base64url."""
        return certificate_id(self.body)

    @property
    def text(self) -> str:
        return (HEADER + self.body + b"\n" + b64url(self.signature).encode("ascii") + b"\n").decode("utf-8")

    @property
    def signed_bytes(self) -> bytes:
        return HEADER + self.body

    @property
    def is_ca(self) -> bool:
        return "ca" in self.usage

    def keys(self) -> list[str]:
        """The public keys it binds, base64url (what a revocation by key names)."""
        return [b64url(self.noise_pub)] + ([b64url(self.sign_pub)] if self.sign_pub else [])

    def summary(self) -> dict[str, object]:
        """The fields as a JSON object for people and scripts (``ben ca show``, ``list``)."""
        out: dict[str, object] = {
            "id": self.id, "serial": self.serial, "name": self.name, "groups": list(self.groups),
            "lanes": list(self.lanes), "usage": list(self.usage), "noise_pub": b64url(self.noise_pub),
            "not_before": format_time(self.not_before), "not_after": format_time(self.not_after),
            "issuer": self.issuer,
        }
        if self.sign_pub is not None:
            out["sign_pub"] = b64url(self.sign_pub)
        return out


def certificate_id(body: bytes) -> str:
    return b64url(p.blake2b(body, 32))


def split_document(data: bytes, magic: str, what: str) -> tuple[bytes, bytes]:
    """(body, signature) of a three-line ``magic`` document, checked for its framing only."""
    if not data.endswith(b"\n"):
        raise Malformed(f"{what} does not end with a newline (three lines, each ending in \\n)")
    lines = data[:-1].split(b"\n")
    if len(lines) != 3:
        raise Malformed(f"{what} has {len(lines)} lines, not 3")
    if lines[0] != magic.encode("ascii"):
        raise Malformed(f"{what} does not start with the line {magic}")
    try:
        text = lines[2].decode("ascii")
    except UnicodeDecodeError:
        raise Malformed(f"{what}'s signature line is not base64url") from None
    return lines[1], from_b64url(text, f"{what}'s signature", p.ED25519_SIGNATURE)


def canonical_body(body: bytes, what: str) -> dict:
    """The body's JSON object, refused unless ``body`` is exactly its canonical encoding."""
    try:
        values = jcs.loads(body)
    except jcs.CanonicalError as exc:
        raise Malformed(f"{what}'s body is not JSON: {exc}") from None
    if not isinstance(values, dict):
        raise Malformed(f"{what}'s body is not a JSON object")
    try:
        if jcs.is_canonical(values, body):
            return values
        again = jcs.canonical(values)
    except jcs.CanonicalError as exc:
        raise NonCanonicalBody(f"{what}'s body has no canonical encoding: {exc}") from None
    if again != body:
        at = next((i for i, (a, b) in enumerate(zip(again, body, strict=False)) if a != b), min(len(again), len(body)))
        raise NonCanonicalBody(f"{what}'s body is not in canonical JSON (RFC 8785): it differs from its canonical "
                               f"encoding at byte {at}")
    return values


def _strings(values: dict, key: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    items = values[key]
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise Malformed(f"certificate {key} is not a list of non-empty strings")
    if len(set(items)) != len(items):
        raise Malformed(f"certificate {key} lists a value twice")
    if allowed is not None:
        for item in items:
            if item not in allowed:
                raise Malformed(f"certificate {key} holds {item!r}, not one of {', '.join(allowed)}")
    return tuple(items)


def parse(data: bytes | str) -> Certificate:
    """A certificate from its text; :class:`Malformed` or :class:`NonCanonicalBody` if it is not
    one, byte for byte. The signature is *not* checked here."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    body, signature = split_document(data, MAGIC, "certificate")
    values = canonical_body(body, "certificate")
    missing = _REQUIRED - values.keys()
    if missing:
        raise Malformed(f"certificate body lacks {', '.join(sorted(missing))}")
    extra = values.keys() - _REQUIRED - _OPTIONAL
    if extra:
        raise Malformed(f"certificate body has unknown fields {', '.join(sorted(extra))}")
    if values["version"] != VERSION or type(values["version"]) is not int:
        raise Malformed(f"certificate version is {values['version']!r}, not {VERSION}")
    serial, name = values["serial"], values["name"]
    if not isinstance(serial, str) or not _SERIAL.fullmatch(serial):
        raise Malformed("certificate serial is not 32 lower-case hex digits")
    if not isinstance(name, str) or not name:
        raise Malformed("certificate name is not a non-empty string")
    usage = _strings(values, "usage", USAGES)
    if not usage:
        raise Malformed("certificate usage is empty")
    not_before = parse_time(values["not_before"], "certificate not_before")
    not_after = parse_time(values["not_after"], "certificate not_after")
    if not_after <= not_before:
        raise Malformed("certificate not_after is not later than its not_before")
    issuer = values["issuer"]
    from_b64url(issuer, "certificate issuer", 32)
    sign_pub = values.get("sign_pub")
    return Certificate(
        serial=serial, name=name, groups=_strings(values, "groups"), lanes=_strings(values, "lanes", LANES),
        usage=usage, noise_pub=from_b64url(values["noise_pub"], "certificate noise_pub", p.X25519_KEY),
        sign_pub=None if sign_pub is None else from_b64url(sign_pub, "certificate sign_pub", p.ED25519_PUBLIC),
        not_before=not_before, not_after=not_after, issuer=issuer, body=body, signature=signature,
    )


def parse_many(data: bytes, what: str = "bundle") -> list[Certificate]:
    """The certificates of a concatenation of them (a trust bundle): every three lines one."""
    if not data:
        raise Malformed(f"{what} is empty")
    if not data.endswith(b"\n"):
        raise Malformed(f"{what} does not end with a newline")
    lines = data.split(b"\n")[:-1]
    if len(lines) % 3:
        raise Malformed(f"{what} has {len(lines)} lines, not a multiple of 3 (three lines a certificate)")
    out = []
    for i in range(0, len(lines), 3):
        try:
            out.append(parse(b"\n".join(lines[i:i + 3]) + b"\n"))
        except Refused as exc:
            raise type(exc)(f"{what}, certificate {i // 3 + 1}: {exc.detail}", exc.reason) from None
    return out


def build_body(*, serial: str, name: str, groups: Sequence[str], lanes: Sequence[str], usage: Sequence[str],
               noise_pub: bytes, sign_pub: bytes | None, not_before: int, not_after: int, issuer: str) -> bytes:
    values: dict[str, object] = {
        "version": VERSION, "serial": serial, "name": name, "groups": list(groups), "lanes": list(lanes),
        "usage": list(usage), "noise_pub": b64url(p.require_length("X25519 public key", noise_pub, p.X25519_KEY)),
        "not_before": format_time(not_before), "not_after": format_time(not_after), "issuer": issuer,
    }
    if sign_pub is not None:
        values["sign_pub"] = b64url(p.check_ed25519_public(sign_pub))
    return jcs.canonical(values)


def sign_document(key: SigningKey, header: bytes, body: bytes) -> bytes:
    """The three-line document ``header`` + body + the signature over both."""
    return header + body + b"\n" + b64url(key.sign(header + body)).encode("ascii") + b"\n"


def issue(key: SigningKey, *, name: str, groups: Sequence[str], lanes: Sequence[str], usage: Sequence[str],
          noise_pub: bytes, sign_pub: bytes | None, not_before: int, not_after: int,
          serial: str | None = None) -> Certificate:
    """A certificate signed by ``key`` (checked for form on the way out, as a verifier will)."""
    body = build_body(serial=serial or new_serial(), name=name, groups=groups, lanes=lanes, usage=usage,
                      noise_pub=noise_pub, sign_pub=sign_pub, not_before=not_before, not_after=not_after,
                      issuer=key_id(key.public.key))
    return parse(sign_document(key, HEADER, body))
