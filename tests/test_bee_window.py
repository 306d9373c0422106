"""The sender's window and spool, and the address grammar: properties and crash cases."""

from __future__ import annotations

import json
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.bee import address
from ben_cli.bee.window import Spool, Window, blocks_of
from ben_cli.errors import Busy, UsageError

line = st.binary(max_size=40).filter(lambda b: b"\n" not in b)


@given(st.lists(line, max_size=60), st.integers(min_value=8, max_value=200))
def test_blocks_keep_every_non_empty_line_in_order_within_the_limit(lines, limit):
    data = b"".join(each + b"\n" for each in lines)
    blocks, too_long = blocks_of(data, limit)
    kept = [each for each in lines if each and len(each) + 1 <= limit]
    assert b"".join(block for block, _ in blocks).split(b"\n")[:-1] == kept
    assert all(len(block) <= limit and block.count(b"\n") == n and n > 0 for block, n in blocks)
    assert too_long == sum(1 for each in lines if len(each) + 1 > limit)


@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=20), st.data())
def test_a_window_resends_exactly_what_is_not_acknowledged(sizes, data):
    window = Window()
    number = 0
    for size in sizes:
        window.append([(b"".join(b"%d\n" % (number + i + 1) for i in range(size)), size)])
        number += size
    acked = data.draw(st.integers(min_value=0, max_value=number))
    window.ack(acked)
    start = data.draw(st.integers(min_value=acked + 1, max_value=number + 1))
    got = b"".join(lines for _, _, lines in window.since(start, 10_000)).split(b"\n")[:-1]
    assert got == [b"%d" % i for i in range(start, number + 1)]
    assert window.pending == number - acked and window.last == number


def test_a_spool_survives_a_kill_and_a_torn_line(tmp_path):
    spool = Spool(tmp_path)
    spool.append([(b'{"a":1}\n{"a":2}\n', 2)])
    spool.ack(1)
    stream = spool.stream
    spool._fh.write(b'{"a":3')  # a kill in the middle of an append: never fsynced, never sent
    spool._fh.flush()
    spool._lock.__exit__(None, None, None)
    again = Spool(tmp_path)
    assert again.stream == stream and again.last == 2 and again.resumed == 2  # acks are the listener's to say
    again.ack(2)
    again.close()
    third = Spool(tmp_path)
    state = json.loads((tmp_path / "state.json").read_text())
    assert third.last == 2 and third.pending == 0 and state["base"] == 3
    assert sorted(p.name for p in tmp_path.glob("records-*")) == ["records-3"]
    third.close()


def test_one_spool_one_sender(tmp_path):
    first = Spool(tmp_path)
    with pytest.raises(Busy):
        Spool(tmp_path)
    first.close()


@pytest.mark.parametrize("text, family, target", [
    (":7400", socket.AF_INET, ("127.0.0.1", 7400)), ("7400", socket.AF_INET, ("127.0.0.1", 7400)),
    ("0.0.0.0:7400", socket.AF_INET, ("0.0.0.0", 7400)), ("[::1]:7400", socket.AF_INET6, ("::1", 7400)),
    ("unix:/run/bee.sock", socket.AF_UNIX, "/run/bee.sock"), ("./bee.sock", socket.AF_UNIX, "./bee.sock"),
])
def test_addresses(text, family, target):
    parsed = address.parse(text)
    assert (parsed.family, parsed.target) == (family, target)
    assert address.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["collector:port", "host:99999", "unix:", ""])
def test_bad_addresses_say_what_a_good_one_is(text):
    with pytest.raises(UsageError):
        address.parse(text)
