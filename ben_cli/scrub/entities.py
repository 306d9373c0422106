"""The entities ben scrub finds: one pattern (and validator) per kind of personal data or secret.

Each :class:`Entity` has a ``find(text)`` that yields ``(start, end)`` spans of the sensitive part
only (for ``password=hunter2`` the span is ``hunter2``), a ``family`` naming the cheap trigger that
must fire before ``find`` is worth running (see :mod:`ben_cli.scrub.prefilter`), and a
``priority``: where two findings overlap, the higher priority wins (a JWT inside an
``Authorization`` header is reported as ``auth_header``; an AWS key id as the value of
``api_key=`` is ``aws_access_key``, not the generic ``secret``).

All patterns are ASCII (``re.ASCII``): the prefilter scans UTF-8 bytes, and a pattern that matched
non-ASCII digits or letters could find what the prefilter never looked for.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from ben_cli import registry
from ben_cli.scrub import validators as v
from ben_cli.scrub.prefilter import Literals

Span = tuple[int, int]


@dataclass(frozen=True)
class Entity:
    name: str
    find: Callable[[str], Iterator[Span]]
    families: tuple[str, ...] | None  # triggers, any of which lets find() run; None: always run (plugins)
    priority: int
    default_operator: str
    description: str

    @property
    def token(self) -> str:
        return self.name.upper()


def entity(name: str, family: str | tuple[str, ...] | None, priority: int, default_operator: str, description: str
           ) -> Callable[[Callable[[str], Iterator[Span]]], Callable[[str], Iterator[Span]]]:
    """Register a finder function as a built-in entity."""
    families = (family,) if isinstance(family, str) else family

    def deco(fn: Callable[[str], Iterator[Span]]) -> Callable[[str], Iterator[Span]]:
        registry.entities.add(name, Entity(name, fn, families, priority, default_operator, description))
        return fn

    return deco


A = re.ASCII
# Already scrubbed: an operator's token (<EMAIL>, <EMAIL:3f..>, <EMAIL#3f..>) or a mask.
_SCRUBBED = re.compile(r"<[A-Z][A-Z0-9_]*(?:[:#][0-9a-f]+)?>|[*]+[^*]{0,4}", A)


def already_scrubbed(value: str) -> bool:
    return _SCRUBBED.fullmatch(value) is not None


# ---------------------------------------------------------------------------------------------
# Things that are never personal data, whatever a pattern thinks: guards used by several finders.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", A)
_HEX_ID = re.compile(r"(?=[0-9]*[a-f])(?:[0-9a-f]{16}|[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})", A)
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}", A)
_VERSION_BEFORE = re.compile(r"(?:\b(?:version|ver|release|build|rev)\b[\s=:\"']{0,3}v?|\bv|[A-Za-z]/)$", A | re.I)


def _glued(text: str, start: int, end: int) -> bool:
    """True when the span is part of a larger token (``web-10.0.0.1.svc``, ``id-4111...``):
    preceded by ``X-``/``X.`` (X alphanumeric or ``_``: HDFS's ``blk_-3892923245492692829``) or
    followed by ``-X``/``.X`` where X is alphanumeric."""
    if start >= 2 and text[start - 1] in "-." and (text[start - 2].isalnum() or text[start - 2] == "_"):
        return True
    if end + 1 < len(text) and text[end] in "-." and text[end + 1].isalnum():
        return True
    return False


# ---------------------------------------------------------------------------------------------
# email and URL credentials (family "at": the text has an @)

# Not ASCII-only, unlike the other patterns: internationalised addresses (alice@bücher.de, a local
# part in any script) are e-mails too, and every e-mail holds the "@" its trigger looks for. A
# quoted local part ("john doe"@example.com) is one as well. [^\W_] is a letter or digit of any script.
_EMAIL_UNICODE = re.compile(
    r"(?:(?<![\w.%+-])[^\W_][\w.%+-]{0,63}|(?<![\w\"])\"(?:[^\"\\\r\n]|\\.){1,64}\")@"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,24}|xn--[A-Za-z0-9-]{1,59})(?![\w@-]|\.[^\W_])",
)
# The ASCII pattern finds the same in ASCII text without a quoted local part, four times faster.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9@-]|\.[A-Za-z0-9])",
    A,
)


_LOCAL_CHARS = string.ascii_letters + string.digits + "._%+-"  # [A-Za-z0-9._%+-], the local part's
_SYSTEMD_UNIT = re.compile(r"@[^.@]*\.(?:service|socket|target|timer|mount|automount|path|slice|scope|device|swap)$", A)


def email_spans_python(text: str, pos: int = 0) -> list[Span]:
    """The spans of _EMAIL in ``text`` from ``pos``: the definition ``_scan.email_spans`` is compiled from."""
    return [m.span() for m in _EMAIL.finditer(text, pos)]


try:  # the compiled twin (optional at build; a property test holds it to the definition)
    from ben_cli.scrub._scan import email_spans as _email_spans
except ImportError:  # pragma: no cover - only where the extension could not be built
    _email_spans = None


def email_spans(text: str, pos: int = 0) -> list[Span]:
    """:func:`email_spans_python`, compiled where it is (which gives None for an address of over
    64 labels, left to the pattern)."""
    spans = _email_spans(text, pos) if _email_spans is not None else None
    return email_spans_python(text, pos) if spans is None else spans


@entity("email", "at", 50, "pseudonym", "e-mail addresses (user@example.com)")
def find_email(text: str) -> Iterator[Span]:
    at = text.find("@")
    if at < 0:
        return
    # An ASCII e-mail's local part is the whole run of local-part characters before its "@" (the
    # lookbehind), at most 64 of them, and holds no "@": so no match starts before the run that ends
    # at the first "@", and the search starts there (lookbehinds still see the text before it). A
    # quoted local part may be longer.
    if text.isascii() and '"@' not in text:
        before = text[max(0, at - 64):at]
        spans = email_spans(text, at - len(before) + len(before.rstrip(_LOCAL_CHARS)))
    else:
        spans = [m.span() for m in _EMAIL_UNICODE.finditer(text)]
    for s, e in spans:
        if _SYSTEMD_UNIT.search(text[s:e]):
            continue  # getty@tty1.service, user@1000.service: a systemd template unit's instance
        yield s, e


_URL_PASSWORD = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/?#:@]*:([^\s/?]+)@[^\s/?#@]", A)


@entity("url_password", "at", 90, "redact", "passwords in URLs (scheme://user:PASSWORD@host)")
def find_url_password(text: str) -> Iterator[Span]:
    if "://" not in text:
        return
    for m in _URL_PASSWORD.finditer(text):
        if not already_scrubbed(m.group(1)):
            yield m.span(1)


# ---------------------------------------------------------------------------------------------
# secrets by context (family "kv": a secret-ish key before = or :, family "kw": a secret-ish word)

SECRET_WORDS = (
    r"passw(?:or)?d|passphrase|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|"
    r"client[_.-]?secret|credentials?|auth[_.-]?key|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|"
    r"session[_.-]?key|account[_.-]?key|x-api-key|signature|hmac"
)
COOKIE_NAMES = r"cookie|set-cookie|sessionid|session[_.-]?id|session|sid|jsessionid|phpsessid|connect\.sid|csrftoken|xsrf-token|_session"
_KEY_SECRET = re.compile(rf"[A-Za-z0-9_.-]*(?:{SECRET_WORDS})[A-Za-z0-9_.-]*", A | re.I)
_KEY_COOKIE = re.compile(rf"(?:[A-Za-z0-9_.-]*[_.-])?(?:{COOKIE_NAMES})", A | re.I)
# Fields that hold a login name (CloudTrail's userName, a log's user=, ruser, logname).
_KEY_USER = re.compile(r"(?:r|remote_|remote[.-]|login_|os[._-]|db[._-])?(?:user|username|user_name|userName|logname|login_name|loginName)", A)
_KEY_AUTH = re.compile(r"(?:[A-Za-z0-9_.-]*[_.-])?(?:proxy-)?authorization", A | re.I)
# Names that contain a secret word but hold no secret: counts, sizes, names, places, times, flags.
_KEY_NOT_SECRET = re.compile(
    r"(?:tokens|tokenizer|tokenized|[_.-](?:count|len|length|size|type|kind|name|file|path|dir|url|uri|endpoint|"
    r"ttl|expires?|expiry|expiration|expires_at|expires_in|at|reset|policy|hint|required|enabled|changed|age|"
    r"format|usage|limit|max|min|bucket|version|rotation|rotated|id_hash|strength|set|algorithm|alg|header))$",
    A | re.I,
)
# Debian architectures: ``dbus-user-session:amd64`` is a package, not a session cookie.
DEBIAN_ARCHES = frozenset(("amd64", "arm64", "armel", "armhf", "i386", "i686", "mips64el", "mipsel", "ppc64el", "ppc64",
                           "riscv64", "s390x", "all", "any", "x32", "loong64", "hurd-i386", "sparc64", "alpha", "hppa", "m68k"))
# Values of a session-named key that count or number sessions rather than authenticate one:
# logind's ``session: 42``, Zookeeper's ``sid:1`` and ``sessionid:0x14e1...`` (a server id and
# counter; reconnecting also needs the session password, which is never logged).
_SESSION_NUMBER = re.compile(r"-?\d{1,10}|0x[0-9a-fA-F]{1,16}", A)


def cookie_value(value: str) -> bool:
    """A value under a cookie or session key that may authenticate (not a session number)."""
    return secret_value(value) and _SESSION_NUMBER.fullmatch(value.strip()) is None


_NOT_A_VALUE = frozenset(("", "null", "none", "nil", "true", "false", "undefined", "redacted", "[redacted]", "[filtered]"))


@lru_cache(maxsize=8192)
def key_entity(key: str) -> str | None:
    """The entity a field or key name implies for its whole value: secret, cookie, auth_header,
    aws_secret_key or username; None for an ordinary name. Callers cache this (names repeat)."""
    if _KEY_AUTH.fullmatch(key):
        return "auth_header"
    if _KEY_USER.fullmatch(key):
        return "username"
    if _KEY_COOKIE.fullmatch(key):
        return "cookie"
    if _KEY_SECRET.fullmatch(key) and not _KEY_NOT_SECRET.search(key) and not _JAVA_CLASS.fullmatch(key):
        lowered = key.lower()
        if "aws" in lowered and "secret" in lowered:
            return "aws_secret_key"
        return "secret"
    return None


def secret_value(value: str) -> bool:
    """A value under a secret-named key that is worth hiding (not empty, a flag or a token)."""
    return value.strip().lower() not in _NOT_A_VALUE and not already_scrubbed(value)


# Any key=value / key: value / "key": "value" pair; the key is then classified by key_entity (cached),
# which is much cheaper than a pattern that looks for secret words inside every word of the text.
_KV = re.compile(
    r"""(?<![A-Za-z0-9_./\\<-])(["']?)([A-Za-z0-9_.-]++)\1[ \t]*(?:=|:(?!//))[ \t]*"""
    r"""(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"',;&}\]\)]+))""",
    A,
)
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*", A)
# A Java class or logger name (org.apache.hadoop.yarn.security.AMRMTokenSelector, c.e.auth.TokenService):
# as a key it names who logs, as a value a type; neither is a secret.
_JAVA_CLASS = re.compile(r"(?:[a-z][a-z0-9_]*\.)+[A-Z][A-Za-z0-9_$]*", A)
_OPENS_BODY = re.compile(r"[ \t]*[{(]", A)
_LAST_KV: tuple[str, list[tuple[str, int, int]]] = ("", [])


def _kv_findings(text: str) -> list[tuple[str, int, int]]:
    """``key=value``, ``key: value`` and ``"key": "value"`` pairs whose key names a secret
    (computed once per text: three finders ask)."""
    global _LAST_KV
    if _LAST_KV[0] == text:
        return _LAST_KV[1]
    out = []
    pos = 0
    while (m := _KV.search(text, pos)) is not None:
        g = 3 if m.group(3) is not None else 4 if m.group(4) is not None else 5
        kind = key_entity(m.group(2))
        # an ordinary key's value may hold a pair itself (``msg: token=…``, ``msg="pwd: …"``): the
        # search goes on from the value, not past it
        pos = m.start(g) if kind is None or kind == "auth_header" else m.end()
        if kind is None or kind == "auth_header":
            continue
        value = m.group(g)
        if g == 5 and value.lower() in DEBIAN_ARCHES and text[m.end(2) + len(m.group(1))] == ":":
            continue  # pkg:arch
        if kind == "cookie" and not cookie_value(value):
            continue
        if m.group(2) in ("PWD", "OLDPWD") and value[:1] in "/~":
            continue  # the working directory (sudo's PWD=/home/alice), not a password
        if g == 5 and (_JAVA_CLASS.fullmatch(value) or _TYPE_NAME.fullmatch(value)
                       and (value.lower() == m.group(2).lower() or _OPENS_BODY.match(text, m.end(g)))):
            continue  # a type printed with its fields: YARN's "Token: Token { kind: ContainerToken"
        if secret_value(value):
            out.append((kind, m.start(g), m.end(g)))
    _LAST_KV = (text, out)
    return out


_LAST_LOWER: tuple[str, str] = ("", "")


def _lower(text: str) -> str:
    global _LAST_LOWER
    if _LAST_LOWER[0] != text:
        _LAST_LOWER = (text, text.lower())
    return _LAST_LOWER[1]


@entity("secret", "kv", 70, "redact", "values of secret-named keys: password=, \"api_key\": ..., token: ...")
def find_secret(text: str) -> Iterator[Span]:
    for kind, s, e in _kv_findings(text):
        if kind == "secret":
            yield s, e


# Passwords handed to a command on its command line, as sudo's COMMAND=, auditd's execve records
# and shell histories log them. Flags are case-sensitive (mysql's -P is a port, -p alone prompts).
_ARG = r"([^\s\"';|&]+)"
_CLI_SECRETS = [re.compile(pattern, A) for pattern in (
    rf"\bsshpass(?:\s+-[defv]\S*)*\s+-p\s*{_ARG}",
    rf"\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n;|&]*?\s-p{_ARG}",
    rf"\bredis-cli\b[^\n;|&]*?\s-a\s+{_ARG}",
    rf"\bcurl\b[^\n;|&]*?(?:\s-u\s*|\s--user[\s=]+)[^\s:\"']+:{_ARG}",
    rf"\bdocker login\b[^\n;|&]*?\s(?:-p|--password)\s+{_ARG}",
    rf"(?<![\w-])--(?:password|passwd|pass|token|secret|api-key|apikey|api-token)\s+(?!-){_ARG}",
)]


@entity("cli_secret", "cli", 71, "redact",
        "passwords on a command line: sshpass -p X, mysql -pX, redis-cli -a X, curl -u user:X, docker login -p X, --password X")
def find_cli_secret(text: str) -> Iterator[Span]:
    for pattern in _CLI_SECRETS:
        for m in pattern.finditer(text):
            if secret_value(m.group(1)):
                yield m.start(1), m.end(1)


_AWS_SECRET_SHAPE = re.compile(r"[A-Za-z0-9/+]{40}", A)
_AWS_SECRET_CONTEXT = re.compile(r"(?i)aws[\w.-]{0,30}?(?:secret)[\w.\"' -]{0,30}?[=:\s][\s\"']*([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", A)


@entity("aws_secret_key", ("kv", "kw"), 85, "redact", "AWS secret access keys (40 characters, in an AWS secret context)")
def find_aws_secret(text: str) -> Iterator[Span]:
    for kind, s, e in _kv_findings(text):
        if kind == "aws_secret_key":
            yield s, e
    if "aws" not in _lower(text):
        return
    for m in _AWS_SECRET_CONTEXT.finditer(text):
        yield m.span(1)


_COOKIE_HEADER = re.compile(r"(?i)\b(?:set-)?cookie[\"']?[ \t]*[:=][ \t]*[\"']?([^\r\n\"]+)", A)
_COOKIE_PAIR = re.compile(r"([^=;,\s]+)=([^;,\s]*)", A)
_COOKIE_ATTRS = frozenset(("path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority", "version", "comment"))


def cookie_value_spans(value: str, offset: int = 0) -> Iterator[Span]:
    """The values of ``name=value`` pairs in a Cookie/Set-Cookie header, not its attributes."""
    for m in _COOKIE_PAIR.finditer(value):
        if m.group(1).lower() not in _COOKIE_ATTRS and m.group(2) and not already_scrubbed(m.group(2)):
            yield offset + m.start(2), offset + m.end(2)


@entity("cookie", ("kv", "kw"), 75, "redact", "cookie and session values (Cookie:, Set-Cookie:, sessionid=...)")
def find_cookie(text: str) -> Iterator[Span]:
    if "cookie" in _lower(text):
        for m in _COOKIE_HEADER.finditer(text):
            yield from cookie_value_spans(m.group(1), m.start(1))
    for kind, s, e in _kv_findings(text):
        if kind == "cookie" and not text[s:e].count("="):
            yield s, e


_AUTH_HEADER = re.compile(
    r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:bearer|basic|digest|negotiate|token|apikey|hmac|aws4-hmac-sha256|dpop)[ \t]+)?([^\s\"',;]+)",
    A,
)
_BEARER = re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9\-._~+/]{12,}=*)", A)
_BASIC = re.compile(r"(?i)\bbasic[ \t]+([A-Za-z0-9+/]{4,}=*)", A)


