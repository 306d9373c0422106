"""The scrub stage core: records in, records out, and the same records as the command gives."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.errors import BadRecord
from ben_cli.ndjson import Writer
from ben_cli.rejects import Rejects
from ben_cli.scrub import Scrubber, ScrubOptions, Unscrubbable, parse_policy, run
from ben_cli.stage import Stage, chain

from .scrub_corpus import corpus
from .test_scrub_properties import RECORDS

KEY = b"q" * 32


def ndjson(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def run_lines(tmp: Path, data: bytes, options: ScrubOptions) -> tuple[list[bytes], Rejects, object]:
    """What ``run`` writes for ``data`` (its lines), with the rejects and the summary."""
    path = tmp / "in.ndjson"
    path.write_bytes(data)
    out = io.BytesIO()
    rejects = Rejects()
    summary = run([str(path)], Writer(out, line_buffered=False), rejects, options)
    return out.getvalue().splitlines(), rejects, summary


def realistic() -> list[dict]:
    """Envelopes with personal data of every kind, clean lines, nested attrs and earlier marks."""
    records = [item.record for item in corpus(8, seed=5)]
    records += [
        {"ts": "2026-11-25T10:00:00Z", "body": "GET /healthz 200", "attrs": {"status": 200, "ms": 1.5}},
        {"body": "login bob@example.com from 203.0.113.9", "redacted": ["secret"]},
        {},
        {"attrs": {"password": "p4ss", "nested": {"ip": "10.1.2.3", "list": ["a@b.io", 4]}}},
    ]
    return records


def test_scrubber_is_a_stage_and_flush_holds_nothing():
    scrubber = Scrubber(key=KEY)
    assert isinstance(scrubber, Stage)
    assert list(scrubber.flush()) == []


def test_feed_gives_what_the_command_writes(cli, tmp_path):
    records = realistic()
    key = tmp_path / "k"
    key.write_bytes(KEY.hex().encode())
    os.chmod(key, 0o600)
    result = cli(["scrub", "-q", "--key", str(key)], input=ndjson(records))
    assert result.exit_code == 0, result.stderr
    fed = list(Scrubber(key=KEY).feed(records))
    assert [orjson.loads(line) for line in result.stdout_bytes.splitlines()] == fed
    assert any(r["redacted"] for r in fed) and any(r["redacted"] == [] for r in fed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(RECORDS, min_size=1, max_size=5))
def test_feed_and_run_agree_on_any_records(tmp_path, records):
    data = ndjson(records)
    lines, rejects, summary = run_lines(tmp_path, data, ScrubOptions(key=KEY))
    parsed = [orjson.loads(line) for line in data.splitlines()]  # the command's input, as dicts (inf is null)
    fed = list(Scrubber(key=KEY, on_reject=lambda reason, raw: None).feed(parsed))
    assert [orjson.loads(line) for line in lines] == fed
    assert summary.read == len(records) == summary.written + summary.rejected


def test_clean_lines_keep_their_own_spelling(tmp_path):
    data = b'{"body": "GET /healthz 200",  "n": 1.50}\r\n{ }\n'
    lines, _, _ = run_lines(tmp_path, data, ScrubOptions(key=KEY))
    assert lines == [b'{"body": "GET /healthz 200",  "n": 1.50,"redacted":[]}', b'{ "redacted":[]}']
    assert [orjson.loads(x) for x in lines] == list(Scrubber(key=KEY).feed([{"body": "GET /healthz 200", "n": 1.5}, {}]))


def test_dry_run_passes_records_unchanged_and_counts_findings(tmp_path):
    records = [{"body": "a@b.co and 10.0.0.1", "attrs": {"x": "c@d.io"}}, {"body": "plain"}]
    scrubber = Scrubber(key=KEY, dry_run=True)
    assert list(scrubber.feed(records)) == records
    assert scrubber.findings == {("email", "body"): 1, ("ipv4", "body"): 1, ("email", "attrs.x"): 1}
    data = ndjson(records)
    lines, _, summary = run_lines(tmp_path, data, ScrubOptions(key=KEY, dry_run=True))
    assert b"\n".join(lines) + b"\n" == data
    assert summary.findings == scrubber.findings


def test_an_unscrubbable_record_is_rejected_never_passed():
    policy = parse_policy("[scan]\nmax_value_bytes = 10\n")
    big = {"body": "y" * 20}
    seen: list[tuple[str, bytes]] = []
    out = list(Scrubber(policy, key=KEY, on_reject=lambda reason, raw: seen.append((reason, raw))).feed([big, {"body": "ok"}]))
    assert out == [{"body": "ok", "redacted": []}]
    assert seen == [("cannot scrub safely: body is a string of over 10 bytes (max_value_bytes)", orjson.dumps(big))]
    with pytest.raises(Unscrubbable, match="over 10 bytes"):
        list(Scrubber(policy, key=KEY).feed([big]))
    dry: list[tuple[str, bytes]] = []  # a dry run tells what a real run would do: reject it
    assert list(Scrubber(policy, key=KEY, dry_run=True, on_reject=lambda reason, raw: dry.append((reason, raw))).feed([big])) == []
    assert dry == seen


def test_run_rejects_through_the_reader_with_line_numbers_and_counts(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text("[scan]\nmax_value_bytes = 16\n")
    data = b'{"body":"a value longer than sixteen bytes"}\n\nnot json\n{"body":"ok"}\n'
    lines, rejects, summary = run_lines(tmp_path, data, ScrubOptions(policy=policy, key=KEY))
    assert lines == [b'{"body":"ok","redacted":[]}']
    assert (summary.read, summary.written, summary.rejected) == (3, 1, 2)
    path = tmp_path / "in.ndjson"
    assert rejects.first == [f"{path}:1: cannot scrub safely: body is a string of over 16 bytes (max_value_bytes)",
                             f"{path}:3: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)"]
    strict = Rejects(strict=True)
    with pytest.raises(BadRecord, match="cannot scrub safely"):
        run([str(tmp_path / "in.ndjson")], Writer(io.BytesIO(), line_buffered=False), strict, ScrubOptions(policy=policy, key=KEY))


def test_chain_of_scrubbers_is_idempotent():
    records = realistic()
    once = list(Scrubber(key=KEY).feed(records))
    assert list(chain([Scrubber(key=KEY), Scrubber(key=KEY)], records)) == once


def test_a_rewrite_far_from_a_finding_can_expose_it_so_the_rescan_stays_whole():
    """``lib+1.2.3.4 5.6.7.8``: the second address reads as a package version after
    ``lib+1.2.3.4 `` (``libfoo 1.2.3.4``), so the first round truncates only the first one; that
    rewrite ends the ``lib...`` word, and the second address is an address again. Neither the
    finding's neighbourhood nor its entity bounds what a rewrite changes: this is why every
    rewritten string is rescanned whole."""
    scrubber = Scrubber(key=KEY)
    assert scrubber.finder.find("lib+1.2.3.4 5.6.7.8") == [(4, 11, "ipv4")]
    out, found = scrubber.scrub_text("lib+1.2.3.4 5.6.7.8")
    assert (out, found) == ("lib+1.2.3.0/24 5.6.7.0/24", ["ipv4"])
    assert scrubber.scrub_text(out)[0] == out
