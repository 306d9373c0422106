"""ben bee end to end in one process: refusals before any data, broken connections resumed
exactly once, gaps, a stream taken over by a newer connection, marks across restarts, the CRL
reloaded while peers are connected, the lane policy, the handshake guards."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from ben_cli.bee import frames
from ben_cli.bee.framing import Closed, Wire
from ben_cli.bee.handshake import initiate
from ben_cli.bee.sender import Refused
from ben_cli.bee.window import Spool
from tests import bee_support as bs


@pytest.fixture
def pki(tmp_path):
    return bs.Pki(tmp_path / "pki")


@pytest.fixture
def collector(pki):
    return pki.node("collector", ("server",))


def values(lst) -> list[int]:
    return [json.loads(line)["value"] for line in lst.out.lines()]


def test_a_stream_arrives_once_with_via(pki, collector):
    edge = pki.node("edge")
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        stats = bs.send(pki, edge, port, bs.records(3000))
    assert values(lst) == list(range(1, 3001)) and stats.records == 3000
    first = json.loads(lst.out.lines()[0])
    assert first == {"lane": "diag", "name": "r", "value": 1, "via": {"peer": "edge", "cert": first["via"]["cert"]}}
    assert len(first["via"]["cert"]) == 64 and first["via"]["cert"] == first["via"]["cert"].lower()


def test_via_is_added_and_nothing_else_changes(pki, collector):
    edge = pki.node("edge")
    lines = [b'{ "lane" : "diag" ,"n":1.50}', b'{"lane":"event","a":{"b":[1,2]},"z":"\\u00e9"}  ']
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        bs.send(pki, edge, port, b"\n".join(lines) + b"\n")
    out = lst.out.lines()
    assert out[0].startswith(b'{ "lane" : "diag" ,"n":1.50,"via":{"peer":"edge"')
    assert out[1].startswith(b'{"lane":"event","a":{"b":[1,2]},"z":"\\u00e9","via":')


def _refused_client(pki, collector, edge, reason: str) -> None:
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        with pytest.raises(Refused, match=reason):
            bs.send(pki, edge, port, bs.records(10))
    assert lst.out.getvalue() == b"" and lst.marks.marks == {} and lst.counts.refused == 1


def test_a_client_from_another_ca_is_refused_before_any_data(tmp_path, pki, collector):
    other = bs.Pki(tmp_path / "other", name="other-ca")
    stranger = other.node("stranger")
    stranger.cert.rename(pki.folder / "stranger.cert")
    stranger.key.rename(pki.folder / "stranger.key")
    stranger.cert, stranger.key = pki.folder / "stranger.cert", pki.folder / "stranger.key"
    _refused_client(pki, collector, stranger, "unknown-issuer")


def test_a_revoked_client_is_refused(pki, collector):
    edge = pki.node("edge")
    pki.revoke(edge.certificate)
    _refused_client(pki, collector, edge, "revoked")


def test_an_expired_client_is_refused(pki, collector):
    edge = pki.node("edge", not_before=pki.now - 7200, not_after=pki.now - 3600)
    _refused_client(pki, collector, edge, "expired")


def test_a_server_certificate_cannot_be_a_client(pki, collector):
    edge = pki.node("edge", ("server",))
    _refused_client(pki, collector, edge, "wrong-usage")


def test_a_certificate_for_another_key_is_refused(pki, collector):
    real = pki.node("edge")
    thief = pki.node("thief")
    thief.cert.write_bytes(real.cert.read_bytes())  # a copy of edge's (public) certificate, thief's own key
    lst = bs.listener(pki, collector)
    from ben_cli.bee.handshake import Credentials
    from ben_cli.ca import verify

    creds = Credentials(thief.cert.read_bytes(), thief.identity.secret, verify.Verifier(verify.TrustBundle.parse(pki.bundle.read_bytes())))
    with bs.running(lst) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        wire = Wire(sock)
        _, hs = initiate(wire, creds)
        reply = frames.parse(hs.receive.decrypt(wire.recv()))
        assert reply.kind == frames.ERROR and b"wrong-key" in reply.body
        with pytest.raises(Closed):
            wire.recv()
    assert lst.out.getvalue() == b"" and lst.counts.refused == 1


@pytest.mark.parametrize("usage, why", [(("client",), "wrong-usage"), (("server",), "revoked")])
def test_the_sender_refuses_a_bad_listener_before_sending(pki, usage, why):
    server = pki.node("collector", usage)
    edge = pki.node("edge")
    if why == "revoked":
        pki.revoke(server.certificate)
    lst = bs.listener(pki, server)
    from ben_cli.bee.handshake import Credentials

    with bs.running(lst) as port:
        with pytest.raises(Refused, match=why):
            bs.send(pki, edge, port, bs.records(5), window=None) if why != "revoked" else \
                _send_with_crl(pki, edge, port, Credentials)
    assert lst.out.getvalue() == b"" and lst.counts.connections == 0


def _send_with_crl(pki, edge, port, credentials):
    import threading

    from ben_cli.bee import address
    from ben_cli.bee.sender import Options, Sender
    from ben_cli.bee.window import Window

    read, write = os.pipe()
    threading.Thread(target=lambda: (os.write(write, bs.records(5)), os.close(write)), daemon=True).start()
    try:
        creds = credentials.load(edge.cert, edge.key, pki.bundle, pki.crl)
        return Sender(creds, address.parse(f"127.0.0.1:{port}"), read, Window(), Options(give_up=5)).run()
    finally:
        os.close(read)


def test_a_flipped_ciphertext_byte_ends_the_connection_and_the_frame_is_not_output(pki, collector):
    edge = pki.node("edge")
    flipped = []

    def flip(seen: int, chunk: bytes) -> bytes:
        # past the three handshake messages and the HELLO, inside the first DATA frame
        if not flipped and seen + len(chunk) > 4000:
            flipped.append(seen)
            at = max(4000 - seen, 0) + 40
            chunk = chunk[:at] + bytes([chunk[at] ^ 0x20]) + chunk[at + 1:]
        return chunk

    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        proxy = bs.Proxy(port, flip)
        stats = bs.send(pki, edge, proxy.listen_port, bs.records(20000))
        proxy.close()
    assert flipped and lst.counts.dropped >= 1 and stats.connections == 2
    assert values(lst) == list(range(1, 20001))  # every record once: the damaged frame was resent, never output


@pytest.mark.parametrize("seed", range(6))
def test_connections_cut_at_random_points_deliver_every_record_once(pki, collector, seed):
    edge = pki.node("edge")
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        proxy = bs.Proxy(port, bs.random_cuts(seed, cuts=5, span=200_000))
        stats = bs.send(pki, edge, proxy.listen_port, bs.records(30000))
        proxy.close()
    assert proxy.cuts == 5 and stats.connections >= 2
    assert values(lst) == list(range(1, 30001))


def _raw_client(pki, node, port):
    from ben_cli.bee.handshake import Credentials

    creds = Credentials.load(node.cert, node.key, pki.bundle)
    sock = socket.create_connection(("127.0.0.1", port))
    wire = Wire(sock)
    _, hs = initiate(wire, creds)
    return sock, wire, hs


def _hello(wire, hs, stream) -> int:
    wire.send(hs.send.encrypt(frames.hello(stream)))
    return frames.parse(hs.receive.decrypt(wire.recv())).number


def test_a_gap_gets_error_and_resent_records_are_dropped(pki, collector):
    edge = pki.node("edge")
    lst = bs.listener(pki, collector)
    stream = os.urandom(16)
    with bs.running(lst) as port:
        sock, wire, hs = _raw_client(pki, edge, port)
        with sock:
            assert _hello(wire, hs, stream) == 0
            wire.send(hs.send.encrypt(frames.data(1, bs.records(5))))
            wire.send(hs.send.encrypt(frames.data(3, bs.records(5, start=3))))  # 3..5 again, then 6, 7
            wire.send(hs.send.encrypt(frames.data(20, bs.records(1, start=20))))
            seen = []
            with pytest.raises(Closed):
                while True:
                    seen.append(frames.parse(hs.receive.decrypt(wire.recv())))
        assert b"records 8 to 19 would be lost" in seen[-1].body
        assert max(f.number for f in seen if f.kind == frames.ACK) == 7
    assert values(lst) == [1, 2, 3, 4, 5, 6, 7] and lst.counts.duplicates == 3


def test_a_hello_for_a_live_stream_closes_the_older_connection(pki, collector):
    edge = pki.node("edge")
    lst = bs.listener(pki, collector)
    stream = os.urandom(16)
    with bs.running(lst) as port:
        old_sock, old_wire, old_hs = _raw_client(pki, edge, port)
        new_sock, new_wire, new_hs = _raw_client(pki, edge, port)
        with old_sock, new_sock:
            assert _hello(old_wire, old_hs, stream) == 0
            old_wire.send(old_hs.send.encrypt(frames.data(1, bs.records(2))))
            assert frames.parse(old_hs.receive.decrypt(old_wire.recv())).number == 2
            assert _hello(new_wire, new_hs, stream) == 2
            with pytest.raises(Closed):
                old_wire.recv()
    assert values(lst) == [1, 2]


def test_marks_survive_a_listener_restart_with_state(tmp_path, pki, collector):
    edge = pki.node("edge")
    state = tmp_path / "bee.state"
    spool = Spool(tmp_path / "spool")
    stream = spool.stream
    spool.close()
    first = bs.listener(pki, collector, state)
    with bs.running(first) as port:
        bs.send(pki, edge, port, bs.records(100), window=Spool(tmp_path / "spool"))
    second = bs.listener(pki, collector, state)
    with bs.running(second) as port:
        sock, wire, hs = _raw_client(pki, edge, port)
        with sock:
            assert _hello(wire, hs, stream) == 100  # the stream's mark came back from the state file
    assert len(first.out.lines()) == 100 and second.out.getvalue() == b""


def test_reloading_the_crl_drops_a_connected_revoked_peer(pki, collector):
    edge, other = pki.node("edge"), pki.node("other")
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        sock, wire, hs = _raw_client(pki, edge, port)
        keep, keep_wire, keep_hs = _raw_client(pki, other, port)
        with sock, keep:
            assert _hello(wire, hs, os.urandom(16)) == 0
            assert _hello(keep_wire, keep_hs, os.urandom(16)) == 0
            pki.revoke(edge.certificate)
            assert lst.reload_crl(pki.crl) == 1
            with pytest.raises(Closed):
                wire.recv()
            keep_wire.send(keep_hs.send.encrypt(frames.data(1, bs.records(1))))
            assert frames.parse(keep_hs.receive.decrypt(keep_wire.recv())).number == 1


def test_records_in_a_lane_the_certificate_does_not_allow_are_rejected(pki, collector):
    edge = pki.node("edge", lanes=("diag",))
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        bs.send(pki, edge, port, bs.records(3) + bs.records(2, start=4, lane="control") + b"not json\n")
    assert values(lst) == [1, 2, 3] and lst.counts.rejected == 3
    assert "lane 'control' is not allowed" in lst.rejects.first[0]


def test_a_silent_connection_is_dropped_after_the_handshake_timeout(pki, collector):
    lst = bs.listener(pki, collector, handshake_timeout=0.3, handshakes_per_source=2)
    with bs.running(lst) as port:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        try:
            assert idle[2].recv(1) == b""  # over the cap of 2 handshakes from one address: closed at once
            for sock in idle[:2]:
                sock.settimeout(10)
                assert sock.recv(1) == b""  # closed by the listener after its handshake timeout
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + 10
        while lst.handshaking and time.monotonic() < deadline:
            time.sleep(0.05)
        edge = pki.node("edge")
        bs.send(pki, edge, port, bs.records(2))  # the cap is free again
    assert lst.counts.refused == 3 and values(lst) == [1, 2]


def test_a_unix_socket_carries_a_stream(tmp_path, pki, collector):
    import threading

    from ben_cli.bee import address
    from ben_cli.bee.sender import Options, Sender
    from ben_cli.bee.window import Window

    edge = pki.node("edge")
    where = address.parse(f"unix:{tmp_path / 'bee.sock'}")
    lst = bs.listener(pki, collector)
    server = where.listen()
    thread = threading.Thread(target=lst.serve, args=(server,), daemon=True)
    thread.start()
    read, write = os.pipe()
    os.write(write, bs.records(500))
    os.close(write)
    try:
        stats = Sender(bs.creds(pki, edge, crl=False), where, read, Window(), Options(give_up=10)).run()
    finally:
        os.close(read)
        lst.stop()
        thread.join(timeout=10)
        server.close()
    assert stats.records == 500 and values(lst) == list(range(1, 501))


def test_a_peer_sending_garbage_frames_loses_its_connection_not_the_listener(pki, collector):
    edge = pki.node("edge")
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        for garbage in (b"\x09junk", b"\x02" + bytes(8) + b"x\n", b""):
            sock, wire, hs = _raw_client(pki, edge, port)
            with sock:
                wire.send(hs.send.encrypt(garbage))
                reply = frames.parse(hs.receive.decrypt(wire.recv()))
                assert reply.kind == frames.ERROR
        bs.send(pki, edge, port, bs.records(3))  # still serving
    assert values(lst) == [1, 2, 3] and lst.counts.dropped == 3


def test_many_senders_at_once_each_stream_once(pki, collector):
    import threading
    from collections import Counter

    nodes = [pki.node(f"edge{i}") for i in range(4)]
    lst = bs.listener(pki, collector)
    with bs.running(lst) as port:
        proxy = bs.Proxy(port, bs.random_cuts(7, cuts=4, span=100_000))
        threads = [threading.Thread(target=bs.send, args=(pki, node, proxy.listen_port, bs.records(8000))) for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        proxy.close()
    by_peer = Counter((json.loads(line)["via"]["peer"], json.loads(line)["value"]) for line in lst.out.lines())
    assert set(by_peer.values()) == {1} and len(by_peer) == 4 * 8000
