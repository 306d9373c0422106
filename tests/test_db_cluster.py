"""The cluster DDL on a real cluster: ZooKeeper and two ClickHouse servers (two shards), tables
created ON CLUSTER by `ben db init --cluster`, records sunk through the Distributed table, read
back whole from either node."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import run_ben
from .sink_support import canonical, ndjson, read_back, varied_records

SUPPORT = Path(__file__).resolve().parent / "support"
ZOOKEEPER_CLASSPATH = "/usr/share/java/zookeeper.jar:/usr/share/java/*"


def free_port() -> int:
    return int(subprocess.run([sys.executable, str(SUPPORT / "free-port")], capture_output=True, text=True,
                              check=True).stdout)


def zookeeper_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"srvr")
            return b"Zookeeper version" in s.recv(1024)
    except OSError:
        return False


CLUSTER_XML = """<?xml version="1.0"?>
<yandex>
  <zookeeper><node><host>127.0.0.1</host><port>{zk}</port></node></zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>{interserver}</interserver_http_port>
  <macros><shard>0{n}</shard><replica>node{n}</replica></macros>
  <remote_servers><ben_test>
    <shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>{p1}</port></replica></shard>
    <shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>{p2}</port></replica></shard>
  </ben_test></remote_servers>
</yandex>
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """ZooKeeper plus two ClickHouse nodes, each a shard of the cluster `ben_test`."""
    java = shutil.which("java")
    assert java, "ZooKeeper needs java (make test installs the zookeeper package)"
    root = tmp_path_factory.mktemp("cluster")
    zk_port = free_port()
    zk = subprocess.Popen([java, "-Dzookeeper.admin.enableServer=false", "-cp", ZOOKEEPER_CLASSPATH, "org.apache.zookeeper.server.ZooKeeperServerMain",
                           str(zk_port), str(root / "zk")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = []
    try:
        deadline = time.monotonic() + 60
        while not zookeeper_answers(zk_port):
            assert zk.poll() is None and time.monotonic() < deadline, "ZooKeeper did not start"
            time.sleep(0.2)
        ports = [(free_port(), free_port(), free_port()) for _ in range(2)]
        for n, (tcp, http, interserver) in enumerate(ports, 1):
            folder = root / f"node{n}"
            (folder / "config.d").mkdir(parents=True)
            (folder / "config.d" / "cluster.xml").write_text(CLUSTER_XML.format(
                zk=zk_port, interserver=interserver, n=n, p1=ports[0][0], p2=ports[1][0]))
            env = {**os.environ, "BEN_CH_TCP_PORT": str(tcp), "BEN_CH_HTTP_PORT": str(http)}
            subprocess.run([str(SUPPORT / "clickhouse-test-server"), "start", str(folder)], env=env, check=True)
            nodes.append((folder, env, tcp))
        yield [tcp for _, _, tcp in nodes]
    finally:
        for folder, env, _ in nodes:
            subprocess.run([str(SUPPORT / "clickhouse-test-server"), "stop", str(folder)], env=env, check=False)
        zk.terminate()
        zk.wait(timeout=30)


def client(port: int):
    from clickhouse_driver import Client

    return Client(host="127.0.0.1", port=port)


def test_cluster_ddl_and_sink_through_the_distributed_table(cluster):
    p1, p2 = cluster
    url = f"clickhouse://127.0.0.1:{p1}/clu"
    init = run_ben("db", "init", "--to", url, "--cluster", "ben_test")
    assert init.returncode == 0, init.stderr
    tables = {"ben_schema", "telemetry", "telemetry_local", "telemetry_minute", "telemetry_minute_local",
              "telemetry_minute_mv", "telemetry_anomalies", "telemetry_anomalies_local", "telemetry_anomalies_mv"}
    for port in cluster:  # ON CLUSTER made every table on every node
        assert {t for (t,) in client(port).execute("SHOW TABLES FROM clu")} == tables
    engines = dict(client(p2).execute("SELECT name, engine FROM system.tables WHERE database = 'clu'"))
    assert engines["telemetry"] == "Distributed" and engines["telemetry_local"] == "ReplicatedMergeTree"
    assert engines["telemetry_minute_local"] == "ReplicatedAggregatingMergeTree"

    deadline = time.monotonic() + 30  # the version rows replicate to the other node
    while client(p2).execute("SELECT max(version) FROM clu.ben_schema") != [(2,)]:
        assert time.monotonic() < deadline, "ben_schema did not replicate"
        time.sleep(0.3)

    records = varied_records(2000, seed=11)
    sink = run_ben("sink", "--to", url, input=ndjson(records))
    assert sink.returncode == 0, sink.stderr
    # the insert waited for the shards: right after the sink exits, both shards hold their part
    local = [client(port).execute("SELECT count() FROM clu.telemetry_local")[0][0] for port in cluster]
    assert sum(local) == 2000 and min(local) > 0
    for port in cluster:
        assert canonical(read_back(client(port), "clu")) == canonical(records)
    # the second node answers saved queries over the whole cluster too
    rates = run_ben("db", "proc", "error-rates", "--to", f"clickhouse://127.0.0.1:{p2}/clu", "-p", "minutes=100000000",
                    "--format", "ndjson")
    assert rates.returncode == 0 and len(rates.stdout.splitlines()) == 7
