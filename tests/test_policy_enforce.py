"""Deciding and enforcing: first match, the explicit default, each rule kind, explanations,
enforcement as a filter (rejects, rate-limit counts, stats, alerts), table-driven cases, and the
token buckets held to a reference implementation (GCRA, in exact fractions) over generated traffic."""

from __future__ import annotations

from fractions import Fraction

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.policy import Evaluator, Who, load_text
from ben_cli.policy.ratelimit import Buckets, ts_ns

from .conftest import run_ben

POLICY = """\
policy edge version 2 default deny
personal user, attrs.email
rule no-control: deny if lane control and not group policy-admin
rule admin-control: allow if lane control
rule pii: deny if unredacted
rule sinks: deny if to "http://*"
rule big: deny if has attrs.blob
rule web: limit 2 per 1s by source if from web-*
rule slow: alert over 2 within 1m by source if name http.request and value over 500
rule ops: allow if group ops
"""


def evaluator() -> Evaluator:
    return Evaluator(load_text(POLICY, "p.policy")[0])


def decided(rec: dict, who: Who = Who()) -> tuple[str, str]:
    e = evaluator()
    index, outcome = e.decide(rec, who)
    return e.name_of(index), outcome


@pytest.mark.parametrize("rec, who, expected", [
    ({"lane": "control", "name": "policy.push"}, Who("n1", ("node",)), ("no-control", "deny")),
    ({"lane": "control", "name": "policy.push"}, Who("alice", ("policy-admin",)), ("admin-control", "allow")),
    ({"lane": "event", "user": "bob"}, Who("db", ("ops",)), ("pii", "deny")),
    ({"lane": "event", "user": "bob", "redacted": ["name"]}, Who("db", ("ops",)), ("ops", "allow")),
    ({"lane": "event", "attrs": {"email": ""}}, Who("db", ("ops",)), ("ops", "allow")),
    ({"lane": "event"}, Who("db", ("ops",), "http://x"), ("sinks", "deny")),
    ({"lane": "event"}, Who("db", ("ops",), "file:out"), ("ops", "allow")),
    ({"lane": "diag", "attrs": {"blob": 1}}, Who("db", ("ops",)), ("big", "deny")),
    ({"lane": "diag", "source": "s"}, Who("web-1"), ("web", "allow")),
    ({"lane": "diag", "name": "http.request", "value": 900}, Who("db"), ("slow", "allow")),
    ({"lane": "diag", "name": "http.request", "value": 100}, Who("db"), ("default", "deny")),
    ({"lane": "diag", "via": {"peer": "web-9", "groups": []}}, Who("db", ("ops",)), ("web", "allow")),
])
def test_the_first_matching_rule_decides_else_the_default(rec, who, expected):
    assert decided(rec, who) == expected


def test_a_limit_lets_a_burst_through_then_refills_in_event_time():
    e = evaluator()
    who = Who("web-1")
    outcomes = [e.decide({"source": "a", "ts": f"2026-01-01T00:00:00.{i}Z"}, who)[1] for i in range(4)]
    assert outcomes == ["allow", "allow", "limited", "limited"]
    assert e.decide({"source": "b", "ts": "2026-01-01T00:00:00.5Z"}, who)[1] == "allow"  # per source
    assert e.decide({"source": "a", "ts": "2026-01-01T00:00:01Z"}, who)[1] == "allow"  # 2 tokens a second
    assert e.decide({"source": "a", "ts": "2026-01-01T00:00:00Z"}, who)[1] == "allow"  # back in time: no refill
    assert e.decide({"source": "a", "ts": "2026-01-01T00:00:00Z"}, who)[1] == "limited"


def test_an_alert_rule_passes_records_and_raises_one_alert_per_window():
    e = evaluator()
    for i in range(5):
        e.decide({"name": "http.request", "value": 900, "source": "api", "ts": f"2026-01-01T00:00:0{i}Z"}, Who("db"))
    assert len(e.alerts) == 1
    alert = e.alerts[0]
    assert alert["lane"] == "control" and alert["name"] == "policy.alert" and alert["ts"] == "2026-01-01T00:00:02Z"
    assert alert["attrs"] == {"policy": "edge", "rule": "slow", "threshold": 2, "within": "1m", "count": 3,
                              "at": "p.policy:9:6", "by.source": "api"}
    e.decide({"name": "http.request", "value": 900, "source": "api", "ts": "2026-01-01T00:01:30Z"}, Who("db"))
    assert len(e.alerts) == 1  # a new window starts counting again


