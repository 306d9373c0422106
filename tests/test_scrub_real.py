"""ben scrub on real logs (issue 16): keys scanned, user names, host names that spell addresses,
host/ip:port, secrets in prose, context guards against false alarms, source pseudonyms, decoding."""

from __future__ import annotations

import pytest

from ben_cli.scrub import DEFAULT_POLICY, PolicyError, Scrubber, parse_policy

KEY = b"r" * 32
S = Scrubber(key=KEY)


def body(text: str, scrubber: Scrubber = S) -> str:
    return scrubber.scrub({"body": text})["body"]


# -- keys (item 1) ---------------------------------------------------------------------------

def test_keys_of_attrs_holding_pii_become_pseudonyms_and_redacted_says_so():
    out = S.scrub({"attrs": {"24.54.76.216": True, "alice@example.com": "v", "status": 200}})
    keys = list(out["attrs"])
    assert keys[0].startswith("<IPV4:") and keys[1].startswith("<EMAIL:") and keys[1].endswith("@example.com")
    assert keys[2] == "status" and out["attrs"][keys[1]] == "v"
    assert out["redacted"] == ["email", "ipv4"]


def test_keys_of_nested_objects_and_objects_in_lists_are_scanned():
    out = S.scrub({"attrs": {"by_user": {"bob@example.com": {"10.1.2.3": 1}}, "list": [{"carol@example.org": 1}]}})
    text = repr(out)
    assert "bob@example.com" not in text and "10.1.2.3" not in text and "carol@example.org" not in text


def test_two_addresses_as_keys_stay_two_keys():
    """Keys get pseudonyms, not truncation: 10.0.0.5 and 10.0.0.6 would both be 10.0.0.0/24."""
    out = S.scrub({"attrs": {"10.0.0.5": 1, "10.0.0.6": 2}})
    assert len(out["attrs"]) == 2 and sorted(out["attrs"].values()) == [1, 2]


def test_key_scan_follows_the_policy():
    drop = Scrubber(parse_policy(DEFAULT_POLICY.replace('keys = "pseudonym"', 'keys = "drop"')), key=KEY)
    assert drop.scrub({"attrs": {"24.54.76.216": True, "ok": 1}}) == {"attrs": {"ok": 1}, "redacted": ["ipv4"]}
    keep = Scrubber(parse_policy(DEFAULT_POLICY.replace('keys = "pseudonym"', 'keys = "keep"')), key=KEY)
    assert keep.scrub({"attrs": {"24.54.76.216": True}}) == {"attrs": {"24.54.76.216": True}, "redacted": []}
    email_kept = Scrubber(parse_policy(DEFAULT_POLICY.replace('email = "pseudonym"', 'email = "keep"')), key=KEY)
    assert email_kept.scrub({"attrs": {"a@example.com": 1}})["attrs"] == {"a@example.com": 1}
    with pytest.raises(PolicyError, match="keys cannot be mask or truncate"):
        parse_policy(DEFAULT_POLICY.replace('keys = "pseudonym"', 'keys = "truncate"'))


def test_a_key_scan_is_counted_in_the_report():
    dry = Scrubber(key=KEY, dry_run=True)
    rec = {"attrs": {"alice@example.com": 1}}
    assert dry.scrub(rec) is not None and dry.findings[("email", "attrs")] == 1
