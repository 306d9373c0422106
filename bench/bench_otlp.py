"""ben ingest --listen grpc:// and http://: OTLP log records received per second, beside the same
records sent as NDJSON lines to --listen tcp://.

The producers are this process: export requests of 512 log records (a realistic record: a
service resource, a scope, five attributes, trace and span ids) serialised once beforehand and
sent by two client threads, each waiting for its answer before the next (as an SDK's batch
processor does). ben writes to a file. The clock runs from the first request to the last answer:
ben answers only once a request's records are written, so that is the time to have them all out.
The reference sends the records ben wrote from OTLP (without their ``_ingest`` mark) to
``--listen tcp://`` with ``--format ndjson``, the clock stopping when the last line is in the
output. Peak memory is the server's (VmHWM).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from harness import Harness, human_rate, mib, table

BATCH = 512
REQUESTS = 200
CLIENTS = 2
T = 1_795_600_000_000_000_000


def _requests() -> list[bytes]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
    from opentelemetry.proto.logs.v1 import logs_pb2 as lg
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def kv(k: str, v: object) -> KeyValue:
        return KeyValue(key=k, value=AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=str(v)))

    resource = Resource(attributes=[kv("service.name", "checkout"), kv("host.name", "web-1"),
                                    kv("deployment.environment", "prod")])
    out = []
    for r in range(REQUESTS):
        records = [lg.LogRecord(time_unix_nano=T + (r * BATCH + i) * 1000, severity_number=9 + 4 * (i % 3 == 0),
                                severity_text="INFO", body=AnyValue(string_value=f"GET /api/items/{i} 200 in {i % 97} ms"),
                                attributes=[kv("http.method", "GET"), kv("http.route", "/api/items/{id}"),
                                            kv("http.status_code", 200), kv("user.id", f"u{i % 1000}"),
                                            kv("request", r * BATCH + i)],
                                trace_id=os.urandom(16), span_id=os.urandom(8)) for i in range(BATCH)]
        req = ExportLogsServiceRequest(resource_logs=[lg.ResourceLogs(resource=resource, scope_logs=[
            lg.ScopeLogs(scope=InstrumentationScope(name="shop.http", version="1.4"), log_records=records)])])
        out.append(req.SerializeToString())
    return out


class _Server:
    def __init__(self, h: Harness, address: str, out: Path, *args: str):
        self.out = out
        err = out.with_suffix(".err")
        self.err = err
        with open(out, "wb") as fout, open(err, "wb") as ferr:
            self.proc = subprocess.Popen([h.ben, "ingest", "--listen", address, *args], stdout=fout, stderr=ferr,
                                         env=h.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"listening on (\S+)", err.read_text())
            if m:
                self.address = m[1]
                return
            time.sleep(0.02)
        raise RuntimeError(f"no service: {err.read_text()}")

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.address.split("://", 1)[1].rsplit(":", 1)
        return host, int(port)

    def peak_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        if self.proc.wait(timeout=120) != 0:
            raise RuntimeError(f"ben failed: {self.err.read_text()[-2000:]}")


def _in_threads(work: list[bytes], send_all) -> float:
    """Split ``work`` over the client threads; the seconds from the first send to the last answer."""
    shares = [work[i::CLIENTS] for i in range(CLIENTS)]
    errors: list[BaseException] = []

    def client(share: list[bytes]) -> None:
        try:
            send_all(share)
        except BaseException as exc:  # reported below, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(s,)) for s in shares]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def _measured(server: _Server, work: list[bytes], send_all: Callable[[list[bytes]], None],
              settle: Callable[[float], float] | None = None) -> tuple[float, int, float]:
    """Send ``work`` through ``send_all`` from threads; the seconds taken (``settle`` may extend them
    to when the server is done), the server's peak memory and its CPU seconds. Stops the server."""
    try:
        cpu = server.cpu_seconds()
        seconds = _in_threads(work, send_all)
        if settle is not None:
            seconds = settle(seconds)
        peak, cpu = server.peak_kib(), server.cpu_seconds() - cpu
    finally:
        server.stop()
    return seconds, peak, cpu


def _grpc(h: Harness, work: list[bytes], out: Path) -> tuple[float, int, float]:
    import grpc

    server = _Server(h, "grpc://127.0.0.1:0", out)
    target = "{}:{}".format(*server.host_port)

    def send_all(share: list[bytes]) -> None:
        with grpc.insecure_channel(target) as channel:
            call = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                                       request_serializer=None, response_deserializer=None)
            for body in share:
                call(body, timeout=60)

    return _measured(server, work, send_all)


