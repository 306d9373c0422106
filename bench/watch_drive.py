"""Child processes of bench_watch.py (run as scripts, so each has its own peak memory).

    python watch_drive.py dashboard T0 < records.ndjson   # the dashboard, headless, over a pipe
    python watch_drive.py memory N                        # N records through the counting model

``dashboard`` draws the real app (textual, headless, 120x40) while the real reader counts stdin,
and prints, as JSON: records, seconds of reading, frames drawn, dropped frames, and the time
from ``T0`` (the shell's clock just before this process started) to the first frame.
``memory`` feeds N parsed records, as a 100,000 records/s input would (the model's clock moves
one second per 100,000 records; record times move with it), and prints the resident size after
each million.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time


def dashboard(t0: float) -> dict:
    import threading

    from ben_cli.watch import Stats, reader
    from ben_cli.watch.app import WatchApp

    stats, stop = Stats(), threading.Event()
    app = WatchApp(stats, reader=reader(stats, 0, stop), refresh_s=0.25, stop=stop)
    times: dict[str, float] = {}

    async def wait_for_the_end(pilot) -> None:  # noqa: ANN001
        times["start"] = time.monotonic()
        while not stats.ended:
            await asyncio.sleep(0.02)
        times["end"] = time.monotonic()
        app.exit()

    app.run(headless=True, size=(120, 40), auto_pilot=wait_for_the_end)
    assert app.first_frame_at is not None
    first_frame_wall = time.time() - (time.monotonic() - app.first_frame_at)
    return {"records": stats.total, "rejected": stats.rejected, "seconds": times["end"] - times["start"],
            "frames": app.frames, "dropped": app.dropped, "first_frame_s": first_frame_wall - t0,
            "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def memory(n: int) -> dict:
    import orjson

    from ben_cli.record import format_ts
    from ben_cli.watch import Stats

    clock = [0.0]
    stats = Stats(clock=lambda: clock[0])
    import io

    blob = io.BytesIO()  # orjson's bytes keep spare capacity (about 4 KiB each): kept as one blob
    for i in range(100_000):
        rec = {"lane": "event" if i % 4 else "diag", "source": f"host-{i % 300}", "name": f"http.{i % 40}",
               "value": float(i % 997), "severity": "error" if i % 50 == 0 else "info", "body": f"request {i}",
               "attrs": {"path": f"/api/{i % 17}", "status": 200}}
        if i % 3 == 0:
            rec["redacted"] = ["email"]
        if i % 2 == 0:
            rec["anomaly"] = {"detector": "auto", "score": 0.99 if i % 5000 == 0 else 0.1, "is_anomaly": i % 5000 == 0,
                              "field": "value", "value": rec["value"], "expected": 500.0, "series": f"host-{i % 300}/http.{i % 40}"}
        blob.write(orjson.dumps(rec) + b"\n")
    pool = blob.getvalue().splitlines()
    del blob
    base = 1_795_600_000 * 10**9
    rss: dict[int, int] = {}
    start_kib = _resident_kib()  # the input pool and the imports, before any record is counted
    done = 0
    started = time.perf_counter()
    while done < n:
        for start in range(0, len(pool), 1000):
            ts = format_ts(base + done * 10_000)  # 100,000 records a second of record time
            batch = []
            for line in pool[start:start + 1000]:
                rec = orjson.loads(line)
                rec["ts"] = ts
                batch.append(rec)
            stats.feed(batch)
            done += len(batch)
            clock[0] = done / 100_000
            if done % 100_000 == 0:
                stats.snapshot()  # what a frame takes, ten a second of input
            if done % 1_000_000 == 0:
                rss[done] = _resident_kib()
            if done >= n:
                break
    return {"records": done, "total": stats.total, "seconds": time.perf_counter() - started, "resident_kib_at": rss,
            "start_kib": start_kib, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _resident_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * (resource.getpagesize() // 1024)


if __name__ == "__main__":
    mode = sys.argv[1]
    result = dashboard(float(sys.argv[2])) if mode == "dashboard" else memory(int(sys.argv[2]))
    sys.stdout.write(json.dumps(result) + "\n")
