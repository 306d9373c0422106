"""What the CA does: create itself, issue, revoke, publish revocation lists, rotate, list.

Each operation that changes the CA takes the folder's lock (:meth:`Store.locked`), checks that
the key it was handed is still the current one (a rotation may have happened while a passphrase
was being typed), writes its files atomically and appends its audit entry before it returns.
Times are passed in (``now``, seconds since the epoch): the command passes the clock, tests and
the benchmark pass what they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ben_cli.atomic import write_atomic
from ben_cli.ca import audit
from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.store import Store
from ben_cli.ca.verify import SKEW, TrustBundle
from ben_cli.crypto import keyfiles
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import Recipient, SigningKey
from ben_cli.errors import UsageError
from ben_cli.record import LANES

DAY = 86400
DEFAULT_CA_LIFE = 5 * 365 * DAY
WARN_BEFORE = 90 * DAY
DEFAULT_CRL_LIFE = 7 * DAY
DEFAULT_OVERLAP = 7 * DAY
MAX_TTL = DEFAULT_CA_LIFE


@dataclass(frozen=True)
class Profile:
    """What a certificate allows: its name, groups, lanes and usage, checked once here."""

    name: str
    groups: tuple[str, ...] = ()
    lanes: tuple[str, ...] = ()
    usage: tuple[str, ...] = ("client",)
    ttl: int = 7 * DAY

    def __post_init__(self) -> None:
        if not self.name or any(ch in self.name for ch in "\n\r"):
            raise UsageError("--name must be a non-empty single line")
        for what, items, allowed in (("--groups", self.groups, None), ("--lanes", self.lanes, LANES),
                                     ("--usage", self.usage, ("client", "server", "sign"))):
            if len(set(items)) != len(items) or any(not item for item in items):
                raise UsageError(f"{what} lists an empty or repeated value")
            for item in items:
                if allowed is not None and item not in allowed:
                    raise UsageError(f"{what}: {item!r} is not one of {', '.join(allowed)}"
                                     + (" (ca is for the CA's own certificate)" if item == "ca" else ""))
        if not self.usage:
            raise UsageError("--usage names at least one of client, server, sign")
        if not 60 <= self.ttl <= MAX_TTL:
            raise UsageError(f"--ttl must be from 1m to {MAX_TTL // DAY}d")

    def as_attrs(self) -> dict[str, object]:
        return {"name": self.name, "groups": self.groups, "lanes": self.lanes, "usage": self.usage, "ttl": self.ttl}


def split_list(text: str | None) -> tuple[str, ...]:
    """A comma-separated option as a tuple (empty for an empty or missing option)."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def read_x25519(value: str) -> bytes:
    """An X25519 public key from a ``.pub`` file made by ``ben key gen --type x25519`` (or any
    file holding an ``age1...`` recipient), the ``age1...`` string, or base64url."""
    if value.startswith("age1") or Path(value).is_file():
        return keyfiles.load_recipient(value).key
    try:
        return c.from_b64url(value, "--pub", p.X25519_KEY)
    except c.Refused:
        raise UsageError(f"--pub: {value!r} is not a .pub file, an age1... recipient or a base64url X25519 key") from None


def read_ed25519(value: str) -> bytes:
    """An Ed25519 public key from a minisign ``.pub`` file or string, or base64url."""
    try:
        return p.check_ed25519_public(c.from_b64url(value, "--sign-pub", p.ED25519_PUBLIC))
    except p.CryptoError:
        return keyfiles.load_verify_key(value).key


def read_public(value: str) -> bytes:
    """A public key to revoke: X25519 (``.pub`` file, ``age1...``) or Ed25519 (minisign), or base64url of either."""
    try:
        return read_x25519(value)
    except (UsageError, p.CryptoError):
        return read_ed25519(value)


def _check_generation(store: Store, key: SigningKey) -> int:
    generation = store.generation
    if c.key_id(key.public.key) != store.ca_cert(generation).issuer:
        raise UsageError("the CA key was rotated while this command ran: run it again")
    return generation


# --- init ----------------------------------------------------------------------------------