@entity("auth_header", "kw", 95, "redact", "Authorization header values (Bearer/Basic/... credentials)")
def find_auth_header(text: str) -> Iterator[Span]:
    low = _lower(text)
    if "authorization" in low:
        for m in _AUTH_HEADER.finditer(text):
            if secret_value(m.group(1)):
                yield m.span(1)
    if "bearer" in low:
        for m in _BEARER.finditer(text):
            if not already_scrubbed(m.group(1)):
                yield m.span(1)
    if "basic" in low:
        for m in _BASIC.finditer(text):
            if v.basic_credentials_ok(m.group(1)):
                yield m.span(1)


_ENTROPY_CONTEXT = re.compile(
    r"(?i)\b(?:secret|token|key|passw\w*|credential|signature|apikey|bearer|auth|hmac)[A-Za-z_.-]*[\"']?"
    r"(?:[ \t]*(?:[=:]|(?:is|was|of|for|using|with)(?=[ \t]))?[ \t]*)[\"']?([A-Za-z0-9+/=_\-.~]{20,})",
    A,
)


_ENTROPY_WORDS = ("secret", "token", "key", "passw", "credential", "signature", "bearer", "auth", "hmac")


@entity("high_entropy", "kw", 40, "redact", "high-entropy strings (20+ characters) in a secret context")
def find_high_entropy(text: str) -> Iterator[Span]:
    low = _lower(text)
    if not any(w in low for w in _ENTROPY_WORDS):
        return
    for m in _ENTROPY_CONTEXT.finditer(text):
        value = m.group(1).rstrip(".")
        if m.start(1) and (text[m.start(1) - 1].isalnum() or text[m.start(1) - 1] in "._-") and "=" not in m.group(0) \
                and ":" not in m.group(0):
            continue  # the value starts inside a word (auth.exam|ple.com/oauth2/token): no secret word before it
        if _UUID.fullmatch(value) or "/" == value[:1] or ".." in value or already_scrubbed(value):
            continue
        entropy = v.shannon_entropy(value) if v.char_classes(value) >= 2 else 0.0
        if entropy >= 4.0 or (entropy >= 3.5 and any(c.isdigit() for c in value)):
            yield m.start(1), m.start(1) + len(value)


