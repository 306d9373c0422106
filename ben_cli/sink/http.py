"""A small ClickHouse client over the HTTP interface, with the standard library's http.client.

``ben sink --to clickhouse+http://…`` inserts through it: a batch is posted as the body of
``INSERT INTO db.table FORMAT JSONEachRow`` and the server parses the JSON on its own threads,
as it does for ``clickhouse-client``. The other statements the sink needs (schema version, the
rows of a batch already stored) are short queries answered as ``JSONCompact``.

It speaks just enough of the driver's interface (``execute(sql, params)``, ``disconnect()``) for
the delivery code to use either. Errors come back as :class:`ServerError` with the server's code
and message, parsed from the body (old servers send no exception header), so they are classified
the same way as the driver's.
"""

from __future__ import annotations

import base64
import http.client
import re
from collections.abc import Mapping
from urllib.parse import urlencode

import orjson

# "Code: 395, e.displayText() = DB::Exception: …, e.what() = DB::Exception" (18.x) or
# "Code: 395. DB::Exception: … (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version …)" (current)
_ERROR = re.compile(rb"Code: (\d+)[.,] (?:e\.displayText\(\) = )?(?:DB::Exception: )?(.*?)(?:, e\.what\(\) = .*)?\s*$", re.S)
_AT_ROW = re.compile(r"\(at row (\d+)\)")
# Statuses a proxy or a restarting server answers with, worth waiting out.
TRANSIENT_STATUSES = frozenset({408, 429, 502, 503, 504})


class ServerError(Exception):
    """The server refused a statement: its error code (None when the answer had none) and message."""

    def __init__(self, code: int | None, message: str, status: int):
        super().__init__(f"Code: {code}. {message}" if code is not None else message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def row(self) -> int | None:
        """The 1-based row of the posted data that the server could not parse, when it says."""
        m = _AT_ROW.search(self.message)
        return int(m[1]) if m else None


def parse_error(status: int, body: bytes) -> ServerError:
    m = _ERROR.match(body.strip())
    if m is None:
        return ServerError(None, f"HTTP {status}: {body[:300].decode(errors='replace').strip()}", status)
    return ServerError(int(m[1]), m[2].decode(errors="replace").strip(), status)


def quote(value: object) -> str:
    """A value as a ClickHouse literal (only what the sink's own queries bind: str and int)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"cannot bind {type(value).__name__}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class HttpClient:
    """One keep-alive connection to a server's HTTP port; reconnects when it was dropped."""

    def __init__(self, host: str, port: int, database: str, user: str = "default", password: str = "",
                 secure: bool = False, timeout: float = 60.0):
        self.host, self.port, self.database, self.secure, self.timeout = host, port, database, secure, timeout
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Connection": "keep-alive"}
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = http.client.HTTPSConnection if self.secure else http.client.HTTPConnection
            self._conn = kind(self.host, self.port, timeout=self.timeout)
        return self._conn

    def disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, sql: str | None, body: bytes, settings: Mapping[str, object] | None = None) -> bytes:
        """POST ``body`` (the statement itself when ``sql`` is None); the answer's body, or
        ServerError. A failed request closes the connection: its state is not trusted after."""
        params = {"database": self.database, **(settings or {})}
        if sql is not None:
            params["query"] = sql
        conn = self._connection()
        try:
            conn.request("POST", "/?" + urlencode(params), body=body, headers=self.headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            self.disconnect()
            raise
        if resp.status != 200:
            self.disconnect()
            raise parse_error(resp.status, data)
        return data

    def execute(self, sql: str, params: Mapping[str, object] | None = None,
                settings: Mapping[str, object] | None = None) -> list[tuple]:
        """Run a query and return its rows, as the driver's ``execute`` does."""
        if params:
            sql = sql % {k: quote(v) for k, v in params.items()}
        data = self.post(None, f"{sql} FORMAT JSONCompact".encode(),
                         {"output_format_json_quote_64bit_integers": 0, **(settings or {})})
        return [tuple(r) for r in orjson.loads(data)["data"]] if data.strip() else []

    def insert(self, table: str, body: bytes, settings: Mapping[str, object] | None = None) -> None:
        self.post(f"INSERT INTO {table} FORMAT JSONEachRow", body, settings)