def _http(h: Harness, work: list[bytes], out: Path) -> tuple[float, int, float]:
    server = _Server(h, "http://127.0.0.1:0", out)
    host, port = server.host_port

    def send_all(share: list[bytes]) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        for body in share:
            conn.request("POST", "/v1/logs", body=body, headers={"Content-Type": "application/x-protobuf"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
        conn.close()

    return _measured(server, work, send_all)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _tcp(h: Harness, lines: list[bytes], out: Path) -> tuple[float, int, float]:
    server = _Server(h, "tcp://127.0.0.1:0", out, "--format", "ndjson")
    addr = server.host_port
    blocks = [b"".join(lines[i:i + BATCH]) for i in range(0, len(lines), BATCH)]

    def send_all(share: list[bytes]) -> None:
        with socket.create_connection(addr) as s:
            for block in share:
                s.sendall(block)

    def until_written(seconds: float) -> float:
        """The lines are out when the file has them all (read as it grows), not when they were sent."""
        start = time.perf_counter() - seconds
        seen = 0
        with open(out, "rb") as fh:
            while seen < len(lines):
                chunk = fh.read(1 << 20)
                if chunk:
                    seen += chunk.count(b"\n")
                else:
                    time.sleep(0.005)
        return time.perf_counter() - start

    return _measured(server, blocks, send_all, until_written)


def _best(best: tuple | None, run: tuple[float, int, float]) -> tuple[float, int, float]:
    """The fastest run's time and CPU, the highest peak memory of all."""
    if best is None:
        return run
    return (min(best[0], run[0]), max(best[1], run[1]), min(best[2], run[2]))


def run(h: Harness) -> str:
    work = _requests()
    n = BATCH * REQUESTS
    size = sum(len(b) for b in work) / n
    results = {}
    for name, how in (("grpc", _grpc), ("http", _http)):
        best = None
        for _ in range(h.repeat):
            out = h.path(f"otlp-{name}.ndjson")
            seconds, peak, cpu = how(h, work, out)
            got = _count_lines(out)
            if got != n:
                raise RuntimeError(f"{name}: {got} records out of {n}")
            best = _best(best, (seconds, peak, cpu))
        results[name] = best
    lines = []
    with open(h.path("otlp-grpc.ndjson"), "rb") as fh:
        for line in fh:
            rec = orjson.loads(line)
            del rec["_ingest"]
            lines.append(orjson.dumps(rec) + b"\n")
    line_size = sum(len(x) for x in lines) / n
    best = None
    for _ in range(h.repeat):
        best = _best(best, _tcp(h, lines, h.path("otlp-tcp.ndjson")))
    results["tcp"] = best
    ref, ref_cpu = n / results["tcp"][0], n / results["tcp"][2]
    rows = []
    for label, key in (("`--listen tcp://` NDJSON (reference)", "tcp"), ("`--listen grpc://` OTLP protobuf", "grpc"),
                       ("`--listen http://` OTLP protobuf", "http")):
        seconds, peak, cpu = results[key]
        rate, cpu_rate = n / seconds, n / cpu
        rows.append([label, human_rate(rate), f"{rate / ref:.2f}x", human_rate(cpu_rate), f"{cpu_rate / ref_cpu:.2f}x",
                     mib(peak)])
    return (f"### OTLP service (`ben ingest --listen grpc://` and `http://`)\n\n"
            f"{n:,} log records in {REQUESTS} export requests of {BATCH} ({size:.0f} bytes a record as protobuf, "
            f"{line_size:.0f} as an NDJSON envelope), sent by {CLIENTS} clients that each wait for an answer "
            "before the next request; ben writes to a file and answers once a request's records are written. "
            "The reference sends the same envelopes as NDJSON lines to `--listen tcp://` (clock stopped when the "
            "last line is in the output). Best of "
            f"{h.repeat}; peak memory is the server's.\n\n"
            + table(["receiver", "records/s", "vs tcp NDJSON", "records per server CPU-s", "vs tcp NDJSON",
                     "peak memory"], rows)
            + "\nOn a machine whose cores other work shares, the wall-clock rate moves with that load; the rate "
            "per CPU second of the server (user + system, from /proc) says what the service itself costs.\n")


if __name__ == "__main__":  # a quick run: python bench/bench_otlp.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(run(Harness(repeat=1)))
