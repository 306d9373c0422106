"""Between two pipes a stage writes in blocks, yet a slow producer's records go on at once.

Each stage reads stdin through the one reader: before a read that would wait for the producer,
what the stage has written is handed on (``ndjson.flush_waiting_writers``). Without it a quiet
``ingest --follow`` kept ``scrub | detect | watch`` blank until a 1 MiB block filled.
"""

import os
import select
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BEN = str(Path(sys.executable).with_name("ben"))
RECORD = {"ts": "2026-12-05T01:00:00Z", "lane": "diag", "source": "web-1", "name": "cpu", "value": 1.5,
          "body": "login by bob@example.com"}


def _line_within(stream, seconds: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else b""


@pytest.mark.parametrize("stage", [["scrub"], ["detect"], ["ingest", "-f", "ndjson"],
                                   ["ingest"]], ids=" ".join)
def test_each_record_of_a_slow_producer_is_handed_on_before_the_next_arrives(stage):
    proc = subprocess.Popen([BEN, *stage, "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "BEN_LOAD_PLUGINS": ""})
    try:
        for i in range(3):
            proc.stdin.write(orjson.dumps({**RECORD, "value": 1.5 + i}) + b"\n")
            proc.stdin.flush()
            line = _line_within(proc.stdout, 30)  # a bound on a hang, not a speed
            assert line, f"record {i} was held back while the producer was still writing"
            assert proc.poll() is None  # the input is still open: not the final flush
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
