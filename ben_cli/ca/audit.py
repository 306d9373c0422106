"""The CA's audit log: every issue, revocation and rotation, as a tamper-evident signed stream.

Each entry is an envelope record on the ``control`` lane (``name`` is ``ca.issue``,
``ca.revoke``, ``ca.rotate`` ...; what it concerns under ``attrs``), appended to
``audit-N.ndjson`` by the very chain ``ben key sign --stream -o`` uses
(:mod:`ben_cli.crypto.chain`): each record hash-linked to the one before, each carrying a
checkpoint signed by the CA key of generation N. ``ben key verify --stream --pub ca-N.pub``
checks one segment by itself.

A rotation ends segment N with a ``ca.rotate`` entry signed by the old key, and segment N+1
starts with ``ca.continue``, signed by the new key, holding the BLAKE2b-256 of segment N's
bytes: the segments are one chain across keys. :func:`check` verifies every segment with its
generation's key, the links between them, and that every certificate in ``issued/`` has its
``ca.issue`` entry (one issued behind the log's back is found).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass, field

import orjson

from ben_cli.ca import cert as c
from ben_cli.ca.store import Store
from ben_cli.crypto import chain
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey, VerifyKey, derived_key_id
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects


def entry(now: int, event: str, **attrs: object) -> dict:
    """An audit record: an envelope on the control lane, its facts flat under ``attrs``."""
    flat = {k: (",".join(v) if isinstance(v, (list, tuple)) else v) for k, v in attrs.items() if v is not None}
    return {"ts": c.format_time(now), "lane": "control", "source": "ben-ca", "name": f"ca.{event}", "attrs": flat}


def append(store: Store, generation: int, key: SigningKey, records: list[dict]) -> None:
    """Append ``records`` to segment ``generation``, continuing its signed chain (call with the
    CA lock held). Each record carries its own checkpoint: the log is whole after every entry."""
    path = store.audit_path(generation)
    rejects = Rejects(None, stage="ca audit")
    signer = chain.resume(path, key, 1, rejects)
    if rejects.count:
        raise p.CryptoError(f"{path}: held {rejects.count} entries no checkpoint covered; they were cut")
    lines = [*signer.feed(records), *signer.flush()]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as fh:
        fh.write(b"".join(lines))
        fh.flush()
        os.fsync(fh.fileno())


def segment_digest(store: Store, generation: int) -> str:
    return c.b64url(p.blake2b(store.audit_path(generation).read_bytes(), 32))


class AuditError(p.CryptoError):
    """The audit log does not verify; the message names the segment and the line."""


@dataclass
class AuditSummary:
    entries: int = 0
    segments: int = 0
    events: Counter = field(default_factory=Counter)

    def line(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.events.items()))
        return f"audit log verified: {self.entries} entries in {self.segments} segment(s) ({kinds})"


def check(store: Store) -> AuditSummary:
    """Verify the whole audit log; :class:`AuditError` at the first problem."""
    summary = AuditSummary()
    issued_serials: set[str] = set()
    for generation in range(1, store.generation + 1):
        path = store.audit_path(generation)
        ca = store.ca_cert(generation)
        assert ca.sign_pub is not None
        key = VerifyKey(ca.sign_pub, derived_key_id(ca.sign_pub))
        out = io.BytesIO()
        try:
            with Writer(out) as writer:
                chain.verify_stream([str(path)], writer, key)
        except FileNotFoundError:
            raise AuditError(f"{path} is missing") from None
        except chain.ChainError as exc:
            raise AuditError(f"segment {generation}: {exc}") from None
        records = [orjson.loads(line) for line in out.getvalue().splitlines()]
        names = [r.get("name") for r in records]
        if generation > 1:
            first = records[0] if records else {}
            if first.get("name") != "ca.continue" or first.get("attrs", {}).get("previous") != segment_digest(store, generation - 1):
                raise AuditError(f"segment {generation} does not begin by naming segment {generation - 1} as it is now: "
                                 "the earlier segment was altered, or this one was not written by the rotation")
        if generation < store.generation and (not names or names[-1] != "ca.rotate"):
            raise AuditError(f"segment {generation} does not end with the rotation that replaced its key")
        for record in records:
            summary.events[str(record.get("name", "?")).removeprefix("ca.")] += 1
            if record.get("name") == "ca.issue":
                issued_serials.add(record.get("attrs", {}).get("serial"))
        summary.entries += len(records)
        summary.segments += 1
    for each in store.issued():
        if each.serial not in issued_serials:
            raise AuditError(f"certificate {each.serial} ({each.name}) is in issued/ but the audit log never issued it")
    return summary
