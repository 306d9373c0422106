"""``ben ingest``'s options: its flags checked and turned into the core's options, kept out of
the thin shell (``ben run`` reads a stage's options through :func:`options_from` too)."""

from __future__ import annotations

from typing import Optional

import typer

from ben_cli import ingest as core
from ben_cli.record import LANES

from ._common import say


def check_lane(value: str) -> str:
    if value not in LANES:
        raise typer.BadParameter(f"must be one of {', '.join(LANES)}")
    return value


def check_format(value: str) -> str:
    names = core.format_names()
    if value != "auto" and value not in names:
        raise typer.BadParameter(f"must be auto or one of {', '.join(names)}")
    return value


def as_tz(value: Optional[str]) -> object:
    try:
        return None if value is None else core.parse_tz(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


# `ben run` hands records on to the next stage, never to a file of ingest's own.
NOT_IN_RUN = ("output", "contract")


def options_from(p: dict) -> core.IngestOptions:
    """The core's options from the command's parameters (the command and `ben run` both read them here)."""
    if p["multiline"] not in ("auto", "indent", "off"):
        raise typer.BadParameter("must be auto, indent or off", param_hint="--multiline")
    formats = tuple(p["ts_format"] or ())
    user = core.layouts_from_options(p["pattern"] or [], None if p["layouts"] is None else str(p["layouts"]), formats)
    fmt = "lines" if user and p["format"] == "auto" else p["format"]
    decode = core.DecodeOptions(lane=p["lane"], source=p["source"], ts_field=p["ts_field"], value_field=p["value_field"],
                                name_field=p["name_field"], require_ts=p["require_ts"], layouts=user, ts_formats=formats,
                                multiline=p["multiline"])
    tz = p["tz"] if p["tz"] is not None else core.zone_from_environment()
    if tz is not None:
        decode.tz = tz  # the callback made it a zone
        decode.tz_offset_s = core.utc_offset_now(decode.tz)
    quiet = p["quiet"]
    return core.IngestOptions(
        format=fmt, decode=decode, max_line_bytes=int(p["max_line_bytes"]), jobs=p["jobs"], follow=p["follow"],
        since_last=p["since_last"], state=p["state"], ack=p["ack"], output=p["output"], listen=p["listen"],
        max_clients=p["max_clients"], max_per_address=p["max_per_address"], idle_timeout=float(p["idle_timeout"]),
        line_timeout=float(p["line_timeout"]), drain_timeout=float(p["drain_timeout"]),
        allow_remote=p["allow_remote"], max_request_bytes=int(p["max_request_bytes"]), retry_after=float(p["retry_after"]),
        source=p["from_"], durable=p["durable"], max_idle=None if p["max_idle"] is None else float(p["max_idle"]),
        partitions=None if p["partitions"] is None else _share(p["partitions"]),
        tls_cert=p["tls_cert"], tls_key=p["tls_key"], tls_client_ca=p["tls_client_ca"], token_file=p["token_file"],
        on_format=lambda name, fmt: say(f"ben ingest: {name}: format {fmt}", quiet),
        on_ready=lambda where: say(f"ben ingest: listening on {where}", quiet))




def _share(text: str) -> tuple[int, int]:
    from ben_cli.errors import UsageError
    from ben_cli.jetstream import parse_share

    try:
        return parse_share(text)
    except UsageError as exc:
        raise typer.BadParameter(str(exc), param_hint="--partitions") from None