def test_explain_names_the_rule_its_tests_and_the_rules_passed_over():
    out = evaluator().explain({"lane": "event", "user": "bob"}, Who("db", ("ops",)))
    assert out["decision"] == "deny" and out["rule"] == "pii" and out["at"] == "p.policy:5:6"
    assert out["matched"] == ["unredacted"]
    assert out["passed_over"] == [{"rule": "no-control", "at": "p.policy:3:6", "failed": "lane control"},
                                  {"rule": "admin-control", "at": "p.policy:4:6", "failed": "lane control"}]
    assert evaluator().explain({"lane": "x"})["rule"] == "default"


def test_ts_ns_reads_nanoseconds_and_offsets():
    assert ts_ns("2026-01-01T00:00:00.123456789Z") == ts_ns("2026-01-01T00:00:00Z") + 123_456_789  # type: ignore[operator]
    assert ts_ns("2026-01-01T01:00:00+01:00") == ts_ns("2026-01-01T00:00:00Z")
    assert ts_ns("yesterday") is None and ts_ns(5) is None


def gcra(events: list[tuple[int, int]], count: int, per_ns: int, burst: int) -> list[bool]:
    """The reference: the generic cell rate algorithm, in exact fractions, one theoretical arrival
    time per key. A record conforms when it is no earlier than that time less the burst's tolerance."""
    interval = Fraction(per_ns, count)
    tolerance = interval * (burst - 1)
    tat: dict[int, Fraction] = {}
    out = []
    for key, t in events:
        arrival = tat.get(key, Fraction(t))
        if t >= arrival - tolerance:
            tat[key] = max(arrival, Fraction(t)) + interval
            out.append(True)
        else:
            out.append(False)
    return out


@settings(max_examples=300)
@given(st.integers(1, 50), st.integers(1, 3_000_000_000), st.integers(1, 20),
       st.lists(st.tuples(st.integers(0, 2), st.integers(0, 400_000_000)), max_size=200))
def test_token_buckets_agree_with_a_reference_gcra(count, per_ns, burst, steps):
    t, events = 0, []
    for key, gap in steps:  # times that never go back, as a sorted stream's do
        t += gap
        events.append((key, t))
    buckets = Buckets(count, per_ns, burst)
    assert [buckets.take(key, at) for key, at in events] == gcra(events, count, per_ns, burst)


def run(args: list[str], data: bytes = b"") -> tuple[int, str, str]:
    proc = run_ben(*args, input=data)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_enforce_filters_rejects_denied_counts_limited_and_sums_up(tmp_path):
    policy = tmp_path / "p.policy"
    policy.write_text(POLICY)
    lines = [{"lane": "diag", "source": "s", "ts": f"2026-01-01T00:00:00.{i}Z"} for i in range(4)]
    lines += [{"lane": "control", "name": "x"}, {"lane": "event", "user": "bob"}]
    data = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    code, out, err = run(["policy", "enforce", "--policy", str(policy), "--identity", "web-1", "--stats",
                          "--rejects", str(tmp_path / "bad.ndjson")], data)
    assert code == 0, err
    records = [orjson.loads(x) for x in out.splitlines()]
    assert records[:2] == lines[:2] and len(records) == 3
    stats = records[2]
    assert stats["name"] == "policy.stats" and stats["attrs"]["limited.web"] == 2 and stats["attrs"]["denied"] == 2
    assert stats["attrs"]["denied.no-control"] == 1 and stats["attrs"]["denied.pii"] == 1
    rejects = [orjson.loads(x) for x in (tmp_path / "bad.ndjson").read_bytes().splitlines()]
    assert [(r["line"], r["rule"], r["at"]) for r in rejects] == [(5, "no-control", f"{policy}:3:6"), (6, "pii", f"{policy}:5:6")]
    assert "ben policy enforce: rate-limited 2 by rule web" in err
    assert "read 6, wrote 3, rejected 2, denied 2, limited 2" in err


def test_test_runs_cases_and_reports_coverage(tmp_path):
    policy = tmp_path / "p.policy"
    policy.write_text(POLICY)
    cases = tmp_path / "cases.ndjson"
    cases.write_text("\n".join(orjson.dumps(c).decode() for c in [
        {"name": "nodes send no control", "record": {"lane": "control"}, "groups": ["node"], "expect": "deny"},
        {"name": "a burst of 2", "records": [{"source": "a"}] * 3, "identity": "web-1",
         "expect": ["allow", "allow", "limited"], "rule": "web"},
        {"name": "wrong", "record": {"lane": "diag"}, "groups": ["ops"], "expect": "deny"},
    ]) + "\n")
    code, out, _ = run(["policy", "test", str(policy), str(cases)])
    assert code == 1
    assert out.splitlines() == [
        "PASS nodes send no control", "PASS a burst of 2",
        f"FAIL wrong: expected deny, got allow by rule ops ({policy}:10:6)",
        "2 passed, 1 failed; coverage: 3/8 rules decided a case (37%); default never decided; "
        "never: admin-control, pii, sinks, big, slow"]


