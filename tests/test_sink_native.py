"""The sink's array-column writer puts the very bytes on the wire that clickhouse-driver's own does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.sink import native


class _Socket:
    """Collects what a BufferedSocketWriter sends."""

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, chunk) -> None:
        self.data += bytes(chunk)


def _encode(spec: str, items: list) -> bytes:
    from clickhouse_driver.bufferedwriter import BufferedSocketWriter
    from clickhouse_driver.columns.service import write_column
    from clickhouse_driver.context import Context

    ctx = Context()
    ctx.settings = {}
    ctx.client_settings = {"use_numpy": False, "strings_as_bytes": False, "strings_encoding": "utf-8"}
    sock = _Socket()
    buf = BufferedSocketWriter(sock, 1 << 16)
    write_column(ctx, "c", spec, items, buf)
    buf.flush()
    return sock.data


def _driver_bytes(spec: str, items: list) -> bytes:
    from clickhouse_driver.columns.arraycolumn import ArrayColumn

    fast, ArrayColumn._write = ArrayColumn._write, native._original_write()
    try:
        return _encode(spec, items)
    finally:
        ArrayColumn._write = fast


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=6), max_size=4), max_size=30))
def test_string_arrays_encode_as_the_driver_does(items):
    from clickhouse_driver.columns.arraycolumn import ArrayColumn

    native.install()
    assert ArrayColumn._write is not native._original_write()
    assert _encode("Array(String)", items) == _driver_bytes("Array(String)", items)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=3) | st.none().map(lambda _: []), max_size=3),
                max_size=10),
       st.lists(st.lists(st.none() | st.text(max_size=4), max_size=3), max_size=10))
def test_other_arrays_keep_the_drivers_writer(nested, nullable):
    native.install()
    assert _encode("Array(Array(UInt64))", nested) == _driver_bytes("Array(Array(UInt64))", nested)
    assert _encode("Array(Nullable(String))", nullable) == _driver_bytes("Array(Nullable(String))", nullable)
