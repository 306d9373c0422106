"""``ben ingest --listen grpc://|http:// --contract/--policy``: records held at the door, before
they are acknowledged. A refused record is counted in the answer's partial_success with the
contract's or the policy's reason and goes to --rejects; the others are written."""

from __future__ import annotations

from pathlib import Path

import grpc
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import run_ben
from .listening import ListeningBen
from .otlp_support import grpc_export, http_post, logs_request

CONTRACT = """contract door version 1
lane diag {
  kind log {
    attr ratio: float range 0..0.3
  }
}
"""

POLICY = """policy door version 1 default deny
rule no-secrets: deny if has attrs.secret
rule collectors: allow if from collector-*
"""


def _send_logs(ben: ListeningBen, kind: str, req) -> tuple[int, str]:
    """Export ``req``; the answer's rejected_log_records and error_message."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    if kind == "grpc":
        with grpc.insecure_channel(ben.address.split("://", 1)[1]) as channel:
            answer = ExportLogsServiceResponse.FromString(grpc_export(channel, "logs", req.SerializeToString()))
    else:
        status, _, body = http_post(*ben.host_port, "/v1/logs", req.SerializeToString())
        assert status == 200
        answer = ExportLogsServiceResponse.FromString(body)
    return answer.partial_success.rejected_log_records, answer.partial_success.error_message


def _rejects(path: Path) -> list[dict]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_a_record_breaking_the_contract_is_refused_in_partial_success_and_rejected(tmp_path, kind):
    contract = tmp_path / "door.ben"
    contract.write_text(CONTRACT)
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, f"{kind}://127.0.0.1:0", "--contract", str(contract), "--rejects", str(rejects))
    try:
        refused, message = _send_logs(ben, kind, logs_request(4))  # ratio i/4: 0, 0.25 pass; 0.5, 0.75 break it
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert refused == 2
    assert message.startswith("2 rejected; the first: contract: range attrs.ratio=0.5 (")
    assert f"{contract}:4" in message  # the rule's file:line
    assert [r["attrs"]["i"] for r in out] == [0, 1]
    bad = _rejects(rejects)
    assert [orjson.loads(r["raw"])["attrs"]["i"] for r in bad] == [2, 3]
    assert bad[1]["reason"] == f"contract: range attrs.ratio=0.75 ({contract}:4)"
    assert "contract: broken 2" in err


def test_warn_mode_at_the_door_marks_instead_of_refusing(tmp_path):
    contract = tmp_path / "door.ben"
    contract.write_text(CONTRACT)
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, "grpc://127.0.0.1:0", "--contract", str(contract), "--contract-mode", "warn",
                       "--rejects", str(rejects))
    try:
        refused, message = _send_logs(ben, "grpc", logs_request(4))
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert (refused, message) == (0, "")
    assert [r["attrs"]["i"] for r in out] == [0, 1, 2, 3]
    assert ["contract" in r for r in out] == [False, False, True, True]
    assert out[2]["contract"]["violations"][0]["rule"] == "range"
    assert _rejects(rejects) == []


def _with_secret(req, which: int) -> None:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    req.resource_logs[0].scope_logs[0].log_records[which].attributes.append(
        KeyValue(key="secret", value=AnyValue(string_value="hunter2")))


@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_a_record_the_policy_denies_is_refused_in_partial_success_and_rejected(tmp_path, kind):
    policy = tmp_path / "door.policy"
    policy.write_text(POLICY)
    rejects = tmp_path / "rejects.ndjson"
    ben = ListeningBen(tmp_path, f"{kind}://127.0.0.1:0", "--policy", str(policy), "--identity", "collector-1",
                       "--rejects", str(rejects))
    req = logs_request(3)
    _with_secret(req, 1)
    try:
        refused, message = _send_logs(ben, kind, req)
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert refused == 1
    assert message == f"1 rejected; the first: policy: denied by rule no-secrets ({policy}:2:6)"
    assert [r["attrs"]["i"] for r in out] == [0, 2]
    bad = _rejects(rejects)
    assert len(bad) == 1 and orjson.loads(bad[0]["raw"])["attrs"]["secret"] == "hunter2"
    assert "policy: allowed 2, denied 1, rate-limited 0" in err


def test_the_policy_judges_the_identity_given_and_both_gates_compose(tmp_path):
    """Without --identity nobody matches ``from collector-*``: the default denies everything. With
    both gates, the policy decides first and the contract holds what it let through."""
    policy, contract = tmp_path / "door.policy", tmp_path / "door.ben"
    policy.write_text(POLICY)
    contract.write_text(CONTRACT)
    ben = ListeningBen(tmp_path, "http://127.0.0.1:0", "--policy", str(policy))
    try:
        refused, message = _send_logs(ben, "http", logs_request(2))
    finally:
        out, err, code = ben.stop()
    assert (code, refused, out) == (0, 2, [])
    assert "policy: denied by rule default" in message
    both = tmp_path / "both"
    both.mkdir()
    ben = ListeningBen(both, "http://127.0.0.1:0", "--policy", str(policy), "--identity", "collector-9",
                       "--contract", str(contract))
    req = logs_request(4)
    _with_secret(req, 3)
    try:
        refused, message = _send_logs(ben, "http", req)
    finally:
        out, err, code = ben.stop()
    assert code == 0, err
    assert refused == 2 and "the first: contract: range attrs.ratio=0.5" in message
    assert [r["attrs"]["i"] for r in out] == [0, 1]
    assert "policy: allowed 3, denied 1" in err and "contract: broken 1" in err


def test_policy_applies_to_the_otlp_listen_modes_only(tmp_path):
    policy = tmp_path / "door.policy"
    policy.write_text(POLICY)
    done = run_ben("ingest", "--policy", str(policy), "--listen", "tcp://127.0.0.1:0", timeout=60)
    assert done.returncode == 2
    assert "--policy applies to --listen grpc:// and http://" in done.stderr.decode()


def test_the_gates_refusals_in_process():
    """The library forms the door calls: a reason, or None; nothing written to the rejects by them."""
    from ben_cli.contract import ContractOptions, Enforcer
    from ben_cli.contract.check import load_text
    from ben_cli.policy import Who
    from ben_cli.policy.check import load_text as load_policy
    from ben_cli.policy.enforce import Gate
    from ben_cli.rejects import Rejects

    with Rejects(None, stage="test") as rejects:
        enforcer = Enforcer(load_text(CONTRACT, "c.ben"), rejects, ContractOptions())
        ok = {"lane": "diag", "name": "log", "attrs": {"ratio": 0.1}}
        assert enforcer.refusal(ok) is None
        assert enforcer.refusal({**ok, "attrs": {"ratio": 2.0}}) == "contract: range attrs.ratio=2.0 (c.ben:4)"
        gate = Gate(load_policy(POLICY, "p.policy")[0], rejects, Who("collector-2"))
        assert gate.refusal(ok) is None
        assert gate.refusal({**ok, "attrs": {"secret": 1}}) == "policy: denied by rule no-secrets (p.policy:2:6)"
        assert rejects.count == 0
    assert (enforcer.broken, gate.counts["deny"]) == (1, 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.1, 0.3, 0.31, 0.5, 7.0]), st.booleans()), min_size=1, max_size=20))
def test_every_record_is_written_or_refused_once_with_the_gate_that_refused_it(records):
    """Property, on the door in-process with both gates: each record of a request is either written
    or refused (counted in the answer and in the rejects, with the reason of the first gate that
    refused it), never both and never neither, whatever mix of breaking and denied records."""
    import io

    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    from ben_cli.contract import ContractOptions, Enforcer
    from ben_cli.contract.check import load_text
    from ben_cli.ingest import otlp_proto
    from ben_cli.ingest.format import DecodeOptions
    from ben_cli.ingest.otlp_door import Door
    from ben_cli.ingest.summary import IngestSummary
    from ben_cli.ndjson import Writer
    from ben_cli.policy import Who
    from ben_cli.policy.check import load_text as load_policy
    from ben_cli.policy.enforce import Gate
    from ben_cli.rejects import Rejects
    from commands._door_gates import _one_at_a_time

    req = logs_request(len(records))
    for rec, (ratio, secret) in zip(req.resource_logs[0].scope_logs[0].log_records, records, strict=True):
        for kv in rec.attributes:
            if kv.key == "ratio":
                kv.value.double_value = ratio
        if secret:
            rec.attributes.append(KeyValue(key="secret", value=AnyValue(string_value="x")))
    out = io.BytesIO()
    with Rejects(None, stage="ingest") as rejects:
        gates = [Gate(load_policy(POLICY, "p")[0], rejects, Who("collector-1")).refusal,
                 Enforcer(load_text(CONTRACT, "c"), rejects, ContractOptions()).refusal]
        door = Door(Writer(out, line_buffered=False), rejects, IngestSummary(), DecodeOptions(),
                    check=_one_at_a_time(gates))
        outcome = door.take(otlp_proto.as_json("logs", req), "p", b"")
    written = [orjson.loads(x)["attrs"]["i"] for x in out.getvalue().splitlines()]
    expect_written = [i for i, (ratio, secret) in enumerate(records) if not secret and ratio <= 0.3]
    assert written == expect_written
    assert (outcome.accepted, outcome.rejected) == (len(written), len(records) - len(written))
    assert rejects.count == outcome.rejected
    denied = sum(secret for _, secret in records)
    assert rejects.reasons == {k: n for k, n in (("policy", denied), ("contract", outcome.rejected - denied)) if n}
