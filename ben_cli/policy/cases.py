"""``ben policy test``: table-driven cases, as ``opa test`` runs a policy's tests.

A cases file is NDJSON, one case a line::

    {"name": "ops may send diag", "record": {"lane": "diag", "name": "cpu"}, "identity": "web-1",
     "groups": ["ops"], "expect": "allow", "rule": "ops"}

``records`` (a list) with ``expect`` as a list runs a sequence through one fresh evaluator, for
rate limits and alert thresholds. ``to`` is the destination. ``rule`` is optional: the rule
expected to decide. Each case starts from empty buckets. The coverage line says how many of the
policy's rules decided at least one case, and names those that never did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ben_cli.errors import UsageError
from ben_cli.policy.evaluate import OUTCOMES, Evaluator, Who
from ben_cli.policy.tree import Policy


@dataclass
class Result:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)

    def coverage_line(self) -> str:
        hit = [r for r in self.rules if r in self.exercised]
        share = 100 * len(hit) // len(self.rules) if self.rules else 100
        missed = [r for r in self.rules if r not in self.exercised]
        line = f"coverage: {len(hit)}/{len(self.rules)} rules decided a case ({share}%)"
        default = "; default decided a case" if "default" in self.exercised else "; default never decided"
        return line + default + (f"; never: {', '.join(missed)}" if missed else "")


def _case(line: bytes, lineno: int, file: str) -> dict:
    try:
        case = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{file}:{lineno}: not JSON: {exc}") from None
    if type(case) is not dict:
        raise UsageError(f"{file}:{lineno}: a case is a JSON object")
    records = case.get("records", [case.get("record")] if "record" in case else None)
    expect = case.get("expect")
    expects = expect if type(expect) is list else [expect]
    if type(records) is not list or not records or not all(type(r) is dict for r in records):
        raise UsageError(f"{file}:{lineno}: give 'record' (an object) or 'records' (a list of objects)")
    if len(expects) != len(records) or not all(e in OUTCOMES for e in expects):
        raise UsageError(f"{file}:{lineno}: 'expect' must be one of {', '.join(OUTCOMES)} per record "
                         f"({len(records)} record(s), {len(expects)} expectation(s))")
    groups = case.get("groups", [])
    if type(groups) is not list or not all(type(g) is str for g in groups):
        raise UsageError(f"{file}:{lineno}: 'groups' is a list of strings")
    return {"name": str(case.get("name", f"line {lineno}")), "records": records, "expects": expects,
            "rule": case.get("rule"), "who": Who(case.get("identity"), tuple(groups), case.get("to"))}


def run_cases(policy: Policy, path: Path) -> Report:
    """Every case of the file at ``path`` judged by ``policy``."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the cases {path}: {exc.strerror}") from None
    report = Report(rules=[r.name for r in policy.rules])
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        case = _case(line, lineno, str(path))
        evaluator = Evaluator(policy)
        problems = []
        for i, (rec, expect) in enumerate(zip(case["records"], case["expects"], strict=True)):
            index, outcome = evaluator.decide(rec, case["who"])
            name = evaluator.name_of(index)
            report.exercised.add(name)
            where = f"record {i + 1}: " if len(case["records"]) > 1 else ""
            if outcome != expect:
                problems.append(f"{where}expected {expect}, got {outcome} by rule {name} ({evaluator.where(index)})")
            elif case["rule"] is not None and i == len(case["records"]) - 1 and name != case["rule"]:
                problems.append(f"{where}expected rule {case['rule']} to decide, but rule {name} did "
                                f"({evaluator.where(index)})")
        report.results.append(Result(case["name"], not problems, "; ".join(problems)))
    return report


__all__ = ["Report", "Result", "run_cases"]
