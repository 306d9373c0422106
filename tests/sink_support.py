"""Helpers the sink and db tests share: a fresh database per test, varied envelopes, read-back."""

from __future__ import annotations

import random
import uuid

import orjson

from ben_cli.record import format_ts
from ben_cli.sink.rows import record_from_row, select_list

BASE_NS = 1_795_600_000_000_000_000  # 2026-11-25


def varied_records(n: int, seed: int = 1) -> list[dict]:
    """Envelopes with every kind of field: ns times, optional fields, typed attrs, detector and
    scrubber marks, unknown fields, unicode."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rec: dict = {"ts": format_ts(BASE_NS + i * 1_000_003 + rng.randrange(10**9)),
                     "lane": rng.choice(["diag", "event", "control"]), "source": f"host-{i % 7}",
                     "name": rng.choice(["http.request", "cpu.usage", "deploy", "ünïcode.名前"])}
        if rng.random() < 0.8:
            rec["value"] = rng.choice([rng.uniform(-1e6, 1e6), rng.randrange(-1000, 1000), 0.1, 1e-300])
        if rng.random() < 0.5:
            rec["unit"] = rng.choice(["ms", "%", "By", ""])
        if rng.random() < 0.7:
            rec["severity"] = rng.choice(["trace", "debug", "info", "warn", "error", "fatal"])
        if rng.random() < 0.6:
            rec["body"] = rng.choice(["plain", "tab\tnew\nline \"quoted\" \\ back", "emoji 🚀", ""]) + str(i)
        if rng.random() < 0.6:
            rec["attrs"] = {"status": rng.choice([200, 404, 500]), "path": f"/p/{i}", "ok": rng.random() < 0.5,
                            "ratio": rng.random(), "nested": [1, {"a": None}] if i % 11 == 0 else "flat"}
        if rng.random() < 0.3:
            rec["anomaly"] = {"detector": "zscore", "score": rng.uniform(0, 9), "is_anomaly": rng.random() < 0.5,
                              "expected": rng.uniform(0, 100)}
        if rng.random() < 0.2:
            rec["redacted"] = ["email", "ipv4"][: rng.randrange(1, 3)]
        if rng.random() < 0.3:
            rec["_ingest"] = {"format": "ndjson", "file": "app.log", "line": i + 1}
        if rng.random() < 0.1:
            rec["sig"] = uuid.UUID(int=rng.getrandbits(128)).hex
        if rng.random() < 0.1:
            rec["custom_field"] = {"x": [i, "y"]}
        out.append(rec)
    return out


def ndjson(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def read_back(client, database: str, flavour: str = "legacy", table: str = "telemetry") -> list[dict]:
    rows = client.execute(f"SELECT {select_list(flavour)} FROM `{database}`.`{table}` ORDER BY ts, time_ns, batch_id, batch_row")
    return [record_from_row(r) for r in rows]


def canonical(records: list[dict]) -> list[dict]:
    """Records in a fixed order, for == (which, like JSON, holds the number 3 equal to 3.0: the
    value column is a Float64)."""
    def key(r: dict) -> bytes:
        v = r.get("value")
        return orjson.dumps({**r, "value": float(v)} if type(v) is int else r, option=orjson.OPT_SORT_KEYS)
    return sorted(records, key=key)
