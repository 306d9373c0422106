"""ben ca: certificates verified and issued per second, beside the same Ed25519 verification
done by PyNaCl alone (the floor a Python verifier stands on) and by `openssl speed ed25519`."""

from __future__ import annotations

import os
import re
import subprocess
import time

import nacl.signing
from harness import Harness, human_rate, table

from ben_cli.ca import authority
from ben_cli.ca import crl as r
from ben_cli.ca.store import Store
from ben_cli.ca.verify import Requirements, TrustBundle, Verifier
from ben_cli.crypto.primitives import x25519_keypair

N_VERIFY = 20_000
N_ISSUE = 300
N_SIGN = 5_000
REVOKED = 1_000


def _best(h: Harness, n: int, work) -> tuple[float, float]:
    """(calls per second by the wall clock, per CPU-second), best of the harness's repeat count."""
    wall, cpu = [], []
    for _ in range(h.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        work(n)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return n / min(wall), n / max(min(cpu), 1e-9)


def _openssl_verify_rate() -> float | None:
    try:
        out = subprocess.run(["openssl", "speed", "-seconds", "2", "ed25519"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"^\s*253 bits EdDSA \(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out, re.M)
    return float(found[2]) if found else None


def run(h: Harness) -> str:
    root = h.path("ca-bench")
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    store = Store(root / "ca")
    now = int(time.time())
    authority.init(store, b"bench", now, cost="interactive")
    key = store.signing_key(lambda: b"bench")
    profile = authority.Profile("node1", ("web",), ("diag", "event"), ("client",), 7 * 86400)
    cert = authority.issue(store, key, profile, x25519_keypair()[1], None, now)
    revoked = r.build(key, sequence=2, issued=now, next_update=now + 86400,
                      serials=[os.urandom(16).hex() for _ in range(REVOKED)])
    verifier = Verifier(TrustBundle.of([store.ca_cert()]), revoked)
    text = cert.text.encode()
    needs = Requirements("client", "diag", "web")
    pynacl = nacl.signing.VerifyKey(key.public.key)
    signed, signature = cert.signed_bytes, cert.signature

    def ben_verify(n: int) -> None:
        check = verifier.check
        for _ in range(n):
            check(text, now, needs)

    def nacl_verify(n: int) -> None:
        verify = pynacl.verify
        for _ in range(n):
            verify(signed, signature)

    def sign_only(n: int) -> None:
        for _ in range(n):
            authority.c.issue(key, name="node1", groups=("web",), lanes=("diag",), usage=("client",),
                              noise_pub=cert.noise_pub, sign_pub=None, not_before=now, not_after=now + 3600)

    def issue_kept(n: int) -> None:
        for _ in range(n):
            authority.issue(store, key, profile, cert.noise_pub, None, now)

    v_wall, v_cpu = _best(h, N_VERIFY, ben_verify)
    n_wall, n_cpu = _best(h, N_VERIFY, nacl_verify)
    s_wall, s_cpu = _best(h, N_SIGN, sign_only)
    i_wall, i_cpu = _best(h, N_ISSUE, issue_kept)
    openssl = _openssl_verify_rate()
    verify_rows = [
        ["PyNaCl `VerifyKey.verify` alone (reference)", human_rate(n_wall), human_rate(n_cpu), "1.00x"],
        ["ben `Verifier.check` (parse, canonical re-encoding, signature, times, list, usage/lane/group)",
         human_rate(v_wall), human_rate(v_cpu), f"{v_cpu / n_cpu:.2f}x"],
    ]
    if openssl is not None:
        verify_rows.insert(0, ["`openssl speed ed25519` verify (C, no parsing)", human_rate(openssl), "-",
                               f"{openssl / n_cpu:.2f}x"])
    issue_rows = [
        ["build and sign a certificate (`cert.issue`)", human_rate(s_wall), human_rate(s_cpu)],
        ["`authority.issue`: under the lock, audit entry appended and fsynced, certificate saved and fsynced",
         human_rate(i_wall), human_rate(i_cpu)],
    ]
    ok = "meets" if v_cpu >= 5000 else "MISSES"
    return (
        "## ca\n\n"
        f"Verification of one client certificate against a one-CA bundle and a revocation list of {REVOKED:,}\n"
        f"serials, in one process ({N_VERIFY:,} checks, best of {h.repeat}); the ratio is per CPU-second to\n"
        f"PyNaCl verifying the same signature over the same bytes. Per CPU-second ben {ok} the 5,000/s\n"
        "the bee listener needs (one check per handshake); the wall-clock rates depend on what else the\n"
        "machine runs (PyNaCl's own wall rate beside its CPU rate shows how loaded it was).\n\n"
        + table(["verifier", "checks/s (wall)", "checks/CPU-s", "vs PyNaCl (CPU)"], verify_rows)
        + f"\nIssuing ({N_SIGN:,} signed in memory; {N_ISSUE} issued into the CA folder). The CA's passphrase\n"
        "(scrypt) is paid once per `ben ca` command, not per certificate, and is left out.\n\n"
        + table(["operation", "certificates/s (wall)", "certificates/CPU-s"], issue_rows)
    )
