"""The reader's limits: nesting the writer cannot write back, lines too long to keep, cut inputs.

Each limit is met at the reader, so every stage rejects the line with one reason and goes on."""

import gzip
import io
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ben_cli.ndjson import MAX_DEPTH, BadRecord, Reader, TruncatedInput, Writer, depth, parse_object
from tests.conftest import run_ben


def nested(levels: int, leaf: str = "1") -> bytes:
    """A record nesting ``levels`` levels: the object itself, then arrays and objects in turn."""
    inner = leaf
    for level in range(levels - 1):
        inner = f"[{inner}]" if level % 2 else f'{{"k":{inner}}}'
    return f'{{"ts":"2024-01-01T00:00:00Z","value":1,"a":{inner}}}'.encode()


def test_nested_helper_nests_what_it_says():
    for levels in (1, 2, 3, 254, 255, 1000):
        assert depth(orjson.loads(nested(levels))) == levels


def test_the_deepest_record_read_is_the_deepest_the_writer_writes():
    deepest = orjson.loads(nested(MAX_DEPTH))
    out = io.BytesIO()
    Writer(out, line_buffered=True).write(deepest)
    assert orjson.loads(out.getvalue()) == deepest
    with pytest.raises(TypeError):  # one level more and the writer cannot
        orjson.dumps(orjson.loads(nested(MAX_DEPTH + 1)))


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 1000])
@pytest.mark.parametrize("shape", ["records", "pairs", "positioned", "parse_object"])
def test_every_reader_shape_rejects_a_record_nested_too_deep(tmp_path, shape, levels):
    path = tmp_path / "in.ndjson"
    path.write_bytes(nested(MAX_DEPTH) + b"\n" + nested(levels) + b"\n" + b'{"value":3}\n')
    bad: list[BadRecord] = []
    reader = Reader([str(path)], bad.append)
    if shape == "parse_object":
        with pytest.raises(BadRecord, match=f"record nests {levels} levels, over the 254-level limit"):
            parse_object(nested(levels))
        return
    got = list(getattr(reader, shape)())
    assert len(got) == 2 and reader.read == 3
    assert [(b.lineno, b.reason) for b in bad] == [(2, f"record nests {levels} levels, over the 254-level limit")]
    assert bad[0].raw == nested(levels)


@pytest.fixture
def signing_key(tmp_path):
    assert run_ben("key", "gen", "--out", str(tmp_path / "sig")).returncode == 0
    return tmp_path / "sig.key"


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 1000])
def test_every_stage_rejects_a_deep_record_and_goes_on(tmp_path, signing_key, levels):
    lines = nested(MAX_DEPTH) + b"\n" + nested(levels, '"mail bob@example.com"') + b"\n" + nested(3) + b"\n"
    out = tmp_path / "out.ndjson"
    stages = {
        "ingest": ["ingest", "-f", "ndjson"],
        "scrub": ["scrub"],
        "detect": ["detect"],
        "narrate": ["narrate", "--every", "10m"],
        "sink": ["sink", "--to", f"file:{out}"],
        "key": ["key", "sign", "--stream", "-k", str(signing_key)],
    }
    for name, args in stages.items():
        done = run_ben(*args, input=lines)
        err = done.stderr.decode()
        assert done.returncode == 0, (name, err)
        assert "Traceback" not in err
        # narrate and key sign write their own records (narratives, checkpoints) beside the two
        assert re.search(r"read 3, wrote \d+, rejected 1\b", err), (name, err)
        assert int(re.search(r"wrote (\d+)", err).group(1)) >= 2
        assert f"line 2: record nests {levels} levels, over the 254-level limit" in err, (name, err)


# --- item 14: a line over the limit is never held whole, nor kept whole in a reject

GOOD = b'{"ts":"2024-01-01T00:00:00Z","value":1}'
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdin=open({path!r}, 'rb'), "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_kib(ben: str, args: list[str], path) -> int:
    """The peak resident memory (KiB) of ``ben ARGS < path``, measured in a fresh parent."""
    done = subprocess.run([sys.executable, "-c", PEAK.format(path=str(path)), ben, *args],
                          capture_output=True, check=True)
    return int(done.stdout)