# ---------------------------------------------------------------------------------------------
# vendor credentials and structured tokens (family "vendor": a known prefix is present)

_AWS_KEY_ID = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}(?![A-Za-z0-9])", A)
_GITHUB = re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{40,255})(?![A-Za-z0-9_])", A)
_SLACK = re.compile(
    r"(?<![A-Za-z0-9])(?:xox[abposre]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})"
    r"|(?<=hooks\.slack\.com/services/)T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
    A,
)
_STRIPE = re.compile(r"(?<![A-Za-z0-9])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{20,})(?![A-Za-z0-9])", A)
_GOOGLE = re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])", A)
_PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----(?:.*?-----END \1-----|.*)", A | re.S
)
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*", A)


def _simple(pattern: re.Pattern) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for m in pattern.finditer(text):
            yield m.span()

    return find


entity("aws_access_key", "vendor", 96, "redact", "AWS access key ids (AKIA..., ASIA...)")(_simple(_AWS_KEY_ID))
entity("github_token", "vendor", 96, "redact", "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)")(_simple(_GITHUB))
entity("slack_token", "vendor", 96, "redact", "Slack tokens (xoxb-, xoxp-, xapp-...) and webhook paths")(_simple(_SLACK))
entity("stripe_key", "vendor", 96, "redact", "Stripe secret and restricted keys, webhook secrets")(_simple(_STRIPE))
entity("google_api_key", "vendor", 96, "redact", "Google API keys (AIza...)")(_simple(_GOOGLE))
entity("private_key", "vendor", 99, "redact", "PEM private key blocks")(_simple(_PEM))