def _new_ca(store: Store, generation: int, passphrase: bytes, cost: str, name: str, now: int,
            life: int) -> tuple[SigningKey, c.Certificate]:
    keyfiles.generate("ed25519", store.key_base(generation), passphrase, cost)
    keyfiles.generate("x25519", store.noise_base(generation), passphrase, cost)
    key = store.signing_key(lambda: passphrase, generation)
    noise = Recipient.parse(store.noise_base(generation).with_suffix(".pub").read_text().strip())
    certificate = c.issue(key, name=name, groups=(), lanes=(), usage=("ca",), noise_pub=noise.key,
                          sign_pub=key.public.key, not_before=now - c.BACKDATE, not_after=now + life)
    write_atomic(store.cert_path(generation), certificate.text.encode("utf-8"))
    return key, certificate


def _check_life(life: int) -> None:
    if not DAY <= life <= 50 * 365 * DAY:
        raise UsageError(f"--life must be from 1d to {50 * 365}d (50 years)")


def init(store: Store, passphrase: bytes, now: int, name: str = "ben-ca", life: int = DEFAULT_CA_LIFE,
         cost: str = "moderate") -> c.Certificate:
    """Create the CA: its keys (protected by ``passphrase``), its self-signed certificate, an
    empty revocation list (sequence 1) and the first audit entry."""
    _check_life(life)
    store.create()
    with store.locked():
        key, certificate = _new_ca(store, 1, passphrase, cost, name, now, life)
        store.write_json("state.json", {"generation": 1, "crl_sequence": 0})
        _publish_crl(store, key, now, DEFAULT_CRL_LIFE)
        audit.append(store, 1, key, [audit.entry(now, "init", ca=certificate.issuer, name=name,
                                                 not_after=c.format_time(certificate.not_after))])
    return certificate


def warnings(store: Store, now: int) -> list[str]:
    """What a person running the CA should hear: its certificate ending within 90 days, a stale list."""
    out = []
    ca = store.ca_cert()
    left = ca.not_after - now
    if left <= WARN_BEFORE:
        when = "expired" if left < 0 else f"expires in {left // DAY} days"
        out.append(f"the CA certificate {when} ({c.format_time(ca.not_after)}): run ben ca rotate")
    current = r.parse(store.crl_path.read_bytes())
    if now > current.next_update:
        out.append(f"the revocation list was due to be replaced at {c.format_time(current.next_update)}: "
                   "run ben ca crl --refresh")
    return out


def successors(store: Store) -> str:
    """Every rotation's successor certificate (the new CA signed by the old key), oldest first."""
    return "".join(store.successor_path(g).read_text(encoding="utf-8") for g in range(2, store.generation + 1)
                   if store.successor_path(g).exists())


def bundle(store: Store, now: int) -> TrustBundle:
    """The CA certificates a verifier should trust now: the current one, and the previous one
    while a rotation's overlap lasts."""
    live = [ca for ca in store.ca_certs() if ca.not_after + SKEW >= now]
    return TrustBundle.of(live or [store.ca_cert()])


# --- issuing -------------------------------------------------------------------------------


def issue(store: Store, key: SigningKey, profile: Profile, noise_pub: bytes, sign_pub: bytes | None, now: int,
          via: str = "issue", **why: object) -> c.Certificate:
    """Issue a certificate for keys made elsewhere: backdated 60 s, never outliving the CA's own
    certificate, kept in ``issued/`` and in the audit log."""
    with store.locked():
        return _issue_locked(store, key, profile, noise_pub, sign_pub, now, via, **why)


def _issue_locked(store: Store, key: SigningKey, profile: Profile, noise_pub: bytes, sign_pub: bytes | None,
                  now: int, via: str, **why: object) -> c.Certificate:
    generation = _check_generation(store, key)
    ca = store.ca_cert(generation)
    if now >= ca.not_after:
        raise UsageError("the CA certificate has expired: run ben ca rotate")
    certificate = c.issue(key, name=profile.name, groups=profile.groups, lanes=profile.lanes, usage=profile.usage,
                          noise_pub=noise_pub, sign_pub=sign_pub, not_before=now - c.BACKDATE,
                          not_after=min(now + profile.ttl, ca.not_after))
    # logged first: a crash between the two leaves an entry for a certificate never handed out,
    # not a certificate the log does not know
    audit.append(store, generation, key, [audit.entry(now, "issue", serial=certificate.serial, id=certificate.id,
                                                      via=via, not_after=c.format_time(certificate.not_after),
                                                      **profile.as_attrs(), **why)])
    store.save_issued(certificate)
    return certificate


