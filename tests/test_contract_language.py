"""``ben contract`` (issue 20): the language: parser positions, checker did-you-means, fmt round trips,
and the grammar fuzzed (arbitrary text never crashes the parser; every error has a position)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.contract import ContractError, ContractErrors, check, fmt, load_text, parse
from ben_cli.contract.parser import MODIFIERS
from ben_cli.contract.tree import TYPES, Contract, Kind, Lane, Rule, TypeRef

WEB = Path(__file__).parent / "data" / "contracts" / "web.ben"


def error_of(source: str) -> ContractError:
    with pytest.raises((ContractError, ContractErrors)) as info:
        load_text(source, "t.ben")
    exc = info.value
    return exc.errors[0] if isinstance(exc, ContractErrors) else exc


def test_every_node_knows_its_line_and_column():
    c = parse(WEB.read_text(), "web.ben")
    lane = c.lanes[0]
    kind = lane.kinds[0]
    value = kind.rules[0]
    assert (lane.name, lane.pos.line, lane.pos.col) == ("event", 3, 6)
    assert (kind.pattern, kind.pos.line, kind.pos.col) == ("http.request", 4, 8)
    assert (value.name, value.pos.line, value.pos.col) == ("value", 5, 11)
    assert value.type.pos.col == 18 and value.at["range"].line == 5 and value.at["range"].col == 33
    assert c.lanes[1].signed and c.lanes[1].at["signed"].line == 15


def test_the_example_contract_is_sound_and_means_what_it_says():
    c = load_text(WEB.read_text(), "web.ben")
    value, ts, method, status, path, client, old = c.lanes[0].kinds[0].rules
    assert (value.required, value.low, value.high, value.unit) == (True, 0, 60000, "ms")
    assert method.type == TypeRef("enum", ("GET", "POST"))
    assert (path.cardinality, path.maxlen, path.pattern) == (3, 20, "^/")
    assert client.pii == "ipv4"
    assert (old.deprecated, old.since, old.use) == (True, 3, "http.server.duration")
    assert c.lanes[0].kinds[0].closed and c.window == "1m" and c.version == 3


@pytest.mark.parametrize("source, token, message", [
    ("lane event { kind x { field a: strng } }", "strng", "unknown type 'strng'; did you mean 'string'?"),
    ("lane evnt { kind x { } }", "evnt", "unknown lane 'evnt'; did you mean 'event'?"),
    ("lane event { kind x { field a: int requird } }", "requird", "unknown modifier 'requird'; did you mean 'required'?"),
    ("lane event { kind x { attr u: string pii emial } }", "emial", "unknown kind of personal data 'emial'; did you mean 'email'?"),
    ("lane event { knd x { } }", "knd", "expected 'kind' or '}', found 'knd'; did you mean 'kind'?"),
    ("lane event { kind x { field a int } }", "int", "expected ':' and a type after the name, found 'int'"),
    ("lane event { kind x { field a: int range 5..1 } }", "range", "the range's low end 5 is above its high end 1"),
    ("lane event { kind x { field a: string range 0..1 } }", "range", "a range is for int and float, not string"),
    ("lane event { kind x { field a: int maxlen 3 } }", "maxlen", "maxlen is for strings, not int"),
    ("lane event { kind x { field a: int cardinality 3 } }", "cardinality", "a cardinality limit is for attrs keys"),
    ("lane event { kind x { attr a: string pattern \"(\" } }", "\"(\"", "the pattern is not a regular expression"),
    ("lane event signed { }", "signed", "'signed' is for the control lane"),
    ("lane event { kind x { field a: enum } }", "enum", "an enum needs its values"),
    ("lane event { kind x { field a: int field b: int field a: int } }", "a: int }", "field 'a' is declared twice in kind 'x' (first on line 1)"),
    ("lane event { kind x { field a: string \"q", "\"q", "a string that never ends"),
    ("lane event { kind x window 5q { } }", "5q", "not a duration: '5q'"),
    ("contract c version 2 lane event { kind x { field a: int deprecated since 3 } }", "deprecated",
     "deprecated since version 3, but the contract is version 2"),
    ("lane event { kind x {", None, "expected 'field', 'attr' or '}', found the end of the file"),
    ("lane event { kind x { field a: int } } @", "@", "unexpected character '@'"),
    ("lane event { kind x { field a: int } } kind", "kind", "expected 'lane', found 'kind'"),
])
def test_faults_are_positioned_with_a_reason_and_a_hint(source, token, message):
    err = error_of(source)
    col = len(source) + 1 if token is None else source.rindex(token) + 1
    assert (err.pos.line, err.pos.col) == (1, col)
    assert message in err.message
    assert str(err).startswith(f"t.ben:1:{col}: ")


def test_the_caret_sits_under_the_fault_as_wide_as_it():
    err = error_of("lane event {\n  kind x {\n    field a: strng required\n  }\n}\n")
    assert err.render() == ("t.ben:3:14: unknown type 'strng'; did you mean 'string'? (types: " + ", ".join(TYPES) + ")\n"
                            "        field a: strng required\n"
                            "                 ^^^^^")


def test_check_collects_every_fault_of_meaning():
    c = parse("lane evnt { kind x { field a: strng } }\nlane event { kind y { field b: int range 2..1 } }\n")
    errors = check(c)
    assert [(e.pos.line, e.message.split(";")[0].split(" (")[0]) for e in errors] == [
        (1, "unknown lane 'evnt'"), (1, "unknown type 'strng'"), (2, "the range's low end 2 is above its high end 1")]


def test_fmt_is_canonical_idempotent_and_keeps_comments():
    messy = ("# top\ncontract   web version 3\nlane event{kind \"http.request\" closed{ # the requests\n"
             "field value:float unit ms required range 0..60000\n attr m : enum( GET,\"P Q\" , 5)}}\n# end\n")
    out = fmt(parse(messy))
    assert out == ("# top\ncontract web version 3\n\nlane event {\n  kind http.request closed {\n"
                   "    # the requests\n    field value: float required range 0..60000 unit ms\n"
                   "    attr m: enum(GET, \"P Q\", 5)\n  }\n}\n# end\n")
    assert fmt(parse(out)) == out
    assert parse(out) == parse(messy)


# --- the grammar, fuzzed -------------------------------------------------------------------------

WORDS = ["contract", "version", "window", "lane", "signed", "kind", "closed", "field", "attr", ":", "{", "}", "(",
         ")", ",", "..", "event", "diag", "control", "http.*", "\"x y\"", "\"", "5", "-2.5", "1e3", "5m", "#c\n", "\n",
         *TYPES, *MODIFIERS, "since", "use", "email", "ms", "\"^a\\\\d\"", "@", "x"]


def _assert_positioned(source: str) -> None:
    try:
        contract = parse(source, "f.ben")
    except ContractError as exc:
        lines = source.split("\n")
        assert 1 <= exc.pos.line <= len(lines)
        assert 1 <= exc.pos.col <= len(lines[exc.pos.line - 1]) + 1
        assert exc.render().startswith(f"f.ben:{exc.pos.line}:{exc.pos.col}: ")
        return
    for err in check(contract, source):
        assert err.pos.line >= 1 and err.pos.col >= 1
        assert err.render()


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_arbitrary_text_never_crashes_the_parser(source):
    _assert_positioned(source)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join))
def test_token_soup_never_crashes_the_parser_and_every_error_has_a_position(source):
    _assert_positioned(source)


names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}(\.[a-z0-9_*]{1,4}){0,2}", fullmatch=True) | st.text(min_size=1, max_size=8)
numbers = st.integers(-10**6, 10**6) | st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def rules(draw, scope: str) -> Rule:
    tname = draw(st.sampled_from(TYPES))
    values = tuple(draw(st.lists(st.text(max_size=6) | st.integers(-9, 9), min_size=1, max_size=4, unique_by=repr))) if tname == "enum" else ()
    rule = Rule(scope, draw(names), TypeRef(tname, values), required=draw(st.booleans()))
    if tname in ("int", "float") and draw(st.booleans()):
        pick = st.integers(-100, 100) if tname == "int" else numbers
        low, high = sorted([draw(pick), draw(pick)])
        rule.has_range, rule.low, rule.high = True, draw(st.none() | st.just(low)), high
    if tname == "string":
        rule.maxlen = draw(st.none() | st.integers(0, 99))
        rule.pattern = draw(st.none() | st.sampled_from(["^a", "\\d+", "x\"y", "a\\\\b"]))
    if scope == "attr" and draw(st.booleans()):
        rule.cardinality = draw(st.integers(1, 10**6))
    rule.unit = draw(st.none() | names)
    rule.pii = draw(st.none() | st.sampled_from(["email", "ipv4", "phone"]))
    if draw(st.booleans()):
        rule.deprecated, rule.since, rule.use = True, draw(st.none() | st.integers(0, 3)), draw(st.none() | names)
    return rule


@st.composite
def contracts(draw) -> Contract:
    c = Contract(name=draw(st.none() | names), version=draw(st.none() | st.integers(3, 9)),
                 window=draw(st.none() | st.sampled_from(["1m", "90s", "1h30m"])))
    if c.name is None:
        c.version = c.window = None
    for lane_name in draw(st.lists(st.sampled_from(["diag", "event", "control"]), unique=True, max_size=3)):
        lane = Lane(lane_name, signed=lane_name == "control" and draw(st.booleans()))
        for pattern in draw(st.lists(names, unique=True, max_size=3)):
            kind = Kind(pattern, closed=draw(st.booleans()), window=draw(st.none() | st.just("5m")))
            fields = draw(st.lists(rules("field"), max_size=3, unique_by=lambda r: r.name))
            attrs = draw(st.lists(rules("attr"), max_size=3, unique_by=lambda r: r.name))
            kind.rules = fields + attrs
            lane.kinds.append(kind)
        c.lanes.append(lane)
    return c


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts())
def test_fmt_output_parses_to_the_same_tree_and_fmt_twice_changes_nothing(tree):
    text = fmt(tree)
    again = parse(text)
    assert again == tree
    assert fmt(again) == text
