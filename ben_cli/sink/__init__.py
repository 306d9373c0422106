"""Sinks: ClickHouse (exactly once, through a write-ahead spool), NDJSON files and stdout; the
schema and its migrations; saved queries. clickhouse_driver is imported only where a server is
reached, so importing this package stays cheap."""

from ben_cli.sink.run import BatchLimits, DurableRejects, SinkOptions, sink
from ben_cli.sink.target import ClickHouseTarget, FileTarget, StdoutTarget, TargetError, parse_target

__all__ = ["BatchLimits", "ClickHouseTarget", "DurableRejects", "FileTarget", "SinkOptions", "StdoutTarget",
           "TargetError", "parse_target", "sink"]
