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


# -- false alarms (item 4): each was damaged by the default policy before issue 16 -----------------

@pytest.mark.parametrize("text", [
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_-3892923245492692829 terminating",
    "INFO  [ProcessThread(sid:1 cport:-1)::PrepRequestProcessor@487] - Got user-level KeeperException",
    "processing sessionid:0x14e1fd3a56f0000 type:create cxid:0x2 zxid:0x1d",
    "2025-06-24 14:36:25 status half-configured dbus-user-session:amd64 1.12.20-2ubuntu4.1",
    "2025-06-24 14:36:25 status installed libsecret-1-0:all 0.20.5-3",
    "Opened SMTP transaction, session: 42, 2 recipients",
    "systemd-sleep[812]: wake time set +0.310027 s",
    "YARN_AM_RM_TOKEN, Service: , Ident: (appAttemptId { }); Token: Token { kind: ContainerToken, service: x }",
    "POST https://auth.example.com/oauth2/token: 200 in 12.5 ms",
    "GET /v1/stream/token: upstream closed",
    "2025-06-24 14:36:25 upgrade libfoo:amd64 1.2.3.4 1.2.3.5",
    "Unpacking libfoo (1.2.3.4) over (1.2.3.3) ...",
    "libfoo 1.2.3.4 installed",
])
def test_real_log_vocabulary_is_not_damaged(text):
    assert body(text) == text


@pytest.mark.parametrize("text, gone", [
    ("block 4111111111111111 charged", "4111111111111111"),  # a card is still a card
    ("Cookie: sessionid=8f3kLq92xZ", "8f3kLq92xZ"),
    ("password: 1234", "1234"),  # a numeric password is still a password
    ("call +44 20 7946 0958 now", "7946 0958"),
    ("client 1.2.3.4 connected", "1.2.3.4"),
])
def test_guards_leave_real_findings_alone(text, gone):
    assert gone not in body(text)


def test_a_session_number_in_a_field_is_kept_and_a_session_cookie_is_not():
    out = S.scrub({"attrs": {"session": "42", "sid": "0x14e1fd3a56f0000", "sessionid": "8f3kLq92xZ"}})
    assert out["attrs"] == {"session": "42", "sid": "0x14e1fd3a56f0000", "sessionid": "<COOKIE>"}


@pytest.mark.parametrize("text", [
    "INFO [main] org.apache.hadoop.yarn.security.AMRMTokenSelector: Looking for a token with service rm:8030",
    "WARN 42 --- [main] c.e.auth.TokenService : Refreshing cache",
    "Token: token.JobTokenIdentifier, service: rm:8030",
])
def test_java_class_names_are_not_secret_keys_or_values(text):
    assert body(text) == text


def test_a_systemd_template_unit_is_not_an_email():
    """Found on this kind of host's apt term.log: ``getty@tty1.service`` became an e-mail pseudonym."""
    line = "Created symlink /etc/systemd/system/getty.target.wants/getty@tty1.service \u2192 /lib/systemd/system/getty@.service."
    assert body(line) == line
    assert "bob" not in body("mail bob@example.service.com")
