"""The compiled scans (ben_cli/scrub/_scan.c: IPv4, triggers, user-name gates and contexts, e-mail)
end to end: a ben without them scrubs the same."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

LINES = [
    {"body": '203.0.113.9 - - [25/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8.5.0" user u1@example.com'},
    {"body": "from 10.0.0.1, 1.2.3.4/24 and 1.2.3.456, v1.2.3.4, rm.example.com/10.20.30.40:8030, x-1.2.3.4"},
    {"body": "Unpacking libfoo (1.2.3.4) over (1.2.3.3); Failed password for alice from 198.51.100.23 port 22"},
    {"body": '198.51.100.7 - carol.w [25/Nov/2026:10:00:01 +0000] "GET /b HTTP/1.1" 404 0 "-" "-" USER dave: not found, '
             "mail eve@mail.example.co.uk, getty@tty1.service, x@y.z1, " + "f" * 70 + "@example.com"},
    {"attrs": {"10.1.2.3": True, "client": "2001:db8::1 and 192.0.2.55/33"}, "source": "10.0.0.5"},
    {"body": "login failed, password=hunter2 card 4111 1111 1111 1111 call +1 415-555-0100 alice%40example.com "
             "ip-10-0-0-5.ec2.internal the passphrase was opensesame, sudo: bob : TTY=pts/0 ; USER=root",
     "msg": "Accepted publickey for carol from 203.0.113.7 port 22 ssh2 Cookie: sid=abc123def; GB82WEST12345698765432"},
]


def test_an_install_without_the_compiled_module_scrubs_the_same(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"".join(orjson.dumps(rec) + b"\n" for rec in LINES) * 3)
    blocked = "sys.modules['ben_cli.scrub._scan'] = None; "
    env = {**os.environ, "BEN_LOAD_PLUGINS": "", "BEN_HOME": str(tmp_path / "home")}
    outputs = []
    for prelude in ("", blocked):
        script = ("import sys; " + prelude + "import ben_cli.scrub.entities as e, ben_cli.scrub.prefilter as p; "
                  "print(e.ipv4_spans is e.ipv4_spans_python and p._scan is None, file=sys.stderr); "
                  "from ben_cli.commands._root import main; main()")
        done = subprocess.run([sys.executable, "-c", script, "scrub", "-q", str(path)], capture_output=True, env=env)
        outputs.append((done.returncode, done.stdout, done.stderr.splitlines()[0]))
    (code, out, compiled), (code2, out2, fallback) = outputs
    assert (compiled, fallback) == (b"False", b"True")
    assert (code2, out2) == (code, out) and code == 0
    assert b"203.0.113.0/24" in out and b"1.2.3.456" in out and b"10.0.0.1" not in out
    assert b"carol.w" not in out and b"dave" not in out and b"eve@" not in out and b"getty@tty1.service" in out
    assert b"hunter2" not in out and b"opensesame" not in out and b"carol" not in out and b"4111" not in out
