"""ben db: schema by server version, migrations recorded and replayable, queries with bound
parameters, saved queries: on the real 18.16 server (legacy schema) and, for the modern schema,
on a current ClickHouse engine in-process (chdb)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from ben_cli.record import NS_PER_S
from ben_cli.sink.rows import MODERN, RowBuilder, insert_columns, record_from_row, select_list, to_columns
from ben_cli.sink.saved_queries import bind, saved_queries
from ben_cli.sink.schema import LATEST, Schema, flavour_for, init_statements

from .conftest import run_ben
from .sink_support import canonical, ndjson, varied_records

ALL = ["-p", "minutes=100000000"]  # the test data is dated 2026-11-25; look back far enough


@pytest.fixture
def fresh(clickhouse):
    name = f"d_{uuid.uuid4().hex[:12]}"
    client = clickhouse.client()
    yield f"clickhouse://{clickhouse.host}:{clickhouse.port}/{name}", client, name
    client.execute(f"DROP DATABASE IF EXISTS `{name}`")
    client.disconnect()


def lines(result) -> list[dict]:
    return [orjson.loads(x) for x in result.stdout.splitlines()]


def test_flavour_follows_the_server_version():
    assert flavour_for((18, 16, 1)) == "legacy"
    assert flavour_for((22, 2)) == "legacy"
    assert flavour_for((22, 3, 5)) == "modern"
    assert flavour_for((26, 9)) == "modern"


def test_init_twice_is_harmless_and_versions_are_recorded(fresh, cli):
    url, client, db = fresh
    for _ in range(2):
        result = cli(["db", "init", "--to", url])
        assert result.exit_code == 0, result.output
    assert f"{db}.telemetry is at schema version {LATEST} (legacy schema, server 18.16" in result.stderr
    assert client.execute(f"SELECT version, flavour FROM `{db}`.ben_schema ORDER BY version") == [(1, "legacy"), (2, "legacy")]
    status = lines(cli(["db", "status", "--to", url]))[0]
    assert status == {"server": "18.16.1", "database": db, "table": "telemetry", "flavour": "legacy",
                      "version": LATEST, "latest": LATEST}


def test_migrate_moves_an_old_table_forward_and_backfills_the_rollups(fresh, cli):
    url, client, db = fresh
    assert cli(["db", "init", "--to", url, "--schema-version", "1"]).exit_code == 0
    assert client.execute(f"EXISTS TABLE `{db}`.telemetry_minute") == [(0,)]
    records = varied_records(500, seed=2)
    assert cli(["sink", "--to", url], input=ndjson(records)).exit_code == 0
    result = cli(["db", "migrate", "--to", url])
    assert result.exit_code == 0, result.output
    assert "applied schema version 2" in result.stderr
    with_value = [r for r in records if "value" in r]
    got = client.execute(f"SELECT countMerge(samples), sumMerge(total) FROM `{db}`.telemetry_minute")[0]
    assert got[0] == len(with_value)
    assert got[1] == pytest.approx(sum(r["value"] for r in with_value))
    anomalies = [r for r in records if r.get("anomaly", {}).get("is_anomaly") is True]
    assert client.execute(f"SELECT count() FROM `{db}`.telemetry_anomalies") == [(len(anomalies),)]
    # new rows flow through the views from now on
    assert cli(["sink", "--to", url], input=ndjson(records[:10])).exit_code == 0
    got = client.execute(f"SELECT countMerge(samples) FROM `{db}`.telemetry_minute")[0][0]
    assert got == len(with_value) + sum(1 for r in records[:10] if "value" in r)
    assert cli(["db", "migrate", "--to", url]).stderr.count("applied") == 0


def test_ttl_needs_the_modern_schema(fresh):
    url, _, db = fresh
    result = run_ben("db", "init", "--to", url, "--ttl", "30")
    assert result.returncode == 1 and result.stderr.decode().splitlines() == [
        f"ben db init: --ttl needs the modern schema (ClickHouse 22.3 or later); {db}.telemetry has the legacy schema"]
    printed = run_ben("db", "init", "--to", url, "--ttl", "30", "--schema", "legacy", "--print")
    assert printed.returncode == 2 and printed.stderr == b"ben db init: --ttl needs the modern schema (ClickHouse 22.3 or later)\n"
    assert run_ben("db", "init", "--to", url, "--print").returncode == 2


HOSTILE = "it's \\ a \"test\"'; DROP DATABASE default; --\n\t😀"


def test_query_parameters_are_bound_never_pasted(fresh, cli):
    url, client, db = fresh
    assert cli(["db", "init", "--to", url]).exit_code == 0
    result = cli(["db", "query", "SELECT {s:String} AS s, {n:UInt32} + 1 AS n, {t:DateTime} AS t, 100 % 7 AS m",
                  "--to", url, "-p", f"s={HOSTILE}", "-p", "n=41", "-p", "t=2026-11-25T10:00:00Z"])
    assert result.exit_code == 0, result.output
    assert lines(result) == [{"s": HOSTILE, "n": 42, "t": "2026-11-25T10:00:00Z", "m": 2}]
    assert client.execute("SELECT count() FROM system.databases WHERE name = 'default'") == [(1,)]
    bad = run_ben("db", "query", "SELECT {n:UInt32}", "--to", url, "-p", "n=1; DROP TABLE x")
    assert bad.returncode == 1 and bad.stderr.startswith(b"ben db query: '1; DROP TABLE x' is not a UInt32")
    missing = run_ben("db", "query", "SELECT {n:UInt32}", "--to", url)
    assert missing.returncode == 1
    assert missing.stderr == b"ben db query: missing parameter(s): n (pass --param NAME=VALUE)\n"


def test_saved_queries_answer_what_the_data_says(fresh, cli):
    url, _, _ = fresh
    assert cli(["db", "init", "--to", url]).exit_code == 0
    records = varied_records(2000, seed=4)
    assert cli(["sink", "--to", url], input=ndjson(records)).exit_code == 0

    top = lines(cli(["db", "proc", "top-anomalies", "--to", url, *ALL, "-p", "limit=5"]))
    flagged = sorted((r for r in records if r.get("anomaly", {}).get("is_anomaly") is True),
                     key=lambda r: -r["anomaly"]["score"])
    assert [t["score"] for t in top] == [r["anomaly"]["score"] for r in flagged[:5]]
    assert [(t["source"], t["name"]) for t in top] == [(r["source"], r["name"]) for r in flagged[:5]]

    rates = {r["source"]: r for r in lines(cli(["db", "proc", "error-rates", "--to", url, *ALL]))}
    for source in {r["source"] for r in records}:
        mine = [r for r in records if r["source"] == source]
        errors = sum(1 for r in mine if r.get("severity") in ("error", "fatal"))
        assert (rates[source]["records"], rates[source]["errors"]) == (len(mine), errors)

    at = records[1000]["ts"]
    around = lines(cli(["db", "proc", "series-around", "--to", url, "-p", "source=host-6", "-p", "name=cpu.usage",
                        "-p", f"at={at}", "-p", "minutes=1"]))
    def seconds(ts: str) -> float:  # the legacy ts column holds whole seconds
        return datetime.fromisoformat(ts[:19]).replace(tzinfo=UTC).timestamp()

    expected = [r for r in records if r["source"] == "host-6" and r["name"] == "cpu.usage"
                and seconds(at) - 60 <= seconds(r["ts"]) <= seconds(at) + 60]
    assert len(around) == len(expected) > 0
    assert sorted(a["value"] for a in around if a["value"] is not None) == sorted(r["value"] for r in expected if "value" in r)
    assert [a["time_ns"] for a in around] == sorted(a["time_ns"] for a in around)


def test_saved_queries_from_ben_home_shadow_and_list(cli, ben_home):
    (ben_home / "queries").mkdir(parents=True)
    (ben_home / "queries" / "mine.sql").write_text("-- Mine.\n-- @param x UInt8 = 3\nSELECT {x:UInt8} AS x\n")
    listed = {q["name"]: q for q in lines(cli(["db", "proc", "--list"]))}
    assert {"top-anomalies", "error-rates", "series-around", "mine"} <= set(listed)
    assert listed["mine"]["params"] == [{"name": "x", "type": "UInt8", "default": "3"}]
    assert cli(["db", "proc", "mine", "--show"]).stdout.endswith("SELECT {x:UInt8} AS x\n")
    nope = run_ben("db", "proc", "nope", "--to", "clickhouse://127.0.0.1/x")
    assert nope.returncode == 1
    assert nope.stderr == b"ben db proc: no saved query 'nope'; `ben db proc --list` shows them\n"


# --- the modern schema on a current ClickHouse (chdb: the server's engine, in-process) ---------

def chdb_session(tmp_path):
    from chdb import session

    return session.Session(str(tmp_path / "chdb"))


def as_json_rows(rows, batch_id: str) -> bytes:
    """The modern insert's columns as JSONEachRow (DateTime64 as text with all nine digits)."""
    cols = to_columns(MODERN, rows, batch_id, list(range(len(rows))))
    out = []
    for values in zip(*cols, strict=True):
        row = dict(zip(insert_columns(MODERN), values, strict=True))
        secs, ns = divmod(row["ts"], NS_PER_S)
        row["ts"] = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%d %H:%M:%S") + f".{ns:09d}"
        out.append(orjson.dumps(row))
    return b"\n".join(out)


