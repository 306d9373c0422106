"""Enrolment without copying keys: single-use tokens, requests, and the CA signing them.

1. On the CA, ``ben ca token`` makes a token: ``ben-token-v1.ID.SECRET.CA``, where ID is 16
   random bytes, SECRET 32, and CA the key id of the CA (so the node knows which CA's
   certificate to expect, and accepts no other). The CA keeps the secret (in a 0600 file of its
   0700 folder) with the profile (name, groups, lanes, usage, ttl) the certificate will carry,
   for :data:`TOKEN_LIFE` (5 minutes); it forgets the secret once the token is used or expired.
2. On the node, ``ben ca enroll --token T`` makes the node's keys locally and writes a request:
   ``ben-req-v1``, a canonical JSON body (``kind: enrol``, the token ID, the node's public keys)
   and a BLAKE2b MAC of both lines keyed with the token's secret. Private keys never leave the node.
3. ``ben ca sign`` checks the MAC in constant time, that the token exists, has not expired and
   was never used; marks it used *before* issuing (under the CA lock: a replayed request, or two
   at once, get one certificate between them) and issues with the token's profile. The request
   names keys, not the profile: what the node may do is decided when the token is made.

Renewal uses the same frame: ``kind: renew`` names the serial of the node's current certificate
and is signed by the node's Ed25519 key (which that certificate binds). It is accepted while the
certificate is valid and not revoked, and within 5 minutes of being made. A certificate is renewed
once: a second renewal of it (a lost answer, a request sent twice) or a renewal of a certificate
a rotation re-issued gets the certificate that replaced it, and nothing new is issued.
"""

from __future__ import annotations

from dataclasses import dataclass

from ben_cli.ca import authority, jcs
from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.store import Store
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import UsageError

TOKEN_PREFIX = "ben-token-v1"
TOKEN_LIFE = 300
REQUEST_MAGIC = "ben-req-v1"
REQUEST_HEADER = b"ben-req-v1\n"
_TOKEN_FILE = "tokens.json"
_MAC_PERSON = b"ben-enrol-v1"


class EnrolError(c.Refused):
    """A token or request the CA refuses; ``reason`` as for certificates."""


@dataclass(frozen=True)
class Token:
    id: str
    secret: bytes
    ca: str

    @property
    def text(self) -> str:
        return f"{TOKEN_PREFIX}.{self.id}.{c.b64url(self.secret)}.{self.ca}"

    @classmethod
    def parse(cls, text: str) -> Token:
        parts = text.strip().split(".")
        if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
            raise UsageError("not an enrolment token (ben-token-v1.ID.SECRET.CA)")
        try:
            c.from_b64url(parts[1], "token id", 16)
            secret = c.from_b64url(parts[2], "token secret", 32)
            c.from_b64url(parts[3], "token CA", 32)
        except c.Refused as exc:
            raise UsageError(f"not an enrolment token: {exc}") from None
        return cls(parts[1], secret, parts[3])


def _mac(secret: bytes, signed: bytes) -> bytes:
    return p.blake2b(signed, 32, key=secret, person=_MAC_PERSON)


def make_token(store: Store, profile: authority.Profile, now: int) -> Token:
    """A fresh single-use token for ``profile``, valid :data:`TOKEN_LIFE` seconds; expired
    tokens are dropped from the CA's list as it is written."""
    store.require()
    token = Token(c.b64url(p.random_bytes(16)), p.random_bytes(32), store.ca_cert().issuer)
    with store.locked():
        tokens = store.read_json(_TOKEN_FILE, {"tokens": {}})
        for entry in tokens["tokens"].values():  # expired: the secret is forgotten, the id kept a while
            if entry["expires"] < now:
                entry["secret"] = None
        tokens["tokens"] = {k: v for k, v in tokens["tokens"].items() if v["expires"] > now - 30 * 86400}
        tokens["tokens"][token.id] = {"secret": c.b64url(token.secret), "expires": now + TOKEN_LIFE, "used": None,
                                      "name": profile.name, "groups": list(profile.groups),
                                      "lanes": list(profile.lanes), "usage": list(profile.usage), "ttl": profile.ttl}
        store.write_json(_TOKEN_FILE, tokens)
    return token


# --- requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str  # enrol or renew
    values: dict
    body: bytes
    proof: bytes  # the MAC (enrol) or the node's signature (renew)

    @property
    def signed_bytes(self) -> bytes:
        return REQUEST_HEADER + self.body


def enrol_request(token: Token, noise_pub: bytes, sign_pub: bytes, now: int) -> bytes:
    body = jcs.canonical({"version": 1, "kind": "enrol", "token": token.id, "noise_pub": c.b64url(noise_pub),
                            "sign_pub": c.b64url(sign_pub), "made": c.format_time(now)})
    return REQUEST_HEADER + body + b"\n" + c.b64url(_mac(token.secret, REQUEST_HEADER + body)).encode() + b"\n"


def renew_request(key: SigningKey, current: c.Certificate, now: int) -> bytes:
    body = jcs.canonical({"version": 1, "kind": "renew", "serial": current.serial, "id": current.id,
                            "made": c.format_time(now)})
    return c.sign_document(key, REQUEST_HEADER, body)


