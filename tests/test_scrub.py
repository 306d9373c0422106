"""Operators, field rules, the policy file, the key file, the record walk and the CLI."""

from __future__ import annotations

import logging
import os
import threading

import orjson
import pytest

from ben_cli.scrub import DEFAULT_POLICY, PolicyError, Scrubber, ScrubFilter, Unscrubbable, parse_policy, scrub_text
from ben_cli.scrub import operators as ops
from ben_cli.scrub.keys import HmacKeyError, default_key_path, load_or_create_key, read_key

from .conftest import run_ben

KEY = b"k" * 32


def key() -> bytes:
    return KEY


# -- operators ------------------------------------------------------------------------------

def test_redact():
    assert ops.redact("email", "a@b.co", key) == "<EMAIL>"


def test_mask_keeps_last_four_of_cards_and_email_domain():
    assert ops.mask("credit_card", "4111-1111-1111-1234", key) == "****-****-****-1234"
    assert ops.mask("email", "bob@example.com", key) == "b***@example.com"


def test_pseudonym_is_keyed_stable_and_folds_spellings():
    a = ops.pseudonym("email", "Bob@Example.com", key)
    assert a == ops.pseudonym("email", "bob@example.com", key)
    assert a.endswith("@example.com") and a.startswith("<EMAIL:")
    assert a != ops.pseudonym("email", "bob@example.com", lambda: b"z" * 32)
    assert ops.pseudonym("credit_card", "4111 1111 1111 1111", key) == ops.pseudonym("credit_card", "4111-1111-1111-1111", key)
    assert ops.pseudonym("phone", "+1 415 555 0100", key) != ops.pseudonym("us_ssn", "+1 415 555 0100", key)


def test_truncate_networks():
    assert ops.truncate("ipv4", "203.0.113.9", key) == "203.0.113.0/24"
    assert ops.truncate("ipv4", "10.0.0.0/8", key) == "10.0.0.0/8"
    assert ops.truncate("ipv6", "2001:db8:85a3:1::7", key) == "2001:db8:85a3::/48"
    assert ops.truncate("email", "bob@example.com", key) == "<EMAIL>@example.com"
    assert ops.truncate("credit_card", "4111111111111111", key) == "4111<CREDIT_CARD>"


def test_hash_is_unkeyed_and_distinct_from_pseudonym():
    h = ops.hash_("email", "bob@example.com", key)
    assert h == ops.hash_("email", "bob@example.com", lambda: b"other" * 8)
    assert h.startswith("<EMAIL#") and h != ops.pseudonym("email", "bob@example.com", key)


def test_keep_and_drop():
    assert ops.keep("email", "a@b.co", key) == "a@b.co"
    with pytest.raises(ops.Drop):
        ops.drop("email", "a@b.co", key)


@pytest.mark.parametrize("op", ops.OPERATORS)
def test_every_operator_through_a_policy(op):
    pol = parse_policy(f'[operators]\nemail = "{op}"\n')
    out = Scrubber(pol, key=KEY).scrub({"body": "mail bob@example.com", "n": 1})
    expected = {
        "redact": "mail <EMAIL>", "mask": "mail b***@example.com", "keep": "mail bob@example.com",
        "truncate": "mail <EMAIL>@example.com",
        "pseudonym": "mail " + ops.pseudonym("email", "bob@example.com", key),
        "hash": "mail " + ops.hash_("email", "bob@example.com", key),
    }
    if op == "drop":
        assert out == {"n": 1, "redacted": ["email"]}
    else:
        assert out["body"] == expected[op]
        assert out["redacted"] == ([] if op == "keep" else ["email"])


# -- records and field rules ----------------------------------------------------------------

def test_record_walk_scans_nested_values_and_leaves_the_rest():
    rec = {"ts": "2026-11-25T10:00:00Z", "lane": "event", "body": "from 198.51.100.7",
           "attrs": {"user": {"mail": "x@y.org"}, "list": ["4111 1111 1111 1111", 5], "ok": True, "n": None},
           "unknown": {"deep": [{"password": "p"}]}}
    out = Scrubber(key=KEY).scrub(rec)
    assert out["ts"] == rec["ts"] and out["lane"] == "event"
    assert out["body"] == "from 198.51.100.0/24"
    assert out["attrs"]["user"]["mail"].endswith("@y.org")
    assert out["attrs"]["list"] == ["<CREDIT_CARD>", 5] and out["attrs"]["ok"] is True and out["attrs"]["n"] is None
    assert out["unknown"] == {"deep": [{"password": "<SECRET>"}]}
    assert out["redacted"] == ["credit_card", "email", "ipv4", "secret"]
    assert rec["body"] == "from 198.51.100.7"  # the input is not modified


