"""ben bee's Noise XX against the spec's test vectors and an independent implementation.

The independent peer is the ``noiseprotocol`` package (a test dependency only): it completes the
handshake and a whole stream with ben's listener and with ben's sender, and agrees with ben's
rekey rule at the protocol's own boundary (nonce 2^20 - 1).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from noise.connection import Keypair, NoiseConnection

from ben_cli.bee import frames
from ben_cli.bee.framing import Closed, Wire, encode
from ben_cli.bee.handshake import PROLOGUE
from ben_cli.bee.noise import REKEY_EVERY, CipherState, Handshake, HandshakeFailed
from ben_cli.crypto import primitives as p
from tests import bee_support as bs

VECTORS = Path(__file__).parent / "vectors" / "noise" / "cacophony_xx_25519_chachapoly_blake2b.json"
NAME = b"Noise_XX_25519_ChaChaPoly_BLAKE2b"


def test_cacophony_vector_byte_for_byte():
    (vector,) = json.loads(VECTORS.read_text())
    h = bytes.fromhex
    ini = Handshake(True, h(vector["init_static"]), h(vector["init_prologue"]), ephemeral=h(vector["init_ephemeral"]))
    res = Handshake(False, h(vector["resp_static"]), h(vector["resp_prologue"]), ephemeral=h(vector["resp_ephemeral"]))
    for k, message in enumerate(vector["messages"]):
        payload, expected = h(message["payload"]), h(message["ciphertext"])
        a, b = (ini, res) if k % 2 == 0 else (res, ini)
        if k < 3:
            assert a.write_message(payload) == expected
            assert b.read_message(expected) == payload
        else:
            assert a.send.encrypt(payload) == expected
            assert b.receive.decrypt(expected) == payload
    assert ini.handshake_hash.hex() == vector["handshake_hash"] == res.handshake_hash.hex()
    assert ini.remote_static == p.x25519_keypair(h(vector["resp_static"]))[1]


def _independent(initiator: bool, secret: bytes) -> NoiseConnection:
    peer = NoiseConnection.from_name(NAME)
    peer.set_as_initiator() if initiator else peer.set_as_responder()
    peer.set_keypair_from_private_bytes(Keypair.STATIC, secret)
    peer.set_prologue(PROLOGUE)
    peer.start_handshake()
    return peer


def test_handshake_and_transport_with_noiseprotocol_both_ways():
    for ben_initiates in (True, False):
        mine = Handshake(ben_initiates, os.urandom(32), PROLOGUE)
        other = _independent(not ben_initiates, os.urandom(32))
        for step in range(3):
            if (step % 2 == 0) == ben_initiates:
                assert other.read_message(mine.write_message(b"m%d" % step)) == b"m%d" % step
            else:
                assert mine.read_message(other.write_message(b"o%d" % step)) == b"o%d" % step
        assert mine.complete and other.handshake_finished
        assert mine.handshake_hash == other.get_handshake_hash()
        for i in range(5):
            assert other.decrypt(mine.send.encrypt(b"to other %d" % i)) == b"to other %d" % i
            assert mine.receive.decrypt(other.encrypt(b"to ben %d" % i)) == b"to ben %d" % i


def test_rekey_at_the_protocol_boundary_matches_noiseprotocol():
    """After the message with nonce n where (n+1) mod 2^20 = 0 both sides rekey; n goes on."""
    mine = Handshake(True, os.urandom(32), PROLOGUE)
    other = _independent(False, os.urandom(32))
    other.read_message(mine.write_message())
    mine.read_message(other.write_message())
    other.read_message(mine.write_message())
    start = REKEY_EVERY - 3
    mine.send.n = start
    other.noise_protocol.cipher_state_decrypt.n = start
    for i in range(8):
        n = start + i
        message = mine.send.encrypt(b"frame %d" % n)
        assert other.decrypt(message) == b"frame %d" % n
        if (n + 1) % REKEY_EVERY == 0:
            other.rekey_inbound_cipher()
    assert mine.send.n == start + 8
    # without the rekey, the next message would not open on a peer that did rekey
    stale = CipherState(mine.send.key, rekey_every=1 << 62)
    stale.n = mine.send.n
    other.decrypt(stale.encrypt(b"still the same key"))


def test_rekey_changes_the_key_every_interval():
    a, b = CipherState(b"k" * 32, rekey_every=4), CipherState(b"k" * 32, rekey_every=4)
    keys = []
    for i in range(12):
        assert b.decrypt(a.encrypt(b"%d" % i)) == b"%d" % i
        keys.append(a.key)
    # keys after messages 0..11: rekeyed after nonces 3, 7 and 11
    assert len(set(keys)) == 4 and keys[0] == keys[2] != keys[3] == keys[6] != keys[7] == keys[10] != keys[11]


def test_a_flipped_byte_is_refused_and_the_nonce_does_not_move():
    a, b = CipherState(b"k" * 32), CipherState(b"k" * 32)
    message = bytearray(a.encrypt(b'{"a":1}\n'))
    message[3] ^= 1
    with pytest.raises(p.DecryptionFailed):
        b.decrypt(bytes(message))
    assert b.n == 0


def test_a_low_order_ephemeral_fails_the_handshake():
    responder = Handshake(False, os.urandom(32), PROLOGUE)
    responder.read_message(bytes(32))  # the all-zero point as the initiator's e
    with pytest.raises(HandshakeFailed, match="low-order"):
        responder.write_message(b"")


def test_messages_out_of_turn_are_refused():
    with pytest.raises(HandshakeFailed, match="out of turn"):
        Handshake(False, os.urandom(32), PROLOGUE).write_message()
    with pytest.raises(HandshakeFailed, match="too short"):
        Handshake(False, os.urandom(32), PROLOGUE).read_message(b"short")


# --- framing and frames ----------------------------------------------------------------------


@given(st.lists(st.binary(max_size=3000), max_size=20), st.integers(min_value=1, max_value=700))
def test_framing_reassembles_messages_cut_anywhere(messages, chunk):
    left, right = socket.socketpair()
    with left, right:
        stream = b"".join(encode(m) for m in messages)
        writer = threading.Thread(target=lambda: [left.sendall(stream[i:i + chunk]) for i in range(0, len(stream), chunk)])
        writer.start()
        wire = Wire(right)
        assert [wire.recv() for _ in messages] == messages
        writer.join()
        left.shutdown(socket.SHUT_WR)
        with pytest.raises(Closed):
            wire.recv()


def test_a_connection_ending_mid_message_is_closed_partial():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"\x00\x10abc")
        left.shutdown(socket.SHUT_WR)
        with pytest.raises(Closed) as ended:
            Wire(right).recv()
        assert ended.value.partial


@given(st.binary(min_size=16, max_size=16), st.integers(min_value=1, max_value=2**64 - 1),
       st.lists(st.binary(min_size=1, max_size=50).filter(lambda b: b"\n" not in b), min_size=1, max_size=5),
       st.text(max_size=40))
def test_frames_round_trip(stream, number, lines, reason):
    assert frames.parse(frames.hello(stream)) == frames.Frame(frames.HELLO, 0, stream)
    body = b"\n".join(lines) + b"\n"
    assert frames.parse(frames.data(number, body)) == frames.Frame(frames.DATA, number, body)
    assert frames.parse(frames.ack(number - 1)).number == number - 1
    assert frames.parse(frames.close(number)).kind == frames.CLOSE
    assert frames.parse(frames.error(reason)).body.decode() == reason


@pytest.mark.parametrize("raw, says", [
    (b"", "empty"), (b"\x01abc", "16-byte"), (b"\x03\x00", "8-byte"), (b"\x02" + bytes(8) + b"x\n", "numbered from 1"),
    (b"\x02" + (1).to_bytes(8, "big") + b"no newline", "newline"), (b"\x09", "unknown frame type 0x09"),
])
def test_bad_frames_say_what_is_wrong(raw, says):
    with pytest.raises(frames.BadFrame, match=says):
        frames.parse(raw)


# --- the whole wire with noiseprotocol as the peer ---------------------------------------------


def test_noiseprotocol_as_sender_streams_to_ben_listener(tmp_path):
    pki = bs.Pki(tmp_path)
    server, client = pki.node("collector", ("server",)), pki.node("edge")
    lst = bs.listener(pki, server)
    with bs.running(lst) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        peer = _independent(True, client.identity.secret)
        wire = Wire(sock)
        wire.send(peer.write_message(b""))
        assert bytes(peer.read_message(wire.recv())) == server.cert.read_bytes()
        assert peer.noise_protocol.handshake_state.rs.public_bytes == server.certificate.noise_pub
        wire.send(peer.write_message(client.cert.read_bytes()))
        stream = os.urandom(16)
        wire.send(peer.encrypt(frames.hello(stream)))
        assert frames.parse(peer.decrypt(wire.recv())) == frames.Frame(frames.ACK, 0)
        wire.send(peer.encrypt(frames.data(1, bs.records(3))))
        wire.send(peer.encrypt(frames.close(3)))
        acks = []  # one ACK per DATA frame or coalesced, then the one for CLOSE; then the listener closes
        with pytest.raises(Closed):
            while True:
                acks.append(frames.parse(peer.decrypt(wire.recv())))
        assert acks[-1] == frames.Frame(frames.ACK, 3) and all(a.kind == frames.ACK for a in acks)
    out = lst.out.getvalue().splitlines()
    via = json.loads(out[0])["via"]
    assert len(out) == 3 and via == {"peer": "edge", "cert": p.blake2b(client.certificate.body, 32).hex()}


def test_ben_sender_streams_to_noiseprotocol_listener(tmp_path):
    pki = bs.Pki(tmp_path)
    server, client = pki.node("collector", ("server",)), pki.node("edge")
    got: list[bytes] = []
    listening = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        sock, _ = listening.accept()
        with sock:
            wire = Wire(sock)
            peer = _independent(False, server.identity.secret)
            peer.read_message(wire.recv())
            wire.send(peer.write_message(server.cert.read_bytes()))
            assert bytes(peer.read_message(wire.recv())) == client.cert.read_bytes()
            hello = frames.parse(peer.decrypt(wire.recv()))
            assert hello.kind == frames.HELLO
            wire.send(peer.encrypt(frames.ack(0)))
            while True:
                frame = frames.parse(peer.decrypt(wire.recv()))
                if frame.kind == frames.DATA:
                    got.extend(frame.body.splitlines())
                    wire.send(peer.encrypt(frames.ack(frame.number + frame.body.count(b"\n") - 1)))
                else:
                    assert frame == frames.Frame(frames.CLOSE, len(got))
                    wire.send(peer.encrypt(frames.ack(len(got))))
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    stats = bs.send(pki, client, listening.getsockname()[1], bs.records(5000))
    thread.join(timeout=10)
    listening.close()
    assert got == bs.records(5000).splitlines() and stats.records == 5000 and stats.connections == 1
