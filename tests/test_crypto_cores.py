"""The stream signer and verifier as stage cores: any batching gives the same lines, a round trip
through the cores and through the Reader-based runs is lossless, and a tampered line is named
by its input line number."""

from __future__ import annotations

import io
from itertools import pairwise

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.crypto import age, bech32, chain, files, keyfiles
from ben_cli.crypto import primitives as p
from ben_cli.crypto.keys import SigningKey
from ben_cli.errors import BenError, ExitStatus, UsageError
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects

KEY = SigningKey.generate()
STREAM_ID = bytes(range(16))
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
records = st.lists(st.dictionaries(st.text(min_size=1, max_size=5).filter(lambda k: k != "sig"), scalars, max_size=3),
                   max_size=15)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def batches(items: list, cuts: list[int]) -> list[list]:
    edges = [0, *sorted(c % (len(items) + 1) for c in cuts), len(items)]
    return [items[a:b] for a, b in pairwise(edges)]


def through(core, parts: list[list]) -> list[bytes]:
    out: list[bytes] = []
    for part in parts:
        out += core.feed(part)
    return out + list(core.flush())


@given(records, st.lists(st.integers(0, 20), max_size=4), st.integers(1, 4))
@PROPERTY
def test_any_batching_signs_and_verifies_the_same_lines(recs, cuts, every):
    once = through(chain.StreamSigner(KEY, every, STREAM_ID), [recs])
    assert through(chain.StreamSigner(KEY, every, STREAM_ID), batches(recs, cuts)) == once
    assert len(once) == len(recs)
    assert through(chain.StreamVerifier(KEY.public, allow_empty=True), batches(once, cuts)) == once


def test_the_verifier_releases_nothing_before_a_checkpoint_and_flush_checks_the_end():
    lines = through(chain.StreamSigner(KEY, 3), [[{"n": i} for i in range(5)]])
    verifier = chain.StreamVerifier(KEY.public)
    assert list(verifier.feed(lines[:2])) == []
    assert list(verifier.feed(lines[2:4])) == lines[:3]
    with pytest.raises(chain.ChainError, match="line 4: truncated: .* 1 unverified record") as caught:
        list(verifier.flush())
    assert caught.value.status == ExitStatus.ERROR


def signed_file(tmp_path, recs, name="signed.ndjson", every=2) -> bytes:
    src = tmp_path / "in.ndjson"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    out = io.BytesIO()
    with Rejects() as rejects:
        summary = chain.sign_stream([str(src)], Writer(out), rejects, KEY, every)
    assert (summary.read, summary.written, summary.rejected) == (len(recs), len(recs), 0)
    (tmp_path / name).write_bytes(out.getvalue())
    return out.getvalue()


def test_sign_stream_rejects_what_it_cannot_sign_with_the_raw_line(tmp_path):
    src = tmp_path / "in.ndjson"
    src.write_bytes(b'{"a":1}\n\nnot json\n{"b": 2, "sig": {}}\n{"c":3}\n')
    out, rejected = io.BytesIO(), tmp_path / "rejects.ndjson"
    with Rejects(rejected, stage="key sign") as rejects:
        summary = chain.sign_stream([str(src)], Writer(out), rejects, KEY)
    assert (summary.read, summary.written, summary.rejected, summary.extra) == (4, 2, 2, {"checkpoints": 1})
    bad = [orjson.loads(x) for x in rejected.read_bytes().splitlines()]
    assert [(b["line"], b["raw"]) for b in bad] == [(3, "not json"), (4, '{"b": 2, "sig": {}}')]
    assert "already has a 'sig' field" in bad[1]["reason"]
    assert [orjson.loads(x)["sig"]["seq"] for x in out.getvalue().splitlines()] == [0, 1]


def test_verify_stream_round_trip_and_one_stream_per_input(tmp_path):
    first = signed_file(tmp_path, [{"n": i} for i in range(5)], "a.ndjson")
    second = signed_file(tmp_path, [{"m": i} for i in range(3)], "b.ndjson")
    heard: list[tuple[str, int, int]] = []
    out = io.BytesIO()
    summary = chain.verify_stream([str(tmp_path / "a.ndjson"), str(tmp_path / "b.ndjson")], Writer(out), KEY.public,
                                  lambda name, s: heard.append((name.rsplit("/", 1)[-1], s.records, s.checkpoints)))
    assert out.getvalue() == first + second
    assert heard == [("a.ndjson", 5, 3), ("b.ndjson", 3, 2)]
    assert (summary.read, summary.written) == (8, 8)


@pytest.mark.parametrize("n", range(6))
def test_a_tampered_line_is_named_by_its_line_in_the_file(tmp_path, n):
    lines = signed_file(tmp_path, [{"n": i} for i in range(6)], every=3).splitlines(keepends=True)
    lines[n] = lines[n].replace(b'"n":%d' % n, b'"n":%d' % (n + 10))
    path = tmp_path / "tampered.ndjson"
    path.write_bytes(b"\n".join(lines[:1]) + b"\n" + b"".join(lines[1:]))  # a blank line after the first
    out = io.BytesIO()
    with pytest.raises(chain.ChainError) as caught:
        chain.verify_stream([str(path)], Writer(out), KEY.public)
    err = caught.value
    assert err.kind == "altered" and err.line == (n + 1 if n == 0 else n + 2)  # the blank line still counts
    assert str(err).startswith(f"{path}: line {err.line}: altered")
    released = out.getvalue().splitlines(keepends=True)
    assert released == lines[: 3 * (n // 3)]  # only whole checkpoints before the damage


def test_a_last_line_without_its_newline_is_truncated(tmp_path):
    data = signed_file(tmp_path, [{"n": 1}, {"n": 2}])
    (tmp_path / "cut.ndjson").write_bytes(data[:-1])
    with pytest.raises(chain.ChainError, match=r"line 2: truncated: the last line has no newline"):
        chain.verify_stream([str(tmp_path / "cut.ndjson")], Writer(io.BytesIO()), KEY.public)


def test_every_crypto_error_is_a_ben_error_with_status_1():
    for cls in (p.CryptoError, p.BadSignature, chain.ChainError, age.AgeError, age.NoMatch, keyfiles.KeyFileError,
                bech32.Bech32Error):
        assert issubclass(cls, BenError) and cls.status == ExitStatus.ERROR, cls


def test_seal_without_a_recipient_is_a_usage_error():
    with pytest.raises(UsageError, match="--to RECIPIENT") as caught:
        files.seal(["-"], None, [])
    assert caught.value.status == ExitStatus.USAGE
    with pytest.raises(UsageError, match="name the files to sign"):
        list(files.sign_files(KEY, ["-"]))
