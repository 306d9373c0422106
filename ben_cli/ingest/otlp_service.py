"""``ben ingest --listen grpc://HOST:PORT`` or ``http://HOST:PORT``: the OTLP receiving service.

What OpenTelemetry SDKs and Collectors send (OTLP over gRPC, usually port 4317, and over HTTP,
4318) comes in here and leaves as envelopes on the output, through the one OTLP mapping. The door
(``otlp_door.py``) keeps the protocol's promises; the transports (``otlp_grpc.py``,
``otlp_http.py``) speak the wire. This module checks the options, loads the TLS files and the
token, runs the chosen transport, and drains it on SIGTERM or SIGINT: no new request is taken,
requests under way are written and answered (within ``drain_timeout``), the output is flushed. A
second signal ends ben at once.

``grpcio`` (for gRPC) and ``opentelemetry-proto`` with ``protobuf`` (for both) are the
``ben[otlp]`` extra, imported only here: without them this mode says what to install.
"""

from __future__ import annotations

import signal
import ssl
import threading
from pathlib import Path
from typing import Any

from ben_cli.errors import BenError, UsageError
from ben_cli.ingest.listen import Address
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.otlp_door import Door, read_token
from ben_cli.ingest.summary import IngestSummary
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

INSTALL = "pip install 'ben[otlp]'"


def check_options(where: Address, options: IngestOptions) -> None:
    """The flags this mode needs together (a :class:`UsageError` when not)."""
    if options.format not in ("auto", "otlp"):
        raise UsageError(f"--listen {where.kind}:// receives OTLP; --format {options.format} cannot apply")
    if (options.tls_cert is None) != (options.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if options.tls_client_ca is not None and options.tls_cert is None:
        raise UsageError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)")
    for flag, value in (("--idle-timeout", options.idle_timeout), ("--retry-after", options.retry_after)):
        if not value > 0:
            raise UsageError(f"{flag} must be longer than 0s")
    if options.max_request_bytes < 1:
        raise UsageError("--max-request-bytes must be at least 1 byte")


def _read(flag: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror}") from None


def _tls_files(options: IngestOptions) -> tuple[bytes, bytes, bytes | None] | None:
    if options.tls_cert is None or options.tls_key is None:
        return None
    ca = None if options.tls_client_ca is None else _read("--tls-client-ca", options.tls_client_ca)
    return _read("--tls-cert", options.tls_cert), _read("--tls-key", options.tls_key), ca


def _ssl_context(options: IngestOptions) -> ssl.SSLContext | None:
    if options.tls_cert is None or options.tls_key is None:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(options.tls_cert, options.tls_key)
        if options.tls_client_ca is not None:
            ctx.load_verify_locations(cafile=str(options.tls_client_ca))
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--tls-cert/--tls-key/--tls-client-ca: {exc}") from None
    return ctx


def _transport(where: Address, door: Door, options: IngestOptions) -> Any:
    try:
        if where.kind == "grpc":
            from ben_cli.ingest.otlp_grpc import GrpcService

            tls = _tls_files(options)
            _ssl_context(options)  # the files checked as for HTTP (a key that is not the certificate's...)
            try:
                return GrpcService(door, where.host, where.port, max_request_bytes=options.max_request_bytes,
                                   max_streams=options.max_clients, tls=tls)
            except RuntimeError:  # grpcio's words for a port it cannot bind
                raise BenError(f"{where}: cannot listen there (address in use, or not this host's)") from None
        from ben_cli.ingest.otlp_http import OtlpHttpServer

        _tls_files(options)  # a file that cannot be read, named
        return OtlpHttpServer(door, where.host, where.port, max_request_bytes=options.max_request_bytes,
                              max_connections=options.max_clients, idle_timeout=options.idle_timeout,
                              tls=_ssl_context(options))
    except ModuleNotFoundError as exc:
        raise UsageError(f"--listen {where.kind}:// needs {exc.name}: {INSTALL}") from None


def serve(where: Address, writer: Writer, rejects: Rejects, options: IngestOptions, summary: IngestSummary) -> None:
    """Serve OTLP on ``where`` until SIGTERM or SIGINT (or a fatal error), then drain."""
    check_options(where, options)
    door = Door(writer, rejects, summary, options.decode, retry_after=options.retry_after,
                token=read_token(options.token_file), check=options.check)
    transport = _transport(where, door, options)
    stop = threading.Event()
    door.on_failure = stop.set

    def request_stop(*_: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: end now, drain or no drain
        stop.set()

    old_term = signal.signal(signal.SIGTERM, request_stop)
    old_int = signal.signal(signal.SIGINT, request_stop)
    try:
        transport.start()
        if options.on_ready is not None:
            tls = "" if options.tls_cert is None else " (TLS)"
            options.on_ready(f"{where.kind}://{_host(where.host)}:{transport.port}{tls}")
        while not stop.wait(0.5):
            pass
        transport.drain(options.drain_timeout)
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
    writer.flush()
    refused = door.refused + getattr(transport, "refused", 0)  # under backpressure, and HTTP over --max-clients
    if refused:
        summary.extra["refused"] = refused
    if door.failure is not None:
        raise door.failure


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
