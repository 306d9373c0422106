"""The series key's hash: the one number that puts a series on one worker (``ben run
--workers``), one host (``--shard i/N``) and one NATS partition (``ben sink --to nats://``)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ben_cli.record import path_getter

DEFAULT_KEY = ("source", "name")  # detect's and count's default --by


def key_getters(fields: Sequence[str]) -> list[Callable[[dict], Any]]:
    """The getters of a series key named by dotted fields (``source,attrs.path``)."""
    return [path_getter(f) for f in fields]


def series_hash(rec: dict, getters: list[Callable[[dict], Any]] | None) -> int:
    """A number for the record's series, the same in every process and on every host (CRC-32 of
    the key's JSON, object keys sorted): a worker's state file holds the same series run after
    run, and ``--shard i/N`` on N hosts splits the series the same way. Without a key, the whole
    record is the key."""
    key: Any = [get(rec) for get in getters] if getters is not None else rec
    try:
        data = orjson.dumps(key, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer over 64 bits inside it
        data = repr(key).encode()
    return zlib.crc32(data)


def partition_of(rec: dict, getters: list[Callable[[dict], Any]], count: int) -> int:
    """The partition (0 <= p < count) a record's series lands on."""
    return series_hash(rec, getters) % count
