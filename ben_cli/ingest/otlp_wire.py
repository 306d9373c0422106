"""The two small protobuf messages the OTLP service writes without their packages: a
``google.rpc.RetryInfo`` (gRPC trailing metadata under backpressure) and a ``google.rpc.Status``
(the body of an HTTP error answer, as the OTLP/HTTP specification asks). Hand-encoded, so the
service needs no googleapis package for them."""

from __future__ import annotations


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1  # int32/int64 negatives are written as ten-byte two's complement
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def retry_info(seconds: float) -> bytes:
    """``RetryInfo{retry_delay: Duration{seconds, nanos}}``."""
    whole = int(seconds)
    nanos = int(round((seconds - whole) * 1e9))
    duration = b""
    if whole:
        duration += _varint(1 << 3) + _varint(whole)
    if nanos:
        duration += _varint(2 << 3) + _varint(nanos)
    return _field(1, duration)


def status(code: int, message: str) -> bytes:
    """``Status{code, message}`` (the gRPC code numbers: 3 invalid argument, 8 resource exhausted...)."""
    out = _varint(1 << 3) + _varint(code) if code else b""
    if message:
        out += _field(2, message.encode("utf-8"))
    return out
