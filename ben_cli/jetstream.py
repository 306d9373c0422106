"""NATS JetStream, as ``ben sink --to nats://`` and ``ben ingest --from nats://`` share it.

    nats://HOST[:PORT]/SUBJECT

A subject's records live in one stream (``BEN_`` and the subject, dots as underscores) that holds
``SUBJECT.>``; a record goes to ``SUBJECT.<partition>``, the partition being its series key's hash
(:mod:`ben_cli.series`) modulo the stream's partition count, which the stream's description keeps
(``ben partitions=P``) so that consumers learn it from the server. A consumer owns partitions
``p`` with ``p % N == i`` (``--partitions i/N``): each series is read by one consumer, in order.

:class:`Bus` is a synchronous client over nats-py's asyncio one, with an event loop of its own:
the stages of ben are synchronous, and a batch is the unit that waits (every message of a batch is
published at once and the batch waits for all the acknowledgements; a fetch brings a batch per
partition). nats-py is imported only here, when a nats:// address is used (the ``ben[nats]`` extra).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from ben_cli.errors import BenError, UsageError

DEFAULT_PORT = 4222
DEFAULT_PARTITIONS = 12  # divisible by 1, 2, 3, 4 and 6: that many hosts each own a whole share
DEDUP_WINDOW = 600.0  # seconds JetStream remembers message ids: a re-publish within it stores nothing
ACK_WAIT = 3600.0  # seconds before the server redelivers a message not acknowledged (a restart re-reads sooner)
MAX_ACK_PENDING = 20_000  # messages a consumer may hold unacknowledged: the server stops there (backpressure)
INSTALL = "pip install 'ben[nats]'"
_TAG = "ben partitions="
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class JetStreamError(BenError):
    """The server refused or did not answer (exit status 1; what was not acknowledged is sent again)."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    subject: str

    @property
    def server(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def stream(self) -> str:
        return "BEN_" + self.subject.replace(".", "_")

    def partition_subject(self, partition: int) -> str:
        return f"{self.subject}.{partition}"

    def input_id(self, partition: int) -> str:
        """The ``_ingest.in`` of records read from ``partition``: positions in it are stream sequences."""
        return f"nats:{self.stream}.{partition}"


def parse_address(url: str) -> Address:
    """``nats://HOST[:PORT]/SUBJECT``; a :class:`UsageError` saying what is wrong otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "nats" or not parts.hostname:
        raise UsageError(f"{url!r}: a NATS address is nats://HOST[:PORT]/SUBJECT")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise UsageError(f"{url!r}: bad port ({exc})") from None
    subject = parts.path.lstrip("/")
    if not subject or not all(_TOKEN.fullmatch(t) for t in subject.split(".")):
        raise UsageError(f"{url!r}: the subject must be dotted words of letters, digits, _ and - (no wildcards)")
    return Address(parts.hostname, port, subject)


def parse_share(text: str) -> tuple[int, int]:
    """``i/N`` (0 <= i < N): the share of the partitions a consumer owns."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--partitions {text!r}: expected I/N, e.g. 0/3") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--partitions {text!r}: needs 0 <= I < N")
    return index, count


def owned(partitions: int, share: tuple[int, int] | None) -> list[int]:
    """The partitions of ``partitions`` that share ``i/N`` owns: those with ``p % N == i``."""
    index, count = share or (0, 1)
    return [p for p in range(partitions) if p % count == index]


def _client() -> Any:
    try:
        import nats
    except ImportError:
        raise UsageError(f"nats:// needs the NATS client, which is not installed: {INSTALL}") from None
    return nats