def parse_request(data: bytes) -> Request:
    if not data.endswith(b"\n") or data.count(b"\n") != 3 or not data.startswith(REQUEST_HEADER):
        raise EnrolError("not a ben-req-v1 request (three lines)", "malformed")
    body, proof_line = data[len(REQUEST_HEADER):-1].split(b"\n")
    values = c.canonical_body(body, "request")
    kind = values.get("kind")
    if type(values.get("version")) is not int or values["version"] != 1 or kind not in ("enrol", "renew"):
        raise EnrolError("request is neither an enrolment nor a renewal (version 1)", "malformed")
    size = 32 if kind == "enrol" else 64
    try:
        proof = c.from_b64url(proof_line.decode("ascii"), "request proof", size)
    except UnicodeDecodeError:
        raise EnrolError("request proof is not base64url", "malformed") from None
    c.parse_time(values.get("made"), "request made")
    return Request(kind, values, body, proof)


def sign_request(store: Store, key: SigningKey, data: bytes, now: int) -> c.Certificate:
    """The certificate a valid request earns; :class:`EnrolError` (with its reason) if refused."""
    request = parse_request(data)
    if request.kind == "enrol":
        return _sign_enrolment(store, key, request, now)
    return _sign_renewal(store, key, request, now)


def _sign_enrolment(store: Store, key: SigningKey, request: Request, now: int) -> c.Certificate:
    values = request.values
    if not isinstance(values.get("token"), str):
        raise EnrolError("the request names no token", "malformed")
    noise_pub = c.from_b64url(values.get("noise_pub"), "request noise_pub", p.X25519_KEY)
    sign_pub = c.from_b64url(values.get("sign_pub"), "request sign_pub", p.ED25519_PUBLIC)
    try:
        p.check_ed25519_public(sign_pub)
    except p.CryptoError as exc:
        raise EnrolError(f"the request's sign_pub: {exc}", "malformed") from None
    with store.locked():
        tokens = store.read_json(_TOKEN_FILE, {"tokens": {}})
        entry = tokens["tokens"].get(values.get("token"))
        if entry is None:
            raise EnrolError("the request names a token this CA never made (or one long expired)", "unknown-token")
        if entry["used"] is not None:
            raise EnrolError(f"the token was already used at {c.format_time(entry['used'])}: a token enrols one "
                             "node once (a replayed request?)", "token-used")
        if now > entry["expires"]:
            raise EnrolError(f"the token expired at {c.format_time(entry['expires'])} (tokens last "
                             f"{TOKEN_LIFE // 60} minutes)", "token-expired")
        secret = c.from_b64url(entry["secret"], "token secret", 32)
        if not p.equal(_mac(secret, request.signed_bytes), request.proof):
            raise EnrolError("the request's MAC does not match its token: altered, or made with another token",
                             "bad-signature")
        entry["used"], entry["secret"] = now, None
        store.write_json(_TOKEN_FILE, tokens)
        profile = authority.Profile(entry["name"], tuple(entry["groups"]), tuple(entry["lanes"]),
                                    tuple(entry["usage"]), entry["ttl"])
        return authority._issue_locked(store, key, profile, noise_pub, sign_pub, now, "enrol", token=values["token"])


def _sign_renewal(store: Store, key: SigningKey, request: Request, now: int) -> c.Certificate:
    values = request.values
    try:
        current = store.find(str(values.get("serial")))
    except UsageError:
        raise EnrolError(f"the renewal names a certificate this CA never issued ({values.get('serial')})",
                         "unknown-certificate") from None
    if current.id != values.get("id"):
        raise EnrolError("the renewal names a serial and an id that are not one certificate", "malformed")
    if current.sign_pub is None:
        raise EnrolError(f"certificate {current.serial} binds no Ed25519 key: it cannot sign its renewal", "wrong-usage")
    try:
        p.ed25519_verify(current.sign_pub, request.signed_bytes, request.proof)
    except p.CryptoError:
        raise EnrolError("the renewal is not signed by the key of the certificate it renews", "bad-signature") from None
    made = c.parse_time(values["made"], "request made")
    if not now - TOKEN_LIFE <= made <= now + 60:
        raise EnrolError(f"the renewal was made at {values['made']}, more than {TOKEN_LIFE // 60} minutes from now "
                         "(a replayed request?)", "stale-request")
    with store.locked():
        crl = r.parse(store.crl_path.read_bytes())
        if crl.revokes(current):
            raise EnrolError(f"certificate {current.serial} is revoked: it cannot be renewed", "revoked")
        if now > current.not_after:
            raise EnrolError(f"certificate {current.serial} has expired: enrol again with a token", "expired")
        replaced = authority.replaced(store)
        if current.serial in replaced:
            # renewed already (an answer lost on the way, a request sent twice) or re-issued by a
            # rotation: the node gets the certificate that replaced it, and nothing new is issued
            latest = current
            while latest.serial in replaced:
                latest = store.find(replaced[latest.serial])
            if crl.revokes(latest) or now > latest.not_after:
                raise EnrolError(f"certificate {current.serial} was replaced by {latest.serial}, which is revoked or "
                                 "expired: enrol again with a token", "revoked" if crl.revokes(latest) else "expired")
            return latest
        profile = authority.Profile(current.name, current.groups, current.lanes, current.usage,
                                    current.not_after - current.not_before - c.BACKDATE)
        renewed = authority._issue_locked(store, key, profile, current.noise_pub, current.sign_pub, now, "renew",
                                          replaces=current.serial)
        authority.mark_replaced(store, current.serial, renewed.serial)
        return renewed
