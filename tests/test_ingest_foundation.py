"""ben ingest on NDJSON, logfmt and plain lines: the envelope, the aliases, and bad input of every kind."""

import base64

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ben_cli.ingest import DecodeOptions, sniff_format
from ben_cli.ingest.envelope import Normaliser
from ben_cli.record import LANES, parse_rfc3339

from .conftest import run_ben

FIXED = 1_795_600_000_123_000_000  # 2026-11-25T09:46:40.123Z


def records(result) -> list[dict]:
    return [orjson.loads(line) for line in result.stdout_bytes.splitlines()]


def normalise(obj: dict, **opts) -> dict:
    return Normaliser(DecodeOptions(clock=lambda: FIXED, **opts)).normalise(obj)


def test_aliases_fold_into_the_envelope():
    rec = normalise({"@timestamp": "2026-11-25T12:00:00+02:00", "level": "WARNING", "hostname": "web-1",
                     "message": "slow", "latency_ms": 412, "user": {"id": 7, "tags": ["a", "b"]}, "gone": None})
    assert rec == {"ts": "2026-11-25T10:00:00Z", "lane": "diag", "source": "web-1", "name": "log",
                   "severity": "warn", "body": "slow",
                   "attrs": {"latency_ms": 412, "user.id": 7, "user.tags": '["a","b"]'}}


def test_an_envelope_passes_through_unchanged():
    env = {"ts": "2026-11-25T10:00:00.123456789Z", "lane": "event", "source": "api", "name": "http.request",
           "value": 12.5, "unit": "ms", "severity": "info", "body": "ok", "attrs": {"route": "/x"},
           "anomaly": {"detector": "ewma", "score": 0.2, "is_anomaly": False}, "redacted": ["email"]}
    assert normalise(env) == env


def test_first_alias_wins_and_the_others_are_kept():
    rec = normalise({"msg": "short", "message": "long", "time": 1795600000, "timestamp": "2026-11-25T10:00:00Z"})
    assert rec["body"] == "long" and rec["attrs"]["msg"] == "short"
    assert rec["ts"] == "2026-11-25T10:00:00Z" and rec["attrs"]["time"] == 1795600000


def test_missing_time_is_the_time_of_reading_never_1970():
    rec = normalise({"msg": "no time"})
    assert rec["ts"] == "2026-11-25T09:46:40.123Z"


def test_source_flag_is_a_fallback():
    assert normalise({"msg": "x"}, source="cli")["source"] == "cli"
    assert normalise({"msg": "x", "host": "mine"}, source="cli")["source"] == "mine"


def test_unknown_level_is_kept_not_guessed():
    rec = normalise({"level": "chatty", "msg": "x"})
    assert "severity" not in rec and rec["attrs"]["level"] == "chatty"


@pytest.mark.parametrize(
    "obj, reason",
    [({"ts": "not a time"}, "bad timestamp in field 'ts'"),
     ({"lane": "metrics"}, "lane 'metrics' is not one of diag, event, control"),
     ({"value": "12"}, "field 'value' must be a finite number"),
     ({"attrs": [1]}, "field 'attrs' must be an object")],
)
def test_unreadable_fields_are_errors(obj, reason):
    from ben_cli.ingest.format import DecodeError

    with pytest.raises(DecodeError, match=reason):
        normalise(obj)


json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False,
                                                                                     allow_infinity=False) | st.text()
json_objects = st.dictionaries(st.sampled_from(["ts", "time", "msg", "message", "level", "host", "service", "name",
                                                "value", "unit", "lane", "user", "n", "x.y"]) | st.text(),
                               st.recursive(json_scalars, lambda k: st.lists(k, max_size=3)
                                            | st.dictionaries(st.text(), k, max_size=3), max_leaves=8), max_size=8)


@settings(max_examples=300)
@given(json_objects)
def test_any_object_becomes_an_envelope_or_a_reason(obj):
    from ben_cli.ingest.format import DecodeError

    n = Normaliser(DecodeOptions(clock=lambda: FIXED))
    try:
        rec = n.normalise(dict(obj))  # a copy: the fast path makes the object it is given the attrs
    except DecodeError as exc:
        assert str(exc)
        return
    assert rec == n.normalise_general(obj)  # the shape fast path never disagrees with the definition
    assert rec["lane"] in LANES and isinstance(rec["name"], str)
    parse_rfc3339(rec["ts"])
    for v in rec.get("attrs", {}).values():
        assert isinstance(v, (str, int, float, bool))
    orjson.dumps(rec)


def test_sniffing_picks_per_input():
    assert sniff_format(b'{"a":1}\n{"a":2}\n').name == "ndjson"
    assert sniff_format(b'ts=2026-11-25T10:00:00Z level=info msg="hi there"\n').name == "logfmt"
    assert sniff_format(b"Nov 25 10:00:00 just words here\n").name == "lines"


def test_logfmt_types_and_quotes(cli):
    line = b'ts=2026-11-25T10:00:00Z level=error msg="boom \\"x\\"" n=007 m=12 f=1.5 ok=true flag empty= host=db-1\n'
    [rec] = records(cli(["ingest", "-q", "-f", "logfmt"], input=line))
    assert rec["body"] == 'boom "x"' and rec["severity"] == "error" and rec["source"] == "db-1"
    assert rec["attrs"] == {"n": "007", "m": 12, "f": 1.5, "ok": True, "flag": True, "empty": ""}


