"""Each entity: formats it must find, and look-alikes it must leave alone."""

from __future__ import annotations

import pytest

from ben_cli.scrub import Scrubber
from ben_cli.scrub import validators as v
from ben_cli.scrub.finder import EntityFinder

KEY = b"k" * 32
FINDER = EntityFinder()


def found(text: str) -> list[tuple[str, str]]:
    return [(name, text[s:e]) for s, e, name in FINDER.find(text)]


POSITIVES = [
    ("email", "login bob.smith+tag@mail.example.co.uk ok", "bob.smith+tag@mail.example.co.uk"),
    ("email", "<UtaKortig@jourrapide.com>", "UtaKortig@jourrapide.com"),
    ("ipv4", "client 203.0.113.9 connected", "203.0.113.9"),
    ("ipv4", "upstream=10.0.3.4:8080", "10.0.3.4"),
    ("ipv4", "allow 10.0.0.0/8 only", "10.0.0.0/8"),
    ("ipv6", "from 2001:db8:85a3::8a2e:370:7334 ok", "2001:db8:85a3::8a2e:370:7334"),
    ("ipv6", "peer [fe80::1%eth0]:443", "fe80::1%eth0"),
    ("ipv6", "mapped ::ffff:192.0.2.1 here", "::ffff:192.0.2.1"),
    ("ipv6", "loopback ::1.", "::1"),
    ("ipv6", "full 2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
    ("ipv6", "net 2001:db8::/32", "2001:db8::/32"),
    ("ipv6", "tail 2001:db8::", "2001:db8::"),
    ("credit_card", "card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
    ("credit_card", "card=5555-5555-5555-4444", "5555-5555-5555-4444"),
    ("credit_card", "amex 378282246310005", "378282246310005"),
    ("credit_card", "2-series 2223000048400011", "2223000048400011"),
    ("credit_card", "diners 30569309025904", "30569309025904"),
    ("credit_card", "maestro 501864667909", "501864667909"),
    ("credit_card", "visa19 4131034282458809939", "4131034282458809939"),
    ("iban", "pay GB82 WEST 1234 5698 7654 32 now", "GB82 WEST 1234 5698 7654 32"),
    ("iban", "iban=DE89370400440532013000", "DE89370400440532013000"),
    ("us_ssn", "ssn 123-45-6789", "123-45-6789"),
    ("us_ssn", "SSN: 460 89 9847.", "460 89 9847"),
    ("phone", "call +1 415-555-0100 now", "+1 415-555-0100"),
    ("phone", "tel +447700677662", "+447700677662"),
    ("phone", "(579)888-3058 is mine", "(579)888-3058"),
    ("phone", "office 905-674-3793", "905-674-3793"),
    ("phone", "ext 463-612-6138x036", "463-612-6138x036"),
    ("phone", "+41 (0)38 549 02 90", "+41 (0)38 549 02 90"),
    ("phone", "fr 01.84.17.61.18", "01.84.17.61.18"),
    ("phone", "my phone number is 358 0594", "358 0594"),
    ("phone", "phone: 5403926876", "5403926876"),
    ("mac", "nic 00:1a:2b:3c:4d:5e up", "00:1a:2b:3c:4d:5e"),
    ("mac", "nic 00-1A-2B-3C-4D-5E up", "00-1A-2B-3C-4D-5E"),
    ("mac", "cisco 001a.2b3c.4d5e up", "001a.2b3c.4d5e"),
    ("jwt", "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl x",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"),
    ("auth_header", "Authorization: Bearer abc.def-ghi_123", "abc.def-ghi_123"),
    ("auth_header", "authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ("auth_header", "sent bearer 0123456789abcdefXYZ", "0123456789abcdefXYZ"),
    ("url_password", "dsn postgres://app:s3cr%21t@db.internal:5432/app", "s3cr%21t"),
    ("url_password", "https://u:p@ss@host/x", "p@ss"),
    ("cookie", "Cookie: sessionid=abc123; theme=dark", "abc123"),
    ("cookie", "Set-Cookie: sid=xyz789; Path=/; HttpOnly", "xyz789"),
    ("cookie", "JSESSIONID=A1B2C3D4E5 user", "A1B2C3D4E5"),
    ("secret", "password=hunter2 retry", "hunter2"),
    ("secret", "db_passwd: 'p a s s'", "p a s s"),
    ("secret", '{"client_secret": "abc\\"def"}', 'abc\\"def'),
    ("secret", "API_KEY=12345abcde", "12345abcde"),
    ("secret", "private_key: mykey", "mykey"),
    ("secret", "Access-Key=XYZ", "XYZ"),
    ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE in env", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", "ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_key", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("github_token", "ghp_" + "a1B2" * 9, "ghp_" + "a1B2" * 9),
    ("github_token", "x gho_" + "Z9y8" * 9 + " y", "gho_" + "Z9y8" * 9),
    ("github_token", "github_pat_11ABCDEFG0123456789_abcdefghijABCDEFGHIJ0123456789abcdefghijklmnopqrstuvwx",
     "github_pat_11ABCDEFG0123456789_abcdefghijABCDEFGHIJ0123456789abcdefghijklmnopqrstuvwx"),
    ("slack_token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("google_api_key", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"),
    ("private_key", "k=-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY----- done",
     "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"),
    ("private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz (truncated",
     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz (truncated"),
    ("high_entropy", "refreshed with token 8Fj3kL9qZx2Vb7Nm4Tr1Yw6P ok", "8Fj3kL9qZx2Vb7Nm4Tr1Yw6P"),
]


@pytest.mark.parametrize("entity,text,expected", POSITIVES, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(POSITIVES)])
def test_finds(entity, text, expected):
    hits = found(text)
    if expected is None:
        assert any(name == entity for name, _ in hits), hits
    else:
        assert (entity, expected) in hits, hits


NEGATIVES = [
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "request 123e4567-e89b-12d3-a456-426614174000 done",
    "digest sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "at 2026-11-25T10:00:00.123456789Z and 2026-11-25 10:00:00",
    "epoch 1795600000 ms 1795600000123 ns 1795600000123456789",
    "order 4111111111111112 shipped",  # fails Luhn
    "release v1.2.3 and 2.14.0-rc.1 and version 1.2.3.4",
    "pod api-7d9f8b6c5d-x2k4p on i-0123456789abcdef0.ec2.internal",  # an address spelled in a host name is found (issue 16)
    "path /var/log/app/2026/11/25/app-000123.log",
    "GET /api/v1/items/123456 returned 200 in 35 ms",
    "prompt_tokens=1234 max_tokens=4096 token_count: 12",
    "password_reset=true secret_name=db-creds",
    "Chrome/120.0.0.0 Safari/537.36",
    "took 10:00:00 between 12:30 and 13:45",
    "std::vector and Foo::Bar",
    "ports 8080 8443 9090 12345",
    "already <EMAIL:3f9a2c1b4d5e6f70>@example.com and <SECRET> and password=<SECRET>",
    "id=00000000-0000-0000-0000-000000000000",
    "basic information about the service",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_leaves_alone(text):
    assert found(text) == []


def test_luhn_and_issuers():
    assert v.luhn_ok("4111111111111111") and not v.luhn_ok("4111111111111112")
    assert v.card_ok("2720990000000007") is v.luhn_ok("2720990000000007")
    assert not v.card_issuer_ok("2721000000000000")  # just past the 2-series range
    assert v.card_issuer_ok("2221000000000009")
    assert not v.card_ok("9111111111111111")  # no issuer starts with 9 (but Troy 9792)


def test_iban_and_ssn_rules():
    assert v.iban_ok("GB82WEST12345698765432")
    assert not v.iban_ok("GB82WEST12345698765433")  # mod-97 fails
    assert not v.iban_ok("GB82WEST1234569876543")  # wrong length for GB
    assert v.ssn_ok("123", "45", "6789")
    for bad in (("000", "12", "3456"), ("666", "12", "3456"), ("912", "12", "3456"), ("123", "00", "4567"), ("123", "45", "0000")):
        assert not v.ssn_ok(*bad)
    assert found("ssn 666-12-3456 or 912-12-3456") == []


def test_overlap_gives_the_more_specific_entity():
    assert found("api_key=AKIAIOSFODNN7EXAMPLE") == [("aws_access_key", "AKIAIOSFODNN7EXAMPLE")]
    assert found("https://bob:pw@host.example.com/x") == [("url_password", "pw")]


def test_prefilter_skips_finders_whose_trigger_is_absent():
    d = EntityFinder()
    assert "at" not in d.families("no at sign here 123")
    assert "card" not in d.families("only 11 digits 12345678901")
    assert "card" in d.families("twelve 123456789012")
    # no phone starts "+0": an access log's time zone fires no phone trigger, a country code does
    assert "phone" not in d.families('203.0.113.9 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5')
    assert "phone" in d.families("ring +44 20 7946 0958")


def test_scrub_text_default_operators():
    s = Scrubber(key=KEY)
    out, names = s.scrub_text("bob@example.com from 203.0.113.9 card 4111 1111 1111 1111 ssn 123-45-6789")
    assert names == ["credit_card", "email", "ipv4", "us_ssn"]
    assert out.startswith("<EMAIL:") and "@example.com from 203.0.113.0/24 card <CREDIT_CARD> ssn <US_SSN>" in out
