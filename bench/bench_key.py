"""ben key: signing and verifying NDJSON streams beside `jq -c .`; file signatures beside
`minisign`; sealing and opening beside `age`."""

from __future__ import annotations

import os

from generate import write_ndjson
from harness import Harness, human_rate, mib, table

N = 500_000
FILE_MIB = 256


def _keys(h: Harness) -> tuple[str, str, str, str]:
    base = h.path("key-bench")
    base.mkdir(mode=0o700, exist_ok=True)
    sig, box = base / "sig", base / "box"
    if not sig.with_suffix(".key").exists():
        h.time_once(f"{h.ben} key gen -q --force --out {h.q(sig)}")
        h.time_once(f"{h.ben} key gen -q --force --type x25519 --out {h.q(box)}")
    if not (base / "mini.key").exists():
        h.time_once(f"minisign -G -W -p {h.q(base / 'mini.pub')} -s {h.q(base / 'mini.key')}")
    return str(sig) + ".key", str(sig) + ".pub", str(box) + ".key", str(box) + ".pub"


def _cpu_seconds(h: Harness, cmd: str) -> float:
    """User + system CPU time of a command (best of the harness's repeat count): on a shared,
    loaded machine this says more about the work done than the wall clock does."""
    return h.time(cmd).cpu_seconds


def _big_file(h: Harness):
    path = h.path(f"key-{FILE_MIB}m.bin")
    if not path.exists():
        with open(path, "wb") as fh:
            for _ in range(FILE_MIB):
                fh.write(os.urandom(1 << 20))
    return path


def run(h: Harness) -> str:
    records = write_ndjson(h.path("key-500k.ndjson"), N)
    signed = h.path("key-500k.signed.ndjson")
    sig_key, sig_pub, box_key, box_pub = _keys(h)
    size = records.stat().st_size / N

    jq = h.time(f"jq -c . {h.q(records)}")
    sign = h.time(f"{h.ben} key sign --stream -q -k {h.q(sig_key)} {h.q(records)}", stdout=signed)
    verify = h.time(f"{h.ben} key verify --stream -q --pub {h.q(sig_pub)} {h.q(signed)}")
    growth = signed.stat().st_size / records.stat().st_size
    cpu = {
        "jq": _cpu_seconds(h, f"jq -c . {h.q(records)}"),
        "sign": _cpu_seconds(h, f"{h.ben} key sign --stream -q -k {h.q(sig_key)} {h.q(records)}"),
        "verify": _cpu_seconds(h, f"{h.ben} key verify --stream -q --pub {h.q(sig_pub)} {h.q(signed)}"),
    }
    stream_rows = [
        [label, human_rate(t.rate(N)), f"{t.rate(N) / jq.rate(N):.2f}x", human_rate(N / cpu[name]),
         f"{cpu['jq'] / cpu[name]:.2f}x", mib(t.peak_rss_kib)]
        for label, name, t in (("`jq -c .` (reference)", "jq", jq), ("`ben key sign --stream`", "sign", sign),
                               ("`ben key verify --stream`", "verify", verify))
    ]

    big = _big_file(h)
    mini_key = h.path("key-bench") / "mini.key"
    m_sign = h.time(f"minisign -S -s {h.q(mini_key)} -m {h.q(big)} -x {h.q(h.path('key-big.mini'))}")
    b_sign = h.time(f"{h.ben} key sign -q -k {h.q(sig_key)} {h.q(big)}")
    b_verify = h.time(f"{h.ben} key verify -q --pub {h.q(sig_pub)} {h.q(big)}")
    m_verify = h.time(f"minisign -Vq -p {h.q(sig_pub)} -m {h.q(big)}")
    sealed_age, sealed_ben = h.path("key-big.age"), h.path("key-big.ben.age")
    recipient = open(box_pub).read().strip()
    a_seal = h.time(f"age -r {recipient} {h.q(big)}", stdout=sealed_age)
    b_seal = h.time(f"{h.ben} key seal --to {h.q(box_pub)} {h.q(big)}", stdout=sealed_ben)
    a_open = h.time(f"age -d -i {h.q(box_key)} {h.q(sealed_ben)}")
    b_open = h.time(f"{h.ben} key open -k {h.q(box_key)} {h.q(sealed_age)}")

    def mbs(t) -> str:
        return f"{FILE_MIB / t.seconds:,.0f}"

    file_rows = [
        ["sign", "`minisign -S`", mbs(m_sign), mbs(b_sign), f"{m_sign.seconds / b_sign.seconds:.2f}x", mib(b_sign.peak_rss_kib)],
        ["verify", "`minisign -V`", mbs(m_verify), mbs(b_verify), f"{m_verify.seconds / b_verify.seconds:.2f}x", mib(b_verify.peak_rss_kib)],
        ["seal", "`age -r`", mbs(a_seal), mbs(b_seal), f"{a_seal.seconds / b_seal.seconds:.2f}x", mib(b_seal.peak_rss_kib)],
        ["open", "`age -d`", mbs(a_open), mbs(b_open), f"{a_open.seconds / b_open.seconds:.2f}x", mib(b_open.peak_rss_kib)],
    ]
    return (
        "## key\n\n"
        f"Signed streams: {N:,} generated application-log records ({size:.0f} bytes each on average; signing\n"
        f"adds {100 * (growth - 1):.0f}% for the chain links and one checkpoint per 1,000 records). Rates are\n"
        "records per second of the whole process (start-up included), by the wall clock and per second of\n"
        "CPU time (user + system; steadier on a shared machine); ratios are to `jq -c .` on the unsigned file.\n\n"
        + table(["command", "records/s (wall)", "vs jq", "records/CPU-s", "vs jq (CPU)", "peak memory"], stream_rows)
        + f"\nFiles: one {FILE_MIB} MiB random file. Throughput in MiB/s; the ratio is ben's speed over the\n"
        "reference tool's (above 1 means ben is faster). ben opens into memory and a 0600 temporary\n"
        "file before writing anything, so `open` reads the plaintext twice.\n\n"
        + table(["operation", "reference", "reference MiB/s", "ben MiB/s", "ben vs reference", "ben peak memory"], file_rows)
    )