class Bus:
    """One connection to a NATS server and its JetStream, used synchronously."""

    def __init__(self, address: Address, timeout: float = 5.0):
        nats = _client()
        self.address, self.timeout = address, timeout
        self.loop = asyncio.new_event_loop()
        self.partitions = 0
        try:
            self.nc = self._run(nats.connect(address.server, connect_timeout=timeout, max_reconnect_attempts=3,
                                             allow_reconnect=True, error_cb=self._quiet, name="ben"))
        except Exception as exc:  # noqa: BLE001 - nats-py raises its own kinds and OSError alike
            self.loop.close()
            raise JetStreamError(f"{address.server}: cannot connect ({type(exc).__name__}: {exc})") from None
        self.js = self.nc.jetstream(timeout=timeout)

    @staticmethod
    async def _quiet(_exc: Exception) -> None:
        """nats-py reports connection trouble here; ben reports what it costs (a failed call)."""

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        try:  # not drain(): it waits up to 30 s for pull subscriptions that will never get more
            self._run(self.nc.flush(timeout=self.timeout))
            self._run(self.nc.close())
        except Exception:  # noqa: BLE001,S110 - closing a connection that already failed
            pass
        finally:
            self.loop.close()

    # the stream ------------------------------------------------------------------------------
    def ensure_stream(self, partitions: int | None, create: bool = False) -> int:
        """The stream of the address's subject and its partition count; with ``create``, made
        when there is none (with ``partitions``, else :data:`DEFAULT_PARTITIONS`). A stream with
        another count than ``partitions`` asked for is a :class:`UsageError`."""
        import nats.js.errors as errors
        from nats.js.api import StorageType, StreamConfig

        name = self.address.stream
        try:
            info = self._run(self.js.stream_info(name))
        except errors.NotFoundError:
            info = None
        except Exception as exc:  # noqa: BLE001
            raise JetStreamError(f"{self.address.server}: JetStream does not answer ({type(exc).__name__}: {exc}); "
                                 "is the server running with JetStream on (-js)?") from None
        if info is None:
            partitions = partitions or DEFAULT_PARTITIONS
            if not create:
                raise UsageError(f"{self.address.server}: no stream {name} for subject {self.address.subject}: "
                                 "publish to it first (ben sink --to nats://...)")
            config = StreamConfig(name=name, subjects=[f"{self.address.subject}.>"], description=f"{_TAG}{partitions}",
                                  storage=StorageType.FILE, duplicate_window=DEDUP_WINDOW)
            self._run(self.js.add_stream(config))
            self.partitions = partitions
            return partitions
        held = stream_partitions(info.config.description)
        if held is None:
            raise UsageError(f"stream {name} was not made by ben (its description names no partition count)")
        if partitions is not None and partitions != held:
            raise UsageError(f"stream {name} has {held} partitions, not {partitions}: a series must keep its partition")
        self.partitions = held
        return held

    # publishing ------------------------------------------------------------------------------
    def publish(self, messages: Sequence[tuple[int, bytes, str]], window: int = 1024) -> int:
        """Publish (partition, payload, message id) and wait until JetStream acknowledged every
        one; at most ``window`` wait at once. The number the server already had (same id)."""
        return int(self._run(self._publish(messages, window)))

    async def _publish(self, messages: Sequence[tuple[int, bytes, str]], window: int) -> int:
        """Each message published with a reply subject of its own under one inbox, whose
        acknowledgements a callback counts: no future per message. Messages go out ``window`` at
        a time (one write to the socket), and the next ``window`` waits for every answer."""
        import nats.errors

        subject, total = self.address.partition_subject, len(messages)
        inbox = self.nc.new_inbox()
        count = {"answered": 0, "duplicates": 0, "wanted": 0}
        refused: list[object] = []
        all_in = asyncio.Event()

        async def answer(msg: Any) -> None:
            try:
                ack = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                ack = {"error": (msg.headers or {}).get("Description", "no answer from JetStream")}
            if type(ack) is not dict or "error" in ack:
                refused.append(ack)
            else:
                count["duplicates"] += bool(ack.get("duplicate"))
            count["answered"] += 1
            if count["answered"] >= count["wanted"]:
                all_in.set()

        sub = await self.nc.subscribe(inbox + ".*", cb=answer, pending_msgs_limit=4 * window)
        try:
            for start in range(0, total, window):
                all_in.clear()
                count["wanted"] = min(start + window, total)
                for n in range(start, count["wanted"]):
                    partition, payload, msg_id = messages[n]
                    await self.nc.publish(subject(partition), payload, reply=f"{inbox}.{n}",
                                          headers={"Nats-Msg-Id": msg_id})
                if count["answered"] < count["wanted"]:
                    await asyncio.wait_for(all_in.wait(), timeout=self.timeout)
                if refused:
                    raise JetStreamError(f"{self.address.server}: a publish was refused ({refused[0]}); the batch "
                                         "is not acknowledged and will be sent again")
        except (TimeoutError, nats.errors.TimeoutError, nats.errors.ConnectionClosedError) as exc:
            raise JetStreamError(f"{self.address.server}: a publish was not acknowledged ({type(exc).__name__}); "
                                 "the batch is not acknowledged and will be sent again") from None
        finally:
            await sub.unsubscribe()
        return count["duplicates"]

    # consuming -------------------------------------------------------------------------------
    def consumer(self, durable: str, partition: int, start: int | None) -> Any:
        """A pull subscription on the durable consumer ``DURABLE-PARTITION``, delivering from
        stream sequence ``start`` (``None``: from the consumer's own acknowledgement floor).

        A consumer that had delivered messages it never had acknowledged would redeliver them
        only when their acknowledgement wait ends, after newer ones: order per series would break.
        So unless it stands exactly where reading must start, it is made again there."""
        name, stream = f"{durable}-{partition}", self.address.stream
        try:
            return self._bind(name, stream, partition, start)
        except Exception as exc:  # noqa: BLE001 - a server that went away, or JetStream not ready yet
            raise self.lost(exc) from None

    def _bind(self, name: str, stream: str, partition: int, start: int | None) -> Any:
        import nats.js.errors as errors
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        try:
            info = self._run(self.js.consumer_info(stream, name))
        except errors.NotFoundError:
            info = None
        floor = info.ack_floor.stream_seq if info is not None else 0
        want = start if start is not None else floor + 1
        if info is None or info.delivered.stream_seq != want - 1 or floor != want - 1:
            if info is not None:
                self._run(self.js.delete_consumer(stream, name))
            config = ConsumerConfig(durable_name=name, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                    opt_start_seq=max(want, 1), ack_policy=AckPolicy.ALL, ack_wait=ACK_WAIT,
                                    filter_subject=self.address.partition_subject(partition),
                                    max_ack_pending=MAX_ACK_PENDING)
            self._run(self.js.add_consumer(stream, config))
        return self._run(self.js.pull_subscribe_bind(durable=name, stream=stream))

    def fetch(self, subs: dict[int, Any], batch: int, timeout: float) -> list[tuple[int, list[Any]]]:
        """What each subscription has ready (up to ``batch`` messages), waiting at most ``timeout``
        seconds for partitions that have nothing."""
        try:
            return list(self._run(self._fetch(subs, batch, timeout)))
        except Exception as exc:  # noqa: BLE001 - nats-py's errors, OSError, a closed connection alike
            raise self.lost(exc) from None

    def lost(self, exc: Exception) -> JetStreamError:
        """The error of a call that failed because the server went away (or never answered)."""
        return JetStreamError(f"{self.address.server}: the connection failed ({type(exc).__name__}: {exc})")

    async def _fetch(self, subs: dict[int, Any], batch: int, timeout: float) -> Iterable[tuple[int, list[Any]]]:
        import nats.errors

        async def one(partition: int, sub: Any) -> tuple[int, list[Any]]:
            try:
                return partition, await sub.fetch(batch, timeout=timeout)
            except (TimeoutError, nats.errors.TimeoutError):  # nothing came: nats-py raises either
                return partition, []

        return await asyncio.gather(*(one(p, s) for p, s in subs.items()))

    def ack(self, msgs: Iterable[Any]) -> None:
        """Acknowledge ``msgs`` (with the consumers' ack-all policy, each acknowledges every
        message of its partition up to it)."""
        try:
            self._run(self._ack(list(msgs)))
        except Exception as exc:  # noqa: BLE001
            raise self.lost(exc) from None

    async def _ack(self, msgs: list[Any]) -> None:
        for msg in msgs:
            await msg.ack()
        await self.nc.flush(timeout=self.timeout)


def stream_partitions(description: str | None) -> int | None:
    """The partition count a stream's description keeps (``ben partitions=P``), else None."""
    if not description or not description.startswith(_TAG):
        return None
    try:
        count = int(description[len(_TAG):].split()[0])
    except (ValueError, IndexError):
        return None
    return count if count >= 1 else None


def committed(data: bytes) -> dict[str, int]:
    """How far each input is held, from a sink's acknowledgements file (``{"inputs": {id:
    [offset, line]}}``) or a detector's learned positions (``{id: offset}``)."""
    loaded = orjson.loads(data)
    if type(loaded) is not dict:
        return {}
    inputs = loaded.get("inputs")
    if type(inputs) is dict:
        return {k: v[0] for k, v in inputs.items() if type(v) is list and v and type(v[0]) is int}
    return {k: v for k, v in loaded.items() if type(v) is int}
