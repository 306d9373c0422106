"""Two-host acknowledgements: ``ben bee send --ack`` (what the spool holds, for ingest) and
``ben bee listen --ack-from`` (ACK only what the sink downstream committed)."""

from __future__ import annotations

import os
import threading
import time

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli import acks
from ben_cli.bee import frames
from ben_cli.bee.committed import Committed, stream_input
from ben_cli.bee.framing import Wire
from ben_cli.bee.handshake import initiate
from ben_cli.bee.sender import Sender
from ben_cli.bee.spooled import SpoolAcks
from ben_cli.bee.window import Spool, blocks_of
from tests import bee_support as bs


def line(key: str, at: int) -> bytes:
    return b'{"n":%d,"_ingest":{"format":"lines","in":"%s","line":%d,"at":%d}}\n' % (at, key.encode(), at, at * 10)


@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 8), st.integers(1, 6)), min_size=1, max_size=12))
def test_records_read_again_are_dropped_and_every_position_passes_once(reads):
    """Ingest reads an input from any earlier point again (a rerun after a kill); what the sender
    keeps is every position once, in order per input, whatever the chunks."""
    held = SpoolAcks.__new__(SpoolAcks)
    held.inputs, held.extra, held.dropped, held._pending, held._dirty = {}, {}, 0, {}, False
    held._saved, held._clock = 0.0, lambda: 0.0
    kept: dict[str, list[int]] = {"a": [], "b": []}
    for key, back, count in reads:
        done = held.inputs.get(key, [0, 0])[1]
        start = max(1, done - back + 1)
        data = b"".join(line(key, n) for n in range(start, start + count)) + b'{"no":"mark"}\n'
        out = held.fresh(data)
        held.spooled()
        assert out.endswith(b'{"no":"mark"}\n')  # a line without a position always passes
        for rec in out.splitlines()[:-1]:
            kept[key].append(orjson.loads(rec)["n"])
    for values in kept.values():
        assert values == list(range(1, len(values) + 1))



@pytest.mark.parametrize(("last", "held"), [(line("a", 2)[:-2], [10, 1]), (line("a", 2)[:-1], [20, 2])])
def test_a_last_line_without_its_newline_is_sent_and_held_only_when_whole(tmp_path, last, held):
    """A stage killed mid-line leaves the sender a last line cut short whose ``_ingest`` mark is
    whole: holding its position would make ingest skip a record the collector rejects."""
    spool = Spool(tmp_path / "spool", SpoolAcks(tmp_path / "S", clock=lambda: 0.0))
    r, w = os.pipe()
    os.write(w, line("a", 1) + last)
    os.close(w)
    sender = Sender(None, None, r, spool)  # type: ignore[arg-type] - only stdin is read here
    while not sender.eof:
        sender._read_input()
    os.close(r)
    assert spool.acks is not None and spool.acks.inputs == {"a": held}
    assert sender.stats.records == 2  # the cut line is sent too: the collector names it in its rejects
    spool.close()

def _crash(spool: Spool) -> None:
    """What SIGKILL leaves: the files as they are, the locks released, nothing saved."""
    spool._fh.close()
    spool._lock.__exit__(None, None, None)
    assert spool.acks is not None
    spool.acks._lock.close()


def test_a_spool_killed_before_it_saved_its_acks_learns_them_again(tmp_path):
    state = tmp_path / "S"
    spool = Spool(tmp_path / "spool", SpoolAcks(state, clock=lambda: 0.0))  # the throttle never saves
    data = spool.fresh(b"".join(line("a", n) for n in range(1, 6)))
    spool.append(blocks_of(data, 60000)[0])
    assert spool.acks is not None and spool.acks.inputs == {"a": [50, 5]}
    assert acks.load(acks.ack_path(state))[0] == {}  # S.ack lags the spool...
    _crash(spool)
    again = Spool(tmp_path / "spool", SpoolAcks(state))
    assert acks.load(acks.ack_path(state))[0] == {"a": [50, 5]}  # ...until the spool is opened again
    reread = again.fresh(b"".join(line("a", n) for n in range(3, 8)))  # ingest rereads from record 3
    assert [orjson.loads(x)["n"] for x in reread.splitlines()] == [6, 7]
    assert again.acks is not None and again.acks.dropped == 3
    again.append(blocks_of(reread, 60000)[0])
    assert again.last == 7  # five from the first run, two new: each record one number
    again.close()
    assert acks.load(acks.ack_path(state))[0] == {"a": [70, 7]}


