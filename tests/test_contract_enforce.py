"""``ben contract`` (issue 20): enforcement. The compiled validator rule by rule, warn mode, the
cardinality guard, the JSON Schema held to the validator (differential, with ``jsonschema``), and
contracts inferred from the NAB data, the demo sample and the bench data, which validate that data
and catch it mutated."""

from __future__ import annotations

import gzip
from fnmatch import fnmatchcase
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from ben_cli.contract import ContractOptions, Enforcer, check, fmt, load, load_text, parse
from ben_cli.contract.cardinality import TOP, SpaceSaving
from ben_cli.contract.infer import Inferrer
from ben_cli.contract.jsonschema_out import json_schema
from ben_cli.contract.pycode import compile_validator
from ben_cli.ingest import DecodeOptions, Ingester
from ben_cli.rejects import Rejects

from .conftest import run_ben
from .test_contract_language import contracts

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "tests" / "data" / "contracts" / "web.ben"


def request(**over) -> dict:
    rec = {"ts": "2026-11-25T10:00:00.5Z", "lane": "event", "name": "http.request", "value": 12.5,
           "attrs": {"method": "GET", "status": 200, "path": "/a", "client": "10.0.0.1"}}
    attrs = over.pop("attrs", {})
    rec.update(over)
    rec["attrs"] = {**rec["attrs"], **attrs}
    return rec


def violations(rec: dict, contract_path: Path = WEB) -> list[tuple[str, str]]:
    enforcer = Enforcer(load(contract_path), Rejects())
    return [(rule, field) for rule, field, _, _ in enforcer.violations(rec)]


@pytest.mark.parametrize("change, expected", [
    ({}, []),
    ({"value": "12"}, [("type", "value")]),
    ({"value": 60001}, [("range", "value")]),
    ({"unit": "s"}, [("unit", "unit")]),
    ({"ts": "yesterday"}, [("type", "ts")]),
    ({"attrs": {"method": "PATCH"}}, [("enum", "attrs.method")]),
    ({"attrs": {"status": 99}}, [("range", "attrs.status")]),
    ({"attrs": {"status": 200.0}}, []),
    ({"attrs": {"status": True}}, [("type", "attrs.status")]),
    ({"attrs": {"path": "x" * 21}}, [("maxlen", "attrs.path"), ("pattern", "attrs.path")]),
    ({"attrs": {"client": "10.0.0.300"}}, [("type", "attrs.client")]),
    ({"attrs": {"client": "fe80::1%eth0"}}, [("type", "attrs.client")]),
    ({"attrs": {"client": "::1"}}, []),
    ({"attrs": {"email": "a@b.c"}}, [("closed", "attrs.email")]),
    ({"attrs": {"old": "1h30m"}}, [("deprecated", "attrs.old")]),
    ({"attrs": {"old": "soon"}}, [("deprecated", "attrs.old"), ("type", "attrs.old")]),
    ({"name": "http.response", "value": "x"}, [("type", "value")]),  # the second kind, by glob
    ({"name": "db.query", "value": "x"}, []),  # no kind: not checked
    ({"lane": ["event"]}, []),
])
def test_each_rule_catches_what_it_says(change, expected):
    assert violations(request(**change)) == expected


def test_required_fields_and_attrs_and_the_signed_lane():
    rec = request()
    del rec["value"]
    del rec["attrs"]["method"]
    assert violations(rec) == [("required", "value"), ("required", "attrs.method")]
    assert violations({"lane": "event", "name": "http.request", "ts": "2026-11-25T10:00:00Z", "value": 1,
                       "attrs": "GET"}) == [("type", "attrs"), ("required", "attrs.method")]
    assert violations({"lane": "control", "name": "policy.push"}) == [("signed", "sig")]
    assert violations({"lane": "control", "name": "key.rotate", "sig": "x"}) == [("required", "body")]


def test_reject_mode_names_rule_field_value_and_the_contract_line(tmp_path):
    records = [request(), request(value=-1), request(attrs={"old": "5s"})]
    with Rejects(tmp_path / "rej.ndjson", stage="contract") as bad:
        enforcer = Enforcer(load(WEB), bad)
        out = list(enforcer.feed(records))
    assert out == [records[0], records[2]]  # a deprecated field is counted, never rejected
    assert (enforcer.broken, enforcer.deprecated) == (1, 1)
    rejected = orjson.loads((tmp_path / "rej.ndjson").read_bytes())
    assert rejected["violations"] == [{"rule": "range", "field": "value", "value": -1, "at": f"{WEB}:5"}]
    assert rejected["line"] == 2 and rejected["reason"] == f"contract: range value=-1 ({WEB}:5)"
    assert orjson.loads(rejected["raw"]) == records[1]