def test_lines_lift_a_leading_time_and_level(cli):
    out = records(cli(["ingest", "-q", "-f", "lines", "--source", "app"],
                      input=b"2026-11-25 10:00:01,123 ERROR disk full\nno time here\n"))
    assert out[0]["ts"] == "2026-11-25T10:00:01.123Z" and out[0]["severity"] == "error"
    assert out[0]["body"] == "2026-11-25 10:00:01,123 ERROR disk full" and out[0]["source"] == "app"
    assert out[1]["body"] == "no time here" and "severity" not in out[1]


def test_records_carry_where_they_came_from(tmp_path, cli):
    path = tmp_path / "app.ndjson"
    path.write_bytes(b'{"msg":"a"}\n\n{"msg":"b"}\n')
    out = records(cli(["ingest", "-q", str(path)]))
    assert [r["_ingest"] for r in out] == [{"format": "ndjson", "file": str(path), "line": 1, "ts": "read"},
                                          {"format": "ndjson", "file": str(path), "line": 3, "ts": "read"}]


BAD_LINES = [
    (b'{"msg":"\xff\xfe"}', "invalid JSON"),  # invalid UTF-8
    (b'{"msg":"trunc', "invalid JSON"),  # truncated JSON
    (b"[1,2,3]", "record is a JSON list, not an object"),
    (b"42", "record is a JSON int, not an object"),
    (b'"just a string"', "record is a JSON str, not an object"),
    (b'{"msg":"nul\x00byte"}', "invalid JSON"),
    (b'{"a":1}{"b":2}', "invalid JSON"),
    (b'{"ts":"2026-02-30T00:00:00Z"}', "bad timestamp in field 'ts'"),
    (b"{" + b'"k":"' + b"x" * (10 * 1024 * 1024) + b'"}', "line is 10485768 bytes, over the 1048576-byte limit"),
]


def test_bad_input_of_every_kind_is_rejected_and_the_stream_goes_on(tmp_path, cli):
    lines = [b'{"msg":"first"}']
    for bad, _ in BAD_LINES:
        lines += [bad, b'{"msg":"between"}']
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")  # CRLF line ends are fine
    rejects = tmp_path / "rejects.ndjson"
    result = cli(["ingest", "-f", "ndjson", "--rejects", str(rejects), str(path)])
    assert result.exit_code == 0
    out = records(result)
    assert [r["body"] for r in out] == ["first"] + ["between"] * len(BAD_LINES)
    rej = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [r["line"] for r in rej] == [2 + 2 * i for i in range(len(BAD_LINES))]
    for r, (bad, reason) in zip(rej, BAD_LINES, strict=True):
        assert r["reason"].startswith(reason), (r["reason"], reason)
        raw = base64.b64decode(r["raw_b64"]) if "raw_b64" in r else r["raw"].encode()
        if len(bad) > 64 * 1024:  # a longer line keeps its first 64 KiB and says how long it was
            assert raw == bad[: 64 * 1024] and r["raw_bytes"] == len(bad) and r["raw_truncated"] is True
        else:
            assert raw == bad  # nothing is lost, not even bytes that are not UTF-8
    assert f"read {1 + 2 * len(BAD_LINES)}, wrote {1 + len(BAD_LINES)}, rejected {len(BAD_LINES)}" in result.stderr


@pytest.mark.parametrize("fmt", ["logfmt", "lines"])
def test_text_formats_reject_binary_and_bad_utf8(fmt, cli):
    result = cli(["ingest", "-f", fmt, "--rejects", "/dev/null"], input=b"a=1 b=2\nbad=\xff\nnul=\x00x\n")
    assert result.exit_code == 0
    assert len(result.stdout_bytes.splitlines()) == 1
    assert "rejected 2" in result.stderr


def test_strict_stops_at_the_first_bad_line():
    proc = run_ben("ingest", "--strict", "-f", "ndjson", input=b'{"msg":"ok"}\n[1]\n{"msg":"never"}\n')
    assert proc.returncode == 1
    assert proc.stderr.decode().strip().endswith("line 2: record is a JSON list, not an object")
    assert b"never" not in proc.stdout


def test_missing_file_is_an_error_not_a_traceback():
    proc = run_ben("ingest", "/no/such/file.log")
    assert proc.returncode == 1
    assert b"No such file" in proc.stderr and b"Traceback" not in proc.stderr


def test_bad_flag_values_are_usage_errors():
    assert run_ben("ingest", "--lane", "metrics").returncode == 2
    assert run_ben("ingest", "--format", "yaml").returncode == 2


def test_the_shape_fast_path_makes_the_decoders_object_its_attrs():
    """A producer's usual record: the envelope fields taken out of the object, which then is the
    attrs (its other keys in their order); the general path, given a copy, agrees."""
    obj = {"timestamp": "2026-11-25T09:46:40.007Z", "level": "debug", "host": "web-1", "msg": "GET /healthz",
           "path": "/healthz", "status": 200, "ok": True, "trace_id": "8d11"}
    n = Normaliser(DecodeOptions(clock=lambda: FIXED))
    for _ in range(2):  # the first record plans the shape, the second takes the plan
        given = dict(obj)
        rec = n.normalise(given)
        assert rec == n.normalise_general(dict(obj))
        assert rec["attrs"] is given and list(given) == ["path", "status", "ok", "trace_id"]
    odd = dict(obj, status=2.5)  # a float is not a plain value: the general path, the object left whole
    rec = n.normalise(odd)
    assert rec["attrs"]["status"] == 2.5 and odd == dict(obj, status=2.5)
