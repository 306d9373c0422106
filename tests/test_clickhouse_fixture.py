"""The test server is real: a table made, rows inserted natively, rows read back."""


def test_insert_and_read_back(clickhouse):
    client = clickhouse.client()
    client.execute("DROP TABLE IF EXISTS fixture_probe")
    client.execute("CREATE TABLE fixture_probe (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    client.execute("INSERT INTO fixture_probe (id, name) VALUES", [(1, "alpha"), (2, "beta"), (3, "ünï")])
    rows = client.execute("SELECT id, name FROM fixture_probe ORDER BY id")
    assert rows == [(1, "alpha"), (2, "beta"), (3, "ünï")]
    assert client.execute("SELECT count() FROM fixture_probe WHERE name != 'alpha'") == [(2,)]
    client.execute("DROP TABLE fixture_probe")