# --- revocation ----------------------------------------------------------------------------


def _publish_crl(store: Store, key: SigningKey, now: int, life: int) -> r.Crl:
    state = store.state
    revoked = store.read_json("revoked.json", {"ids": [], "serials": [], "keys": []})
    sequence = int(state.get("crl_sequence", 0)) + 1
    crl = r.build(key, sequence=sequence, issued=now, next_update=now + life, ids=revoked["ids"],
                  serials=revoked["serials"], keys=revoked["keys"])
    write_atomic(store.crl_path, crl.text.encode("utf-8"))
    store.write_json("state.json", {**state, "crl_sequence": sequence})
    return crl


def target_kind(target: str) -> str:
    """What a revocation names: ``serial`` (32 hex digits) or ``id`` (43 base64url characters)."""
    if c._SERIAL.fullmatch(target):
        return "serial"
    if len(target) == 43:
        try:
            c.from_b64url(target, "certificate id", 32)
            return "id"
        except c.Refused:
            pass
    raise UsageError(f"{target!r} is neither a serial (32 hex digits) nor a certificate id (43 base64url characters)")


def revoke(store: Store, key: SigningKey, now: int, *, serial_or_id: str | None = None, public_key: bytes | None = None,
           reason: str | None = None, crl_life: int = DEFAULT_CRL_LIFE) -> r.Crl:
    """Revoke a certificate (by serial or id: it must be one this CA issued) or every
    certificate binding a key, then publish the next revocation list."""
    if (serial_or_id is None) == (public_key is None):
        raise UsageError("name one thing to revoke: a SERIAL, a certificate ID, or --key KEY")
    with store.locked():
        generation = _check_generation(store, key)
        revoked = store.read_json("revoked.json", {"ids": [], "serials": [], "keys": []})
        if public_key is not None:
            kind, value = "keys", c.b64url(public_key)
        else:
            assert serial_or_id is not None
            kind = target_kind(serial_or_id) + "s"
            if kind == "serials":
                store.find(serial_or_id)
            elif not any(each.id == serial_or_id for each in store.issued()):
                raise UsageError(f"this CA issued no certificate with id {serial_or_id}")
            value = serial_or_id
        if value in revoked[kind]:
            raise UsageError(f"{value} is already revoked")
        revoked[kind] = sorted({*revoked[kind], value})
        store.write_json("revoked.json", revoked)
        crl = _publish_crl(store, key, now, crl_life)
        audit.append(store, generation, key, [audit.entry(now, "revoke", by=kind[:-1], value=value, reason=reason,
                                                          crl_sequence=crl.sequence)])
    return crl


def refresh_crl(store: Store, key: SigningKey, now: int, life: int = DEFAULT_CRL_LIFE) -> r.Crl:
    """Sign the revocation list again with the next sequence (cron keeps verifiers' copies fresh)."""
    with store.locked():
        generation = _check_generation(store, key)
        crl = _publish_crl(store, key, now, life)
        audit.append(store, generation, key, [audit.entry(now, "crl", crl_sequence=crl.sequence)])
    return crl


# --- listing -------------------------------------------------------------------------------


def replaced(store: Store) -> dict[str, str]:
    """Serials replaced by a renewal or a rotation, each with the serial that replaced it."""
    return store.read_json("replaced.json", {})


def mark_replaced(store: Store, old: str, new: str) -> None:
    """Remember that ``new`` replaced ``old`` (call with the CA lock held)."""
    store.write_json("replaced.json", {**replaced(store), old: new})


def status(certificate: c.Certificate, crl: r.Crl, now: int, replaced_by: str | None = None) -> str:
    """``revoked``, ``expired``, ``replaced`` (renewed or re-issued by a rotation), ``expiring``
    (past two thirds of its life: due for renewal) or ``valid``."""
    if crl.revokes(certificate):
        return "revoked"
    if now > certificate.not_after:
        return "expired"
    if replaced_by is not None:
        return "replaced"
    if now >= renew_due(certificate):
        return "expiring"
    return "valid"


