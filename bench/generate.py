"""Deterministic generated inputs for the benchmarks (same seed, same bytes, every run)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

PATHS = ["/api/v1/items", "/api/v1/users", "/login", "/checkout", "/healthz", "/api/v2/search"]
LEVELS = ["info"] * 6 + ["debug"] * 2 + ["warn", "error"]


def app_log_objects(n: int, seed: int = 7):
    """Application log records of about 250 bytes as producers write them (aliases, not envelopes)."""
    rng = random.Random(seed)
    base = 1_795_600_000_000  # ms epoch: 2026-11-25
    for i in range(n):
        path = PATHS[rng.randrange(len(PATHS))]
        status = 200 if rng.random() < 0.93 else rng.choice((404, 500, 503))
        ms = rng.randint(2, 900)
        t = base + i * 7
        yield {
            "timestamp": f"2026-11-25T{(t // 3_600_000) % 24:02d}:{(t // 60_000) % 60:02d}:{(t // 1000) % 60:02d}.{t % 1000:03d}Z",
            "level": LEVELS[rng.randrange(len(LEVELS))],
            "host": f"web-{i % 12}",
            "msg": f"GET {path}/{rng.randrange(10**6)} returned {status} in {ms} ms",
            "path": path,
            "status": status,
            "latency_ms": ms,
            "trace_id": f"{rng.getrandbits(128):032x}",
            "span_id": f"{rng.getrandbits(64):016x}",
        }


def write_ndjson(path: Path, n: int) -> Path:
    if not path.exists():
        with open(path, "wb") as fh:
            for obj in app_log_objects(n):
                fh.write(orjson.dumps(obj) + b"\n")
    return path


def _logfmt_value(v: object) -> str:
    s = str(v)
    return f'"{s}"' if (" " in s or "=" in s or '"' in s or not s) else s


def write_logfmt(path: Path, n: int) -> Path:
    if not path.exists():
        with open(path, "w") as fh:
            for obj in app_log_objects(n):
                fh.write(" ".join(f"{k}={_logfmt_value(v)}" for k, v in obj.items()) + "\n")
    return path
