"""Signed streams: any single-byte change, deletion, reordering or truncation is detected, and an
intact stream passes through unchanged."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.crypto import chain
from ben_cli.crypto.keys import SigningKey

KEY = SigningKey.generate()

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=12)
records = st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k != "sig"), scalars, max_size=4)
streams = st.lists(records, min_size=1, max_size=12)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def signed(recs: list[dict], every: int = 3) -> list[bytes]:
    return list(chain.sign_records(recs, KEY, every))


def verify(data: bytes) -> list[bytes]:
    return list(chain.verify_lines(data.splitlines(keepends=True), KEY.public))


def detected(data: bytes) -> chain.ChainError:
    with pytest.raises(chain.ChainError) as caught:
        verify(data)
    return caught.value


@given(streams, st.integers(1, 5))
@PROPERTY
def test_intact_stream_passes_through(recs, every):
    lines = signed(recs, every)
    assert verify(b"".join(lines)) == lines
    assert [{k: v for k, v in orjson.loads(line).items() if k != "sig"} for line in lines] == [
        orjson.loads(orjson.dumps(r)) for r in recs
    ]


@given(streams, st.data())
@PROPERTY
def test_any_single_byte_change_is_detected(recs, data):
    blob = bytearray(b"".join(signed(recs)))
    at = data.draw(st.integers(0, len(blob) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != blob[at]))
    blob[at] = new
    detected(bytes(blob))


@given(streams, st.data())
@PROPERTY
def test_any_byte_deletion_is_detected(recs, data):
    blob = b"".join(signed(recs))
    at = data.draw(st.integers(0, len(blob) - 1))
    detected(blob[:at] + blob[at + 1 :])


@given(streams, st.data())
@PROPERTY
def test_any_truncation_is_detected(recs, data):
    blob = b"".join(signed(recs))
    cut = data.draw(st.integers(0, len(blob) - 1))
    assert detected(blob[:cut]).kind == "truncated"  # cut to nothing too (issue 13, item 11)


def test_an_empty_stream_is_refused_unless_allowed():
    err = detected(b"")
    assert err.kind == "truncated" and str(err).startswith("truncated: the input holds no signed record")
    assert list(chain.verify_lines([], KEY.public, allow_empty=True)) == []


def _unchecked(recs: list[dict]) -> list[bytes]:
    """A stream with no checkpoint before its last record, as only another signer could make."""
    signer = chain.StreamSigner(KEY, chain.MAX_EVERY)
    signer.every = 10**9  # past the limit the constructor enforces
    return list(signer.feed(recs)) + list(signer.flush())


def test_records_awaiting_a_checkpoint_are_bounded_in_number():
    lines = _unchecked([{"n": i} for i in range(chain.MAX_EVERY + 2)])
    verifier = chain.StreamVerifier(KEY.public)
    with pytest.raises(chain.ChainError) as caught:
        list(verifier.feed(lines))
    err = caught.value
    assert err.kind == "unverifiable" and err.line == chain.MAX_EVERY + 1
    assert str(err).startswith(f"line {chain.MAX_EVERY + 1}: unverifiable: no checkpoint after {chain.MAX_EVERY} records")
    assert len(verifier.pending) == chain.MAX_EVERY  # never more held than the limit


def test_records_awaiting_a_checkpoint_are_bounded_in_bytes_and_the_signer_checkpoints_before(monkeypatch):
    big = [{"n": i, "pad": "x" * 1_000_000} for i in range(70)]  # 70 MB, under --every
    with monkeypatch.context() as m:
        m.setattr(chain, "_SIGNER_SPAN_BYTES", 1 << 62)  # a signer that does not checkpoint by size
        lines = _unchecked(big)
    held = next(i for i in range(len(lines)) if sum(map(len, lines[: i + 1])) > chain.MAX_UNVERIFIED_BYTES)
    with pytest.raises(chain.ChainError) as caught:
        list(chain.verify_lines(lines, KEY.public))
    assert str(caught.value).startswith(f"line {held + 1}: unverifiable: no checkpoint after {held} records "
                                        f"({sum(map(len, lines[:held]))} bytes, from seq 0)")
    ours = signed(big, every=1000)  # ben's signer checkpoints by size as well as by count
    marks = [i for i, line in enumerate(ours) if b'"ck":' in line]
    assert len(marks) == 2 and sum(map(len, ours[: marks[0]])) >= chain.MAX_UNVERIFIED_BYTES // 2 > sum(
        map(len, ours[: marks[0] - 1]))  # one checkpoint once half the limit is reached, one at the end
    assert verify(b"".join(ours)) == ours


def test_the_signer_refuses_an_interval_past_the_verifiers_limit():
    with pytest.raises(ValueError, match="from 1 to 100000"):
        chain.StreamSigner(KEY, chain.MAX_EVERY + 1)


@given(streams.filter(lambda r: len(r) >= 2), st.data())
@PROPERTY
def test_record_deletion_and_reordering_are_detected(recs, data):
    lines = signed(recs)
    i = data.draw(st.integers(0, len(lines) - 1))
    detected(b"".join(lines[:i] + lines[i + 1 :]))
    j = data.draw(st.integers(0, len(lines) - 1).filter(lambda j: j != i))
    swapped = list(lines)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    detected(b"".join(swapped))


@given(streams, st.data(), records)
@PROPERTY
def test_inserted_record_is_detected(recs, data, extra):
    lines = signed(recs)
    i = data.draw(st.integers(0, len(lines)))
    foreign = signed([extra])[0]
    detected(b"".join(lines[:i] + [data.draw(st.sampled_from([orjson.dumps(extra) + b"\n", foreign]))] + lines[i:]))


def test_reports_name_the_kind_and_the_line():
    lines = signed([{"n": i} for i in range(8)], every=4)
    assert detected(b"".join(lines[:3] + lines[4:])).kind == "missing"
    err = detected(b"".join(lines[:2] + [lines[2].replace(b'"n":2', b'"n":9')] + lines[3:]))
    assert (err.kind, err.line) == ("altered", 3)
    err = detected(b"".join(lines[:6]))
    assert err.kind == "truncated" and "withheld" in str(err)
    assert detected(b"".join(lines) + lines[-1]).kind == "inserted"
    assert detected(b"".join(lines) + b"".join(lines)).kind == "inserted"  # a replayed stream
    assert detected(b"".join(signed([{"x": 1}])) + b"".join(lines)).kind == "inserted"  # a prepended one


def test_records_are_released_only_at_verified_checkpoints():
    lines = signed([{"n": i} for i in range(10)], every=4)
    out: list[bytes] = []
    with pytest.raises(chain.ChainError):
        for line in chain.verify_lines(lines[:9], KEY.public):
            out.append(line)
    assert out == lines[:8]


def test_one_input_holds_one_stream():
    first, second = signed([{"a": 1}]), signed([{"b": 2}, {"c": 3}])
    assert verify(b"".join(first)) == first and verify(b"".join(second)) == second
    assert detected(b"".join(first + second)).kind == "inserted"


def test_the_wrong_key_fails_at_the_first_checkpoint():
    lines = signed([{"n": 1}, {"n": 2}])
    other = SigningKey.generate()
    with pytest.raises(chain.ChainError, match="signed by key"):
        list(chain.verify_lines(lines, other.public))


def test_a_record_that_already_has_sig_is_refused():
    signer = chain.StreamSigner(KEY)
    with pytest.raises(ValueError, match="already has"):
        list(signer.feed([{"sig": 1}]))


@given(st.lists(streams, min_size=1, max_size=4), st.integers(1, 5), st.data())
@PROPERTY
def test_runs_appending_to_one_file_make_one_stream_even_after_a_kill(runs, every, data):
    """Each run resumes the file's stream; a run killed at any byte is cut back to its last
    checkpoint (what no checkpoint covers goes to rejects), so every line the file keeps verifies,
    and a file whose last run ended normally verifies whole."""
    import tempfile
    from pathlib import Path

    from ben_cli.rejects import Rejects

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "signed.ndjson"
        expected: list[bytes] = []
        for recs in runs:
            rejects = Rejects()
            signer = chain.resume(path, KEY, every, rejects)
            kept = path.read_bytes() if path.exists() else b""
            assert covered(kept)
            new = list(signer.feed(recs)) + list(signer.flush())
            blob = kept + b"".join(new)
            if data.draw(st.booleans()):  # killed somewhere in this run's writing
                blob = blob[: data.draw(st.integers(len(kept), len(blob)))]
            path.write_bytes(blob)
            expected.append(blob)
            if blob == kept + b"".join(new):
                assert verify(blob) == blob.splitlines(keepends=True)
        rejects = Rejects()
        chain.resume(path, KEY, every, rejects)  # as the next run would: cut back to a checkpoint
        final = path.read_bytes()
        assert expected[-1].startswith(final)
        assert covered(final)  # every line left is under a checkpoint that verifies
        assert rejects.count == expected[-1][len(final):].count(b"\n")  # every whole line cut is a reject


def covered(blob: bytes) -> bool:
    """Whether every line of ``blob`` is released by the verifier (covered by a checkpoint that
    verifies), the end of the stream aside."""
    lines = blob.splitlines(keepends=True)
    return list(chain.StreamVerifier(KEY.public, allow_empty=True).feed(lines)) == lines