def test_secret_named_fields_are_hidden_whatever_the_value():
    out = Scrubber(key=KEY).scrub({"attrs": {"api_key": "plainword", "Authorization": "Bearer xyz",
                                             "cookie": "a=1; sid=2", "aws_secret_access_key": "abc",
                                             "max_tokens": 100, "password": "", "token": 12345}})
    assert out["attrs"] == {"api_key": "<SECRET>", "Authorization": "Bearer <AUTH_HEADER>", "cookie": "a=<COOKIE>; sid=<COOKIE>",
                            "aws_secret_access_key": "<AWS_SECRET_KEY>", "max_tokens": 100, "password": "", "token": "<SECRET>"}


def test_field_rules_globs_drop_never_numbers_and_overrides():
    pol = parse_policy("""
[scan]
never = ["ts", "attrs.raw"]
[[field]]
path = "attrs.user.*"
action = "pseudonym"
entity = "user"
[[field]]
path = "attrs.debug"
action = "drop"
[[field]]
path = "attrs.amount"
numbers = true
[[field]]
path = "attrs.client_ip"
operators = { ipv4 = "keep" }
""")
    rec = {"ts": "x", "attrs": {"user": {"name": "Ann", "id": 7}, "debug": "bob@x.io", "amount": 4111111111111111,
                                "other_num": 4111111111111111, "client_ip": "10.1.2.3", "raw": "bob@x.io"}}
    out = Scrubber(pol, key=KEY).scrub(rec)["attrs"]
    assert out["user"]["name"].startswith("<USER:") and out["user"]["id"].startswith("<USER:")
    assert "debug" not in out
    assert out["amount"] == "<CREDIT_CARD>" and out["other_num"] == 4111111111111111
    assert out["client_ip"] == "10.1.2.3" and out["raw"] == "bob@x.io"


def test_scan_numbers_globally():
    pol = parse_policy("[scan]\nnumbers = true\n")
    assert Scrubber(pol, key=KEY).scrub({"v": 4111111111111111, "w": 42})["v"] == "<CREDIT_CARD>"


def test_too_large_value_is_unscrubbable():
    pol = parse_policy("[scan]\nmax_value_bytes = 100\n")
    with pytest.raises(Unscrubbable):
        Scrubber(pol, key=KEY).scrub({"body": "x" * 101})


def test_scrubbing_twice_changes_nothing_more():
    rec = {"body": "bob@x.io 10.1.2.3 2001:db8::1 4111 1111 1111 1111 password=x Bearer abcdefghijklmnop00 mac 00:1a:2b:3c:4d:5e"}
    s = Scrubber(key=KEY)
    once = s.scrub(rec)
    assert s.scrub(once) == once


# -- policy file --------------------------------------------------------------------------------

def test_default_policy_text_is_the_default():
    pol = parse_policy(DEFAULT_POLICY)
    assert pol.operator_for("email") == "pseudonym" and pol.operator_for("ipv4") == "truncate"
    assert pol.operator_for("credit_card") == "redact" and "ts" in pol.never


@pytest.mark.parametrize("text,line,words", [
    ('[operators]\nemail = "pseudonym"\nipv4 = "masq"\n', 3, "unknown operator 'masq'"),
    ('[operators]\nemial = "redact"\n', 2, "unknown entity 'emial'"),
    ('[scan]\nnumbers = "yes"\n', 2, "numbers must be true or false"),
    ('[[field]]\npath = "a"\n[[field]]\npath = "b"\naction = "shred"\n', 5, "unknown action 'shred'"),
    ('[operators\nemail = 1\n', 1, "column"),
    ('[other]\nx = 1\n', 1, "unknown table or key 'other'"),
])
def test_bad_policy_names_its_line(text, line, words):
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.toml")
    assert str(info.value).startswith(f"p.toml:{line}:") and words in str(info.value)