def test_bad_cases_and_bad_policies_are_usage_errors(tmp_path):
    policy = tmp_path / "p.policy"
    policy.write_text(POLICY)
    cases = tmp_path / "cases.ndjson"
    cases.write_text('{"record": {}, "expect": "maybe"}\n')
    code, _, err = run(["policy", "test", str(policy), str(cases)])
    assert code == 2 and f"{cases}:1: 'expect' must be one of allow, deny, limited" in err
    policy.write_text("policy p default deny\nrule a: alow\n")
    code, _, err = run(["policy", "enforce", "--policy", str(policy)], b"{}\n")
    assert code == 2 and err.startswith(f"{policy}:2:9: expected an action") and "did you mean 'allow'?" in err


def test_sink_stores_only_what_the_policy_allows_for_its_destination(tmp_path):
    policy = tmp_path / "p.policy"
    policy.write_text("policy gate version 1 default allow\npersonal user\n"
                      f'rule no-control-files: deny if lane control and to "file:{tmp_path}/*"\n'
                      "rule pii: deny if unredacted\n")
    lines = [{"ts": "2026-01-01T00:00:00Z", "lane": lane, "name": "x", **extra}
             for lane, extra in [("diag", {}), ("event", {"user": "bob"}), ("control", {}),
                                 ("event", {"user": "[REDACTED]", "redacted": ["name"]})]]
    data = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    out = tmp_path / "stored.ndjson"
    code, _, err = run(["sink", "--to", f"file:{out}", "--policy", str(policy), "--rejects", str(tmp_path / "bad")], data)
    assert code == 0, err
    assert [orjson.loads(x) for x in out.read_bytes().splitlines()] == [lines[0], lines[3]]
    rejects = [orjson.loads(x) for x in (tmp_path / "bad").read_bytes().splitlines()]
    assert [(r["line"], r["rule"]) for r in rejects] == [(2, "pii"), (3, "no-control-files")]
    code, _, err = run(["sink", "--to", "-", "--policy", str(policy)], data)  # another destination: control passes
    assert code == 0 and "rejected 1" in err


def test_the_example_policy_has_a_passing_case_for_every_rule_kind():
    from pathlib import Path

    from ben_cli.policy import load, run_cases

    folder = Path(__file__).parent / "data" / "policy"
    policy, warnings = load(folder / "edge.policy")
    assert warnings == []
    assert {rule.action.kind for rule in policy.rules} == {"allow", "deny", "limit", "alert"}
    assert {t.what for rule in policy.rules for t in rule.tests} == {"lane", "group", "unredacted", "to", "has",
                                                                      "name", "value", "from"}
    report = run_cases(policy, folder / "edge.cases.ndjson")
    assert report.failed == 0 and len(report.results) == 11
    assert report.coverage_line() == "coverage: 9/9 rules decided a case (100%); default decided a case"


records = st.fixed_dictionaries({}, optional={
    "lane": st.sampled_from(["diag", "event", "control", "x"]),
    "name": st.sampled_from(["http.request", "cpu.usage", "log", "svc-1.x"]),
    "source": st.sampled_from(["s", "web-1", "api"]),
    "value": st.one_of(st.integers(-10, 2000), st.floats(-1, 1e4, allow_nan=False), st.booleans(), st.text(max_size=2)),
    "user": st.sampled_from(["", "bob"]),
    "redacted": st.sampled_from([[], ["name"]]),
    "attrs": st.fixed_dictionaries({}, optional={"blob": st.just(1), "email": st.sampled_from(["", "a@b"])}),
    "via": st.fixed_dictionaries({"peer": st.sampled_from(["web-2", "n1"]), "groups": st.sampled_from([[], ["ops"]])}),
})
whos = st.builds(Who, st.sampled_from([None, "web-1", "db"]), st.sampled_from([(), ("ops",), ("policy-admin",)]),
                 st.sampled_from([None, "http://x", "file:y"]))


@settings(max_examples=300)
@given(st.lists(st.tuples(records, whos), max_size=8))
def test_the_cached_fast_path_decides_as_the_plain_explanation_does(stream):
    """decide (candidates cached per sender and kind) and explain (every test of every rule, in
    order) give the same rule and outcome, token for token, over any stream."""
    fast, plain = evaluator(), evaluator()
    for rec, who in stream:
        index, outcome = fast.decide(rec, who)
        explained = plain.explain(rec, who)
        assert (fast.name_of(index), outcome) == (explained["rule"], explained["decision"])
    assert fast.alerts == plain.alerts
