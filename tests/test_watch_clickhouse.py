"""ben watch --from clickhouse://: the table ben sink writes, read once and polled, against the
real ClickHouse server, over the native protocol and HTTP."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from ben_cli.watch import Stats, reader

from .conftest import run_ben
from .sink_support import ndjson, varied_records

SINCE = "2026-11-25T00:00:00Z"


@pytest.fixture(params=["native", "http"])
def table(request, clickhouse, cli):
    """A fresh database with the ben schema: (the URL for the protocol, the native URL ben sink uses)."""
    name = f"w_{uuid.uuid4().hex[:12]}"
    native = f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}"
    result = cli(["db", "init", "--to", native])
    assert result.exit_code == 0, result.output
    url = native if request.param == "native" else f"clickhouse+http://{clickhouse.host}:{clickhouse.http_port}/{name}"
    yield url, native
    client = clickhouse.client()
    client.execute(f"DROP DATABASE IF EXISTS `{name}`")
    client.disconnect()


def sink(cli, url: str, records: list[dict]) -> None:
    result = cli(["sink", "-q", "--to", url], input=ndjson(records))
    assert result.exit_code == 0, result.output


def test_once_reads_the_table_from_a_time(table, cli):
    url, native = table
    records = varied_records(300)
    sink(cli, native, records)
    proc = run_ben("watch", "--once", "--from", url, "--since", SINCE)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.decode().splitlines()[0]
    assert first.startswith("ben watch: 300 records, 0 rejected")
    later = run_ben("watch", "--once", "-q", "--from", url, "--since", "2030-01-01T00:00:00Z")
    assert later.stdout.decode().startswith("ben watch: 0 records")  # nothing that recent


def test_follow_polls_what_is_inserted_later_once_each(table, cli):
    url, native = table
    sink(cli, native, varied_records(200, seed=1))
    stats, stop = Stats(), threading.Event()
    thread = threading.Thread(target=reader(stats, url, stop, follow=True, since=SINCE), args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while stats.total < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stats.total == 200
        sink(cli, native, varied_records(150, seed=2))  # records with old times, inserted now: still seen
        while stats.total < 350 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # two more polls: nothing is counted twice
        assert stats.total == 350 and stats.failure is None
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_missing_table_is_an_error_naming_it(clickhouse):
    proc = run_ben("watch", "--once", "--from", f"clickhouse://{clickhouse.host}:{clickhouse.port}/no_such_db")
    assert proc.returncode == 1
    assert proc.stderr.decode() == ("ben watch: no table no_such_db.telemetry (ben db init creates it; "
                                    "ben sink fills it)\n")