# -- key file --------------------------------------------------------------------------------

def test_key_is_created_0600_once_and_reused(ben_home):
    k1 = load_or_create_key()
    path = default_key_path()
    assert path.parent.parent == ben_home and oct(path.stat().st_mode)[-3:] == "600"
    assert load_or_create_key() == k1 and len(k1) == 32


def test_concurrent_first_use_agrees_on_one_key(ben_home):
    keys, threads = [], [threading.Thread(target=lambda: keys.append(load_or_create_key())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and [p.name for p in default_key_path().parent.iterdir()] == ["hmac.key"]


def test_key_readable_by_others_is_refused(tmp_path):
    p = tmp_path / "k"
    p.write_text("00" * 32)
    os.chmod(p, 0o644)
    with pytest.raises(HmacKeyError, match="readable by others") as refused:
        read_key(p)
    assert refused.value.status == 1
    os.chmod(p, 0o600)
    assert read_key(p) == bytes(32)


# -- library faces ----------------------------------------------------------------------------

def test_scrub_text_function():
    assert scrub_text("card 4111 1111 1111 1111") == "card <CREDIT_CARD>"


def test_logging_filter_scrubs_message_args_and_extras():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    log = logging.getLogger("ben-scrub-test")
    log.propagate = False
    handler = Keep()
    handler.addFilter(ScrubFilter(key=KEY))
    log.addHandler(handler)
    log.warning("login failed for %s", "bob@example.com", extra={"client": "203.0.113.9"})
    assert records[0].getMessage().endswith("@example.com") and "bob" not in records[0].getMessage()
    assert records[0].client == "203.0.113.0/24" and records[0].redacted == ["email", "ipv4"]


# -- CLI --------------------------------------------------------------------------------------

def test_cli_one_line_per_record_rejects_and_summary(cli, tmp_path):
    rej = tmp_path / "rej.ndjson"
    res = cli(["scrub", "--rejects", str(rej)], input=b'{"body":"a@b.co"}\n[1]\n{"body":"plain"}\n\n{}\n')
    lines = [orjson.loads(x) for x in res.stdout.splitlines()]
    assert [x["redacted"] for x in lines] == [["email"], [], []]
    assert lines[1] == {"body": "plain", "redacted": []} and lines[2] == {"redacted": []}
    assert "read 4, wrote 3, rejected 1" in res.stderr
    assert orjson.loads(rej.read_bytes())["line"] == 2


def test_cli_report_changes_nothing(cli):
    data = b'{"body":"a@b.co 10.0.0.1","attrs":{"x":"c@d.io"}}\n'
    res = cli(["scrub", "--report-json", "-q"], input=data)
    assert res.stdout.encode() == data
    assert orjson.loads(res.stderr) == {"entities": {"email": 2, "ipv4": 1},
                                        "fields": {"attrs.x": {"email": 1}, "body": {"email": 1, "ipv4": 1}}}


def test_cli_bad_policy_is_a_usage_error(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('[operators]\nemail = "nope"\n')
    res = run_ben("scrub", "--policy", str(p), input=b"{}\n")
    assert res.returncode == 2 and res.stdout == b""
    assert res.stderr.decode().startswith(f"ben scrub: {p}:2: unknown operator 'nope'")
    assert res.stderr.count(b"\n") == 1  # one line, no traceback


def test_cli_bad_key_file_is_a_runtime_error_before_any_output(tmp_path):
    key = tmp_path / "k"
    key.write_text("00" * 32)
    os.chmod(key, 0o644)
    res = run_ben("scrub", "--key", str(key), input=b'{"body":"bob@example.com"}\n')
    assert res.returncode == 1 and res.stdout == b""
    assert res.stderr == f"ben scrub: key file {key} is readable by others (mode 644); chmod 600 it\n".encode()


def test_cli_unscrubbable_record_is_rejected_not_passed(cli, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[scan]\nmax_value_bytes = 10\n")
    res = cli(["scrub", "--policy", str(p)], input=b'{"body":"' + b"y" * 20 + b'"}\n{"body":"short"}\n')
    assert res.stdout == '{"body":"short","redacted":[]}\n' and "cannot scrub safely" in res.stderr
