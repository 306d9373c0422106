"""Polling a ClickHouse table for ``ben watch --from clickhouse://...`` (not built yet)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from ben_cli.errors import UsageError


def table_chunks(url: str, stop: threading.Event, *, follow: bool = False, since: str | None = None,
                 poll_s: float = 1.0) -> Iterator[bytes]:
    raise UsageError(f"--from {url}: reading a ClickHouse table is not built yet")
