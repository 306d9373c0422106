"""A listening CA: enrolment and renewal requests over HTTP, for nodes that cannot carry files.

``ben ca serve`` answers three paths, and nothing else:

- ``POST /sign``: a request (``ben-req-v1``, at most 16 KiB) in, the certificate out (200), or
  ``refused (REASON): message`` (403), exactly what ``ben ca sign`` would say;
- ``GET /bundle``, ``GET /crl`` and ``GET /successors``: the current trust bundle, revocation
  list, and the certificates by which each old CA key vouches for its successor after a rotation.

Plain HTTP is enough for what travels: requests are authenticated (the token's MAC, or the
node's signature), certificates and lists are signed, and the node pins the CA by the key id in
its token, so a man in the middle can refuse service but not change an answer undetected. It
listens on 127.0.0.1 unless told otherwise, keeps the CA key unlocked while it runs (the
passphrase is asked once), and takes the CA's lock per request like every other writer.
"""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer

from ben_cli.ca import authority, enrol
from ben_cli.ca import cert as c
from ben_cli.ca.store import Store
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import BenError, UsageError

MAX_REQUEST = 16 << 10
TIMEOUT = 30


def make_server(store: Store, key: SigningKey, host: str, port: int, clock: Callable[[], int],
                log: Callable[[str], None] = lambda _: None) -> HTTPServer:
    """An HTTP server (not yet serving) that signs requests with ``key``."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if self.path == "/bundle":
                self._answer(200, authority.bundle(store, clock()).text)
            elif self.path == "/successors":
                self._answer(200, authority.successors(store))
            elif self.path == "/crl":
                self._answer(200, store.crl_path.read_text(encoding="utf-8"))
            else:
                self._answer(404, "not found: GET /bundle, /crl or /successors, POST /sign\n")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/sign":
                self._answer(404, "not found: POST /sign\n")
                return
            size = int(self.headers.get("Content-Length") or -1)
            if not 0 < size <= MAX_REQUEST:
                self._answer(413, f"a request is 1 to {MAX_REQUEST} bytes with a Content-Length\n")
                return
            try:
                certificate = enrol.sign_request(store, key, self.rfile.read(size), clock())
            except c.Refused as exc:
                log(f"{self.client_address[0]}: {exc}")
                self._answer(403, f"{exc}\n")
                return
            except BenError as exc:
                self._answer(400, f"{exc}\n")
                return
            log(f"{self.client_address[0]}: issued {certificate.name} ({certificate.serial})")
            self._answer(200, certificate.text)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            pass  # one line per decision is logged above; no access log

    return HTTPServer((host, port), Handler)


def run(server: HTTPServer) -> None:
    """Serve until SIGINT or SIGTERM (both a normal end: the request being answered is finished)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with server:
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:7340")
    return host or "127.0.0.1", int(port)


def _fetch(url: str, data: bytes | None = None) -> bytes:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=TIMEOUT) as answer:
            return answer.read()
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace").strip()
        found = text.startswith("refused (") and text[len("refused ("):].split(")", 1)
        if found:
            raise c.Refused(found[1].removeprefix(": "), found[0]) from None
        raise UsageError(f"{url}: {exc.code} {text or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BenError(f"cannot reach the CA at {url}: {reason}") from None


def submit(base: str, request: bytes) -> bytes:
    """The certificate a listening CA at ``base`` (``http://host:port``) returns for ``request``;
    its refusal as :class:`~ben_cli.ca.cert.Refused` with the same reason."""
    return _fetch(base.rstrip("/") + "/sign", request)


def fetch_bundle(base: str) -> bytes:
    return _fetch(base.rstrip("/") + "/bundle")


def fetch_successors(base: str) -> bytes:
    return _fetch(base.rstrip("/") + "/successors")
