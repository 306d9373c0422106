"""``ben scrub`` over NDJSON streams: one output line per input line, in order, or a reject.

Lines the prefilter proves clean are passed through as their own bytes with ``"redacted":[]``
appended, without a parse-walk-serialise round trip; every other line is parsed, walked and
written again. A line that is not a JSON object, or that cannot be scrubbed safely, goes to the
rejects with its reason and is never written to the output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import orjson

from ben_cli.ndjson import DEFAULT_MAX_LINE_BYTES, BadRecord, Writer, display_name, open_input
from ben_cli.rejects import Rejects, Summary
from ben_cli.scrub.scrubber import Scrubber, Unscrubbable

_EMPTY_MARK = b'"redacted":[]}\n'


def scrub_stream(
    paths: Sequence[str],
    writer: Writer,
    rejects: Rejects,
    scrubber: Scrubber,
    *,
    dry_run: bool = False,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Summary:
    """Scrub every record of ``paths`` to ``writer``. With ``dry_run`` records are written
    unchanged and only ``scrubber.report`` counts what would have been scrubbed."""
    summary = Summary("scrub")
    loads, clean, scrub, families = orjson.loads, scrubber.line_is_clean, scrubber.scrub, scrubber.line_families
    write, write_line = writer.write, writer.write_line
    for path in paths or ["-"]:
        name = display_name(path)
        stream = open_input(path)
        try:
            lineno = 0
            for data in stream:
                lineno += 1
                if data[-1:] == b"\n":
                    data = data[:-2] if data[-2:] == b"\r\n" else data[:-1]
                if not data or data.isspace():
                    continue
                summary.read += 1
                try:
                    if len(data) > max_line_bytes:
                        raise BadRecord(lineno, f"line is {len(data)} bytes, over the {max_line_bytes}-byte limit", data, name)
                    try:
                        rec = loads(data)
                    except orjson.JSONDecodeError as exc:
                        raise BadRecord(lineno, f"invalid JSON: {exc}", data, name) from None
                    if type(rec) is not dict:
                        raise BadRecord(lineno, f"record is a JSON {type(rec).__name__}, not an object", data, name)
                    if dry_run:
                        scrub(rec)
                        write_line(data + b"\n")
                        continue
                    fams = families(data)
                    if clean(data, fams):
                        body = data.rstrip()
                        write_line(body[:-1] + (_EMPTY_MARK if body == b"{}" or body[:-1].rstrip() == b"{" else b"," + _EMPTY_MARK))
                    else:
                        try:
                            write(scrub(rec, fams))
                        except Unscrubbable as exc:
                            raise BadRecord(lineno, f"cannot scrub safely: {exc}", data, name) from None
                except BadRecord as bad:
                    rejects.add(bad)
        finally:
            if path != "-":
                stream.close()
    writer.flush()
    summary.written = writer.count
    summary.rejected = rejects.count
    return summary


def report_rows(report: Counter[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(entity, field, count) sorted by entity then field."""
    return sorted((e, f, n) for (e, f), n in report.items())


def report_json(report: Counter[tuple[str, str]]) -> dict:
    by_entity: Counter[str] = Counter()
    by_field: dict[str, dict[str, int]] = {}
    for (entity, fld), n in report.items():
        by_entity[entity] += n
        by_field.setdefault(fld, {})[entity] = n
    return {"entities": dict(sorted(by_entity.items())), "fields": {k: dict(sorted(v.items())) for k, v in sorted(by_field.items())}}


def report_text(report: Counter[tuple[str, str]]) -> str:
    rows = report_rows(report)
    if not rows:
        return "ben scrub: nothing found\n"
    width = max(len(e) for e, _, _ in rows)
    fwidth = max(len(f) for _, f, _ in rows)
    lines = [f"{'entity':<{width}}  {'field':<{fwidth}}  count"]
    lines += [f"{e:<{width}}  {f:<{fwidth}}  {n}" for e, f, n in rows]
    return "\n".join(lines) + "\n"
