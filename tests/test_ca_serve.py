"""A listening CA: enrolment and renewal over HTTP, refusals carried back with their reason."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ben_cli.ca import authority, enrol, serve
from ben_cli.ca import cert as c
from ben_cli.ca.node import Node
from ben_cli.ca.store import Store

NOW = int(time.time())
PW = b"pw"


@pytest.fixture
def listening(tmp_path):
    store = Store(tmp_path / "ca")
    authority.init(store, PW, NOW, cost="interactive")
    server = serve.make_server(store, store.signing_key(lambda: PW), "127.0.0.1", 0, lambda: NOW)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield store, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_enrol_and_renew_through_the_listening_ca(listening, tmp_path):
    store, url = listening
    token = enrol.make_token(store, authority.Profile("node7", lanes=("diag",)), NOW)
    node = Node(tmp_path / "node")
    cert = node.enroll_online(token.text, url, NOW)
    assert cert.name == "node7" and node.certificate() == cert
    with pytest.raises(c.Refused) as caught:
        serve.submit(url, (node.root / "request").read_bytes())  # the same request again
    assert caught.value.reason == "token-used" and "already used" in str(caught.value)
    assert node.renew_online(url, NOW) == (None, authority.renew_due(cert))
    renewed, _ = node.renew_online(url, NOW, force=True)
    assert renewed is not None and renewed.serial != cert.serial and node.certificate() == renewed


def test_only_the_ca_the_token_names_is_kept_from_a_fetched_bundle(listening, tmp_path):
    store, url = listening
    other = Store(tmp_path / "other")
    authority.init(other, PW, NOW, cost="interactive")
    token = enrol.make_token(store, authority.Profile("node7"), NOW)
    node = Node(tmp_path / "node")
    cert = serve.submit(url, node.enroll(token.text, NOW))
    appended = serve.fetch_bundle(url) + other.ca_cert().text.encode()  # a CA slipped in on the way
    node.accept(cert, appended, NOW, pinned_only=True)
    kept = (node.root / "bundle").read_text()
    assert store.ca_cert().issuer in kept and other.ca_cert().issuer not in kept
    with pytest.raises(c.Refused) as caught:
        node.accept(cert, other.ca_cert().text.encode(), NOW, pinned_only=True)
    assert caught.value.reason == "unknown-issuer"


def test_the_listener_answers_three_paths_and_bounds_requests(listening):
    _, url = listening
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().status == 404
    conn.request("POST", "/sign", body=b"x" * (serve.MAX_REQUEST + 1))
    response = conn.getresponse()
    assert response.status == 413 and b"16384" in response.read()
    conn.request("POST", "/sign", body=b"not a request\n")
    response = conn.getresponse()
    assert response.status == 403 and response.read().startswith(b"refused (malformed)")
    conn.request("GET", "/crl")
    assert conn.getresponse().read().startswith(b"ben-crl-v1\n")


def test_ben_ca_serve_as_a_process(tmp_path):
    env = {**os.environ, "BEN_HOME": str(tmp_path / "ca-home"), "BEN_PASSPHRASE": "pw", "BEN_LOAD_PLUGINS": ""}
    ben = str(Path(sys.executable).with_name("ben"))
    assert subprocess.run([ben, "ca", "init", "-q", "--cost", "interactive"], env=env, capture_output=True).returncode == 0
    port = subprocess.run([sys.executable, str(Path(__file__).parent / "support" / "free-port")],
                          capture_output=True, text=True, check=True).stdout.strip()
    server = subprocess.Popen([ben, "ca", "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        assert server.stderr.readline() == f"ben ca serve: listening on http://127.0.0.1:{port}\n"
        token = subprocess.run([ben, "ca", "token", "--name", "node9"], env=env, capture_output=True, text=True).stdout.strip()
        node_env = {**env, "BEN_HOME": str(tmp_path / "node-home")}
        enrolled = subprocess.run([ben, "ca", "enroll", "--token", token, "--ca", f"http://127.0.0.1:{port}"],
                                  env=node_env, capture_output=True, text=True)
        assert enrolled.returncode == 0, enrolled.stderr
        assert enrolled.stderr.startswith("ben ca enroll: node9: serial ")
        assert (tmp_path / "node-home" / "node" / "cert").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def test_a_node_follows_a_rotation_its_old_ca_vouched_for(listening, tmp_path):
    store, url = listening
    node = Node(tmp_path / "node")
    node.enroll_online(enrol.make_token(store, authority.Profile("node7"), NOW).text, url, NOW)
    turned = authority.rotate(store, store.signing_key(lambda: PW), PW, NOW + 10, cost="interactive")
    assert turned.successor.issuer == turned.old.issuer and turned.successor.sign_pub == turned.new.sign_pub
    # the renewal gets the certificate the rotation re-issued, signed by the new CA, which the
    # node accepts because the old CA's key vouched for the new one
    renewed, _ = node.renew_online(url, NOW + 20, force=True)
    assert renewed == turned.reissued[0] and renewed.issuer == turned.new.issuer
    kept = (node.root / "bundle").read_text()
    assert turned.new.issuer in kept and turned.old.issuer in kept
    # the listener still holds the old key: it issues nothing more until restarted
    token = enrol.make_token(store, authority.Profile("node8"), NOW)
    with pytest.raises(Exception, match="rotated while this command ran"):
        Node(tmp_path / "node8").enroll_online(token.text, url, NOW)


def test_a_ca_in_a_served_bundle_that_nobody_vouched_for_is_not_followed(tmp_path):
    from ben_cli.ca.verify import TrustBundle, follow_rotation

    mine, theirs = Store(tmp_path / "mine"), Store(tmp_path / "theirs")
    authority.init(mine, PW, NOW, cost="interactive")
    authority.init(theirs, PW, NOW, cost="interactive")
    trusted = TrustBundle.of([mine.ca_cert()])
    served = (mine.ca_cert().text + theirs.ca_cert().text).encode()
    assert follow_rotation(trusted, served, b"", NOW).cas.keys() == {mine.ca_cert().issuer}
    # a successor certificate signed by the stranger itself vouches for nothing
    assert follow_rotation(trusted, served, theirs.ca_cert().text.encode(), NOW).cas.keys() == {mine.ca_cert().issuer}


def test_a_node_told_not_to_follow_refuses_the_new_ca(listening, tmp_path):
    store, url = listening
    node = Node(tmp_path / "node")
    node.enroll_online(enrol.make_token(store, authority.Profile("node7"), NOW).text, url, NOW)
    authority.rotate(store, store.signing_key(lambda: PW), PW, NOW + 10, cost="interactive")
    with pytest.raises(c.Refused) as caught:
        node.renew_online(url, NOW + 20, force=True, follow=False)
    assert caught.value.reason == "unknown-issuer"
