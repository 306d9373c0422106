"""``ben contract diff`` (issue 20): which changes break existing producers, and a property: a change
called safe never makes the new contract reject a record the old one accepted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.contract import load_text
from ben_cli.contract.diff import BREAKS, MAY_BREAK, SAFE, diff
from ben_cli.contract.pycode import compile_validator

OLD = """contract web version 3
lane event {
  kind http.request {
    field value: float required range 0..1000
    attr method: enum(GET, POST) required
    attr path: string maxlen 200 cardinality 1000
    attr region: string
  }
}
"""


def changes(new: str, old: str = OLD) -> list[tuple[str, str | None, str]]:
    return [(c.effect, c.field, c.what) for c in diff(load_text(old, "old.ben"), load_text(new, "new.ben"))]


def edit(*pairs: tuple[str, str], version: int = 4) -> str:
    text = OLD.replace("version 3", f"version {version}")
    for a, b in pairs:
        assert a in text
        text = text.replace(a, b)
    return text


@pytest.mark.parametrize("pairs, expected", [
    ((), []),
    ((("range 0..1000", "range 0..500"),), [(BREAKS, "value", "range narrowed")]),
    ((("range 0..1000", "range 0.."),), [(SAFE, "value", "range widened")]),
    ((("enum(GET, POST)", "enum(GET)"),), [(BREAKS, "attrs.method", "enum values removed: POST")]),
    ((("enum(GET, POST)", "enum(GET, POST, PUT)"),), [(SAFE, "attrs.method", "enum values added: PUT")]),
    ((("enum(GET, POST)", "string"),), [(SAFE, "attrs.method", "type enum -> string")]),
    ((("float required", "int required"),), [(BREAKS, "value", "type float -> int")]),
    ((("attr region: string", "attr region: string required"),), [(BREAKS, "attrs.region", "now required")]),
    ((("enum(GET, POST) required", "enum(GET, POST)"),), [(SAFE, "attrs.method", "now optional")]),
    ((("maxlen 200", "maxlen 100"),), [(BREAKS, "attrs.path", "maxlen lowered")]),
    ((("cardinality 1000", "cardinality 5000"),), [(SAFE, "attrs.path", "cardinality limit raised")]),
    ((("    attr region: string\n", ""),), [(SAFE, "attrs.region", "removed")]),
    ((("attr region: string", "attr region: string\n    attr zone: string"),),
     [(MAY_BREAK, "attrs.zone", "added: attr zone: string")]),
    ((("attr region: string", "attr region: string deprecated since 4 use zone"),),
     [(SAFE, "attrs.region", "deprecated, use zone")]),
    ((("kind http.request {", "kind http.request closed {"),),
     [(BREAKS, None, "attrs closed: undeclared keys are rejected")]),
    ((("}\n}\n", "}\n}\nlane control signed {\n}\n"),), [(BREAKS, None, "lane added: its records are now checked"),
      (BREAKS, None, "lane now signed: records without sig are rejected")]),
])
def test_each_change_is_judged(pairs, expected):
    assert changes(edit(*pairs)) == expected


def test_a_breaking_change_needs_a_new_version():
    same_version = edit(("range 0..1000", "range 0..10"), version=3)
    assert changes(same_version)[-1] == (BREAKS, None, "breaking changes, but the version stays 3 (was 3)")


RECORD = st.fixed_dictionaries({"lane": st.just("event"), "name": st.just("http.request")}, optional={
    "value": st.one_of(st.integers(-5, 2000), st.floats(-5, 2000), st.text(max_size=2)),
    "attrs": st.dictionaries(st.sampled_from(["method", "path", "region", "zone"]),
                             st.one_of(st.sampled_from(["GET", "POST", "PUT", "x" * 150]), st.integers(0, 3)), max_size=4)})
EDITS = [("range 0..1000", "range 0..500"), ("range 0..1000", "range 0.."), ("enum(GET, POST)", "enum(GET)"),
         ("enum(GET, POST)", "enum(GET, POST, PUT)"), ("enum(GET, POST)", "string"), ("float required", "int required"),
         ("attr region: string", "attr region: string required"), ("enum(GET, POST) required", "enum(GET, POST)"),
         ("maxlen 200", "maxlen 100"), ("maxlen 200", "maxlen 300"), ("    attr region: string\n", ""),
         ("attr region: string", "attr region: int"), ("float required", "float"),
         ("kind http.request {", "kind http.request closed {")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(EDITS), unique=True, max_size=3), st.lists(RECORD, min_size=1, max_size=5))
def test_safe_changes_never_reject_what_the_old_contract_accepted(edits, records):
    text = OLD
    for a, b in edits:
        if a in text:
            text = text.replace(a, b)
    old, new = load_text(OLD), load_text(text)
    found = diff(old, new)
    if any(c.effect != SAFE for c in found):
        return
    before, after = compile_validator(old)["check"], compile_validator(new)["check"]
    for rec in records:
        if not before(rec):
            assert not after(rec), (text, rec)