@entity("jwt", "vendor", 92, "redact", "JSON Web Tokens (eyJ....eyJ....sig)")
def find_jwt(text: str) -> Iterator[Span]:
    for m in _JWT.finditer(text):
        if v.jwt_ok(m.group()):
            yield m.span()


# ---------------------------------------------------------------------------------------------
# numbers: cards, SSNs, IBANs, phones

_CARD = re.compile(r"(?<![A-Za-z0-9_+])\d(?:[ .-]?\d){11,18}+(?![A-Za-z0-9_])", A)


def _card_layout(groups: list[int]) -> bool:
    """How printed card numbers are grouped: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, Maestro 4-4-4(-n)."""
    return groups[0] == 4 and all(g in (4, 6) for g in groups[1:-1]) and 1 <= groups[-1] <= 5


@entity("credit_card", "card", 80, "redact", "payment card numbers (12-19 digits, Luhn, issuer ranges)")
def find_card(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        s, e = m.span()
        run = m.group()
        if _glued(text, s, e) or (e < len(text) and text[e] in " -" and text[e + 1 : e + 2].isdigit()):
            continue
        seps = {c for c in run if not c.isdigit()}
        if len(seps) > 1:
            continue
        digits = run.replace(" ", "").replace("-", "").replace(".", "")
        if seps and not _card_layout([len(g) for g in run.split(seps.pop())]):
            continue
        if v.card_ok(digits):
            yield s, e


_SSN = re.compile(r"(?<![A-Za-z0-9_.+/-])(\d{3})([- ])(\d{2})\2(\d{4})(?![A-Za-z0-9_]|[.-]\d)", A)


@entity("us_ssn", "ssn", 78, "redact", "US social security numbers (AAA-GG-SSSS, allocation rules)")
def find_ssn(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        if v.ssn_ok(m.group(1), m.group(3), m.group(4)):
            yield m.span()


# Country codes are upper case, as in the IBAN registry's electronic format.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(v.IBAN_LENGTHS) + r")\d{2}", A)


@entity("iban", "iban", 82, "redact", "IBANs (country length and mod-97 check), with or without spaces")
def find_iban(text: str) -> Iterator[Span]:
    for m in _IBAN_START.finditer(text):
        want = v.IBAN_LENGTHS[m.group(1).upper()]
        pos = m.start()
        chars: list[str] = []
        while pos < len(text) and len(chars) < want:
            c = text[pos]
            if c.isascii() and c.isalnum():
                chars.append(c)
            elif not (c == " " and pos + 1 < len(text) and text[pos + 1].isalnum() and len(chars) % 4 == 0):
                break
            pos += 1
        if len(chars) == want and not (pos < len(text) and text[pos].isalnum()) and v.iban_ok("".join(chars)):
            yield m.start(), pos


_PHONE = re.compile(  # (the first lookahead only lets the engine skip other characters fast)
    r"""(?=[+(0-9])(?<![A-Za-z0-9_+.:/=-])(?<![A-Za-z0-9][.-])
    (?:
        \+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?)(?:[ .-]?\d{2,5}){1,4}      # +CC international
      | \(\d{1,4}\)[ .-]?\d{2,5}(?:[ .-]?\d{2,5}){0,3}                            # (08) 8747 6301
      | \d{2,5}(?:[ .-]\d{2,8}){1,4}                                              # grouped national
      | \d{7,11}                                                                  # bare digits
    )
    (?:[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?
    (?![A-Za-z0-9_]|[.:/-]\d)""",
    A | re.X,
)
_UNIT_AFTER = re.compile(r"[ \t]?(?:[munµ]?s|sec|secs|seconds?|min|mins|minutes?|h|hours?|days?|[KMGTP]i?B|[kKMG]|bytes?|%|ms\b)(?![A-Za-z0-9])", A)
_NANP = re.compile(r"(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4}", A)
_PHONE_CONTEXT = re.compile(r"(?i)(?:phone|tel|mobile|cell|call|contact|fax|sms|whatsapp|number|reach|dial|ph|mob)\b[^\n]{0,24}$", A)
# A word _PHONE_CONTEXT needs, in lower case: without one in the window the (slower, caseless) search cannot match.
_PHONE_WORD = re.compile(r"ph|tel|mob|cell|call|contact|fax|sms|whatsapp|number|reach|dial", A)


@entity("phone", "phone", 60, "redact", "phone numbers (E.164, national formats; guarded against dates, epochs and ids)")
def find_phone(text: str) -> Iterator[Span]:
    for m in _PHONE.finditer(text):
        run = m.group()
        if len(run) < 7:  # fewer than 7 characters hold fewer than 7 digits (a CLF "+0000")
            continue
        s, e = m.span()
        digits = sum(map(str.isdigit, run.split("x")[0].split("e")[0]))
        if not 7 <= digits <= 15 or _DATE.fullmatch(run) or _glued(text, s, e):
            continue
        if e < len(text) and text[e] == "." and e + 1 < len(text) and text[e + 1].isdigit():
            continue
        if run.startswith("+0") or _UNIT_AFTER.match(text, e):
            continue  # no country code starts with 0; a unit after it makes it a quantity (+0.310027 s)
        # Without a phone word nearby, only shapes that are phones and nothing else pass:
        # +CC..., (area)..., a trunk 0 with 9+ digits, or the NANP 3-3-4 layout.
        shaped = run[0] in "+(" or (run[0] == "0" and digits >= 9 and run[1] != "0" and not run.isdigit()) \
            or (run[0] == "0" and run[1] == "0" and digits >= 10) or bool(_NANP.match(run))
        if shaped or (_PHONE_WORD.search(text[max(0, s - 40):s].lower())
                      and _PHONE_CONTEXT.search(text, max(0, s - 40), s)):
            yield s, e


# ---------------------------------------------------------------------------------------------
# network addresses (family "ipv4", "colon")

_IPV4 = re.compile(  # (the first lookahead, implied by the rest, lets the engine skip other text fast)
    r"(?=\d{1,3}\.)(?<![A-Za-z0-9_.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?:/(?:3[0-2]|[12]?\d)(?!\d))?(?![A-Za-z0-9_]|\.\d|-\w)",
    A,
)


# Java's InetSocketAddress prints host/ip:port (rm.example.com/10.20.30.40:8030, cache.internal/10.0.0.7);
# a product token (Chrome/120.0.6099.109) has no dotted name before its slash and no port after.
_HOST_SLASH = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/$", A)
_PORT_AFTER = re.compile(r":\d{1,5}(?!\d|\.\d)", A)

# Package versions written like addresses: dpkg.log's ``upgrade libfoo:amd64 1.2.3.4 1.2.3.5``,
# apt's ``Unpacking libfoo (1.2.3.4) over (1.2.3.3)``, ``libfoo 1.2.3.4``, a dependency relation
# ``Depends: zlib1g (>= 1:1.2.2.0)`` (Debian policy 7.1: <<, <=, =, >=, >>), each with an optional epoch
# (``2:1.4.99.1``).
_PACKAGE_BEFORE = re.compile(
    r"(?:(?:[a-z0-9][a-z0-9+.-]*:(?:" + "|".join(sorted(DEBIAN_ARCHES, key=len, reverse=True)) + r")[ \t]+(?:\S+[ \t]+)?"
    r"|\blib[a-z0-9+.-]*[ \t]+\(?|\)[ \t]+over[ \t]+\(|\((?:<<|<=|=|>=|>>)[ \t]*"
    r"|(?:Unpacking|Setting up|Selecting previously unselected package|Removing|Purging)[ \t]+[a-z0-9][a-z0-9+.:-]*[ \t]+\()"
    r"(?:\d+:)?)$",
    A,
)


def ipv4_spans_python(text: str) -> list[Span]:
    """The spans of _IPV4 in ``text``: the definition ``_scan.ipv4_spans`` is compiled from."""
    return [m.span() for m in _IPV4.finditer(text)]


try:  # the compiled twin (optional at build; a property test holds it to the definition)
    from ben_cli.scrub._scan import ipv4_spans
except ImportError:  # pragma: no cover - only where the extension could not be built
    ipv4_spans = ipv4_spans_python


@entity("ipv4", "ipv4", 55, "truncate", "IPv4 addresses (and CIDR networks)")
def find_ipv4(text: str) -> Iterator[Span]:
    for s, e in ipv4_spans(text):
        if not s:  # nothing before it: no guard below can match an empty window
            yield s, e
            continue
        if s >= 2 and text[s - 1] == "-" and text[s - 2].isalnum():
            continue
        if (_VERSION_BEFORE.search(text, max(0, s - 12), s) and not _HOST_SLASH.search(text, max(0, s - 255), s)
                and not _PORT_AFTER.match(text, e)) or _PACKAGE_BEFORE.search(text, max(0, s - 80), s):
            continue
        yield s, e


_IPV6 = re.compile(r"(?<![A-Za-z0-9_:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z._-]+)?(?:/\d{1,3}(?!\d))?", A)


@entity("ipv6", "colon", 57, "truncate", "IPv6 addresses in every compressed form (and zones, networks)")
def find_ipv6(text: str) -> Iterator[Span]:
    for m in _IPV6.finditer(text):
        cand = m.group()
        s = m.start()
        # a trailing ':' or '.' belongs to the sentence, not the address
        while cand and cand[-1] in ":." and not cand.endswith("::"):
            cand = cand[:-1]
        e = s + len(cand)
        if e < len(text) and (text[e].isalnum() or text[e] in "_-"):
            continue
        addr = cand.split("/", 1)[0].split("%", 1)[0]
        if addr in ("::", ":::") or ":" not in addr or not v.ipv6_ok(addr):
            continue
        yield s, e


_MAC = re.compile(
    r"(?<![A-Za-z0-9_:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})"
    r"(?![A-Za-z0-9_]|[:.-][0-9A-Fa-f])",
    A,
)


@entity("mac", "colon", 56, "pseudonym", "MAC addresses (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff)")
def find_mac(text: str) -> Iterator[Span]:
    for m in _MAC.finditer(text):
        if m.group().count(".") == 2 and m.group().isdigit():
            continue
        yield m.span()


_PHONE_FIELD = re.compile(r"(?i)phone|tel|mobile|cell|fax|msisdn|contact|sms")


def context_hint(key: str) -> str:
    """Words a field's name lends to its value: a field called ``phone`` is phone context."""
    return "phone:" if _PHONE_FIELD.search(key) else ""


# Every value _UUID, _HEX_ID or _DATE can match whole has one of these lengths.
_PROTECTED_LENGTHS = frozenset((8, 9, 10, 16, 32, 36, 40, 56, 64, 96, 128))


def protected(value: str) -> bool:
    """Spans that are ids, digests or dates are never rewritten, whatever found them."""
    n = len(value)
    if n not in _PROTECTED_LENGTHS:
        return False
    if n <= 10:  # only a date is this short (a UUID has 36 characters, a hex id 16 or more; a date at most 10)
        return _DATE.fullmatch(value) is not None
    return bool(_UUID.fullmatch(value) or _HEX_ID.fullmatch(value))


# ---------------------------------------------------------------------------------------------
# user names in the login contexts of real logs (family "user")

# Accounts that name a service, not a person (Debian's base-passwd and common daemons): kept, so
# "Failed password for root" still says root.
SYSTEM_ACCOUNTS = frozenset((
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data", "backup",
    "list", "irc", "gnats", "nobody", "nogroup", "_apt", "messagebus", "syslog", "sshd", "postgres", "mysql", "redis",
    "zookeeper", "hdfs", "yarn", "mapred", "spark", "hadoop", "hive", "kafka", "nginx", "apache", "httpd", "ntp", "chrony",
    "_chrony", "polkitd", "tss", "uuidd", "tcpdump", "avahi", "dnsmasq", "ftp", "anonymous", "clickhouse", "elasticsearch",
    "prometheus", "grafana", "memcache", "rabbitmq", "mongodb", "postfix", "dovecot", "bind", "named", "statd", "_rpc",
    "unknown", "none", "null", "n/a", "nil", "-",
))
_U = r"([A-Za-z0-9_][A-Za-z0-9._$@-]{0,62}(?<![.@-]))"
# (words one of which the lower-cased text must hold, the context): a context's pattern runs only
# when its word is there, because one alternation of them all costs ~10 µs per line.
_USER_CONTEXTS: tuple[tuple[tuple[str, ...], re.Pattern], ...] = tuple((gate, re.compile(p, A)) for gate, p in (
    (("invalid user", "illegal user"), rf"\b(?:[Ii]nvalid|[Ii]llegal|INVALID) user {_U}"),                         # sshd
    ((" from",), rf"\bfor (?:invalid user |user )?{_U} from\b"),                            # sshd, generic "for X from"
    (("g user", "of user", "for user", "from user", "by user"), rf"\b(?:authenticating|of|for|from|by) user {_U}"),                          # sshd, PAM, logind, hadoop
    (("user=", "logname=", "login=", "uid="), rf"\b(?i:r?user|logname|username|login|uid)={_U}"),  # PAM pairs, JDBC, LDAP
    (("tty=", "incorrect password", "user not in sudoers", "command not allowed"),
     rf"(?<![^\s:]){_U} : (?=TTY=|\d+ incorrect password|user NOT in sudoers|command not allowed)"),  # sudo
    (("(to ",), rf"\(to {_U}\) {_U} on\b"),                                                 # su
    (("su for",), rf"\bsu for {_U} by {_U}"),                                                 # su
    (("/dev/",), rf"(?<!\S)[+-] /dev/\S+ {_U}:{_U}"),                                         # su (sulog)
    (("for '",), rf"\b(?:FOR|for) '{_U}'"),                                                   # login
    (("login on",), rf"\bLOGIN ON \S+ BY {_U}"),                                              # login
    (("] ok ", "] fail "), rf"\[{_U}\] (?:OK|FAIL) [A-Z]+"),                                  # vsftpd
    (("user ",), rf"\b(?:USER|user) {_U}(?=: | \(Login failed\)|: authentication failure| not found|$)"),  # proftpd, ftpd, Apache
    (("ftp login",), rf"\bFTP LOGIN FROM \S+ as {_U}"),                                        # BSD ftpd
    (('user "',), rf"\buser \"{_U}\""),                                                       # nginx auth_basic
    ((") cmd", ") reload", ") replace", ") list", ") delete", ") begin", ") end"),
     rf"\({_U}\) (?:CMD|RELOAD|REPLACE|LIST|DELETE|BEGIN EDIT|END EDIT) "),                     # cron
    ((" [",), rf"- {_U} \[\d"),                                                              # CLF access logs: remote user
    (("(uid=",), rf"\) by {_U}\(uid="),                                                      # PAM: ... by Y(uid=N)
    (("unix-user:",), rf"\bunix-user:{_U}"),                                                  # polkit
    ((":user/",), rf":user/{_U}"),                                                             # AWS ARNs
))
_SPARK_USERS = re.compile(r"\bpermissions: Set\(([^)]*)\)", A)


def username_value(value: str) -> bool:
    """A value under a user-named field that names a person (not a system account, uid or flag)."""
    return secret_value(value) and _person(value.strip())


def _person(name: str) -> bool:
    low = name.lower()
    return not (name.isdigit() or low in SYSTEM_ACCOUNTS or low.startswith(("systemd-", "_")) or already_scrubbed(name))


def user_contexts_python(text: str) -> list[int]:
    """The indices of the contexts in _USER_CONTEXTS whose gate word the (lower-cased) text holds:
    the definition _USER_GATES computes in one scan for ASCII text."""
    low = _lower(text)
    return [i for i, (gate, _) in enumerate(_USER_CONTEXTS) if any(g in low for g in gate)]


_USER_GATES = Literals([(g, i) for i, (gate, _) in enumerate(_USER_CONTEXTS) for g in gate])


# Contexts every match of which starts with a word (in either case): the search starts at the
# word's first occurrence, found by str.find, instead of the regex engine trying every position
# (\b and the alternation give it no prefix to skip to). Lookbehinds and \b still see the text
# before the start.
_USER_LEADS: dict[re.Pattern, str] = {p: gate[0] for gate, p in _USER_CONTEXTS if gate == ("user ",)}


def context_start(pattern: re.Pattern, text: str) -> int:
    """Where ``pattern`` (a user context) can first match in ``text``: 0, or for a context with a
    lead word in ASCII text (where lower-casing keeps positions) the word's first occurrence."""
    lead = _USER_LEADS.get(pattern)
    if lead is None or not text.isascii():
        return 0
    at = _lower(text).find(lead)
    return at if at >= 0 else len(text)


def _user_contexts(text: str) -> list[int] | tuple[int, ...]:
    fired = _USER_GATES.ids(text) if text.isascii() else None
    return user_contexts_python(text) if fired is None else fired


def user_context_spans_python(i: int, text: str) -> list[tuple[int, ...]]:
    """Each match of the user-name context ``i`` in ``text``: its span, then the span of each of
    its groups ((-1, -1) for one that took no part). The definition ``_scan.user_matches``
    computes for the contexts in _COMPILED_CONTEXTS."""
    pattern = _USER_CONTEXTS[i][1]
    return [m.span() + tuple(x for g in range(1, pattern.groups + 1) for x in m.span(g))
            for m in pattern.finditer(text, context_start(pattern, text))]


# The contexts an access log's every line meets (the CLF remote user; `user NAME`), compiled:
# context index -> the ``which`` of ``_scan.user_matches``.
_COMPILED_CONTEXTS = {next(i for i, (g, _) in enumerate(_USER_CONTEXTS) if g == ("user ",)): 0,
                      next(i for i, (g, _) in enumerate(_USER_CONTEXTS) if g == (" [",)): 1}

try:  # the compiled twin (optional at build; a property test holds it to the definition)
    from ben_cli.scrub._scan import user_matches as _user_matches
except ImportError:  # pragma: no cover - only where the extension could not be built
    _user_matches = None


def user_context_spans(i: int, text: str) -> list[tuple[int, ...]]:
    """:func:`user_context_spans_python`, compiled where it is."""
    which = _COMPILED_CONTEXTS.get(i)
    if which is None or _user_matches is None:
        return user_context_spans_python(i, text)
    return _user_matches(text, which)


@entity("username", "user", 45, "pseudonym", "user names in login contexts (sshd, PAM user=, sudo, su, login, ftpd, cron, access logs)")
def find_username(text: str) -> Iterator[Span]:
    names: dict[str, None] = {}
    for i in _user_contexts(text):
        for spans in user_context_spans(i, text):
            if spans[0] and text[spans[0]] == "-" and not text[spans[0] - 1].isspace():
                continue  # CLF: the remote user follows "ident " ("- alice [")
            for j in range(2, len(spans), 2):
                if spans[j] >= 0:
                    name = text[spans[j]:spans[j + 1]]
                    if _person(name):
                        names[name] = None
                        yield spans[j], spans[j + 1]
    for m in _SPARK_USERS.finditer(text) if "permissions: Set(" in text else ():
        for part in re.finditer(r"[^,\s]+", m.group(1)):
            if _person(part.group()):
                names[part.group()] = None
                yield m.start(1) + part.start(), m.start(1) + part.end()
    # once a line names a user, the name is hidden everywhere in it (PWD=/home/alice, alice.keytab)
    for name in names:
        if len(name) < 3:
            continue
        at = text.find(name)
        while at >= 0:
            end = at + len(name)
            if (not at or text[at - 1] not in _NAME_CHARS_BEFORE) and (end == len(text) or text[end] not in _NAME_CHARS_AFTER):
                yield at, end
            at = text.find(name, end)


_NAME_CHARS_AFTER = frozenset(string.ascii_letters + string.digits + "_$@-")
_NAME_CHARS_BEFORE = _NAME_CHARS_AFTER | {"."}


# ---------------------------------------------------------------------------------------------
# addresses spelled inside host names (family "iphost"): ip-10-0-0-5.ec2.internal,
# ec2-198-51-100-9.compute-1.amazonaws.com, 198-51-100-23.dyn.example.net, static.23.102.160.61.clients.example.net

_OCT = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IP_IN_HOST = {"-": re.compile(rf"(?<!\d){_OCT}-{_OCT}-{_OCT}-{_OCT}", A), ".": re.compile(rf"(?<!\d){_OCT}\.{_OCT}\.{_OCT}\.{_OCT}", A)}
_FILE_SUFFIX = re.compile(r"\.(?:tar|gz|tgz|zip|deb|rpm|jar|whl|xz|bz2|so|dll|exe|msi|dmg|pkg|apk|iso|img|bin|txt|log|json)\b", A)


@entity("ip_in_hostname", "iphost", 54, "truncate",
        "IPv4 addresses spelled inside host names (ip-10-0-0-5.ec2.internal, 198-51-100-23.dyn.example.net)")
def find_ip_in_hostname(text: str) -> Iterator[Span]:
    for sep, pattern in _IP_IN_HOST.items():
        if sep == "." and "." not in text or sep == "-" and "-" not in text:
            continue
        pos = 0
        while (m := pattern.search(text, pos)) is not None:
            s, e = m.span()
            pos = s + 1  # a rejected candidate may hide one that starts inside it (ec2-61-148-7-138: not 2-61-148-7)
            # a whole quad: no digit, and no separator and digit, on either side
            if s and (text[s - 1].isdigit() or s >= 2 and text[s - 1] in "-." and text[s - 2].isdigit()
                      and not (s >= 3 and text[s - 3].isalpha())):
                continue
            if e < len(text) and (text[e].isdigit() or text[e] in "-." and e + 1 < len(text) and text[e + 1].isdigit()):
                continue
            before_host = s >= 2 and text[s - 1] in "-." and text[s - 2].isalnum() and text[s - 2].isascii()
            after_domain = e + 1 < len(text) and text[e] in ".-" and text[e + 1].isascii() and text[e + 1].isalpha()
            if not (before_host or after_domain):
                pos = e  # a plain address is ipv4's; a dashed quad alone is not a host name
                continue
            if _FILE_SUFFIX.match(text, e) or _VERSION_BEFORE.search(text, max(0, s - 12), s) \
                    or _PACKAGE_BEFORE.search(text, max(0, s - 80), s):
                continue
            pos = e
            yield s, e


# ---------------------------------------------------------------------------------------------
# secrets stated in prose (family "prose"): "the password is hunter2", "passphrase was X"

_PROSE_SECRET = re.compile(
    r"(?i)\b(?:passw(?:or)?d|passphrase|pass phrase|pwd|passcode|pin|secret)"
    r"(?: for \S+)? (?:is|was|will be|has been set to|set to|changed to|reset to)[ \t]*:?[ \t]*[\"'`]?"
    r"([^\s\"'`]{3,}?)[\"'`]?(?=[.,;:!?)\]]*(?:\s|$))",
    A,
)
_NOT_A_SECRET_WORD = frozenset((
    "incorrect", "invalid", "wrong", "expired", "expiring", "required", "too", "not", "empty", "correct", "missing", "the",
    "now", "set", "changed", "reset", "null", "none", "nil", "valid", "weak", "strong", "short", "long", "blank",
    "updated", "accepted", "rejected", "disabled", "enabled", "locked", "unchanged", "same", "different", "stored",
    "hashed", "encrypted", "provided", "given", "saved", "sent", "being", "about", "still", "already", "also",
    "used", "unknown", "ok", "good", "bad", "successfully", "changed.", "due", "older", "newer", "insecure", "secure",
    "known", "compromised", "needed", "optional", "mandatory", "unset", "present", "absent", "configured", "that", "this",
    "your", "their", "his", "her", "our", "its", "<redacted>", "redacted", "[redacted]", "hidden", "masked", "***",
))


@entity("secret_prose", "prose", 68, "redact", "secrets stated in prose (the password is X, passphrase was X)")
def find_secret_prose(text: str) -> Iterator[Span]:
    for m in _PROSE_SECRET.finditer(text):
        value = m.group(1)
        if value.lower().rstrip(".,;:!?") in _NOT_A_SECRET_WORD or already_scrubbed(value):
            continue
        yield m.span(1)
