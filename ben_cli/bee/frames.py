"""The frames a transport message carries: a type byte, then the body (``ben-bee/1``).

======== ====== ==========================================================================
``0x01`` HELLO  16-byte stream id (initiator, first frame)
``0x02`` DATA   8-byte big-endian first sequence number, then one or more whole NDJSON lines
``0x03`` ACK    8-byte highest sequence number handed on for this peer and stream (0: none)
``0x04`` CLOSE  8-byte last sequence number sent
``0x05`` ERROR  a UTF-8 reason
======== ====== ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

HELLO, DATA, ACK, CLOSE, ERROR = 1, 2, 3, 4, 5
NAMES = {HELLO: "HELLO", DATA: "DATA", ACK: "ACK", CLOSE: "CLOSE", ERROR: "ERROR"}
STREAM_ID = 16
# a DATA frame's lines fit one Noise message: 65535, less the 16-byte tag, the type and the number
MAX_DATA = 65535 - 16 - 1 - 8


class BadFrame(ValueError):
    """A frame that is not one of ``ben-bee/1``'s, or whose body has the wrong size or form."""


@dataclass(frozen=True)
class Frame:
    kind: int
    number: int = 0  # DATA: first sequence number; ACK, CLOSE: the number they carry
    body: bytes = b""  # HELLO: the stream id; DATA: the lines; ERROR: the reason

    @property
    def name(self) -> str:
        return NAMES.get(self.kind, f"0x{self.kind:02x}")


def hello(stream: bytes) -> bytes:
    if len(stream) != STREAM_ID:
        raise ValueError("a stream id is 16 bytes")
    return b"\x01" + stream


def data(first: int, lines: bytes) -> bytes:
    return b"\x02" + first.to_bytes(8, "big") + lines


def ack(number: int) -> bytes:
    return b"\x03" + number.to_bytes(8, "big")


def close(last: int) -> bytes:
    return b"\x04" + last.to_bytes(8, "big")


def error(reason: str) -> bytes:
    return b"\x05" + reason.encode("utf-8")[:MAX_DATA]


def parse(plaintext: bytes) -> Frame:
    """The frame in a decrypted transport message; :class:`BadFrame` saying what is wrong."""
    if not plaintext:
        raise BadFrame("an empty frame (no type byte)")
    kind, body = plaintext[0], plaintext[1:]
    if kind == HELLO:
        if len(body) != STREAM_ID:
            raise BadFrame(f"a HELLO frame carries a 16-byte stream id, not {len(body)} bytes")
        return Frame(kind, 0, body)
    if kind in (ACK, CLOSE):
        if len(body) != 8:
            raise BadFrame(f"a{'n' if kind == ACK else ''} {NAMES[kind]} frame carries an 8-byte number, not {len(body)} bytes")
        return Frame(kind, int.from_bytes(body, "big"))
    if kind == DATA:
        if len(body) < 9:
            raise BadFrame("a DATA frame carries an 8-byte number and at least one line")
        first = int.from_bytes(body[:8], "big")
        if first < 1:
            raise BadFrame("a DATA frame's first sequence number is 0 (records are numbered from 1)")
        lines = body[8:]
        if not lines.endswith(b"\n"):
            raise BadFrame("a DATA frame's last line does not end with a newline (lines must be whole)")
        return Frame(kind, first, lines)
    if kind == ERROR:
        return Frame(kind, 0, body)
    raise BadFrame(f"unknown frame type 0x{kind:02x}")
