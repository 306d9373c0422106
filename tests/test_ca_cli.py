"""``ben ca`` as a process: exit statuses, messages, the forms --pub takes, list --json."""

from __future__ import annotations

import json

import pytest

from ben_cli.ca import cert as c
from ben_cli.crypto.primitives import x25519_keypair

from .conftest import run_ben

ENV = {"BEN_PASSPHRASE": "pw"}


@pytest.fixture
def ca(tmp_path, ben_home):
    proc = run_ben("ca", "init", "-q", "--cost", "interactive", env=ENV)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


def test_no_ca_is_a_usage_error(tmp_path):
    proc = run_ben("ca", "list")
    assert proc.returncode == 2 and b"no CA in " in proc.stderr and b"run ben ca init first" in proc.stderr


def test_issue_takes_a_pub_file_an_age_recipient_or_base64url(ca, tmp_path):
    assert run_ben("key", "gen", "-q", "--type", "x25519", "--out", str(tmp_path / "n")).returncode == 0
    recipient = (tmp_path / "n.pub").read_text().strip()
    raw = x25519_keypair()[1]
    keys = []
    for pub in (str(tmp_path / "n.pub"), recipient, c.b64url(raw)):
        proc = run_ben("ca", "issue", "-q", "--name", "n", "--pub", pub, env=ENV)
        assert proc.returncode == 0, proc.stderr
        keys.append(c.parse(proc.stdout).noise_pub)
    assert keys[0] == keys[1] and keys[2] == raw
    proc = run_ben("ca", "issue", "--name", "n", "--pub", "not-a-key", env=ENV)
    assert proc.returncode == 2 and b"is not a .pub file, an age1... recipient or a base64url X25519 key" in proc.stderr


def test_bad_lists_are_usage_errors_and_a_wrong_passphrase_is_an_error(ca):
    pub = c.b64url(x25519_keypair()[1])
    proc = run_ben("ca", "issue", "--name", "n", "--pub", pub, "--lanes", "metrics", env=ENV)
    assert proc.returncode == 2 and b"--lanes: 'metrics' is not one of diag, event, control" in proc.stderr
    proc = run_ben("ca", "issue", "--name", "n", "--pub", pub, "--usage", "ca", env=ENV)
    assert proc.returncode == 2 and b"ca is for the CA's own certificate" in proc.stderr
    proc = run_ben("ca", "issue", "--name", "n", "--pub", pub, env={"BEN_PASSPHRASE": "wrong"})
    assert proc.returncode == 1 and proc.stderr.endswith(b"wrong passphrase for this key\n")


def test_verify_exit_status_and_reason_and_list_json(ca, tmp_path):
    pub = c.b64url(x25519_keypair()[1])
    issued = run_ben("ca", "issue", "-q", "--name", "web1", "--pub", pub, "--out", str(tmp_path / "w.cert"), env=ENV)
    assert issued.returncode == 0 and issued.stdout == b""
    ok = run_ben("ca", "verify", str(tmp_path / "w.cert"), "--usage", "client")
    assert ok.returncode == 0 and ok.stdout.startswith(b"valid: web1 (serial ")
    no = run_ben("ca", "verify", str(tmp_path / "w.cert"), "--usage", "server")
    assert no.returncode == 1 and no.stderr.startswith(b"ben ca verify: refused (wrong-usage): ")
    revoked = run_ben("ca", "revoke", "-q", "--key", pub, env=ENV)
    assert revoked.returncode == 0, revoked.stderr
    no = run_ben("ca", "verify", "-q", str(tmp_path / "w.cert"))
    assert no.returncode == 1 and b"refused (revoked)" in no.stderr and b"(by key," in no.stderr
    rows = [json.loads(line) for line in run_ben("ca", "list", "--json").stdout.splitlines()]
    assert [(r["name"], r["status"]) for r in rows] == [("web1", "revoked")]
    assert run_ben("ca", "audit", "-q").returncode == 0


def test_the_audit_log_is_a_stream_ben_key_verifies_on_its_own(ca, ben_home):
    pub = c.b64url(x25519_keypair()[1])
    assert run_ben("ca", "issue", "-q", "--name", "web1", "--pub", pub, env=ENV).returncode == 0
    folder = ben_home / "ca"
    proc = run_ben("key", "verify", "--stream", "-q", "--pub", str(folder / "ca-1.pub"), str(folder / "audit-1.ndjson"))
    assert proc.returncode == 0, proc.stderr
    names = [json.loads(line)["name"] for line in proc.stdout.splitlines()]
    assert names == ["ca.init", "ca.issue"]
