"""OTLP over HTTP: ``POST /v1/logs``, ``/v1/metrics`` and ``/v1/traces``, protobuf or JSON bodies.

The standard library's HTTP server, one thread per connection (HTTP/1.1 keep-alive), at most
``max_connections`` at once (more are closed as soon as accepted and counted ``refused``). A body
is ``application/x-protobuf`` or ``application/json``, plain or ``Content-Encoding: gzip``; its
length must be given (``Content-Length``) and is limited, before and after decompression, to
``max_request_bytes`` (413 otherwise). The answer is in the request's encoding: the export
response (with ``partial_success`` when something was rejected), or on an error a
``google.rpc.Status`` (JSON: ``{"code", "message"}``): 400 for a body that cannot be read, 401
without the bearer token, 404/405 for other paths and methods, 415 for other content types,
503 with ``Retry-After`` under backpressure.

TLS wraps the accepted socket; the handshake is done in the connection's own thread (with the idle
timeout), so a client that connects and says nothing holds up no one else.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import orjson

from ben_cli.ingest import otlp_proto
from ben_cli.ingest.format import DecodeError
from ben_cli.ingest.otlp_door import Backpressure, BadRequest, Door, Outcome, Unauthenticated
from ben_cli.ingest.otlp_wire import status

PATHS = {"/v1/logs": "logs", "/v1/metrics": "metrics", "/v1/traces": "traces"}
PROTOBUF, JSON = "application/x-protobuf", "application/json"
_PARTIAL_JSON = {"logs": "rejectedLogRecords", "metrics": "rejectedDataPoints", "traces": "rejectedSpans"}


class _Refusal(Exception):
    def __init__(self, http: int, grpc_code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.http, self.grpc_code, self.headers = http, grpc_code, headers or {}


def gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body inflated to at most ``limit`` bytes (a small bomb cannot fill memory)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise _Refusal(400, 3, f"the gzip body cannot be read: {exc}") from None
    if len(out) > limit:
        raise _Refusal(413, 8, f"the body is over the {limit}-byte limit once decompressed (--max-request-bytes)")
    if not inflater.eof:
        raise _Refusal(400, 3, "the gzip body is cut short")
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # an answer is small and waited for: no 40 ms delayed-ACK stalls
    server: OtlpHttpServer
    server_version = "ben"
    sys_version = ""

    def setup(self) -> None:
        self.request.settimeout(self.server.idle_timeout)  # what StreamRequestHandler.timeout would do
        super().setup()

    def handle(self) -> None:
        conn = self.connection
        if isinstance(conn, ssl.SSLSocket):
            try:
                conn.do_handshake()
            except (OSError, ssl.SSLError):
                return  # a client that fails the handshake (no certificate, the wrong one) is dropped
        self.server.idle(self, True)
        try:
            super().handle()
        finally:
            self.server.idle(self, None)

    def parse_request(self) -> bool:
        self.server.idle(self, False)  # a request line came: this connection is busy until answered
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # ben reports counts, not one line per request

    def _answer(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.server.stopping.is_set():
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.server.idle(self, True)

    def _refuse(self, refusal: _Refusal, ctype: str) -> None:
        if ctype == JSON:
            body = orjson.dumps({"code": refusal.grpc_code, "message": str(refusal)})
        else:
            body, ctype = status(refusal.grpc_code, str(refusal)), PROTOBUF
        self._answer(refusal.http, body, ctype, refusal.headers)

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        try:
            signal, outcome = self._export(ctype)
        except _Refusal as refusal:
            self._refuse(refusal, ctype)
            return
        except Exception as exc:  # a fault of ben's: said to the client (500, not retried), the service goes on
            self.close_connection = True
            self._refuse(_Refusal(500, 13, f"ben could not take this request: {type(exc).__name__}: {exc}"), ctype)
            return
        if ctype == JSON:
            body = b"{}"
            if outcome.rejected:
                body = orjson.dumps({"partialSuccess": {_PARTIAL_JSON[signal]: outcome.rejected,
                                                        "errorMessage": outcome.message}})
        else:
            body = otlp_proto.response(signal, outcome.rejected, outcome.message)
        self._answer(200, body, ctype)

    def _export(self, ctype: str) -> tuple[str, Outcome]:
        server = self.server
        door = server.door
        signal = PATHS.get(urlsplit(self.path).path)
        if signal is None:
            self.close_connection = True  # its body, if any, is not read
            raise _Refusal(404, 5, f"no such path: use {', '.join(PATHS)}")
        try:
            door.authenticate(self.headers.get("Authorization"))
        except Unauthenticated as exc:
            self.close_connection = True
            raise _Refusal(401, 16, str(exc), {"WWW-Authenticate": "Bearer"}) from None
        if ctype not in (PROTOBUF, JSON):
            self.close_connection = True
            raise _Refusal(415, 3, f"the Content-Type must be {PROTOBUF} or {JSON}")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise _Refusal(411, 3, "a Content-Length is required")
        if int(length) > server.max_request_bytes:
            self.close_connection = True
            raise _Refusal(413, 8, f"the body is over the {server.max_request_bytes}-byte limit (--max-request-bytes)")
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            self.close_connection = True
            raise _Refusal(400, 3, "the body is shorter than its Content-Length")
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            body = gunzip(body, server.max_request_bytes)
        elif encoding != "identity":
            raise _Refusal(415, 3, f"Content-Encoding {encoding!r}: only gzip is read")
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        try:
            if ctype == PROTOBUF:
                request: object = otlp_proto.as_json(signal, otlp_proto.parse(signal, body))
            else:
                try:
                    request = orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    raise DecodeError(f"invalid JSON: {exc}") from None
        except DecodeError as exc:
            door.refuse(str(exc), body, peer)
            raise _Refusal(400, 3, str(exc)) from None
        try:
            return signal, door.take(request, peer, body)
        except BadRequest as exc:
            raise _Refusal(400, 3, str(exc)) from None
        except Backpressure as exc:
            raise _Refusal(503, 8, str(exc), {"Retry-After": str(max(1, round(door.retry_after)))}) from None

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._refuse(_Refusal(405, 12, "only POST is served", {"Allow": "POST"}), PROTOBUF)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _not_allowed  # noqa: N815


class OtlpHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # drain() waits for the connections itself, with a deadline

    def __init__(self, door: Door, host: str, port: int, *, max_request_bytes: int, max_connections: int,
                 idle_timeout: float, tls: ssl.SSLContext | None):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.door, self.max_request_bytes = door, max_request_bytes
        self.max_connections, self.idle_timeout = max_connections, idle_timeout
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.stopping = threading.Event()
        self.lock = threading.Condition()
        self.connections: dict[_Handler, bool] = {}  # handler -> idle (waiting for its next request)
        self.open: set[Any] = set()  # sockets accepted and not yet closed
        self.refused = 0

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: it looks the host up in DNS (getfqdn)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            refuse = len(self.open) >= self.max_connections or self.stopping.is_set()
            if refuse:
                self.refused += 1
            else:
                self.open.add(request)
        if refuse:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def idle(self, handler: _Handler, idle: bool | None) -> None:
        """Note a connection waiting for its next request (True), busy with one (False), or done (None)."""
        with self.lock:
            if idle is None:
                self.connections.pop(handler, None)
                return
            self.connections[handler] = idle
        if idle and self.stopping.is_set():
            _hang_up(handler.connection)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)  # called once for every socket accepted, in any case
        with self.lock:
            self.open.discard(request)
            self.lock.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection reset mid-request: the client was not answered, so it retries

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, args=(0.2,), name="ben-otlp-http", daemon=True).start()

    def drain(self, timeout: float) -> None:
        """Stop accepting; hang up on idle connections; let requests under way be answered (at
        most ``timeout``); close."""
        self.stopping.set()
        self.shutdown()
        with self.lock:
            for handler, idle in self.connections.items():
                if idle:
                    _hang_up(handler.connection)
            self.lock.wait_for(lambda: not self.open, timeout)
        self.server_close()


def _hang_up(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
