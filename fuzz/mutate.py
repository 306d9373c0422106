"""A JSON-aware mutator for the targets that read JSON records (ndjson, journal, OTLP/JSON, the
contract check and the row writer): byte mutations rarely keep JSON valid, so half of the time one
line is parsed and one value in it is changed, added, removed or copied, and the line written back.

The values it puts in are the edges the record readers care about: every JSON type, integers at
the 53-, 63- and 64-bit limits, floats at the ends of their range, empty and long strings, control
characters, non-ASCII and escapes, time stamps near the canonical spelling, the envelope's own keys.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

KEYS = ("ts", "lane", "source", "name", "value", "unit", "severity", "body", "attrs", "anomaly", "redacted",
        "_ingest", "sig", "via", "extra", "MESSAGE", "__REALTIME_TIMESTAMP", "resourceLogs", "scopeLogs",
        "logRecords", "timeUnixNano", "attributes", "stringValue", "intValue", "key")
VALUES: tuple[object, ...] = (
    None, True, False, 0, -1, 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) - 1, 1e308, -1e308,
    5e-324, -0.0, 0.1, 1e16, "", "x" * 300, "\x00", "\x1f", "\u2028", "\U0001f600", "é", '"\\', "diag", "event",
    "control", "info", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123456789Z", "2026-11-25T10:00:00.1234567891Z",
    "2106-02-07T06:28:16Z", "1969-12-31T23:59:59Z", "2026-02-29T12:00:00Z", "2026-11-25 10:00:00+01:00", "12",
    "1h30m", "10.0.0.1", "::1", {}, [], {"k": "v"}, [1, "a", None],
)


def _leaves(doc: object, path: tuple = ()) -> list[tuple]:
    """Every path into ``doc`` (the root included)."""
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _leaves(v, (*path, i))
    return out


def _get(doc: object, path: tuple) -> object:
    for step in path:
        doc = doc[step]  # type: ignore[index]
    return doc


def mutate_doc(doc: object, rnd: random.Random) -> object:
    paths = _leaves(doc)
    path = rnd.choice(paths)
    node = _get(doc, path)
    op = rnd.randrange(4)
    if op == 0 or not isinstance(node, dict | list):  # replace the node (or the root)
        new = rnd.choice(VALUES) if rnd.random() < 0.8 else _get(doc, rnd.choice(paths))
        if not path:
            return new
        parent = _get(doc, path[:-1])
        parent[path[-1]] = json.loads(json.dumps(new))  # type: ignore[index]
    elif op == 1:  # add a key or an item
        value = json.loads(json.dumps(rnd.choice(VALUES)))
        if isinstance(node, dict):
            node[rnd.choice(KEYS)] = value
        else:
            node.insert(rnd.randrange(len(node) + 1), value)
    elif op == 2 and node:  # remove one
        if isinstance(node, dict):
            del node[rnd.choice(list(node))]
        else:
            del node[rnd.randrange(len(node))]
    else:  # rename a key
        if isinstance(node, dict) and node:
            old = rnd.choice(list(node))
            node[rnd.choice(KEYS)] = node.pop(old)
    return doc


def json_mutator(prefix: int, byte_mutate: Callable[[bytes, int], bytes]) -> Callable[[bytes, int, int], bytes]:
    """A custom mutator for atheris: ``prefix`` leading bytes (a target's selector) are kept."""

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        rnd = random.Random(seed)
        if rnd.random() < 0.5:
            return byte_mutate(data, max_size)
        head, body = data[:prefix], data[prefix:]
        lines = body.split(b"\n") or [b"{}"]
        i = rnd.randrange(len(lines))
        try:  # a line that is no JSON, or nested too deep for json (copies of copies): bytes instead
            doc = json.loads(lines[i])
            for _ in range(rnd.randrange(1, 4)):
                doc = mutate_doc(doc, rnd)
            text = json.dumps(doc, ensure_ascii=rnd.random() < 0.3, separators=(",", ":"))
        except (ValueError, RecursionError):
            return byte_mutate(data, max_size)
        lines[i] = text.encode("utf-8", "surrogatepass")
        return (head + b"\n".join(lines))[:max_size]

    return mutate
