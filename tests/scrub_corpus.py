"""A generated, labeled corpus of telemetry for ben scrub: secrets of every entity in many
formats, in log text and in structured fields, plus hard negatives that must survive untouched.

Every item is ``(record, label, value, positive)``: for a positive, ``value`` must be gone from
the scrubbed record (a *leak* if it survives); for a negative, it must still be there verbatim
(*damage* if it does not). Values are random so a leak cannot hide behind a coincidence. The
same seed gives the same corpus. Used by tests (a moderate corpus with asserted rates) and by
bench/bench_scrub.py (a large one, rates reported in BENCHMARKS.md).
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
WORDS = "request handler upstream cache worker retry queue shard replica pool session checkout order payment".split()


@dataclass
class Item:
    record: dict
    label: str  # entity name, or negative kind
    value: str
    positive: bool


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn_complete(rng: random.Random, prefix: str, length: int, valid: bool = True) -> str:
    body = prefix + _rand(rng, string.digits, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    check = (10 - total % 10) % 10
    if not valid:
        check = (check + rng.randint(1, 9)) % 10
    return body + str(check)


CARD_ISSUERS = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("2500", 16),
                ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 16), ("36", 14), ("300", 14), ("3528", 16),
                ("3589", 16), ("62", 16), ("62", 19), ("50", 12), ("67", 16), ("2200", 16)]


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice(CARD_ISSUERS)
    n = _luhn_complete(rng, prefix, length)
    style = rng.randrange(4)
    if style == 1 and length == 16:
        return " ".join(n[i:i + 4] for i in range(0, 16, 4))
    if style == 2 and length == 16:
        return "-".join(n[i:i + 4] for i in range(0, 16, 4))
    if style == 3 and length == 15:
        return f"{n[:4]} {n[4:10]} {n[10:]}"
    return n


IBAN_COUNTRIES = {"GB": ("ALPHA4", 14), "DE": ("", 18), "FR": ("", 23), "NL": ("ALPHA4", 10), "ES": ("", 20),
                  "IT": ("ALPHA1", 23), "BE": ("", 12), "CH": ("", 17), "PL": ("", 24), "SE": ("", 20)}


def _iban(rng: random.Random) -> str:
    cc = rng.choice(list(IBAN_COUNTRIES))
    kind, digits = IBAN_COUNTRIES[cc]
    letters = _rand(rng, string.ascii_uppercase, 4 if kind == "ALPHA4" else 1 if kind == "ALPHA1" else 0)
    bban = letters + _rand(rng, string.digits, digits - (1 if kind == "ALPHA1" else 0))
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    check = 98 - int(num) % 97
    iban = f"{cc}{check:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def _ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    sep = rng.choice("- ")
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice([
        f"+1{a}{b}{c:04d}", f"+1 {a}-{b}-{c:04d}", f"({a}) {b}-{c:04d}", f"{a}.{b}.{c:04d}", f"{a}-{b}-{c:04d}",
        f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", f"+49 30 {rng.randint(100000, 999999)}",
        f"0{rng.randint(100, 999)} {rng.randint(1000000, 9999999)}", f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        f"+41 (0){rng.randint(21, 99)} {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        f"{a}-{b}-{c:04d}x{rng.randint(10, 9999)}", f"+447700{rng.randint(100000, 999999)}",
    ])


def _ipv4(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    import ipaddress

    groups = [rng.randint(0x2001, 0x2fff)] + [rng.randint(0, 0xffff) for _ in range(7)]
    style = rng.randrange(5)
    if style == 0:
        groups[3:6] = [0, 0, 0]
    if style == 4:
        return f"::ffff:{_ipv4(rng)}"
    groups[7] = groups[7] or 1
    addr = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
    if style == 1:
        return addr.exploded
    if style == 2:
        return f"fe80::{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}%eth{rng.randint(0, 3)}"
    return addr.compressed


def _mac(rng: random.Random) -> str:
    octets = [rng.randint(0, 255) for _ in range(6)]
    style = rng.randrange(4)
    if style == 0:
        return ":".join(f"{o:02x}" for o in octets)
    if style == 1:
        return "-".join(f"{o:02X}" for o in octets)
    if style == 2:
        return ":".join(f"{o:02X}" for o in octets)
    h = "".join(f"{o:02x}" for o in octets)
    return f"{h[:4]}.{h[4:8]}.{h[8:]}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = _b64url(orjson.dumps({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}))
    payload = _b64url(orjson.dumps({"sub": _rand(rng, ALNUM, 10), "iat": rng.randint(1_600_000_000, 1_800_000_000)}))
    return f"{header}.{payload}.{_rand(rng, ALNUM + '-_', 43)}"


def _secret_value(rng: random.Random) -> str:
    return _rand(rng, ALNUM, rng.randint(8, 24)) + rng.choice(["", "!", "#x", "_9"])


def _pem(rng: random.Random) -> str:
    kind = rng.choice(["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
    body = "\n".join(_rand(rng, ALNUM + "+/", 64) for _ in range(rng.randint(2, 5)))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


# entity -> (value generator, text templates, structured field names)
# A template's {v} is the value; {w} a filler word.
Gen = Callable[[random.Random], str]
ENTITIES: dict[str, tuple[Gen, list[str], list[str]]] = {
    "email": (lambda r: f"{_rand(r, string.ascii_lowercase, r.randint(3, 8))}{r.choice(['.', '_', '+', ''])}{_rand(r, string.ascii_lowercase + string.digits, r.randint(2, 6))}@{r.choice(['example.com', 'mail.example.co.uk', 'corp.example.org', 'example.io'])}",
              ["login ok for {v}", "sending receipt to <{v}>", "mailto:{v} failed", "user={v} action={w}", "Reply-To: {v}", "invalid address '{v}'."],
              ["email", "user.email", "recipient"]),
    "ipv4": (_ipv4, ["client {v} connected", "upstream={v}:8080", "X-Forwarded-For: {v}, 10.0.0.1", "denied from [{v}]", "peer {v}."],
             ["client_ip", "net.peer.ip", "remote_addr"]),
    "ipv6": (_ipv6, ["client {v} connected", "peer [{v}]:443", "from {v}.", "addr={v} {w}"], ["client_ip", "net.peer.ip"]),
    "credit_card": (_card, ["charge failed for card {v}", "card={v} declined", "pan: {v}", "payment with {v} ok"], ["card_number", "payment.pan"]),
    "iban": (_iban, ["transfer to {v} queued", "iban={v}", "IBAN: {v}."], ["iban", "payout.account"]),
    "us_ssn": (_ssn, ["ssn {v} verified", "SSN: {v}", "applicant ssn={v}"], ["ssn", "applicant.ssn"]),
    "phone": (_phone, ["call back {v} please", "phone: {v}", "sms to {v} sent", "contact {v} for {w}"], ["phone", "contact.phone"]),
    "mac": (_mac, ["device {v} joined", "mac={v}", "nic {v} up"], ["mac", "device.mac"]),
    "jwt": (_jwt, ["token verified {v}", "jwt={v} expired", "id_token {v}"], ["id_token", "jwt"]),
    "auth_header": (lambda r: _rand(r, ALNUM + "-._", r.randint(20, 40)),
                    ["Authorization: Bearer {v}", "authorization=Bearer {v}", "\"Authorization\": \"Bearer {v}\"", "sent bearer {v} upstream"],
                    ["http.request.header.authorization", "authorization"]),
    "url_password": (lambda r: _rand(r, ALNUM, r.randint(8, 20)) + r.choice(["", "!", "%21x", "_9", "#x", "@x"]), ["connecting to postgres://app:{v}@db.internal:5432/app", "dsn=redis://:{v}@cache:6379/0",
                                     "fetch https://deploy:{v}@git.example.com/repo.git"], ["db.url!", "upstream.dsn!"]),
    "cookie": (lambda r: _rand(r, ALNUM, r.randint(16, 32)), ["Cookie: sessionid={v}; theme=dark", "Set-Cookie: sid={v}; Path=/; HttpOnly",
                                                              "JSESSIONID={v} user"], ["cookie", "http.request.header.cookie"]),
    "secret": (_secret_value, ["login with password={v}", "db_passwd: {v}", "{{\"client_secret\": \"{v}\"}}", "API_KEY={v} loaded",
                               "token={v}&next=/", "private_key: '{v}'", "Secret: {v}"], ["password", "api_key", "client_secret", "db.password"]),
    "aws_access_key": (lambda r: r.choice(["AKIA", "ASIA"]) + _rand(r, string.ascii_uppercase + "234567", 16),
                       ["using key {v} for s3", "aws_access_key_id={v}", "AccessKeyId: {v}"], ["aws.access_key_id"]),
    "aws_secret_key": (lambda r: _rand(r, ALNUM + "/+", 40),
                       ["aws_secret_access_key={v}", "AWS_SECRET_ACCESS_KEY: {v}", "{{\"aws_secret_access_key\": \"{v}\"}}"],
                       ["aws_secret_access_key"]),
    "github_token": (lambda r: r.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + _rand(r, ALNUM, 36) if r.random() < 0.8
                     else "github_pat_" + _rand(r, ALNUM, 22) + "_" + _rand(r, ALNUM, 59),
                     ["cloned with {v}", "GITHUB_TOKEN {v} rejected", "auth via {v}"], ["ci.token_value"]),
    "slack_token": (lambda r: r.choice(["xoxb-", "xoxp-", "xoxa-", "xoxs-"]) + f"{r.randint(10**11, 10**12)}-{r.randint(10**12, 10**13)}-" + _rand(r, ALNUM, 24),
                    ["posting with {v}", "slack {v} revoked"], ["slack.bot"]),
    "stripe_key": (lambda r: r.choice(["sk_live_", "sk_test_", "rk_live_", "whsec_"]) + _rand(r, ALNUM, 24),
                   ["stripe key {v} used", "charging via {v}"], ["stripe.api"]),
    "google_api_key": (lambda r: "AIza" + _rand(r, ALNUM + "-_", 35), ["maps call with {v}", "key={v}&q=x"], ["maps.apikey_value"]),
    "private_key": (_pem, ["loaded {v} from disk", "{v}"], ["tls.key_pem"]),
    "high_entropy": (lambda r: _rand(r, ALNUM, r.randint(24, 40)),
                     ["refreshed with token {v}", "signature: {v}", "hmac {v} mismatch"], ["signature", "request.hmac"]),
}

NEGATIVES: dict[str, tuple[Gen, list[str]]] = {
    "uuid": (lambda r: "-".join(_rand(r, HEX, n) for n in (8, 4, 4, 4, 12)), ["request {v} done", "request_id={v}", "id: {v}"]),
    "trace_id": (lambda r: _rand(r, HEX, 32), ["trace_id={v}", "trace {v} sampled", "traceparent: 00-{v}-00f067aa0ba902b7-01"]),
    "span_id": (lambda r: _rand(r, HEX, 16), ["span_id={v}", "parent span {v}"]),
    "sha1": (lambda r: _rand(r, HEX, 40), ["commit {v} deployed", "etag \"{v}\""]),
    "sha256": (lambda r: _rand(r, HEX, 64), ["image@sha256:{v} pulled", "digest={v}"]),
    "rfc3339": (lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999999999):09d}Z",
                ["at {v} job ran", "since={v}", "window {v} closed"]),
    "epoch_s": (lambda r: str(r.randint(1_500_000_000, 1_900_000_000)), ["ts={v}", "expires {v}", "epoch {v} reached"]),
    "epoch_ms": (lambda r: str(r.randint(1_500_000_000_000, 1_900_000_000_000)), ["ts_ms={v}", "at {v} ms", "created {v}"]),
    "order_number": (lambda r: _luhn_complete(r, r.choice(["4", "5", "6"]), 16, valid=False), ["order {v} shipped", "order_id={v}", "invoice {v} paid"]),
    "version": (lambda r: r.choice([f"v{r.randint(0, 20)}.{r.randint(0, 40)}.{r.randint(0, 99)}", f"{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 20)}-rc.{r.randint(1, 9)}",
                                    f"version {r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}", f"Chrome/{r.randint(90, 130)}.0.{r.randint(1000, 9999)}.{r.randint(10, 200)}"]),
                ["running {v}", "upgrade to {v} done", "agent {v}"]),
    "pod_name": (lambda r: f"{r.choice(['api', 'web', 'worker'])}-{_rand(r, HEX, 10)}-{_rand(r, string.ascii_lowercase + string.digits, 5)}",
                 ["pod {v} restarted", "k8s.pod={v}"]),
    "hostname": (lambda r: r.choice([f"i-0{_rand(r, HEX, 16)}.ec2.internal",
                                     f"web-{r.randint(1, 99)}.prod.example.internal", f"node-{r.randint(1, 999)}.eu-west-1.compute.internal"]),
                 ["host {v} healthy", "upstream={v}"]),
    "path": (lambda r: r.choice([f"/var/log/app/2026/{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/seg-{r.randint(0, 999999):06d}.log",
                                 f"/api/v1/users/{r.randint(1, 10**6)}/orders/{r.randint(1, 10**9)}"]),
             ["reading {v}", "GET {v} 200"]),
}


def _envelope(rng: random.Random, body: str, attrs: dict | None = None) -> dict:
    rec = {"ts": f"2026-11-25T10:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z", "lane": "event",
           "source": f"web-{rng.randint(1, 12)}", "name": "app.log", "severity": rng.choice(["info", "warn", "error"]), "body": body}
    rec["attrs"] = {"trace_id": _rand(rng, HEX, 32), **(attrs or {})}
    return rec


def _set_path(d: dict, path: str, value: str) -> dict:
    parts = path.split(".")
    cur = d
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return d


def corpus(per_label: int, seed: int = 11) -> Iterator[Item]:
    """``per_label`` items for every entity and every negative kind."""
    rng = random.Random(seed)
    for entity, (gen, templates, fields) in ENTITIES.items():
        for i in range(per_label):
            value = gen(rng)
            w = rng.choice(WORDS)
            if i % 4 == 3 and fields:  # structured field ("name!": the field holds the whole text)
                name = rng.choice(fields)
                text = rng.choice(templates).format(v=value, w=w) if name.endswith("!") else value
                attrs = _set_path({}, name.rstrip("!"), text)
                yield Item(_envelope(rng, f"{w} event {i}", attrs), entity, value, True)
            else:
                text = rng.choice(templates).format(v=value, w=w)
                body = f"{w} {text} {rng.choice(WORDS)}" if rng.random() < 0.7 else text
                yield Item(_envelope(rng, body), entity, value, True)
    for kind, (gen, templates) in NEGATIVES.items():
        for i in range(per_label):
            value = gen(rng)
            text = rng.choice(templates).format(v=value)
            if i % 4 == 3:
                yield Item(_envelope(rng, f"{rng.choice(WORDS)} done", {"detail": value}), kind, value, False)
            else:
                yield Item(_envelope(rng, f"{rng.choice(WORDS)} {text}"), kind, value, False)


def survives(record: dict, value: str) -> bool:
    """Whether ``value`` is still in the record, as text anywhere in its JSON."""
    return value in orjson.dumps(record).decode() or value in str(record)


def measure(items: list[Item], scrub: Callable[[dict], dict]) -> dict[str, tuple[int, int]]:
    """label -> (failures, total): leaks for entities, damaged values for negatives."""
    out: dict[str, list[int]] = {}
    for it in items:
        after = scrub(it.record)
        failed = survives(after, it.value) if it.positive else not survives(after, it.value)
        row = out.setdefault(it.label, [0, 0])
        row[0] += failed
        row[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}
