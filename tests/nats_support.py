"""A real NATS server with JetStream for the tests: started on a free loopback port with its
files in a temporary folder (tests/support/nats-test-server, which the transcripts use too),
stopped when the session ends."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "support" / "nats-test-server"


@pytest.fixture(scope="session")
def nats_server() -> Iterator[str]:
    """``nats://127.0.0.1:PORT`` of a running server; a server that does not start fails the test."""
    port = subprocess.run([sys.executable, str(ROOT / "tests" / "support" / "free-port")], capture_output=True,
                          text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="ben-nats-") as folder:
        started = subprocess.run([str(SCRIPT), "start", folder, port], capture_output=True, text=True)
        if started.returncode != 0:
            pytest.fail(f"the NATS test server did not start: {started.stderr}")
        try:
            yield f"nats://127.0.0.1:{port}"
        finally:
            subprocess.run([str(SCRIPT), "stop", folder], check=False)
