"""What ``ben scrub --report`` prints: the findings of a dry run per entity and field path."""

from __future__ import annotations

from collections import Counter

Findings = Counter[tuple[str, str]]  # (entity, field path) -> times found


def report_rows(findings: Findings) -> list[tuple[str, str, int]]:
    """(entity, field, count) sorted by entity then field."""
    return sorted((e, f, n) for (e, f), n in findings.items())


def report_json(findings: Findings) -> dict:
    """Counts per entity and per field, as one JSON-ready object (``--report-json``)."""
    by_entity: Counter[str] = Counter()
    by_field: dict[str, dict[str, int]] = {}
    for (entity, fld), n in findings.items():
        by_entity[entity] += n
        by_field.setdefault(fld, {})[entity] = n
    return {"entities": dict(sorted(by_entity.items())), "fields": {k: dict(sorted(v.items())) for k, v in sorted(by_field.items())}}


def report_text(findings: Findings) -> str:
    """A table of entity, field and count for a person (``--report``)."""
    rows = report_rows(findings)
    if not rows:
        return "ben scrub: nothing found\n"
    width = max(len(e) for e, _, _ in rows)
    fwidth = max(len(f) for _, f, _ in rows)
    lines = [f"{'entity':<{width}}  {'field':<{fwidth}}  count"]
    lines += [f"{e:<{width}}  {f:<{fwidth}}  {n}" for e, f, n in rows]
    return "\n".join(lines) + "\n"
