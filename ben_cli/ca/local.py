"""What this machine trusts, for ``ben ca verify``, policy bundles and contracts' signed lanes:
files named, else what ben keeps here.

On the CA's machine the trust bundle and the revocation list default to the CA's own (the
current bundle, the current list); on a node, to the bundle ``ben ca accept`` kept. The highest
revocation-list sequence seen is kept in ``$BEN_HOME/trust/crl-seen.json``, so an older list
given later is refused.
"""

from __future__ import annotations

from pathlib import Path

from ben_cli.ca import authority, verify
from ben_cli.ca import cert as c
from ben_cli.ca import crl as r
from ben_cli.ca.node import default_root as node_root
from ben_cli.ca.store import Store
from ben_cli.errors import UsageError
from ben_cli.units import ben_home


def seen_path() -> Path:
    return ben_home() / "trust" / "crl-seen.json"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror}") from None


def check_file(path: Path, now: int, needs: verify.Requirements, bundle: Path | None = None, crl: Path | None = None,
               seen: Path | None = None) -> c.Certificate:
    """The certificate in ``path`` if it is valid at ``now`` for ``needs``; else
    :class:`~ben_cli.ca.cert.Refused` saying exactly why not."""
    trust = _trust(bundle, now, "--bundle")
    data = _read(path, "certificate")
    certificate = verify.Verifier(trust).check(data, now, needs)  # its own refusals first, then the list's
    revocations = _revocations(trust, bundle, crl, now, seen)
    if revocations is None:
        return certificate
    return verify.Verifier(trust, revocations).check(data, now, needs)


def load_trust(bundle: Path | None, crl: Path | None, now: int) -> tuple[verify.TrustBundle, r.Crl | None]:
    """The trust bundle and revocation list to verify against: the files given, else the CA's own
    on the CA's machine, else the bundle an enrolled node accepted. A revocation list older than
    one already seen is refused (a replayed list could un-revoke a signer)."""
    trust = _trust(bundle, now, "--trust")
    return trust, _revocations(trust, bundle, crl, now)


def _trust(bundle: Path | None, now: int, option: str) -> verify.TrustBundle:
    if bundle is not None:
        return verify.TrustBundle.parse(_read(bundle, "trust bundle"))
    store = Store()
    if store.exists():
        return authority.bundle(store, now)
    if (node_root() / "bundle").exists():
        return verify.TrustBundle.parse((node_root() / "bundle").read_bytes())
    raise UsageError(f"give {option} (the CA trust bundle; no CA and no enrolled node here to take one from)")


def _revocations(trust: verify.TrustBundle, bundle: Path | None, crl: Path | None, now: int,
                 seen: Path | None = None) -> r.Crl | None:
    """The revocation list given, else the CA's own when its bundle is the one trusted; None without one."""
    store = Store()
    crl_data = _read(crl, "revocation list") if crl is not None else (
        store.crl_path.read_bytes() if bundle is None and store.exists() and store.crl_path.exists() else None)
    if crl_data is None:
        return None
    revocations = verify.check_crl(trust, crl_data, now)
    r.SeenSequence(seen or seen_path()).check_and_raise(revocations)
    return revocations
