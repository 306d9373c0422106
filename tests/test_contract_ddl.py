"""``ben contract compile --to clickhouse`` and ``ben db init --contract`` (issue 20): the views run
on the real ClickHouse 18.16 of the tests (legacy schema, through ``ben db init`` and ``ben sink``)
and on a current engine (chdb, modern schema), and read typed values back from stored records."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest

from ben_cli.contract import load
from ben_cli.contract.ddl import views
from ben_cli.sink.rows import MODERN, RowBuilder
from ben_cli.sink.schema import Schema, init_statements

from .conftest import run_ben
from .test_db import as_json_rows, chdb_session

SHOP = Path(__file__).parent / "data" / "contracts" / "shop.ben"

RECORDS = [
    {"ts": "2026-11-25T10:00:00Z", "lane": "event", "source": "web-1", "name": "checkout.done", "value": 812.5,
     "region": "eu", "started": "2026-11-25T09:59:59.187500Z",
     "attrs": {"items": 3, "total": 59.9, "paid": True, "client": "10.1.2.3", "when": "2026-11-25T10:00:00Z",
               "coupon": "WINTER"}},
    {"ts": "2026-11-25T10:00:01Z", "lane": "event", "source": "web-2", "name": "checkout.done", "value": 90,
     "region": "us", "attrs": {"items": "lots", "paid": False}},
    {"ts": "2026-11-25T10:00:02Z", "lane": "event", "source": "ci", "name": "deploy.start", "body": "v42 rolling out",
     "attrs": {"version": "v42"}},
    {"ts": "2026-11-25T10:00:03Z", "lane": "diag", "source": "web-1", "name": "checkout.done", "value": 1},
]
EXPECTED_CHECKOUTS = [
    {"source": "web-1", "value": 812.5, "region": "eu", "attrs_items": 3, "attrs_total": 59.9, "attrs_paid": 1,
     "attrs_client": "10.1.2.3", "attrs_coupon": "WINTER"},
    {"source": "web-2", "value": 90.0, "region": "us", "attrs_items": None, "attrs_total": None, "attrs_paid": 0,
     "attrs_client": "", "attrs_coupon": ""},
]
COLUMNS = "source, value, region, attrs_items, attrs_total, attrs_paid, attrs_client, attrs_coupon"


def test_the_views_run_on_clickhouse_18_16_through_db_init_and_sink(clickhouse, tmp_path):
    db = f"c_{uuid.uuid4().hex[:12]}"
    url = f"clickhouse://{clickhouse.host}:{clickhouse.port}/{db}"
    client = clickhouse.client()
    try:
        init = run_ben("db", "init", "--to", url, "--contract", str(SHOP))
        assert init.returncode == 0, init.stderr
        assert b"the views of the contract" in init.stderr
        again = run_ben("db", "init", "--to", url, "--contract", str(SHOP))  # idempotent
        assert again.returncode == 0, again.stderr
        sunk = run_ben("sink", "--to", url, input=b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
        assert sunk.returncode == 0, sunk.stderr
        rows = client.execute(f"SELECT {COLUMNS} FROM `{db}`.telemetry_event_checkout_done ORDER BY source")
        names = [c.strip() for c in COLUMNS.split(",")]
        assert [dict(zip(names, r, strict=True)) for r in rows] == EXPECTED_CHECKOUTS
        started, when = client.execute(f"SELECT toString(started), toString(attrs_when) "
                                       f"FROM `{db}`.telemetry_event_checkout_done WHERE source = 'web-1'")[0]
        assert (started, when) == ("2026-11-25 09:59:59", "2026-11-25 10:00:00")
        deploys = client.execute(f"SELECT name, body, attrs_version FROM `{db}`.telemetry_event_deploy_any")
        assert deploys == [("deploy.start", "v42 rolling out", "v42")]
    finally:
        client.execute(f"DROP DATABASE IF EXISTS `{db}`")
        client.disconnect()


def test_the_views_run_on_a_current_engine_with_the_modern_schema(tmp_path):
    s = chdb_session(tmp_path)
    for sql in init_statements(Schema("shop", flavour=MODERN)):
        s.query(sql)
    for sql in views(load(SHOP), MODERN, "shop", "telemetry"):
        s.query(sql)
    rows = [RowBuilder(MODERN).row(r) for r in RECORDS]
    s.query("INSERT INTO shop.telemetry FORMAT JSONEachRow " + as_json_rows(rows, "b1").decode())
    got = s.query(f"SELECT {COLUMNS} FROM shop.telemetry_event_checkout_done ORDER BY source", "JSONEachRow")
    assert [orjson.loads(x) for x in got.bytes().splitlines()] == EXPECTED_CHECKOUTS
    typed = s.query("SELECT toTypeName(started), toTypeName(attrs_when), toString(started), toTypeName(region) "
                    "FROM shop.telemetry_event_checkout_done WHERE source = 'web-1'", "TSVRaw").bytes().decode().split("\t")
    assert typed == ["Nullable(DateTime64(9, 'UTC'))", "Nullable(DateTime64(9, 'UTC'))",
                     "2026-11-25 09:59:59.187500000", "String\n"]
    deploys = s.query("SELECT name, attrs_version FROM shop.telemetry_event_deploy_any", "CSV").bytes()
    assert deploys == b'"deploy.start","v42"\n'


def test_a_record_is_in_the_view_of_the_first_kind_that_matches_it(tmp_path):
    contract = tmp_path / "first.ben"
    contract.write_text('lane event {\n  kind http.request { field value: float }\n  kind "http.*" { }\n}\n')
    s = chdb_session(tmp_path)
    for sql in init_statements(Schema("f", flavour=MODERN)):
        s.query(sql)
    for sql in views(load(contract), MODERN, "f", "telemetry"):
        s.query(sql)
    recs = [{"ts": "2026-11-25T10:00:00Z", "lane": "event", "source": "a", "name": n} for n in ("http.request", "http.x")]
    s.query("INSERT INTO f.telemetry FORMAT JSONEachRow " + as_json_rows([RowBuilder(MODERN).row(r) for r in recs], "b").decode())
    assert s.query("SELECT name FROM f.telemetry_event_http_request", "CSV").bytes() == b'"http.request"\n'
    assert s.query("SELECT name FROM f.telemetry_event_http_any", "CSV").bytes() == b'"http.x"\n'


@pytest.mark.parametrize("schema", ["legacy", "modern"])
def test_db_init_prints_the_contract_views_after_the_tables(schema):
    printed = run_ben("db", "init", "--to", "clickhouse://127.0.0.1/shop", "--schema", schema, "--print",
                      "--contract", str(SHOP))
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout.decode()
    assert text.index("CREATE TABLE IF NOT EXISTS `shop`.`telemetry`") < text.index("CREATE VIEW IF NOT EXISTS `shop`.`telemetry_event_checkout_done`")
    attrs = "attrs['items']" if schema == "modern" else "attrs.value[indexOf(attrs.key, 'items')]"
    assert f"toInt64OrNull({attrs}) AS `attrs_items`" in text
