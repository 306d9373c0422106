"""Every stage, fed any JSON value as a line, writes or rejects each line it reads, and never raises.

The property runs each stage's real ``run`` over a file of lines built as JSON *text* (so numbers
of any size and nesting past what the writer can write are reachable): any value at the top,
any type in the fields stages look at, nesting up to the reader's limit and past it, and
numbers that are huge, tiny or overflowing. It asserts ``written + rejected == read`` (the
narratives narrate adds set aside) and that nothing but a :class:`BenError` escapes.

Stages covered, on every line: ``ingest --format ndjson``, ``scrub``, ``detect``, ``narrate
--every``, ``sink --to file:``, ``key sign --stream``; the lines hold lists and objects where
detect looks for a series and narrate for a severity, and numbers past what detectors or a
JSON writer can hold.
"""

import io

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.count import CountOptions, RateOptions, run_rate
from ben_cli.count import run as count_run
from ben_cli.crypto import chain
from ben_cli.crypto.keys import SigningKey
from ben_cli.detect.options import DetectOptions
from ben_cli.detect.stream import run as detect_run
from ben_cli.errors import BenError
from ben_cli.ingest.modes import run as ingest_run
from ben_cli.ingest.options import IngestOptions
from ben_cli.narrate.options import Options as NarrateOptions
from ben_cli.narrate.run import run as narrate_run
from ben_cli.ndjson import MAX_DEPTH, Writer
from ben_cli.rejects import Rejects
from ben_cli.scrub.stream import ScrubOptions
from ben_cli.scrub.stream import run as scrub_run
from ben_cli.sink import DurableRejects, SinkOptions, parse_target
from ben_cli.sink import run as sink_run

KEY = SigningKey.generate()

NUMBERS = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["0", "-0", "1e155", "-1e308", "1e308", "1e400", "-1e400", "1e-400", "0.0", "-0.0",
                     "18446744073709551616", "-9223372036854775809", "123456789012345678901234567890.5"]),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: orjson.dumps(f).decode()),
)
STRINGS = st.text(max_size=30).map(lambda s: orjson.dumps(s).decode()) | st.sampled_from(
    ['"2024-01-01T00:00:00Z"', '"bob@example.com"', '"192.168.1.1"', '"error"', '"metric"', '""', '"\\u0000"'])
SCALARS = NUMBERS | STRINGS | st.sampled_from(["true", "false", "null"])
FIELDS = st.sampled_from(["ts", "time", "value", "name", "source", "lane", "severity", "level", "body", "msg",
                          "attrs", "unit", "sig", "anomaly", "redacted", "_ingest", "host", "email"]) | st.text(max_size=8)


def obj_text(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{orjson.dumps(k).decode()}:{v}" for k, v in pairs) + "}"


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
    | st.lists(st.tuples(FIELDS, inner), max_size=4).map(obj_text),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> str:
    """A value nesting ``levels`` levels inside a record (the record is the first): around the limit, or far past it."""
    levels = draw(st.sampled_from([2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 300, 1000])
                  | st.integers(2, 1100))
    leaf = draw(SCALARS)
    text = leaf
    for level in range(levels - 1):
        text = f"[{text}]" if draw(st.booleans()) and level % 3 else obj_text([(draw(FIELDS), text)])
    return text


LINES = st.one_of(
    VALUES,  # any value at the top: most are not objects
    st.lists(st.tuples(FIELDS, VALUES), max_size=6).map(obj_text),  # a record, any type in any field
    st.tuples(FIELDS, deep()).map(lambda kv: obj_text([("ts", '"2024-01-01T00:00:00Z"'), ("value", "1"), kv])),
)


def ingest(path, out, rejects):
    return ingest_run([path], Writer(out, line_buffered=False), rejects, IngestOptions(format="ndjson", jobs=1))


def scrub(path, out, rejects):
    return scrub_run([path], Writer(out, line_buffered=False), rejects, ScrubOptions(key=b"k" * 32))


def sign(path, out, rejects):
    return chain.sign_stream([path], Writer(out, line_buffered=False), rejects, KEY, 5)


def detect(path, out, rejects):
    return detect_run([path], Writer(out, line_buffered=False), rejects, DetectOptions.from_text())


def narrate(path, out, rejects):
    return narrate_run([path], Writer(out, line_buffered=False), rejects, NarrateOptions.from_flags(every="10m"))


STAGES = {"ingest": ingest, "scrub": scrub, "detect": detect, "narrate --every": narrate, "key sign": sign}


def check(summary, rejects_count):
    """written + rejected == read (the narratives narrate adds set aside), rejects all counted."""
    added = summary.extra.get("narratives", 0)
    assert summary.written - added + summary.rejected == summary.read, summary.line()
    assert summary.rejected == rejects_count


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=st.lists(LINES, min_size=1, max_size=8))
def test_every_stage_writes_or_rejects_every_line(tmp_path, lines):
    path = tmp_path / "in.ndjson"
    path.write_bytes("".join(line + "\n" for line in lines).encode())
    for name, stage in STAGES.items():
        rejects = Rejects(stage=name)
        out = io.BytesIO()
        try:
            summary = stage(str(path), out, rejects)
        except BenError as exc:  # a refusal the user reads, never a traceback
            raise AssertionError(f"{name}: {exc}") from exc
        check(summary, rejects.count)
        assert summary.read == sum(1 for line in lines if line.strip())
        written_lines = out.getvalue().splitlines()
        assert len(written_lines) == summary.written, name
        for written in written_lines:
            orjson.loads(written)  # what was written reads back
    target = tmp_path / "sink.ndjson"
    target.unlink(missing_ok=True)
    with DurableRejects(None, stage="sink") as bad:
        summary = sink_run([str(path)], None, bad, SinkOptions(target=parse_target(f"file:{target}")))
    assert summary.written + summary.rejected == summary.read, summary.line()
    assert summary.read == sum(1 for line in lines if line.strip())
    written = target.read_bytes().splitlines() if target.exists() else []
    assert len(written) == summary.written


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=st.lists(LINES, min_size=1, max_size=8))
def test_count_and_rate_account_for_every_line(tmp_path, lines):
    """count and rate aggregate or hold records back, so their own balance is checked: every line
    is counted, untimed, late or rejected (count), or written, held back as a first sample or
    rejected (rate); what they write reads back; nothing but a BenError escapes."""
    path = tmp_path / "in.ndjson"
    path.write_bytes("".join(line + "\n" for line in lines).encode())
    for name in ("count", "rate"):
        rejects = Rejects(stage=name)
        out = io.BytesIO()
        try:
            if name == "count":
                summary = count_run([str(path)], Writer(out, line_buffered=False), rejects, CountOptions(every=60.0))
                accounted = summary.extra["counted"] + summary.extra["untimed"] + summary.extra["late"]
            else:
                summary = run_rate([str(path)], Writer(out, line_buffered=False), rejects, RateOptions(counters=("*",)))
                accounted = summary.written + summary.extra["first"]
        except BenError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
        assert summary.read == sum(1 for line in lines if line.strip())
        assert summary.rejected == rejects.count
        if name == "rate":
            assert accounted + summary.rejected <= summary.read  # samples not after the last one are dropped
        else:
            assert accounted + summary.rejected == summary.read, summary.line()
        for written in out.getvalue().splitlines():
            orjson.loads(written)
