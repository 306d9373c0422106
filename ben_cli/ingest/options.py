"""The settings of one ``ben ingest`` run: what to read, how, and where the records go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ben_cli.ingest.format import DecodeOptions
from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, Writer


@dataclass
class IngestOptions:
    """How :func:`ben_cli.ingest.run` reads.

    One mode at most: ``follow`` (tail the files across rotation until SIGTERM/SIGINT),
    ``since_last`` (what is new since the previous run with this ``state``), ``listen`` (serve an
    address); none reads the inputs once. ``output``: append records to this file instead of the
    writer given to ``run`` (committed with the offsets in the two offset modes). ``jobs``: processes
    decoding a big file in a line-by-line format, 0 for one per CPU.
    """

    format: str = "auto"
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    jobs: int = 1
    follow: bool = False
    since_last: bool = False
    state: Path | None = None  # offsets file; default: ingest-offsets.json under ben_home()
    ack: bool = False  # resume from what ``ben sink --ack STATE`` holds (STATE.ack), not from what was read
    output: Path | None = None
    listen: str | None = None
    max_clients: int = 256
    max_per_address: int = 64  # --listen: connections from one IP address (one user id on a Unix socket)
    idle_timeout: float = 300.0  # --listen: seconds a connection may send nothing
    line_timeout: float = 30.0  # --listen: seconds a line may take from its first byte to its end
    drain_timeout: float = 5.0  # --listen: seconds the drain after SIGTERM may take
    allow_remote: bool = False
    # --listen grpc:// and http:// (the OTLP service, otlp_service.py)
    max_request_bytes: int = 4 << 20  # an export request's size, after decompression (gRPC's own default)
    retry_after: float = 1.0  # how long a request waits for the output before it is refused as retryable
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # mutual TLS: clients must show a certificate this CA signed
    token_file: Path | None = None  # bearer token clients must send
    # validation at the door: a reason to refuse an envelope before it is acknowledged, or None
    check: Callable[[dict], str | None] | None = None
    on_format: Callable[[str, str], None] | None = None  # told (input, format) when auto chose one
    on_ready: Callable[[str], None] | None = None  # told the address a listener is bound to
    progress: Callable[[str, int, int], None] | None = None  # (input, bytes done, bytes total) of big files
    # wraps every writer records go to (``ben ingest --contract`` holds them to a contract there); a
    # wrapped writer has no file descriptor of its own, so its file is decoded in this process
    wrap_writer: Callable[[Writer], Writer] | None = None
    # --from nats://HOST/SUBJECT: a durable pull consumer per partition owned (ingest/nats.py)
    source: str | None = None
    durable: str | None = None
    partitions: tuple[int, int] | None = None  # --partitions i/N: the partitions p with p % N == i
    max_idle: float | None = None  # stop once no message came for this many seconds (None: until SIGTERM)
    floors: tuple[Path, ...] = ()  # more files of positions held (ben run: a detector's), acks follow the least
    notify: Callable[[str], None] | None = None  # told of trouble worked around (a NATS server reconnected)
