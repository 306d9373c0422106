"""Properties: scrubbing never raises, is idempotent, and the prefilter never hides a finding."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.scrub import Scrubber
from ben_cli.scrub.finder import EntityFinder

KEY = b"p" * 32
SCRUBBER = Scrubber(key=KEY)
FULL = EntityFinder(use_prefilter=False)
FAST = EntityFinder()

# Pieces that look like entities (and near misses), glued with ordinary text and punctuation.
PIECES = st.sampled_from([
    "bob@example.com", "a.b+c@mail.example.co.uk", "203.0.113.9", "10.0.0.0/8", "2001:db8::1", "fe80::1%eth0", "::1",
    "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "4111111111111112", "123-45-6789",
    "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "+1 415-555-0100", "(579)888-3058", "01.84.17.61.18",
    "00:1a:2b:3c:4d:5e", "password=hunter2", "token: abc", '"api_key": "zzz"', "Authorization: Bearer abcdefghijklmnop",
    "Cookie: sid=1; a=2", "postgres://u:pw@db/x", "AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2" * 9,
    "xoxb-123456789012-abcdefABCDEF", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
    "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln", "4bf92f3577b34da6a3ce929d0e0e4736",
    "123e4567-e89b-12d3-a456-426614174000", "2026-11-25T10:00:00.123Z", "1795600000123", "v1.2.3",
    "Invalid user bob from", "for alice from", "user=carol", " : TTY=pts/0 ; ", "(to root) dave on", "[eve] OK LOGIN",
    "- frank [25/", "(grace) CMD (", "permissions: Set(heidi)", "ip-10-0-0-5.ec2.internal", "ec2-198-51-100-9.compute-1",
    "laptop-10-105-7-95", "static.23.102.160.61.x", "rm.example.com/10.20.30.40:8030", "the password is hunter2",
    "passphrase was x", "blk_-4111111111111111", "sid:1", "session: 42", "getty@tty1.service", "libfoo:amd64 1.2.3.4",
    "+0.310027 s", "Token: Token {", "stream/token:", "alice%40example.com", "%2F", "%4", "alice@b\u00fccher.de",
    '"john doe"@example.com', "4111\u00a01111\u00a01111\u00a01111", "4111.1111.1111.1111", "ali\u200bce@example.com",
    "\u200b", "\u00a0", "\u202f",
    "<EMAIL>", "<EMAIL:0123456789abcdef>@x.org", "[25/Nov/2026:10:00:00 +0000]", "+0100", "+1", "x" * 70,
    "https://", "a" * 64 + "@example.com", "****1234", "call", "phone", "key", "secret", "@", ":", "::", "-", ".",
])
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=12), st.sampled_from([" ", "=", ": ", ", ", "\n", "/", "\"", "x"])),
                max_size=10).map("".join)
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | TEXT
# Keys are scanned too (issue 16): they are drawn from the same pieces as values.
KEYS = st.sampled_from(["body", "attrs", "password", "user", "ip", "token", "x", "cookie", "Authorization", "trace_id"]) \
    | st.text(max_size=8) | PIECES | TEXT
VALUES = st.recursive(SCALARS, lambda k: st.lists(k, max_size=4) | st.dictionaries(KEYS, k, max_size=4), max_leaves=15)
RECORDS = st.dictionaries(st.sampled_from(["ts", "body", "attrs", "source", "redacted", "name"]) | st.text(max_size=8), VALUES, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS)
def test_scrub_never_raises_and_is_idempotent(rec):
    once = SCRUBBER.scrub(rec)
    assert isinstance(once["redacted"], list) and once["redacted"] == sorted(set(once["redacted"]))
    assert SCRUBBER.scrub(once) == once


@settings(max_examples=600, deadline=None)
@given(TEXT)
def test_prefilter_finds_exactly_what_running_every_finder_finds(text):
    assert FAST.find(text) == FULL.find(text)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_scrub_text_is_idempotent(text):
    once, _ = SCRUBBER.scrub_text(text)
    assert SCRUBBER.scrub_text(once)[0] == once


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_clean_lines_pass_unchanged(rec):
    import orjson

    line = orjson.dumps(rec)
    if SCRUBBER.line_is_clean(line):
        parsed = orjson.loads(line)
        assert SCRUBBER.scrub(parsed) == {**{k: v for k, v in parsed.items() if k != "redacted"}, "redacted": []}


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_line_families_stand_for_every_string_of_the_line(rec):
    """Short strings reuse their line's trigger families: that must find exactly what a scan
    of each string finds."""
    import orjson

    line = orjson.dumps(rec)
    assert SCRUBBER.scrub(orjson.loads(line), SCRUBBER.line_families(line)) == SCRUBBER.scrub(orjson.loads(line))


# Text around "@": runs of local-part characters of every length (past 64), the characters that
# end a run, domains, and the tokens scrubbing writes before an "@".
EMAIL_TEXT = st.lists(st.sampled_from(["@", "@", "a", "B7", "_", ".", "%", "+", "-", "x" * 30, "y" * 63, "example.com", ".org",
                                       " ", ">", "<EMAIL:0123abcd>", '"', "/", ":", "\u00e9", "1"]),
                      max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXT | EMAIL_TEXT)
def test_email_and_url_password_searches_that_start_late_find_what_a_whole_search_finds(text):
    """find_email starts its search where the run of local-part characters before the first "@"
    starts, and find_url_password only searches text with "://": both must find what searching
    the whole text finds."""
    from ben_cli.scrub import entities as e

    pattern = e._EMAIL if text.isascii() and '"@' not in text else e._EMAIL_UNICODE
    whole = [m.span() for m in pattern.finditer(text) if not e._SYSTEMD_UNIT.search(m.group())]
    assert list(e.find_email(text)) == whole
    assert list(e.find_url_password(text)) == [m.span(1) for m in e._URL_PASSWORD.finditer(text)
                                               if not e.already_scrubbed(m.group(1))]


# Text near IPv4 addresses: octets of every size (and out of range), dots, network suffixes, the
# characters the lookbehind and the final lookahead look at, and a character of another width.
IPV4_TEXT = st.lists(st.sampled_from(["1", "0", "2", "25", "255", "256", "249", "199", "300", "05", "3", "32", "33", "12",
                                      ".", ".", ".", "/", "-", "_", "a", "Z", " ", ":", "\u00e9", "\u20ac", "\U0001f600",
                                      "10.0.0.1", "203.0.113.9/24", "1.2.3.4/33", "v1.2.3.4", "x-1.2.3.4"]),
                     max_size=16).map("".join)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(IPV4_TEXT, TEXT, st.text(max_size=40)))
def test_compiled_ipv4_scan_finds_what_the_pattern_finds(text):
    from ben_cli.scrub import _scan  # built by make install; the import fails loudly if it was not
    from ben_cli.scrub.entities import ipv4_spans_python

    assert _scan.ipv4_spans(text) == ipv4_spans_python(text)


def test_the_compiled_ipv4_scan_is_built_and_used():
    from ben_cli.scrub import _scan, entities

    assert entities.ipv4_spans is _scan.ipv4_spans
    assert _scan.ipv4_spans("from 10.0.0.1, 1.2.3.4/24 and 1.2.3.456") == [(5, 13), (15, 25)]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF-/.x", max_size=130))
def test_protected_checks_the_length_before_the_patterns(value):
    from ben_cli.scrub import entities as e

    assert e.protected(value) == bool(e._UUID.fullmatch(value) or e._HEX_ID.fullmatch(value) or e._DATE.fullmatch(value))


USER_TEXT = st.lists(st.sampled_from(["Invalid user", "ILLEGAL USER", " from", "FOR USER", "by user", "User=", "UID=",
                                      "tty=", "Incorrect Password", "(to ", "su for", "/dev/", "for '", "LOGIN ON",
                                      "] ok ", "] FAIL ", "user ", "ftp login", 'user "', ") CMD", ") begin", " [",
                                      "(uid=", "unix-user:", ":user/", "us", "er", " ", "x", "\u212a"]), max_size=8).map("".join)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(USER_TEXT, TEXT))
def test_user_context_gates_in_one_scan_are_the_substring_checks(text):
    from ben_cli.scrub import entities as e

    assert list(e._user_contexts(text)) == e.user_contexts_python(text)


def test_the_user_gates_are_scanned_by_the_compiled_scan():
    from ben_cli.scrub import _scan
    from ben_cli.scrub import entities as e

    table = e._USER_GATES._table
    assert table is not None and len(table) > 30
    mask = _scan.literals("Failed password for alice FROM 10.0.0.1 - bob [1", table)
    assert {i for i in range(64) if mask >> i & 1} == set(e.user_contexts_python("Failed password for alice FROM 10.0.0.1 - bob [1"))


# Text near the compiled user-name contexts: their lead words in every case, names of every
# length around the 63-character limit, the characters a name may not end in, and what may follow.
NAME_TEXT = st.lists(st.sampled_from(["user ", "USER ", "User ", "xuser ", "_user ", ".user ", "- ", "-", " [", "[", "[1", "1",
                                      "alice", "a.", "b@", "$x", "_", "a" * 30, "b" * 31, ": ", ":", " (Login failed)",
                                      ": authentication failure", " not found", " not", "\n", " ", "\t", "\u212a", "\u00e9",
                                      "\U0001f600", "@", "."]), max_size=10).map("".join)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(NAME_TEXT, USER_TEXT, TEXT))
def test_compiled_user_contexts_find_what_their_patterns_find(text):
    from ben_cli.scrub import _scan
    from ben_cli.scrub import entities as e

    for i, which in e._COMPILED_CONTEXTS.items():
        assert _scan.user_matches(text, which) == e.user_context_spans_python(i, text)


def test_the_compiled_user_contexts_are_built_and_used():
    from ben_cli.scrub import _scan
    from ben_cli.scrub import entities as e

    assert e._user_matches is _scan.user_matches
    assert sorted(e._COMPILED_CONTEXTS.values()) == [0, 1]
    line = '203.0.113.9 - alice [25/Nov/2026:10:00:00 +0000] "GET /" user bob'
    assert [line[s:t] for s, t in e.find_username(line)] == ["bob", "alice", "bob", "alice"]  # contexts, then everywhere


# Text near e-mail addresses: local parts of every length around the 64-character limit, the
# characters the lookbehind refuses, labels of every length around 63, hyphens at their ends,
# top-level labels of 1-25 letters, and what the final lookahead refuses after them.
EMAIL_TEXT = st.lists(st.sampled_from(["a", "b_", "_", ".", "%", "+", "-", "@", "@@", "x.com", ".com", "com", "co", "c", "1", " ",
                                       "a" * 20, "b" * 40, "c" * 62, "ab-", "-c", "..", "a.b.c.", "x" * 30, ".ab", "9", "\u00e9",
                                       "\U0001f600", "u0@example.com", "@example.org", "q" * 24, "\n", ".1", "-@"]),
                      max_size=12).map("".join)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(EMAIL_TEXT, TEXT), st.integers(0, 80))
def test_compiled_email_scan_finds_what_the_pattern_finds(text, pos):
    from ben_cli.scrub import _scan
    from ben_cli.scrub.entities import email_spans_python

    assert _scan.email_spans(text, min(pos, len(text))) == email_spans_python(text, min(pos, len(text)))


def test_the_compiled_email_scan_is_built_and_used():
    from ben_cli.scrub import _scan
    from ben_cli.scrub import entities as e

    assert e._email_spans is _scan.email_spans
    many = "u@" + "a." * 70 + "com"  # more labels than the compiled scan holds: the pattern decides
    assert _scan.email_spans(many, 0) is None and e.email_spans(many) == e.email_spans_python(many) == [(0, len(many))]


class _AlwaysRewrite(Scrubber):
    """The scrubber as it was before the settled check: every rescan rewrites its findings."""

    def _settled(self, s: str, findings: list[tuple[int, int, str]], plan: object, found: set[str]) -> bool:
        return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORDS, min_size=1, max_size=4))
def test_a_settled_rescan_gives_what_rewriting_its_findings_gives(recs):
    """A rescan whose findings are their own rewrites returns the text without rewriting them:
    the records, their ``redacted`` and the dry-run counts must be those of the rewrite. A stream
    of several records, so the operator cache is warm for the later ones, as in a real run."""
    fast, slow = Scrubber(key=KEY), _AlwaysRewrite(key=KEY)
    dry_fast, dry_slow = Scrubber(key=KEY, dry_run=True), _AlwaysRewrite(key=KEY, dry_run=True)
    for rec in recs + recs:
        assert fast.scrub(rec) == slow.scrub(rec)
        dry_fast.scrub(rec)
        dry_slow.scrub(rec)
    assert dry_fast.findings == dry_slow.findings


@settings(max_examples=1000, deadline=None)
@given(st.one_of(USER_TEXT, TEXT, st.lists(st.sampled_from(["user ", "USER ", "User ", "xuser ", "_user ", "alice", ": ",
                                                               " not found", "\u212a", "u", " "]), max_size=8).map("".join)))
def test_user_contexts_searched_from_their_lead_word_find_what_a_whole_search_finds(text):
    from ben_cli.scrub import entities as e

    for _, pattern in e._USER_CONTEXTS:
        assert [m.span() for m in pattern.finditer(text, e.context_start(pattern, text))] == [m.span() for m in pattern.finditer(text)]


# Text near every trigger: each literal (in other cases too), its pieces, the characters its
# checks look at next (digits, separators, blanks of every kind, quotes), Unicode spaces and
# zero-width characters, characters of every width and a lone surrogate.
TRIGGER_TEXT = st.lists(st.one_of(st.sampled_from([
    "@", "pass", "PWD", "Secret", "token", "key", "credential", "sess", "sid", "cookie", "auth", "hmac", "signature", "bearer",
    "basic", "aws", "AKIA", "ASCA", "gh", "p", "_", "github_pat_", "xox", "b", "xapp-", "hooks.slack.com", "sk_", "rk_", "live",
    "test", "whsec_", "AIza", "PRIVATE KEY", "eyJ", "phone", "Tel", "mobile", "cell", "call", "contact", "fax", "sms", "msisdn",
    "whatsapp", "number", "reach", "dial", "ph", "MOB", "user", "login", "logname", "TTY=", "(to ", "su for ", "uid=", "for ",
    " from", "incorrect password", "command not allowed", "/dev/", "permissions: set(", "for '", "] ok ", "] FAIL ", ") ", "cmd ",
    "begin edit ", "end edit", "- ", " [", "passw", "passphrase", "pass phrase", "passcode", "pin", " is ", " was ", " will ",
    " has ", " set ", " changed ", " reset ", " for ", "0", "1", "12", "123", "1234", "9", ".", "-", " ", ":", "::", "%", "%4",
    "A", "F", "GB", "DE89", "(", ")", "+", "+0", "/", "=", "'", '"', "\t", "\n", "\x0b", "\x00", "ab", "f", "x", "\u00a0",
    "\u00ad", "\u2000", "\u200f", "\u2010", "\u202f", "\u205f", "\u2060", "\ufeff", "\u3000", "\u00e9", "\u212a", "\U0001f600",
    "\ud800", "a-1", "4111 1111 1111", "203.0.113.9", "1-2-3-4", "ip-10-0-0-5.x", "aa:bb", "0a-1b-2c-3d-4"]),
    st.text(max_size=4)), max_size=14).map("".join)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(TRIGGER_TEXT, TEXT, st.text(max_size=40)))
def test_compiled_trigger_scan_finds_the_families_the_patterns_find(text):
    """The compiled scan of a str reports the families whose trigger occurs in its UTF-8 bytes,
    as searching each trigger pattern (and Hyperscan, which scans the raw lines) reports them."""
    from ben_cli.scrub import _scan
    from ben_cli.scrub.prefilter import families_python

    mask = _scan.families(text)
    assert {n for k, n in enumerate(_scan.FAMILIES) if mask >> k & 1} == families_python(text)
    assert FAST.prefilter.families(text.encode("utf-8", "surrogatepass")) == families_python(text)


def test_the_compiled_trigger_scan_is_built_and_used():
    from ben_cli.scrub import _scan
    from ben_cli.scrub.prefilter import TRIGGERS

    assert _scan.FAMILIES == tuple(TRIGGERS)
    assert FAST.families('203.0.113.9 - alice [25/Nov/2026:10:00:00 +0000] "GET /" u@x.io') == {"at", "ipv4", "user"}
