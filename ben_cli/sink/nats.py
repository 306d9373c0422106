"""``ben sink --to nats://HOST/SUBJECT``: each batch published to JetStream, acknowledged by it.

A record goes to ``SUBJECT.<partition>``, the partition being its series key's hash modulo the
stream's partition count (:mod:`ben_cli.series`, the hash ``ben run --workers`` and ``--shard``
use), so a series always lands on one partition and is read in order by one consumer. Every
message of a batch is published at once and the batch waits for all of JetStream's
acknowledgements: the sender's one-slot queue then holds the reader back (backpressure), and
``--ack`` moves only once the whole batch is in the stream.

Each message carries a ``Nats-Msg-Id`` that a re-publish repeats: the record's ingest position
(``_ingest.in`` and ``at``) with a hash of its line, or, for a record without a position, the
hash and how many times that line came before in this run. A run killed after publishing and
before acknowledging sends the batch again; within the stream's duplicate window (10 minutes)
JetStream stores nothing twice, and counts the repeats as duplicates.

The same ids make a server's restart harmless: a batch whose publish fails (the connection lost,
an acknowledgement that never came) is published again on a new connection, with backoff, for
up to ``--retry-for``; what the server had stored before it went away is counted as duplicates,
not stored twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson

from ben_cli.acks import position
from ben_cli.jetstream import Bus, JetStreamError, parse_address
from ben_cli.retry import RetryPolicy, retrying
from ben_cli.series import DEFAULT_KEY, key_getters, partition_of

if TYPE_CHECKING:
    from ben_cli.sink.batch import Batch
    from ben_cli.sink.held import Held
    from ben_cli.sink.rows import RowBuilder


class NatsDelivery:
    converters = None  # nothing to convert: a message is the record's line
    builder: RowBuilder | None = None  # records are parsed when delivered, to find their partition

    def __init__(self, url: str, partitions: int | None = None, by: tuple[str, ...] = DEFAULT_KEY,
                 held: Held | None = None, notify: Callable[[str], None] = lambda _m: None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep):
        self.address = parse_address(url)
        self.want, self.getters, self.held, self.notify = partitions, key_getters(by), held, notify
        self.retry, self.sleep = retry or RetryPolicy(), sleep
        self.bus: Bus | None = None
        self.partitions = 0
        self.written = 0
        self.duplicates = 0  # messages JetStream already had (a re-publish after a crash)
        self._seen: dict[str, int] = {}  # hash of a line without a position -> times it came

    def load(self) -> dict[str, dict]:
        self.bus = Bus(self.address)
        self.partitions = self.bus.ensure_stream(self.want, create=True)
        return {}

    def new_rows(self) -> None:
        return None

    def message_id(self, rec: dict, line: bytes) -> str:
        digest = hashlib.blake2b(line, digest_size=12).hexdigest()
        pos = position(rec)
        if pos is not None:
            return f"{pos[0]}:{pos[1]}:{digest}"
        n = self._seen[digest] = self._seen.get(digest, 0) + 1
        return f"{digest}:{n}"

    def deliver(self, batch: Batch) -> None:
        assert self.bus is not None, "load() connects"
        loads, getters, count = orjson.loads, self.getters, self.partitions
        messages = []
        for line in batch.lines:
            body = line.rstrip(b"\n")
            rec = loads(body)
            messages.append((partition_of(rec, getters, count), body, self.message_id(rec, body)))
        duplicates = self._publish(messages)
        self.duplicates += duplicates
        self.written += len(messages) - duplicates
        if self.held is not None:
            self.held.acknowledge(batch.acks)

    def _publish(self, messages: list[tuple[int, bytes, str]]) -> int:
        """Publish until JetStream acknowledged every message, reconnecting while the server is
        away, for up to the policy's time; the ids were made once, so a repeat is a duplicate."""
        def attempt() -> int:
            if self.bus is None:
                self.bus = Bus(self.address)
                self.bus.ensure_stream(self.partitions)
            return self.bus.publish(messages)

        def again(exc: Exception, pause: float) -> None:
            self.notify(f"{exc}; retrying in {pause:.1f} s")
            self.close()

        return retrying(attempt, self.retry, transient=lambda exc: isinstance(exc, JetStreamError), on_retry=again,
                        gave_up=lambda exc, waited: JetStreamError(f"gave up after {waited:.0f} s: {exc}"),
                        sleep=self.sleep)

    def save(self) -> None:
        """Nothing: a batch is durable once JetStream acknowledged it."""

    def close(self) -> None:
        if self.bus is not None:
            bus, self.bus = self.bus, None
            bus.close()
