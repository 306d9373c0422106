"""A faster writer for clickhouse-driver's one-level array columns (``Array(String)``, the legacy
table's Nested ``attrs.key``/``attrs.value`` and ``attrs_typed``, ``redacted``).

The driver writes an array column in three passes, each flattening the column's lists again in
Python (once for the offsets, once for a null map that non-nullable arrays do not have, once for
the values); the arrays were the slowest part of encoding an insert. The native format of
``Array(T)`` is the running total of the lengths as UInt64 followed by every element, so one pass
for the offsets and one flattening suffice. Anything else (nested arrays, nullable elements, a
top-level array) keeps the driver's own writer. The bytes on the wire are the same; the round-trip
tests through the real server check that.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable
from itertools import accumulate, chain
from typing import Any

_original: Callable[..., None] | None = None


def _original_write() -> Callable[..., None]:
    """The driver's own writer (to compare against, and the fallback)."""
    from clickhouse_driver.columns.arraycolumn import ArrayColumn

    return _original or ArrayColumn._write


def install() -> None:
    """Replace ``ArrayColumn._write`` once per process, keeping the original as the fallback."""
    global _original
    if _original is not None:
        return
    from clickhouse_driver.columns.arraycolumn import ArrayColumn

    original = ArrayColumn._write

    def write(self: Any, value: Any, buf: Any) -> None:  # the driver's signature, untyped
        # write_data wraps the column once more (the outer level writes no size of its own); a
        # plain Array(T) therefore arrives here as an array of arrays of a non-array column
        inner = self.nested_column
        if self._write_depth_0_size or self.nullable or not isinstance(inner, ArrayColumn) \
                or inner.nullable or isinstance(inner.nested_column, ArrayColumn) or inner.nested_column.nullable:
            original(self, value, buf)
            return
        value = self.prepare_items(value)
        offsets = array("Q", accumulate(map(len, value)))
        if sys.byteorder != "little":
            offsets.byteswap()
        buf.write(offsets.tobytes())
        flat = list(chain.from_iterable(value))
        if flat:
            inner.nested_column._write_data(flat, buf)

    ArrayColumn._write = write
    _original = original
