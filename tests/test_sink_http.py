"""The HTTP client against the real server: bound values come back as given, errors carry the
server's code, message and the row it names, and a batch with a bad line posted over HTTP
rejects just that line."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.sink.convert import Converters
from ben_cli.sink.http import HttpClient, ServerError, parse_error, quote
from ben_cli.sink.rows import LEGACY
from ben_cli.sink.spool import Spool


@pytest.fixture(scope="module")
def http(clickhouse):
    client = HttpClient(clickhouse.host, clickhouse.http_port, "default")
    yield client
    client.disconnect()


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
       st.integers(-(2**63), 2**63 - 1))
def test_bound_values_come_back_as_given(http, text, number):
    assert http.execute("SELECT %(s)s, %(n)s", {"s": text, "n": number}) == [(text, number)]


def test_only_strings_and_integers_are_bound():
    for value in (1.5, None, True, b"x"):
        with pytest.raises(TypeError):
            quote(value)


def test_server_errors_carry_code_message_and_row(http):
    with pytest.raises(ServerError) as caught:
        http.execute("SELECT * FROM default.no_such_table")
    assert caught.value.code == 60 and "no_such_table" in caught.value.message and caught.value.row is None
    http.post(None, b"CREATE TABLE IF NOT EXISTS default.http_probe (n UInt8) ENGINE = Memory")
    try:
        with pytest.raises(ServerError) as caught:
            http.insert("default.http_probe", b'{"n":1}\n{"n":2}\n{"n":"x"}\n')
        assert caught.value.code == 27 and caught.value.row == 3
        http.insert("default.http_probe", b'{"n":1}\n{"n":2}\n')  # the connection is usable again
        assert http.execute("SELECT count() FROM default.http_probe") == [(2,)]
    finally:
        http.post(None, b"DROP TABLE default.http_probe")


@pytest.mark.parametrize("body, code, message", [
    (b"Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, "
     b"e.what() = DB::Exception\n", 395, "Value passed to 'throwIf' function is non zero"),
    (b"Code: 60. DB::Exception: Table x.y does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)\n", 60,
     "Table x.y does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)"),
])
def test_both_spellings_of_server_errors_are_read(body, code, message):
    err = parse_error(500, body)
    assert (err.code, err.message) == (code, message)


def test_an_answer_without_a_code_keeps_the_status():
    err = parse_error(502, b"<html>Bad Gateway</html>")
    assert err.code is None and err.status == 502 and "Bad Gateway" in err.message


def test_conversion_workers_do_not_hold_the_spool_lock(tmp_path):
    """A worker still finishing a chunk after its sink was killed must not keep the next run out."""
    spool = Spool(tmp_path / "spool")
    spool.lock()
    lock = str(spool.folder / ".lock")
    converters = Converters(LEGACY, spool.folder, 2, close=(spool.lock_fd,))
    try:
        converters.pool.map(abs, range(8))  # the workers are up
        workers = multiprocessing.active_children()
        assert len(workers) == 2

        def open_files(pid: int) -> list[str]:
            folder, names = f"/proc/{pid}/fd", []
            for fd in os.listdir(folder):
                try:
                    names.append(os.readlink(f"{folder}/{fd}"))
                except FileNotFoundError:  # closed meanwhile (the listing itself, the pool's pipes)
                    continue
            return names
        deadline = time.monotonic() + 10
        while any(lock in open_files(w.pid) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)  # a worker runs its initializer before its first task, but not all took one
        assert [w.pid for w in workers if lock in open_files(w.pid)] == []
        assert lock in open_files(os.getpid())  # the sink itself keeps it
    finally:
        converters.close()
        spool.unlock()