def test_modern_schema_stores_every_field_on_a_current_engine(tmp_path):
    s = chdb_session(tmp_path)
    for sql in init_statements(Schema("modern_db", flavour=MODERN, ttl_days=3650)):
        s.query(sql)
    ddl = s.query("SHOW CREATE TABLE modern_db.telemetry", "TSVRaw").bytes().decode()
    for part in ("DateTime64(9, 'UTC')", "Map(LowCardinality(String), String)", "LowCardinality(String)",
                 "CODEC(Delta(8), ZSTD(1))", "TTL toDateTime(ts) + toIntervalDay(3650)", "bloom_filter"):
        assert part in ddl, part
    records = varied_records(1500, seed=8)
    rows = [RowBuilder(MODERN).row(r) for r in records]
    s.query("INSERT INTO modern_db.telemetry FORMAT JSONEachRow " + as_json_rows(rows, "b1").decode())
    got = s.query(f"SELECT {select_list(MODERN)} FROM modern_db.telemetry", "JSONCompactEachRow").bytes()
    back = [record_from_row(orjson.loads(line)) for line in got.splitlines()]
    assert canonical(back) == canonical(records)
    with_value = sum(1 for r in records if "value" in r)
    assert s.query("SELECT countMerge(samples) FROM modern_db.telemetry_minute", "CSV").bytes().strip() == str(with_value).encode()

    s.query("USE modern_db")
    for name, q in saved_queries().items():
        params = {"minutes": "100000000", "limit": "3", "source": "host-1", "name": "deploy",
                  "at": records[700]["ts"], "table": "telemetry"}
        declared = {p.name for p in q.params} | {"table"}
        text, values = bind(q.sql, {k: v for k, v in params.items() if k in declared}, server_side=True, declared=q.params)
        as_text = {k: (v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else str(v)) for k, v in values.items()}
        out = s.query(text, "JSONEachRow", params=as_text).bytes()
        assert out.strip(), f"{name} returned nothing on the modern schema"
    s.close()
