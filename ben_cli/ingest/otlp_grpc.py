"""OTLP over gRPC: the collector's ``LogsService``, ``MetricsService`` and ``TraceService`` ``Export``.

A ``grpcio`` server with generic handlers that receive the request's bytes (ben parses them, so a
message that is not the protobuf it should be is answered ``INVALID_ARGUMENT`` with ben's reason,
and goes to ``--rejects``). The server enforces the message size (``grpc.max_receive_message_length``,
after decompression) and the streams served at once (``maximum_concurrent_rpcs``: more are
answered ``RESOURCE_EXHAUSTED`` by grpcio itself). Under backpressure the answer is
``RESOURCE_EXHAUSTED`` with a ``google.rpc.RetryInfo`` in the trailing metadata, which the
OpenTelemetry exporters read as the time to wait before retrying.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# grpcio's C core logs its own errors (a port it cannot bind) on stderr in its own format; ben
# says them once, in its own words, unless the user asked grpcio for its logs
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402

from ben_cli.ingest import otlp_proto
from ben_cli.ingest.format import DecodeError
from ben_cli.ingest.otlp_door import Backpressure, BadRequest, Door, Unauthenticated
from ben_cli.ingest.otlp_wire import retry_info

SERVICES = {"logs": "opentelemetry.proto.collector.logs.v1.LogsService",
            "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
            "traces": "opentelemetry.proto.collector.trace.v1.TraceService"}


def _peer(context: grpc.ServicerContext) -> str:
    peer = context.peer() or "grpc"
    for prefix in ("ipv4:", "ipv6:", "unix:"):
        if peer.startswith(prefix):
            return peer[len(prefix):]
    return peer


class GrpcService:
    def __init__(self, door: Door, host: str, port: int, *, max_request_bytes: int, max_streams: int,
                 tls: tuple[bytes, bytes, bytes | None] | None):
        self.door = door
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=max_streams, thread_name_prefix="ben-otlp"),
            maximum_concurrent_rpcs=max_streams,
            # no HTTP/2 stream cap per connection: over it, a client queues its calls unseen (and
            # times out); under maximum_concurrent_rpcs alone it is told RESOURCE_EXHAUSTED at once
            options=[("grpc.max_receive_message_length", max_request_bytes), ("grpc.so_reuseport", 0)])
        handlers = [grpc.method_handlers_generic_handler(service, {
            "Export": grpc.unary_unary_rpc_method_handler(self._handler(signal))})
            for signal, service in SERVICES.items()]
        self.server.add_generic_rpc_handlers(handlers)
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if tls is None:
            self.port = self.server.add_insecure_port(where)
        else:
            cert, key, client_ca = tls
            creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                                require_client_auth=client_ca is not None)
            self.port = self.server.add_secure_port(where, creds)
        if not self.port:
            raise OSError(f"cannot listen on {where}")

    def _handler(self, signal: str) -> Any:
        door = self.door

        def export(data: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                door.authenticate(dict(context.invocation_metadata()).get("authorization"))
            except Unauthenticated as exc:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            try:
                message = otlp_proto.parse(signal, data)
                outcome = door.take(otlp_proto.as_json(signal, message), _peer(context), data)
            except BadRequest as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except DecodeError as exc:  # not protobuf at all: refused whole
                door.refuse(str(exc), data, _peer(context))
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except Backpressure as exc:
                context.set_trailing_metadata((("google.rpc.retryinfo-bin", retry_info(door.retry_after)),))
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
            return otlp_proto.response(signal, outcome.rejected, outcome.message)

        return export

    def start(self) -> None:
        self.server.start()

    def drain(self, timeout: float) -> None:
        """Refuse new calls, let those under way finish (at most ``timeout``), stop."""
        self.server.stop(grace=timeout).wait()
