"""Sinks: ClickHouse (exactly once, through a write-ahead spool), NDJSON files and stdout; the
schema and its migrations; saved queries.

The stage core is :class:`Batcher` (records in, batches delivered; :func:`batcher_for` builds one
for a target), and :func:`run` is ``ben sink`` over the shared reader. clickhouse_driver is
imported only where a server is reached, so importing this package stays cheap."""

from ben_cli.sink.batch import BatchLimits
from ben_cli.sink.batcher import Batcher
from ben_cli.sink.deliver import DurableRejects, FileOptions
from ben_cli.sink.run import SinkOptions, batcher_for, run
from ben_cli.sink.target import ClickHouseTarget, FileTarget, StdoutTarget, TargetError, parse_target

__all__ = ["BatchLimits", "Batcher", "ClickHouseTarget", "DurableRejects", "FileOptions", "FileTarget", "SinkOptions",
           "StdoutTarget", "TargetError", "batcher_for", "parse_target", "run"]
