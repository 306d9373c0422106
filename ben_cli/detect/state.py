"""Every series' detector state in one file, written atomically (the series table locks it while a run uses it).

The file is one JSON object: what wrote it (detector, parameters, ``--by``, ``--field``), the
newest timestamp seen, and each series' key and state list. A run refuses a file written with a
different detector or parameters: carrying state between unlike models would be silent nonsense.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ben_cli.atomic import write_atomic
from ben_cli.errors import StateError

FORMAT = "ben-detect-state"
VERSION = 1


def load(path: Path, identity: dict[str, Any]) -> dict | None:
    """The saved state if ``path`` exists (None if not); checks it was written by ``identity``."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StateError(f"{path}: not a detector state file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{path}: not a detector state file")
    if data.get("version") != VERSION:
        raise StateError(f"{path}: state version {data.get('version')} is not {VERSION}")
    for key, want in identity.items():
        if data.get(key) != want:
            raise StateError(
                f"{path}: written with {key} {data.get(key)!r}, this run uses {want!r}; "
                "use another --state file or remove this one"
            )
    return data


def save(path: Path, identity: dict[str, Any], newest: int | None, series: Iterator[list]) -> int:
    """Write the state atomically (temporary file, fsync, rename, fsync of the folder); the bytes written."""
    data = {"format": FORMAT, "version": VERSION, **identity, "newest": newest, "series": list(series)}
    blob = orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, blob)
    return len(blob)