def renew_due(certificate: c.Certificate) -> int:
    """When a certificate is due for renewal: two thirds into its lifetime."""
    return certificate.not_before + (certificate.not_after - certificate.not_before) * 2 // 3


def listing(store: Store, now: int, only: Sequence[str] = ()) -> list[dict[str, object]]:
    """Every issued certificate with its status (optionally only those of the given statuses)."""
    crl = r.parse(store.crl_path.read_bytes())
    rows = []
    done = replaced(store)
    for each in store.issued():
        state = status(each, crl, now, done.get(each.serial))
        if not only or state in only:
            rows.append({"status": state, **each.summary()})
    return rows


def row_text(row: dict) -> str:
    """One line of ``ben ca list``: status, serial, end, name, usage and lanes."""
    return (f"{row['status']:<9} {row['serial']} {row['not_after']} {row['name']} usage={','.join(row['usage'])} "
            f"lanes={','.join(row['lanes']) or '-'}\n")


# --- rotation ------------------------------------------------------------------------------


@dataclass
class Rotation:
    old: c.Certificate
    new: c.Certificate
    reissued: list[c.Certificate]
    crl: r.Crl
    successor: c.Certificate  # the new CA certificate signed by the old key, for nodes to follow


def rotate(store: Store, old_key: SigningKey, passphrase: bytes, now: int, overlap: int = DEFAULT_OVERLAP,
           life: int = DEFAULT_CA_LIFE, cost: str = "moderate") -> Rotation:
    """Replace the CA key: a new key and certificate; the old certificate re-signed to end after
    ``overlap`` (a bundle holding both is trusted until then); every live certificate re-issued
    by the new key; the revocation list signed by the new key; the audit log continued."""
    if not SKEW <= overlap <= 365 * DAY:
        raise UsageError("--overlap must be from 1m to 365d")
    _check_life(life)
    with store.locked():
        generation = _check_generation(store, old_key)
        old = store.ca_cert(generation)
        crl = r.parse(store.crl_path.read_bytes())
        done = replaced(store)
        live = [each for each in store.issued() if each.issuer == old.issuer and not crl.revokes(each)
                and each.not_after > now and each.serial not in done]
        ends = min(old.not_after, now + overlap)
        assert old.sign_pub is not None
        shortened = c.issue(old_key, name=old.name, groups=(), lanes=(), usage=("ca",), noise_pub=old.noise_pub,
                            sign_pub=old.sign_pub, not_before=old.not_before, not_after=ends)
        new_key, new = _new_ca(store, generation + 1, passphrase, cost, old.name, now, life)
        audit.append(store, generation, old_key, [audit.entry(now, "rotate", old=old.issuer, new=new.issuer,
                                                              overlap_ends=c.format_time(ends), reissue=len(live))])
        write_atomic(store.cert_path(generation), shortened.text.encode("utf-8"))
        assert new.sign_pub is not None
        successor = c.issue(old_key, name=new.name, groups=(), lanes=(), usage=("ca",), noise_pub=new.noise_pub,
                            sign_pub=new.sign_pub, not_before=now - c.BACKDATE, not_after=ends)
        write_atomic(store.successor_path(generation + 1), successor.text.encode("utf-8"))
        previous = audit.segment_digest(store, generation)
        store.write_json("state.json", {**store.state, "generation": generation + 1})
        audit.append(store, generation + 1, new_key, [audit.entry(now, "continue", previous=previous,
                                                                  previous_ca=old.issuer, ca=new.issuer)])
        reissued = []
        for each in live:
            profile = Profile(each.name, each.groups, each.lanes, each.usage, max(60, each.not_after - now))
            reissued.append(_issue_locked(store, new_key, profile, each.noise_pub, each.sign_pub, now, "rotate",
                                          replaces=each.serial))
            mark_replaced(store, each.serial, reissued[-1].serial)
        new_crl = _publish_crl(store, new_key, now, DEFAULT_CRL_LIFE)
    return Rotation(shortened, new, reissued, new_crl, successor)
