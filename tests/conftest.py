"""Shared fixtures: the CLI runner, a scratch BEN_HOME, and the real ClickHouse server."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def ben_home(tmp_path, monkeypatch):
    """Every test gets its own BEN_HOME so state never leaks between tests or into ~."""
    home = tmp_path / "ben-home"
    monkeypatch.setenv("BEN_HOME", str(home))
    monkeypatch.setenv("BEN_LOAD_PLUGINS", "")
    return home


@pytest.fixture
def cli():
    """Invoke the real root command in-process: ``cli(["ingest"], input=b"...")``."""
    from ben_cli.commands._root import build_cli
    from click.testing import CliRunner

    group = build_cli(plugins=[])

    def invoke(args, input=None, **kw):
        return CliRunner().invoke(group, args, input=input, catch_exceptions=False, **kw)

    return invoke


def run_ben(*args: str, input: bytes | None = None, check: bool = False, env: dict | None = None, **kw):
    """Run the installed ``ben`` console script as a subprocess (for exit codes, pipes, signals)."""
    ben = Path(sys.executable).with_name("ben")
    full_env = {**os.environ, "BEN_LOAD_PLUGINS": "", **(env or {})}
    return subprocess.run([str(ben), *args], input=input, capture_output=True, check=check, env=full_env, **kw)


class ClickHouseServer:
    """Where the test server listens (native ``port``, HTTP ``http_port``); ``client()`` gives a
    clickhouse-driver connection."""

    def __init__(self, host: str, port: int, http_port: int):
        self.host, self.port, self.http_port = host, port, http_port

    @property
    def url(self) -> str:
        return f"clickhouse://{self.host}:{self.port}/default"

    def client(self, database: str = "default"):
        from clickhouse_driver import Client

        return Client(host=self.host, port=self.port, database=database, connect_timeout=5, send_receive_timeout=60)


@pytest.fixture(scope="session")
def clickhouse():
    """The real ClickHouse server. ``make test`` starts one and names it in BEN_TEST_CLICKHOUSE;
    a bare ``pytest`` starts its own. Either way a server that does not answer fails the test."""
    given = os.environ.get("BEN_TEST_CLICKHOUSE")
    if given:
        host, port = given.rsplit(":", 1)
        # make test exports the HTTP port it started the server on; 18123 is the server script's default
        yield ClickHouseServer(host, int(port), int(os.environ.get("BEN_CH_HTTP_PORT", "18123")))
        return
    script = ROOT / "tests" / "support" / "clickhouse-test-server"
    free = ROOT / "tests" / "support" / "free-port"
    tcp = subprocess.run([sys.executable, str(free)], capture_output=True, text=True, check=True).stdout.strip()
    http = subprocess.run([sys.executable, str(free)], capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "BEN_CH_TCP_PORT": tcp, "BEN_CH_HTTP_PORT": http}
    with tempfile.TemporaryDirectory(prefix="ben-ch-") as folder:
        started = subprocess.run([str(script), "start", folder], env=env, capture_output=True, text=True)
        if started.returncode != 0:
            pytest.fail(f"ClickHouse test server did not start: {started.stderr}")
        try:
            yield ClickHouseServer("127.0.0.1", int(tcp), int(http))
        finally:
            subprocess.run([str(script), "stop", folder], env=env, check=False)


from .nats_support import nats_server  # noqa: E402,F401 - the NATS JetStream server fixture (tests/test_nats.py)