def test_warn_mode_marks_records_and_passes_them_all():
    records = [request(), request(value=-1, attrs={"old": 1})]
    enforcer = Enforcer(load(WEB), Rejects(), ContractOptions(mode="warn"))
    out = list(enforcer.feed([dict(r) for r in records]))
    assert len(out) == 2 and "contract" not in out[0]
    assert out[1]["contract"] == {"violations": [
        {"rule": "range", "field": "value", "value": -1, "at": f"{WEB}:5"},
        {"rule": "deprecated", "field": "attrs.old", "value": 1, "at": f"{WEB}:11"}]}


# --- the cardinality guard ------------------------------------------------------------------------

def test_cardinality_overflow_is_reported_once_per_key_and_window_with_the_top_values():
    reports: list[dict] = []
    enforcer = Enforcer(load(WEB), Rejects(), ContractOptions(on_overflow=reports.append))  # path: at most 3 values
    paths = ["/a", "/b", "/c", "/d", "/e", "/d", "/d", "/e", "/a"]
    broken = [bool(enforcer.violations(request(ts=f"2026-11-25T10:00:{i:02d}Z", attrs={"path": p})))
              for i, p in enumerate(paths)]
    assert broken == [False, False, False, True, True, True, True, True, False]
    assert reports == []  # the window is still open
    enforcer.violations(request(ts="2026-11-25T10:01:00Z", attrs={"path": "/z"}))  # the next minute
    assert reports == [{"lane": "event", "kind": "http.request", "key": "path", "window": "2026-11-25T10:00:00Z",
                        "limit": 3, "over": 5, "top": [["/d", 3], ["/e", 2]]}]
    list(enforcer.flush())
    assert len(reports) == 1  # the new window did not overflow
    assert enforcer.guard.overflows == 1


def test_the_guard_memory_is_bounded_by_the_limit():
    enforcer = Enforcer(load(WEB), Rejects())
    for i in range(5000):
        enforcer.violations(request(attrs={"path": f"/{i}"}))
    state = enforcer.guard.state(0, "path")
    assert len(state.seen) == 3 and state.over is not None and len(state.over.counts) == TOP
    assert state.overflowed == 4997


@given(st.lists(st.sampled_from("abcdefghijklmnop"), max_size=300))
def test_space_saving_never_undercounts_a_kept_value_and_keeps_a_heavy_one(stream):
    summary = SpaceSaving(4)
    for v in stream:
        summary.add(v)
    for v, n in summary.counts.items():
        assert n >= stream.count(v)
    heavy = [v for v in set(stream) if stream.count(v) > len(stream) / 4]
    assert all(v in summary.counts for v in heavy)


# --- JSON Schema says what the Python validator says ----------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
    st.text(max_size=8), st.sampled_from(["2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123456789+02:00",
                                          "2026-11-25 10:00:00z", "2026-11-25T10:00Z", "1.2.3.4", "::1", "fe80::1%eth0",
                                          "01.2.3.4", "5m", "1h30m", ".5s", "5 m", "", "GET", "ab", "a1", "x\"y"]),
    st.lists(st.integers(-9, 9), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(-9, 9), max_size=2))


def _name_for(glob: str) -> str:
    return glob.replace("*", "xy").replace("?", "z")


@st.composite
def contract_and_records(draw):
    contract = draw(contracts())
    assume(not check(contract))
    kinds = contract.kinds()
    assume(kinds)
    records = []
    for _ in range(draw(st.integers(1, 6))):
        lane, kind = draw(st.sampled_from(kinds))
        rec: dict = {"lane": lane.name, "name": draw(st.just(_name_for(kind.pattern)) | st.text(max_size=4))}
        attrs: dict = {}
        for rule in kind.rules:
            if draw(st.booleans()):
                pool = list(rule.type.values) + [rule.low, rule.high] if rule.type.values or rule.has_range else []
                value = draw(st.sampled_from(pool) | SCALARS) if pool else draw(SCALARS)
                (rec if rule.scope == "field" else attrs)[rule.name] = value
        if draw(st.booleans()):
            attrs[draw(st.text(max_size=3))] = draw(SCALARS)
        if attrs or draw(st.booleans()):
            rec["attrs"] = attrs if draw(st.integers(0, 9)) else draw(SCALARS)
        if draw(st.booleans()):
            rec["sig"] = "s"
        if draw(st.booleans()):
            rec["unit"] = draw(st.sampled_from(["ms", "s"]) | SCALARS)
        records.append(rec)
    return contract, records


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(contract_and_records())
def test_the_json_schema_accepts_exactly_what_the_python_validator_accepts(case):
    contract, records = case
    module = compile_validator(contract)
    schema = json_schema(contract)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for rec in records:
        rec = orjson.loads(orjson.dumps(rec))  # as a record arrives: JSON
        python_ok = all(v[0] == "deprecated" for v in module["check"](rec))
        assert validator.is_valid(rec) == python_ok, (fmt(contract), rec, module["check"](rec))