def test_the_acks_are_saved_before_the_spool_forgets_acknowledged_records(tmp_path):
    state = tmp_path / "S"
    spool = Spool(tmp_path / "spool", SpoolAcks(state, clock=lambda: 0.0))
    spool.append(blocks_of(spool.fresh(line("a", 1) + line("a", 2)), 60000)[0])
    spool.ack(2)
    spool.compact()
    assert list((tmp_path / "spool").glob("records-*")) == [tmp_path / "spool" / "records-3"]
    assert acks.load(acks.ack_path(state))[0] == {"a": [20, 2]}
    spool.close()


def test_the_committed_file_is_reread_only_when_it_changes(tmp_path):
    clock = [0.0]
    committed = Committed(tmp_path / "L", poll=0.05, clock=lambda: clock[0])
    assert committed.get("bee.x") == 0  # no file yet: nothing committed
    acks.save(acks.ack_path(tmp_path / "L"), {"bee.x": [4, 4]})
    assert committed.get("bee.x") == 0  # looked less than a poll ago
    clock[0] += 0.05
    assert committed.get("bee.x") == 4
    acks.save(acks.ack_path(tmp_path / "L"), {"bee.x": [2, 2]})  # never backwards
    clock[0] += 0.05
    assert committed.get("bee.x") == 4
    assert stream_input(b"k" * 32, b"s" * 16) != stream_input(b"K" * 32, b"s" * 16)


def _committed_listener(pki, collector, state):
    lst = bs.listener(pki, collector, policy="lanes")
    lst.committed = Committed(state, poll=0.01)
    return lst


def test_the_listener_acknowledges_only_what_the_sink_committed(tmp_path):
    pki = bs.Pki(tmp_path / "pki")
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    state = tmp_path / "L"
    lst = _committed_listener(pki, collector, state)
    data = bs.records(4) + b'{"lane":"control","name":"no"}\n'  # the last one is rejected: never reaches the sink
    with bs.running(lst) as port:
        done: list = []
        thread = threading.Thread(target=lambda: done.append(bs.send(pki, edge, port, data)), daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while len(lst.out.lines()) < 4 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        out = [orjson.loads(x) for x in lst.out.lines()]  # type: ignore[attr-defined]
        assert [r["_ingest"]["at"] for r in out] == [1, 2, 3, 4] and {r["_ingest"]["format"] for r in out} == {"bee"}
        where = out[0]["_ingest"]["in"]
        time.sleep(0.2)
        assert not done  # written is not acknowledged: the sender still waits
        acks.save(acks.ack_path(state), {where: [3, 3]})
        time.sleep(0.2)
        assert not done  # record 4 is not committed yet
        acks.save(acks.ack_path(state), {where: [4, 4]})  # 5 was rejected: settled without the sink
        thread.join(timeout=20)
        assert done and done[0].records == 5


def test_a_restarted_listener_asks_again_for_what_the_sink_did_not_commit(tmp_path):
    pki = bs.Pki(tmp_path / "pki")
    collector, edge = pki.node("collector", ("server",)), pki.node("edge")
    state, stream = tmp_path / "L", os.urandom(16)
    acks.save(acks.ack_path(state), {stream_input(edge.identity.recipient.key, stream): [7, 7]})
    with bs.running(_committed_listener(pki, collector, state)) as port:
        import socket

        with socket.create_connection(("127.0.0.1", port)) as sock:
            wire = Wire(sock)
            _, hs = initiate(wire, bs.creds(pki, edge, crl=False))
            wire.send(hs.send.encrypt(frames.hello(stream)))
            answer = frames.parse(hs.receive.decrypt(wire.recv()))
    assert (answer.kind, answer.number) == (frames.ACK, 7)