@pytest.fixture(scope="module")
def long_line_input(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    small = folder / "small.ndjson"
    small.write_bytes(GOOD + b"\n" + GOOD + b"\n")
    big = folder / "big.ndjson"
    with open(big, "wb") as out:
        out.write(GOOD + b"\n{\"body\":\"")
        chunk = b"x" * (1 << 20)
        for _ in range(120):
            out.write(chunk)
        out.write(b"\"}\r\n" + GOOD + b"\n")
    return small, big, 120 * (1 << 20) + len(b'{"body":""}')


@pytest.mark.parametrize("args", [["detect"], ["scrub"], ["ingest", "-f", "ndjson"], ["narrate", "--every", "1h"],
                                  ["sink", "--to", "file:{out}"]])
def test_a_long_line_is_rejected_without_being_held_whole(tmp_path, long_line_input, args):
    small, big, size = long_line_input
    ben = str(Path(sys.executable).parent / "ben")
    args = [a.format(out=tmp_path / "out.ndjson") for a in args]
    rejects = tmp_path / "rejects.ndjson"
    base = peak_kib(ben, args, small)
    peak = peak_kib(ben, [*args, "--rejects", str(rejects)], big)
    assert peak - base < 24 * 1024, (base, peak)  # the line is 120 MiB; a few MiB of buffers are allowed
    done = run_ben(*args, "--rejects", str(tmp_path / "r2.ndjson"), input=big.read_bytes())
    err = done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in err
    assert re.search(r"read 3, wrote \d+, rejected 1\b", err), err
    assert f"line 2: line is {size} bytes, over the 1048576-byte limit" in err
    (kept,) = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert kept["reason"] == f"line is {size} bytes, over the 1048576-byte limit"
    assert kept["raw_bytes"] == size and kept["raw_truncated"] is True
    assert kept["raw"] == '{"body":"' + "x" * (64 * 1024 - 9)


def test_every_reader_shape_reads_past_a_long_line_to_the_next(tmp_path):
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"a":1}\n' + b'{"b":"' + b"y" * 5000 + b'"}\r\n{"a":2}\r\n' + b"z" * 3000 + b"\n{\"a\":3}")
    long_size, z_size = 5000 + 8, 3000
    for shape in ["records", "pairs", "positioned", "lines", "lines_of", "lines_keep_ends"]:
        bad: list[BadRecord] = []
        reader = Reader([str(path)], bad.append, max_line_bytes=100)
        if shape == "lines_of":
            with open(path, "rb") as stream:
                got = list(reader.lines_of(stream))
        elif shape == "lines_keep_ends":
            got = list(reader.lines(keep_ends=True))
        else:
            got = list(getattr(reader, shape)())
        assert reader.read == 5, shape
        assert [(b.lineno, b.reason, b.size) for b in bad][:1] == [
            (2, f"line is {long_size} bytes, over the 100-byte limit", long_size)], shape
        assert len(bad[0].raw) <= 102, shape
        if shape in ("lines", "lines_of", "lines_keep_ends"):
            assert [b.lineno for b in bad] == [2, 4] and bad[1].size == z_size, shape
            assert [g.rstrip() for g in got] == [b'{"a":1}', b'{"a":2}', b'{"a":3}'], shape
        else:
            assert [b.lineno for b in bad] == [2, 4], shape
            assert len(got) == 3, shape
        if shape == "positioned":
            assert [offset for *_, offset in got] == [8, 8 + long_size + 2 + 9, path.stat().st_size]


# --- item 16: a gzip input cut short is an error naming the file; what came before is written

@pytest.mark.parametrize("args", [["detect"], ["scrub"], ["ingest", "-f", "ndjson"], ["narrate", "--every", "1h"]])
def test_a_truncated_gzip_input_names_the_file_and_keeps_what_came_before(tmp_path, args):
    records = b"".join(b'{"ts":"2024-01-01T00:00:%02dZ","value":%d,"body":"%s"}\n' % (i % 60, i, b"x" * (i % 97 + 1))
                       for i in range(3000))
    whole = gzip.compress(records)
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    done = run_ben(*args, str(cut))
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err and "Aborted" not in err and "no answer" not in err
    said = (f"ben {args[0]}: {cut}: the gzip stream is truncated (Compressed file ended "
            "before the end-of-stream marker was reached); what was read before it is written")
    # ingest goes on to its other inputs, says where the stream broke and ends with a count
    lines = err.splitlines() if args[0] == "ingest" else err.splitlines()[-1:]
    assert any(line.startswith(said) for line in lines), err
    readable = gzip.GzipFile(fileobj=io.BytesIO(whole[: len(whole) // 2]))
    got = b""
    with pytest.raises(EOFError):
        while chunk := readable.read1(1 << 16):
            got += chunk
    complete = got.count(b"\n")
    # the records read before the cut are written, in order (the decoder may hold back the last
    # block it inflated, never more)
    values = [r["value"] for r in map(orjson.loads, done.stdout.splitlines()) if "value" in r and "body" in r]
    assert values == list(range(len(values))) and complete - 1000 < len(values) <= complete


def test_the_reader_raises_the_truncated_input_error(tmp_path):
    cut = tmp_path / "cut.gz"
    whole = gzip.compress(b'{"a":1}\n' * 100000)
    cut.write_bytes(whole[:-20])
    with pytest.raises(TruncatedInput, match="cut.gz: the gzip stream is truncated"):
        list(Reader([str(cut)]).records())


@pytest.mark.parametrize("stage", ["key sign", "key verify", "detect"])
def test_a_closed_pipe_downstream_is_quiet_in_key_sign_and_verify_as_elsewhere(tmp_path, signing_key, stage):
    records = tmp_path / "in.ndjson"
    records.write_bytes(b"".join(b'{"ts":"2024-01-01T00:00:00Z","value":%d}\n' % i for i in range(200_000)))
    signed = tmp_path / "signed.ndjson"
    with open(signed, "wb") as out:
        subprocess.run([str(Path(sys.executable).parent / "ben"), "key", "sign", "--stream", "-q", "-k",
                        str(signing_key), str(records)], stdout=out, check=True)
    ben = Path(sys.executable).parent / "ben"
    args = {"key sign": f"key sign --stream -q -k {signing_key} {records}",
            "key verify": f"key verify --stream -q -P {signing_key.with_suffix('.pub')} {signed}",
            "detect": f"detect -q {records}"}[stage]
    for downstream in ("head -1", "head -c 10", "true"):
        done = subprocess.run(f"set -o pipefail; {ben} {args} | {downstream} > /dev/null", shell=True,
                              executable="/bin/bash", capture_output=True)
        assert done.returncode == 1, (downstream, done.stderr)
        assert done.stderr == b"", (downstream, done.stderr)
