"""A ``ben ingest --listen`` server run as a real process for tests: started on port 0 (the kernel
picks a free one, read back from the "listening on" line), stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson


class ListeningBen:
    def __init__(self, tmp: Path, address: str, *args: str):
        self.out_path = tmp / "listener.out"
        self.err_path = tmp / "listener.err"
        ben = Path(sys.executable).with_name("ben")
        self.out = open(self.out_path, "wb")  # noqa: SIM115 - closed in stop()
        self.err = open(self.err_path, "wb")  # noqa: SIM115
        env = {**os.environ, "BEN_LOAD_PLUGINS": ""}
        self.proc = subprocess.Popen([str(ben), "ingest", "--listen", address, *args], stdout=self.out,
                                     stderr=self.err, env=env)
        self.address = self._wait_ready()

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = self.err_path.read_text()
            m = re.search(r"listening on (\S+)", text)
            if m:
                return m[1]
            if self.proc.poll() is not None:
                raise AssertionError(f"listener exited: {text}")
            time.sleep(0.02)
        raise AssertionError("listener did not start")

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.address.split("://", 1)[1].rsplit(":", 1)
        return host, int(port)

    def stop(self) -> tuple[list[dict], str, int]:
        """SIGTERM, wait; the records written, stderr, and the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.out.close()
        self.err.close()
        records = [orjson.loads(line) for line in self.out_path.read_bytes().splitlines()]
        return records, self.err_path.read_text(), code

    def peak_rss_kib(self) -> int:
        """Peak resident memory of the running server (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")
