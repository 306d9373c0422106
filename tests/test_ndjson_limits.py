"""The reader's limits: nesting the writer cannot write back, lines too long to keep, cut inputs.

Each limit is met at the reader, so every stage rejects the line with one reason and goes on."""

import io
import re

import orjson
import pytest

from ben_cli.ndjson import MAX_DEPTH, BadRecord, Reader, Writer, depth, parse_object
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
