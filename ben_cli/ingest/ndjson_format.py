"""NDJSON input: one JSON object per line, normalised into the envelope."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ben_cli.ingest.envelope import Normaliser
from ben_cli.ingest.format import DecodeError, DecodeOptions, Format, register_format
from ben_cli.ndjson import too_deep


def load_object(data: bytes) -> dict:
    """The JSON object on a line; :class:`DecodeError` when it is not JSON or not an object."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    if type(obj) is not dict:
        raise DecodeError(f"record is a JSON {type(obj).__name__}, not an object")
    return obj


class NdjsonDecoder:
    def __init__(self, options: DecodeOptions):
        self._normalise = Normaliser(options).normalise

    def decode(self, data: bytes) -> dict:
        obj = load_object(data)
        if len(data) >= 510 and (reason := too_deep(data, obj)):  # flattening it would recurse
            raise DecodeError(reason)
        return self._normalise(obj)

    def end(self) -> list[dict]:
        return []


def sniff(sample: Sequence[bytes]) -> float:
    """Sure when the first lines are JSON objects; never for anything else."""
    good = 0
    for line in sample[:5]:
        if not line.lstrip().startswith(b"{"):
            return 0.0
        try:
            if isinstance(orjson.loads(line), dict):
                good += 1
        except orjson.JSONDecodeError:
            pass
    return 0.9 if good else 0.0  # below otlp, whose requests are JSON objects too


NDJSON = register_format(Format("ndjson", "one JSON object per line", NdjsonDecoder, sniff, stateless=True))
