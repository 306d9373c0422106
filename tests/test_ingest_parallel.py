"""Decoding a big file with several processes writes exactly what one process writes: the same
records in the same order with the same line numbers, the same rejects in the same order, and
under --strict the same output before the same fatal line."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ben_cli import ingest
from ben_cli.ingest import DecodeOptions, IngestOptions, files, parallel
from ben_cli.ndjson import BadRecord, Writer
from ben_cli.rejects import Rejects

FIXED = 1_795_600_000_123_000_000


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few KiB so a small file is cut into many."""
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(files, "PARALLEL_MIN_BYTES", 1)


def _mixed_lines(fmt: str, n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.03:
            out.append(b"")  # blank lines are skipped but counted in line numbers
        elif roll < 0.06:
            out.append(b"{broken" if fmt == "ndjson" else b"\xff\xfe bad utf-8 =")
        elif fmt == "ndjson":
            out.append(b'{"ts":"2026-11-25T10:00:%02d.%03dZ","msg":"m%d","n":%d}' % (i % 60, i % 1000, i, i))
        elif fmt == "logfmt":
            out.append(b'ts=2026-11-25T10:00:%02dZ level=info msg="line %d" n=%d' % (i % 60, i, i))
        else:
            out.append(b"<13>1 2026-11-25T10:00:%02dZ h app - - - line %d" % (i % 60, i))
    if rng.random() < 0.5:
        out.append(b'{"last":"no newline"}' if fmt == "ndjson" else b"last=1")
        return b"\n".join(out)
    return b"\n".join(out) + b"\n"


def _run(path: str, fmt: str, jobs: int, tmp_path, strict: bool = False, prefix: bytes = b""):
    """Output goes to a real file, as workers write to the output's file descriptor themselves;
    ``prefix`` is a record the writer holds, unflushed, when the parallel part starts."""
    out_path = tmp_path / f"out-{jobs}-{strict}.ndjson"
    out = open(out_path, "wb")  # noqa: SIM115 - closed below
    writer = Writer(out, line_buffered=False)
    if prefix:
        writer.write_line(prefix)
    rej_path = tmp_path / f"rejects-{jobs}-{strict}.ndjson"
    rej_path.unlink(missing_ok=True)
    error = None
    with Rejects(rej_path, stage="ingest", strict=strict) as bad:
        try:
            summary = ingest.run([path], writer, bad, IngestOptions(format=fmt, jobs=jobs,
                                                                    decode=DecodeOptions(clock=lambda: FIXED)))
            counts = (summary.read, summary.written, summary.rejected)
        except BadRecord as exc:
            error, counts = str(exc), None
    writer.flush()
    out.close()
    return out_path.read_bytes(), rej_path.read_bytes() if rej_path.exists() else b"", counts, error


@pytest.mark.parametrize("fmt", ["ndjson", "logfmt", "syslog"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parallel_output_is_byte_identical(tmp_path, small_blocks, fmt, seed):
    path = tmp_path / f"in.{fmt}"
    path.write_bytes(_mixed_lines(fmt, 3000, seed))
    serial = _run(str(path), fmt, 1, tmp_path)
    par = _run(str(path), fmt, 3, tmp_path)
    assert serial[0].count(b"\n") > 2000 and serial[1]  # records and rejects both present
    assert par == serial


@pytest.mark.parametrize("seed", [4, 5])
def test_parallel_strict_stops_at_the_same_line(tmp_path, small_blocks, seed):
    path = tmp_path / "in.ndjson"
    path.write_bytes(_mixed_lines("ndjson", 3000, seed))
    serial = _run(str(path), "ndjson", 1, tmp_path, strict=True)
    par = _run(str(path), "ndjson", 2, tmp_path, strict=True)
    assert serial[3] is not None and serial[3].startswith(f"{path}:")
    assert par == serial


def test_blocks_end_at_newlines_and_count_lines(tmp_path):
    data = b"".join(b"x" * random.Random(i).randrange(0, 9000) + b"\n" for i in range(300)) + b"tail"
    path = tmp_path / "blocks"
    path.write_bytes(data)
    import os

    with open(path, "rb") as fh:
        blocks = list(parallel._blocks(fh.fileno(), os.path.getsize(path)))
    assert blocks[0][0] == 0 and blocks[-1][1] == len(data)
    for (s1, e1, n1), (s2, _, n2) in zip(blocks, blocks[1:], strict=False):
        assert e1 == s2 and data[e1 - 1:e1] == b"\n" and n2 - n1 == data[s1:e1].count(b"\n")


def test_parallel_output_follows_what_the_writer_held_and_counts(tmp_path, small_blocks):
    path = tmp_path / "in.ndjson"
    path.write_bytes(_mixed_lines("ndjson", 2000, 6))
    serial = _run(str(path), "ndjson", 1, tmp_path, prefix=b'{"first":1}\n')
    par = _run(str(path), "ndjson", 2, tmp_path, prefix=b'{"first":1}\n')
    assert par[0].startswith(b'{"first":1}\n') and par == serial
    assert par[2][1] == par[0].count(b"\n")  # every line written is counted, the held one too


def test_in_memory_output_is_decoded_serially(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "decode_file", lambda *a, **k: calls.append(a) or (0, 0))
    monkeypatch.setattr(files, "PARALLEL_MIN_BYTES", 1)
    path = tmp_path / "in.ndjson"
    path.write_bytes(_mixed_lines("ndjson", 200, 7))
    buf = io.BytesIO()
    with Rejects(None, stage="ingest") as bad:
        summary = ingest.run([str(path)], Writer(buf, line_buffered=False), bad, IngestOptions(format="ndjson", jobs=4))
    assert calls == [] and summary.written == buf.getvalue().count(b"\n") > 150


def test_small_or_stdin_or_stateful_inputs_stay_serial(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "decode_file", lambda *a, **k: calls.append(a) or (0, 0))
    monkeypatch.setattr(files, "PARALLEL_MIN_BYTES", 1)
    csv_path = tmp_path / "x.csv"
    csv_path.write_bytes(b'a,b\n1,2\n3,"4"\n')
    _run(str(csv_path), "csv", 4, tmp_path)
    prom_path = tmp_path / "x.prom"
    prom_path.write_bytes(b"# TYPE m counter\nm 1\n")
    _run(str(prom_path), "prom", 4, tmp_path)
    assert calls == []  # a quote may open a cell that spans lines; prom lines depend on # TYPE
    csv_path.write_bytes(b"a,b\n1,2\n3,4\n")
    _run(str(csv_path), "csv", 4, tmp_path)
    assert len(calls) == 1  # without quotes a CSV row needs only its header


def _csv_lines(n: int, seed: int, sep: bytes) -> bytes:
    """Rows of every kind but quoted ones: blank lines, bad UTF-8, wrong cell counts, stray CRs."""
    rng = random.Random(seed)
    out = [b""] * rng.randrange(3) + [sep.join([b"ts", b"level", b"msg", b"n"])]
    for i in range(n):
        roll = rng.random()
        if roll < 0.03:
            out.append(b"")
        elif roll < 0.05:
            out.append(b"\xff\xfe" + sep + b"x" + sep + b"y" + sep + b"1")
        elif roll < 0.07:
            out.append(sep.join([b"2026-11-25T10:00:00Z", b"info"]))
        elif roll < 0.08:
            out.append(sep.join([b"2026-11-25T10:00:00Z", b"info", b"a\rb", b"1"]))
        else:
            out.append(sep.join([b"2026-11-25T10:00:%02d.%03dZ" % (i % 60, i % 1000), b"warn", b"line %d" % i,
                                 str(i).encode()]))
    return b"\n".join(out) + (b"\n" if seed % 2 else b"")


@pytest.mark.parametrize("fmt, sep", [("csv", b","), ("tsv", b"\t")])
@pytest.mark.parametrize("seed", [1, 2])
def test_parallel_csv_carries_its_header_into_every_block(tmp_path, small_blocks, fmt, sep, seed):
    path = tmp_path / f"in.{fmt}"
    path.write_bytes(_csv_lines(3000, seed, sep))
    serial = _run(str(path), fmt, 1, tmp_path)
    par = _run(str(path), fmt, 3, tmp_path)
    assert serial[0].count(b"\n") > 2000 and serial[1]
    assert par == serial
    strict = _run(str(path), fmt, 1, tmp_path, strict=True), _run(str(path), fmt, 2, tmp_path, strict=True)
    assert strict[0][3] is not None and strict[1] == strict[0]


def test_parallel_csv_with_an_unusable_header_rejects_every_row_alike(tmp_path, small_blocks):
    path = tmp_path / "in.csv"
    path.write_bytes(b"a,a\n" + b"".join(b"%d,x\n" % i for i in range(2000)))
    serial = _run(str(path), "csv", 1, tmp_path)
    par = _run(str(path), "csv", 3, tmp_path)
    assert serial[2] == (2001, 0, 2001) and par == serial


def test_a_line_over_the_limit_is_rejected_alike_and_never_read_whole(tmp_path, small_blocks, monkeypatch):
    """Issue 13 item 14: the block workers read through the one reader's bounded line loop, so a
    line over --max-line-bytes is rejected from its start (its full size named) and skipped in
    chunks; the parent finds a long line's end a block at a time. Every pread, the forked
    workers' included, is logged to a file: none may hold the long line whole."""
    import os

    lines = [b'{"n":%d}' % i for i in range(400)]
    lines[50] = b'{"long":"' + b"x" * 200_000 + b'"}'  # fifty blocks long, over the 10 KiB limit below
    lines[300] = b'{"long":"' + b"y" * 9_000 + b'"}'  # over a block, under the limit
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    log = tmp_path / "preads"
    real = os.pread

    def logged(fd, n, off):
        with open(log, "a") as fh:
            fh.write(f"{n}\n")
        return real(fd, n, off)

    def run(jobs):
        out_path = tmp_path / f"out-{jobs}.ndjson"
        rej_path = tmp_path / f"rej-{jobs}.ndjson"
        with open(out_path, "wb") as out, Rejects(rej_path, stage="ingest") as bad:
            writer = Writer(out, line_buffered=False)
            ingest.run([str(path)], writer, bad, IngestOptions(format="ndjson", jobs=jobs, max_line_bytes=10_240,
                                                              decode=DecodeOptions(clock=lambda: FIXED)))
            writer.flush()
        return out_path.read_bytes(), rej_path.read_bytes()

    serial = run(1)
    monkeypatch.setattr(os, "pread", logged)
    par = run(3)
    assert par == serial
    (reject,) = [__import__("orjson").loads(line) for line in par[1].splitlines()]
    assert reject["line"] == 51 and "200011 bytes" in reject["reason"] and len(reject["raw"]) <= 10_242
    assert 0 < max(int(n) for n in log.read_text().split()) <= 1 << 16


@pytest.mark.parametrize("fmt", ["ndjson", "logfmt", "syslog"])
def test_redirected_stdin_is_decoded_by_the_workers_too_and_writes_what_one_process_writes(tmp_path, small_blocks, monkeypatch,
                                                                               fmt):
    """Issue 15 item 6: stdin redirected from a big file is cut into blocks by the parent and
    decoded by the workers, in order; a line over the limit is sent as its start and the count of
    the bytes after it. (Pipes: the tests below.)"""

    data = _mixed_lines(fmt, 3000, 7)
    data = data.replace(b"\n", b"\n" + b"z" * 30_000 + b"\r\n", 1)  # one line over the limit below, CRLF
    path = tmp_path / "piped"
    path.write_bytes(data)
    forks = []
    real_decode_stream = parallel.decode_stream
    monkeypatch.setattr(parallel, "decode_stream", lambda *a, **k: forks.append(1) or real_decode_stream(*a, **k))

    def run(jobs):
        with open(path, "rb") as piped:
            return _ingest_stdin(monkeypatch, tmp_path, piped, fmt, jobs, limit=10_240)[1]

    serial, par = run(1), run(3)
    assert forks == [1] and par == serial
    assert b"30000 bytes, over the 10240-byte limit" in par[1]


# Issue 15 item 6, pipes: stdin that is a pipe is read by one process while the producer is slower,
# and cut into blocks for the workers while it keeps the reader busy (parallel.Pipe).

@pytest.fixture
def small_pipe(monkeypatch, small_blocks):
    """Pipe reads of 256 bytes and a switch to the workers after 1 KiB found waiting, so a few KiB
    of input goes back and forth; a pipe dry for 20 ms sends the workers away."""
    monkeypatch.setattr(parallel, "PIPE_READ", 256)
    monkeypatch.setattr(parallel, "PIPE_BUSY_BYTES", 1024)
    monkeypatch.setattr(parallel, "PIPE_IDLE_MS", 20)
    switches = []
    real = parallel.decode_stream
    monkeypatch.setattr(parallel, "decode_stream", lambda *a, **k: switches.append(k.get("lineno")) or real(*a, **k))
    return switches


def _ingest_stdin(monkeypatch, tmp_path, stdin, fmt: str, jobs: int, line_buffered: bool = False,
                  name: str = "out", limit: int = 300):
    """``ben ingest`` of stdin (an open binary file: a pipe's end or a regular file) into files."""
    import sys

    out_path, rej_path = tmp_path / f"{name}-{jobs}", tmp_path / f"{name}-rej-{jobs}"
    rej_path.unlink(missing_ok=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))
    with open(out_path, "wb") as out, Rejects(rej_path, stage="ingest") as bad:
        writer = Writer(out, line_buffered=line_buffered)
        summary = ingest.run(["-"], writer, bad, IngestOptions(format=fmt, jobs=jobs, max_line_bytes=limit,
                                                               decode=DecodeOptions(clock=lambda: FIXED)))
        writer.flush()
    return out_path, (out_path.read_bytes(), rej_path.read_bytes() if rej_path.exists() else b"",
                      (summary.read, summary.written, summary.rejected))


def _producer(parts: list[bytes], pause: float = 0.0):
    """A process writing ``parts`` into a new pipe, ``pause`` seconds apart, then closing it;
    returns the pipe's read end (a binary file) and the process. A process, not a thread: the
    pool's workers are forked from this one, and a write end held here would be inherited by them,
    so the end of the input would never come while they live."""
    import pickle
    import subprocess
    import sys

    script = ("import os, pickle, sys, time\n"
              "parts, pause = pickle.load(sys.stdin.buffer)\n"
              "for i, part in enumerate(parts):\n"
              "    if i: time.sleep(pause)\n"
              "    sys.stdout.buffer.write(part); sys.stdout.buffer.flush()\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    proc.stdin.write(pickle.dumps((parts, pause)))
    proc.stdin.close()
    proc.join = proc.wait  # the callers join it like a thread
    return proc.stdout, proc


_LINE = st.one_of(
    st.sampled_from([b"", b"  ", b"{broken", b"\xff\xfe bad =", b'{"a":[1,2]}', b"[1]"]),
    st.builds(lambda i, s: b'{"ts":"2026-11-25T10:00:%02dZ","msg":"m %d","s":"%s"}' % (i % 60, i, s.encode()),
              st.integers(0, 10**6), st.text("abc xyz=\u00e9", max_size=20)),
    st.builds(lambda i: b'ts=2026-11-25T10:00:%02dZ level=info msg="line %d" n=%d' % (i % 60, i, i),
              st.integers(0, 10**6)),
    st.builds(lambda n, c: c * n, st.integers(250, 1200), st.sampled_from([b"x", b"{", b"a=1 "])),  # over 300 bytes
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(_LINE, min_size=1, max_size=400), crlf=st.lists(st.booleans(), min_size=1, max_size=400),
       last_newline=st.booleans(), fmt=st.sampled_from(["ndjson", "logfmt"]), split=st.floats(0, 1))
# found by CI: a CRLF line over the limit whose CR ended one read and LF began the next was said
# to be one byte longer than the file read says (the CR was looked for in the kept start)
@example(lines=[b"", b"{broken", b"{broken", b"x" * 318, b"{broken",
                b'{"ts":"2026-11-25T10:00:40Z","msg":"m 1000000","s":"======"}', b"a=1 " * 591],
         crlf=[True, False, True], last_newline=False, fmt="ndjson", split=0.0)
def test_a_fast_pipe_is_decoded_by_the_workers_and_writes_what_the_file_read_writes(
        tmp_path_factory, small_pipe, monkeypatch, lines, crlf, last_newline, fmt, split):
    """Issue 15 item 6: a pipe that keeps the reader busy goes to the workers, in order, and back
    to one process when it runs dry (a pause in the middle); the output, the rejects and the
    counts are those of the same bytes read from a file by one process: long lines, CRLF, blank
    lines and a last line without a newline included."""
    tmp_path = tmp_path_factory.mktemp("pipe")
    small_pipe.clear()
    data = b"".join(line + (b"\r\n" if crlf[i % len(crlf)] else b"\n") for i, line in enumerate(lines))
    data = data * (1 + 8192 // len(data))
    if not last_newline:
        data = data.rstrip(b"\r\n")
    path = tmp_path / "in"
    path.write_bytes(data)
    with open(path, "rb") as stdin:
        _, expected = _ingest_stdin(monkeypatch, tmp_path, stdin, fmt, 1, name="file")
    cut = int(len(data) * split)
    stdin, thread = _producer([data[:cut], data[cut:]], pause=0.1)
    with stdin:
        _, got = _ingest_stdin(monkeypatch, tmp_path, stdin, fmt, 2, name="pipe")
    thread.join()
    assert got[2] == expected[2] and got[1].splitlines() == expected[1].splitlines()
    assert got[0].splitlines() == expected[0].splitlines()
    assert got == expected
    # Whether the workers had blocks of this example depends on how fast the producer ran against
    # the reader (a timing, not a property: on a loaded machine a one-long-line example stayed in one
    # process); that they take a busy pipe is asserted by the test below, with a half-second pause.


def test_a_pipe_goes_to_the_workers_and_back_keeping_line_numbers(tmp_path, small_pipe, monkeypatch):
    """A burst, a pause, a burst: two turns of the workers, the second numbered on from where the
    one process stopped; the output is the file read's."""
    data = _mixed_lines("ndjson", 3000, 11)
    if not data.endswith(b"\n"):
        data += b"\n"
    cut = data.index(b"\n", len(data) // 2) + 1
    with open(tmp_path / "in", "wb") as fh:
        fh.write(data)
    with open(tmp_path / "in", "rb") as stdin:
        _, expected = _ingest_stdin(monkeypatch, tmp_path, stdin, "ndjson", 1, name="file")
    stdin, thread = _producer([data[:cut], data[cut:]], pause=0.5)
    with stdin:
        _, got = _ingest_stdin(monkeypatch, tmp_path, stdin, "ndjson", 2, name="pipe")
    thread.join()
    assert got == expected and expected[1]  # rejects too
    assert len(small_pipe) >= 2 and small_pipe[0] < small_pipe[-1]


def test_a_slow_producers_line_is_out_before_it_writes_the_next(tmp_path, small_pipe, monkeypatch):
    """After a burst that sends the pipe to the workers, a producer that writes one line and waits
    sees it written before it writes the next: in the workers' turn (the pipe ran dry, so the
    block is handed over at once) and in the one process's turn after it. A correctness bound:
    each wait is for up to 30 seconds, never a speed assertion."""
    import os
    import threading
    import time

    r, w = os.pipe()
    out_path = tmp_path / "live-2"
    seen: list[str] = []

    def wait_for(word: bytes) -> None:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if out_path.exists() and word in out_path.read_bytes():
                seen.append(word.decode())
                return
            time.sleep(0.01)

    def produce() -> None:
        try:
            burst = b"".join(b'{"msg":"burst %d"}\n' % i for i in range(2000))
            open(w, "wb", closefd=False).write(burst + b'{"msg":"live-1"}\n')
            wait_for(b"live-1")
            time.sleep(0.2)  # the pipe stays dry: the workers are let go
            os.write(w, b'{"msg":"live-2"}\n')
            wait_for(b"live-2")
            os.write(w, b'{"msg":"last"}\n')
        finally:
            os.close(w)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    with open(r, "rb") as stdin:
        _, (out, _rej, counts) = _ingest_stdin(monkeypatch, tmp_path, stdin, "ndjson", 2, line_buffered=True,
                                               name="live")
    thread.join()
    assert seen == ["live-1", "live-2"]  # each was out before the next line was written
    assert counts == (2003, 2003, 0) and out.endswith(b'"last"' + out.rsplit(b'"last"', 1)[1])
    assert small_pipe  # the burst went to the workers
