"""The policy language: parse, positions, errors with carets and did-you-mean, warnings for rules
that never match or are shadowed; fuzzed so that no text crashes the parser."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.policy import PolicyError, PolicyErrors, load_text, parse
from ben_cli.policy.check import check
from ben_cli.policy.tree import Action

GOOD = """\
policy edge version 3 default deny   # who may send what
personal user, attrs.email

rule no-control: deny if lane control and not group policy-admin
rule ops: allow if group ops and lane diag, event
rule pii: deny if unredacted and to "clickhouse://*"
rule web: limit 100 per 1s burst 200 by source clock wall if from web-*
rule slow: alert over 5 within 1m by source, name if name http.request and value over 500
rule sinks: allow if to "file:*", "clickhouse://10.0.0.*"
"""


def error_of(source: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_text(source, "p.policy")
    return caught.value


def test_a_policy_parses_with_every_rule_kind():
    policy = parse(GOOD, "p.policy")
    assert (policy.name, policy.version, policy.default) == ("edge", 3, "deny")
    assert [r.name for r in policy.rules] == ["no-control", "ops", "pii", "web", "slow", "sinks"]
    assert policy.rules[3].action == Action("limit", 100, 1.0, "1s", 200, ("source",), "wall")
    assert policy.rules[4].action.by == ("source", "name") and policy.rules[4].action.count == 5
    assert [t.text() for t in policy.rules[0].tests] == ["lane control", "not group policy-admin"]
    assert policy.rules[4].tests[1].text() == "value over 500"
    assert (policy.rules[1].pos.line, policy.rules[1].pos.col) == (5, 6)
    assert policy.personal[0].paths == ("user", "attrs.email")
    assert check(policy, GOOD) == ([], [])


def test_the_default_must_be_explicit():
    err = error_of("policy edge version 3\nrule ops: allow\n")
    assert str(err) == "p.policy:2:1: a policy needs an explicit default: 'default allow' or 'default deny' after its name"
    assert err.render().endswith("\n    rule ops: allow\n    ^^^^")


def test_errors_carry_a_caret_and_a_did_you_mean():
    err = error_of("policy p default deny\nrule a: alow if lane diag\n")
    assert err.render() == ("p.policy:2:9: expected an action (allow, deny, limit, alert), found 'alow'; "
                            "did you mean 'allow'?\n    rule a: alow if lane diag\n            ^^^^")
    assert "did you mean 'group'?" in str(error_of("policy p default deny\nrule a: allow if grup ops\n"))
    assert "did you mean 'source'?" in str(error_of("policy p default deny\nrule a: limit 5 per 1s by sorce\n"))
    assert str(error_of('policy p default deny\nrule a: allow if to "x\n')).startswith("p.policy:2:21: a string that never ends")
    assert str(error_of("policy p default deny\nrule a: limit 5 per 1s burst 0\n")).startswith("p.policy:2:30: a burst of 0")


def test_a_rule_named_twice_is_a_fault_with_both_lines():
    with pytest.raises(PolicyErrors) as caught:
        load_text("policy p default deny\nrule a: allow\nrule a: deny if lane diag\n", "p.policy")
    assert str(caught.value.errors[0]) == "p.policy:3:6: rule 'a' is named twice (first at line 2)"


@pytest.mark.parametrize("rules, warning", [
    ("rule a: allow if lane diag\nrule b: deny if lane diag and name x", "rule 'b' is shadowed by rule 'a' (line 2)"),
    ("rule a: allow\nrule b: deny if lane diag", "rule 'b' is shadowed by rule 'a' (line 2)"),
    ("rule a: allow if name http.*\nrule b: deny if name http.request", "rule 'b' is shadowed by rule 'a'"),
    ("rule a: allow if value over 10\nrule b: deny if value over 20", "rule 'b' is shadowed by rule 'a'"),
    ("rule a: deny if lane dig", "rule 'a' can never match: no lane is named dig (lanes: diag, event, control); did you mean 'diag'?"),
    ("rule a: deny if value over 10 and value under 5", "no value is over 10 and under 5"),
    ("rule a: deny if lane diag and lane event", "no record has a lane that passes all of this rule's lane tests"),
    ("rule a: deny if source x and not source x", "no record has a source that passes"),
    ("rule a: deny if unredacted", "'unredacted' needs personal fields"),
])
def test_warnings_for_dead_rules(rules, warning):
    _policy, warnings = load_text(f"policy p default deny\n{rules}\n", "p.policy")
    assert len(warnings) == 1 and warning in str(warnings[0]) and str(warnings[0]).startswith("p.policy:")


@pytest.mark.parametrize("rules", [
    "rule a: allow if lane diag and name x\nrule b: deny if lane diag",  # narrower first: fine
    "rule a: allow if name http.request\nrule b: deny if name http.*",
    "rule a: allow if value over 20\nrule b: deny if value over 10",
    "rule a: allow if not lane diag\nrule b: deny if lane event",  # conservative: not proven
    "rule a: limit 1 per 1s\nrule b: alert over 1 within 1s if lane control",  # shadowed? a limit decides: yes
])
def test_no_false_shadow_warnings(rules):
    _policy, warnings = load_text(f"policy p default deny\n{rules}\n", "p.policy")
    expected = 1 if rules.startswith("rule a: limit") else 0
    assert len(warnings) == expected


def test_personal_fields_from_a_contract(tmp_path):
    (tmp_path / "shop.ben").write_text('lane event {\n  kind "order.*" {\n    attr email: string pii email\n'
                                       "    field value: float\n  }\n}\n")
    (tmp_path / "p.policy").write_text('policy p default allow\npersonal from "shop.ben"\nrule pii: deny if unredacted\n')
    from ben_cli.policy import load

    policy, warnings = load(tmp_path / "p.policy")
    assert warnings == [] and policy.personal[0].paths == ("attrs.email",) and policy.personal[0].kind == "order.*"
    (tmp_path / "p.policy").write_text('policy p default allow\npersonal from "nope.ben"\n')
    with pytest.raises(PolicyError, match=r"p.policy:2:15: cannot read the contract nope.ben: no such file$"):
        load(tmp_path / "p.policy")


WORDS = ["policy", "p", "version", "3", "default", "allow", "deny", "rule", "a", ":", "if", "and", "not", "lane",
         "diag", "group", "ops", "limit", "per", "1s", "burst", "by", "source", "clock", "wall", "alert", "over",
         "within", "value", "under", "has", "unredacted", "personal", "from", ",", '"x"', "{", "#c\n", "\n", "-1",
         "1.5", "*", "to", "name"]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=120), st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join)))
def test_no_text_crashes_the_parser_and_every_error_is_positioned(source):
    try:
        _policy, warnings = load_text(source, "f.policy")
    except PolicyErrors as exc:
        faults = exc.errors
    except PolicyError as exc:
        faults = [exc]
    else:
        faults = list(warnings)
    lines = source.splitlines() or [""]
    for fault in faults:
        assert fault.pos.line >= 1 and fault.pos.col >= 1
        assert fault.pos.line <= len(lines) + 1
        assert str(fault).startswith(f"f.policy:{fault.pos.line}:{fault.pos.col}: ")
        assert fault.render()


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["lane diag", "lane event", "name a.*", "name a.b", "group ops", "value over 5",
                                 "value over 9", "not lane control", "source s1", "from web-*"]),
                min_size=0, max_size=3), st.lists(st.sampled_from(["lane diag", "name a.b", "group ops",
                                                                   "value over 9", "source s1", "from web-1"]),
                                                  min_size=1, max_size=3))
def test_a_shadow_warning_is_never_wrong(earlier, later):
    """When check says rule b is shadowed by a, every record b matches is matched by a (tried on
    records built from b's own tests)."""
    from ben_cli.policy.evaluate import Evaluator, Who

    source = (f"policy p default deny\nrule a: allow{' if ' + ' and '.join(earlier) if earlier else ''}\n"
              f"rule b: deny if {' and '.join(later)}\n")
    policy, warnings = load_text(source)
    if not any("shadowed" in str(w) for w in warnings):
        return
    rec: dict = {"lane": "diag", "name": "a.b", "source": "s1", "value": 10}
    for lane in ("diag", "event", "control"):
        rec["lane"] = lane
        index, _ = Evaluator(policy).decide(rec, Who("web-1", ("ops",)))
        assert index != 1


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["lane diag", "lane event", "not lane diag", "value over 5", "value under 5",
                                 "value under 9", "source s1", "not source s1", "source s1, s2", "name a.*"]),
                min_size=1, max_size=4))
def test_a_never_matches_warning_is_never_wrong(tests):
    """When check says a rule can never match, no record built from its own values matches it."""
    from itertools import product

    from ben_cli.policy.evaluate import Evaluator, Who

    policy, warnings = load_text(f"policy p default allow\nrule a: deny if {' and '.join(tests)}\n")
    if not any("can never match" in str(w) for w in warnings):
        return
    for lane, source, value, name in product(["diag", "event", "control"], ["s1", "s2", "s3"], [0, 5, 7, 10],
                                             ["a.b", "c"]):
        index, _ = Evaluator(policy).decide({"lane": lane, "source": source, "value": value, "name": name}, Who())
        assert index != 0