def test_the_json_schema_of_the_example_contract_on_known_records():
    validator = Draft202012Validator(json_schema(load(WEB)), format_checker=FormatChecker())
    assert validator.is_valid(request())
    assert not validator.is_valid(request(value=-1))
    assert not validator.is_valid(request(attrs={"email": "a@b.c"}))
    assert validator.is_valid(request(name="db.query", value="anything"))


# --- inferred contracts on real and generated data -----------------------------------------------

def ingest(path: Path, fmt_name: str, **decode) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        core = Ingester(fmt_name, DecodeOptions(**decode), file=path.name)
        return list(core.feed(fh)) + list(core.flush())


def infer_and_load(records: list[dict]) -> tuple[str, Enforcer]:
    inferrer = Inferrer()
    inferrer.feed(records)
    text = fmt(inferrer.contract())
    return text, Enforcer(load_text(text, "inferred.ben"), Rejects())


def nab_records() -> list[dict]:
    files = sorted((ROOT / "bench" / "nab" / "data").glob("real*/*.csv.gz"))[:4]
    assert len(files) == 4
    out = []
    for f in files:
        for rec in ingest(f, "csv", ts_field="timestamp", value_field="value"):
            rec["name"] = f.name.split(".")[0]
            out.append(rec)
    return out


def demo_records() -> list[dict]:
    data = ROOT / "tests" / "data"
    return (ingest(data / "sample-app.ndjson", "ndjson") + ingest(data / "sample-db.logfmt", "logfmt")
            + ingest(data / "sample-queue.prom", "prom"))


def bench_records(tmp_path: Path) -> list[dict]:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import generate

    return ingest(generate.write_ndjson(tmp_path / "app.ndjson", 5000), "ndjson")


@pytest.mark.parametrize("data", ["nab", "demo", "bench"])
def test_an_inferred_contract_validates_its_data_and_catches_it_mutated(data, tmp_path):
    records = {"nab": nab_records, "demo": demo_records, "bench": lambda: bench_records(tmp_path)}[data]()
    assert len(records) > 900
    text, enforcer = infer_and_load(records)
    assert [enforcer.violations(r) for r in records if enforcer.violations(r)] == []
    tree = parse(text)
    lane, kind, rule = next((lane, kind, rule) for lane, kind in tree.kinds() for rule in kind.rules if rule.has_range)
    sample = next(r for r in records if r["lane"] == lane.name and fnmatchcase(r["name"], kind.pattern))

    def mutated(value: object) -> list[tuple[str, str]]:
        rec = orjson.loads(orjson.dumps(sample))
        (rec if rule.scope == "field" else rec["attrs"])[rule.name] = value
        return [v[:2] for v in enforcer.violations(rec)]

    assert mutated("12 ms") == [("type", rule.path)]
    assert mutated(rule.high * 1000 + 10**6) == [("range", rule.path)]
    if data == "bench":  # the labels: a burst of new trace ids in one minute goes past the limit
        limited = next(r for r in kind.rules if r.cardinality)
        burst = [{**sample, "attrs": {**sample["attrs"], limited.name: f"new-{i}"}} for i in range(limited.cardinality + 1)]
        caught = [v[:2] for rec in burst for v in enforcer.violations(rec)]
        assert ("cardinality", limited.path) in caught


# --- the command ---------------------------------------------------------------------------------

def test_ingest_with_a_contract_rejects_and_warns(tmp_path):
    lines = b"".join(orjson.dumps(r) + b"\n" for r in [request(), request(attrs={"method": "PATCH"}), request()])
    plain = run_ben("ingest", "-q", input=lines)
    held = run_ben("ingest", "--contract", str(WEB), "--rejects", str(tmp_path / "r.ndjson"), input=lines)
    assert held.returncode == 0
    assert len(plain.stdout.splitlines()) == 3 and len(held.stdout.splitlines()) == 2
    assert b"ben ingest: read 3, wrote 2, rejected 1" in held.stderr
    assert b"contract: broken 1, deprecated 0, overflows 0" in held.stderr
    reject = orjson.loads((tmp_path / "r.ndjson").read_bytes())
    assert (reject["line"], reject["violations"][0]["rule"]) == (2, "enum")
    warned = run_ben("ingest", "-q", "--contract", str(WEB), "--contract-mode", "warn", input=lines)
    marks = [orjson.loads(x).get("contract") for x in warned.stdout.splitlines()]
    assert marks[0] is None and marks[2] is None and marks[1]["violations"][0]["field"] == "attrs.method"


