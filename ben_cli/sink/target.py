"""Where ``ben sink`` writes: a ClickHouse server, an NDJSON file, or stdout, named by one URL.

    clickhouse://[user[:password]@]host[:port]/database[?table=NAME&cluster=NAME&secure=1]
    clickhouse+http://[user[:password]@]host[:port]/database[?table=NAME&secure=1]
    nats://HOST[:PORT]/SUBJECT
    file:PATH
    -

``clickhouse://`` speaks the native protocol (port 9000) through clickhouse-driver;
``clickhouse+http://`` (port 8123; ``clickhouse+https://``, 8443) posts JSONEachRow to the HTTP
interface, which leaves parsing to the server and is the faster way to insert from Python.

The password may also come from ``BEN_CLICKHOUSE_PASSWORD`` so that it never has to appear in a
command line (where ``ps`` would show it). It is kept out of ``repr`` and out of spool paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ben_cli.errors import UsageError
from ben_cli.units import ben_home

DEFAULT_PORT = 9000
HTTP_PORTS = {False: 8123, True: 8443}  # plain, TLS
DEFAULT_TABLE = "telemetry"
PASSWORD_ENV = "BEN_CLICKHOUSE_PASSWORD"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TargetError(UsageError):
    """A target URL that cannot be used, or a name in it that cannot be pasted into DDL."""


def check_identifier(name: str, what: str) -> str:
    """Database, table and cluster names are pasted into DDL, so only plain identifiers pass."""
    if not _IDENT.fullmatch(name or ""):
        raise TargetError(f"{what} {name!r} is not a plain identifier (letters, digits, underscore)")
    return name


@dataclass(frozen=True)
class ClickHouseTarget:
    host: str
    port: int = DEFAULT_PORT
    database: str = "default"
    table: str = DEFAULT_TABLE
    user: str = "default"
    password: str = field(default="", repr=False)
    cluster: str | None = None
    secure: bool = False
    http: bool = False

    @property
    def key(self) -> str:
        """A file-name-safe identity of the destination (no credentials): one spool per key."""
        return f"{self.host}_{self.port}_{self.database}_{self.table}".replace(":", "_").replace("/", "_")

    def connect(self, database: str | None = None, **settings: object) -> Any:
        """A clickhouse-driver client; the driver is imported here, never at start-up. Schema work
        connects to ``default`` because the target's database may not exist yet."""
        if self.http:
            from ben_cli.sink.http import HttpClient

            return HttpClient(self.host, self.port, database or self.database, self.user, self.password, self.secure)
        import logging

        from clickhouse_driver import Client

        from ben_cli.sink import native

        native.install()

        # the driver logs a traceback for every refused connection; retries are reported by ben
        logging.getLogger("clickhouse_driver").addHandler(logging.NullHandler())

        return Client(
            host=self.host, port=self.port, database=database or self.database, user=self.user, password=self.password,
            secure=self.secure, connect_timeout=5, send_receive_timeout=60, sync_request_timeout=5,
            settings=dict(settings) or None,
        )


@dataclass(frozen=True)
class FileTarget:
    path: Path


@dataclass(frozen=True)
class StdoutTarget:
    pass


@dataclass(frozen=True)
class NatsTarget:
    url: str  # nats://HOST[:PORT]/SUBJECT, checked by ben_cli.jetstream.parse_address


Target = ClickHouseTarget | FileTarget | StdoutTarget | NatsTarget


def spool_root() -> Path:
    return ben_home() / "spool"


def default_target() -> FileTarget:
    """Without ``--to`` records go to a file under the spool folder: the job needs no server."""
    return FileTarget(spool_root() / "records.ndjson")


def parse_target(url: str | None, env: Mapping[str, str] | None = None) -> Target:
    """The target a ``--to`` URL names (the default file without one); raises TargetError."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if url is None or url == "":
        return default_target()
    if url == "-":
        return StdoutTarget()
    if url.startswith("file:"):
        rest = url[len("file:"):]
        if rest.startswith("//"):
            rest = rest[2:]
        if not rest:
            raise TargetError("file: needs a path, e.g. file:/var/lib/ben/out.ndjson")
        return FileTarget(Path(unquote(rest)).expanduser())
    if url.startswith("nats://"):
        from ben_cli.jetstream import parse_address

        parse_address(url)  # a usage error now, not at the first batch
        return NatsTarget(url)
    parts = urlsplit(url)
    if parts.scheme not in ("clickhouse", "clickhouses", "clickhouse+http", "clickhouse+https"):
        raise TargetError(f"unknown target {url!r}: use clickhouse://host/db, clickhouse+http://host/db, nats://host/SUBJECT, file:PATH or -")
    http = parts.scheme.startswith("clickhouse+")
    secure = parts.scheme in ("clickhouses", "clickhouse+https")
    if not parts.hostname:
        raise TargetError(f"no host in {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"bad port in target URL: {exc}") from None
    database = unquote(parts.path.lstrip("/")) or "default"
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"table", "cluster", "secure"}
    if unknown:
        raise TargetError(f"unknown option(s) in target URL: {', '.join(sorted(unknown))}")
    secure = secure or query.get("secure", "") in ("1", "true", "yes")
    if port is None:
        port = HTTP_PORTS[secure] if http else DEFAULT_PORT
    password = unquote(parts.password) if parts.password is not None else environ.get(PASSWORD_ENV, "")
    cluster = query.get("cluster") or None
    return ClickHouseTarget(
        host=parts.hostname,
        port=port,
        database=check_identifier(database, "database"),
        table=check_identifier(query.get("table") or DEFAULT_TABLE, "table"),
        user=unquote(parts.username) if parts.username else "default",
        password=password,
        cluster=check_identifier(cluster, "cluster") if cluster else None,
        secure=secure,
        http=http,
    )