def test_a_broken_contract_stops_ingest_before_it_reads(tmp_path):
    bad = tmp_path / "bad.ben"
    bad.write_text("lane event { kind x { field a: strng } }\n")
    done = run_ben("ingest", "--contract", str(bad), input=b"{}\n")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith(f"{bad}:1:32: unknown type 'strng'; did you mean 'string'?")


# --- the compiled check says what the Python validator says --------------------------------------

def test_the_compiled_check_is_built():
    from ben_cli.contract import fast

    assert fast.c_check is not None, "ben_cli/contract/_check.c was not built (make install builds it)"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(contract_and_records())
def test_the_compiled_check_finds_what_the_python_validator_finds(case):
    from ben_cli.contract import fast

    tree, records = case
    contract = parse(fmt(tree))  # positions, as a contract read from a file has them
    module = compile_validator(contract)
    tables = fast.specs(contract, module)
    for rec in records:
        rec = orjson.loads(orjson.dumps(rec))
        verdicts = fast.both_verdicts(module, tables, rec)
        if verdicts is None:
            continue
        python, compiled = verdicts
        assert compiled == python, (fmt(contract), rec)


PATTERNS = ["^web-\\d+$", "^[0-9a-f]{32}$", "^[0-9a-f]{2,4}$", "^/", "^/api/", "^x$", "^[a-z_]+", "^\\w*$",
            "^v[0-9]{1,}$", "^[A-Z]{2}-[0-9]{3,}$", "^a\\.b\\d+$", "^[a-c-]+$", "^ab", "a+", "^(a|b)$"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(PATTERNS), st.text(alphabet="abcxv/we-_.09fAZ\n\u0663\u00e9", max_size=12)
       | st.sampled_from(["web-12", "web-", "web-1\n", "ab", "/api/x", "a.b7", "v1", "XY-123"]))
def test_a_pattern_matched_in_c_agrees_with_re(pattern, text):
    import re

    from ben_cli.contract import fast

    out: list = []
    spec = (-1, (("f", "f", 0, -1, 1, -1, None, None, -1, -1, 0, fast.shape(pattern, re.compile(pattern).search), 7,
                  None, None, None, 0),), None, 0, None, 0)
    fast.c_check({"f": text}, spec, out)
    assert (out == []) == (re.search(pattern, text) is not None), (pattern, text)


@settings(max_examples=800, deadline=None)
@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,10})?([Zz]|[+-][0-9]{2}:?[0-9]{2})?\n?\Z")
       | st.text(alphabet="0123456789-:T.Z+z \n\u0661", max_size=30))
def test_a_time_checked_in_c_agrees_with_the_pattern(text):
    import re

    from ben_cli.contract import fast
    from ben_cli.contract.pycode import TIME_PATTERN

    out: list = []
    spec = (-1, (("t", "t", 4, -1, 1, -1, None, None, -1, -1, 0, None, 0, None, None, None, 0),), None, 0, None, 0)
    fast.c_check({"t": text}, spec, out)
    assert (out == []) == (re.search(TIME_PATTERN, text) is not None), text


def test_ingest_with_a_contract_holds_records_written_to_an_output_file_too(tmp_path):
    lines = b"".join(orjson.dumps(r) + b"\n" for r in [request(), request(attrs={"method": "PATCH"})])
    out = tmp_path / "out.ndjson"
    done = run_ben("ingest", "-q", "--contract", str(WEB), "-o", str(out), input=lines)
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(x)["attrs"]["method"] for x in out.read_bytes().splitlines()] == ["GET"]


def test_ingest_with_a_contract_decodes_a_big_file_in_one_process_and_checks_every_record(tmp_path):
    big = tmp_path / "big.ndjson"
    records = [request(attrs={"method": "PATCH" if i % 1000 == 7 else "GET", "path": "/"}) for i in range(40_000)]
    big.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    done = run_ben("ingest", "-q", "-j", "2", "--contract", str(WEB), str(big))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 40_000 - 40


def test_the_contract_compiles_to_field_rules_that_ben_scrub_applies(tmp_path):
    rules = run_ben("contract", "compile", "--to", "scrub", str(WEB))
    assert rules.returncode == 0, rules.stderr
    policy = tmp_path / "fields.toml"
    policy.write_bytes(rules.stdout)
    rec = request(attrs={"client": "10.1.2.3"})
    scrubbed = run_ben("scrub", "-q", "--policy", str(policy), input=orjson.dumps(rec) + b"\n")
    assert orjson.loads(scrubbed.stdout)["attrs"]["client"] == "10.1.2.0/24"
