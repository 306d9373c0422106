"""Enforcement: the policy as a filter (``ben policy enforce``) and as a gate in front of a sink.

Allowed records pass unchanged (the line as it was read). A denied record goes to the rejects
with the rule that denied it and where that rule is written; a rate-limited record is dropped and
counted per rule (a flood is not copied into a rejects file). Alert rules let their records pass
and emit a ``control``-lane ``policy.alert`` record when a threshold is crossed. ``stats`` adds
one summary record at the end: read, allowed, denied, limited, per rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ben_cli.errors import BadRecord, BenError, UsageError
from ben_cli.ndjson import Reader, Writer
from ben_cli.policy.evaluate import ALLOW, DENY, LIMITED, Evaluator, Who
from ben_cli.policy.tree import Policy
from ben_cli.rejects import Rejects, Summary


class Denied(BadRecord):
    """A record the policy denies: a bad record whose reject names the rule."""

    def __init__(self, lineno: int, rule: str, at: str, raw: bytes, file: str):
        super().__init__(lineno, f"policy: denied by rule {rule} ({at})", raw, file)
        self.detail = {"rule": rule, "at": at}


@dataclass
class PolicyOptions:
    who: Who = field(default_factory=Who)
    stats: bool = False  # a summary record on stdout at the end


class Gate:
    """The policy's record-level core: ``admit`` judges one record, and keeps the counts."""

    def __init__(self, policy: Policy, rejects: Rejects, who: Who = Who(), evaluator: Evaluator | None = None):
        self.evaluator = evaluator or Evaluator(policy)
        self.rejects = rejects
        self.who = who
        self.counts = {ALLOW: 0, DENY: 0, LIMITED: 0}
        self.by_rule: dict[tuple[str, str], int] = {}

    @property
    def policy(self) -> Policy:
        return self.evaluator.policy

    def swap(self, evaluator: Evaluator) -> None:
        """Decide with a newer policy from the next record on (the counts go on, and so does the
        list of alerts not yet written, which both versions share from here)."""
        evaluator.alerts = self.evaluator.alerts
        self.evaluator = evaluator

    def admit(self, rec: dict, raw: bytes = b"", file: str = "-", lineno: int = 0) -> bool:
        index, outcome = self._decide(rec)
        if outcome == ALLOW:
            return True
        if outcome == DENY:
            name, at = self.evaluator.name_of(index), self.evaluator.where(index)
            self.rejects.add(Denied(lineno, name, at, raw or orjson.dumps(rec), file))
        return False

    def refusal(self, rec: dict) -> str | None:
        """The reason to refuse ``rec`` (denied or rate-limited), None when it is allowed. The
        caller rejects it: the OTLP door counts it in its answer and writes the reject."""
        index, outcome = self._decide(rec)
        if outcome == ALLOW:
            return None
        name = self.evaluator.name_of(index)
        if outcome == DENY:
            return f"policy: denied by rule {name} ({self.evaluator.where(index)})"
        return f"policy: rate-limited by rule {name} ({self.evaluator.where(index)})"

    def _decide(self, rec: dict) -> tuple[int, str]:
        index, outcome = self.evaluator.decide(rec, self.who)
        self.counts[outcome] += 1
        if outcome != ALLOW:
            name = self.evaluator.name_of(index)
            self.by_rule[(outcome, name)] = self.by_rule.get((outcome, name), 0) + 1
        return index, outcome

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """The stage form: allowed records, and any alert records raised on the way."""
        alerts = self.evaluator.alerts
        for rec in records:
            if self.admit(rec):
                yield rec
            if alerts:
                yield from alerts
                alerts.clear()

    def flush(self) -> Iterator[dict]:
        return iter(())

    def limited_lines(self) -> list[str]:
        """One line per rule that rate-limited records, for stderr."""
        return [f"rate-limited {n} by rule {rule}" for (outcome, rule), n in sorted(self.by_rule.items())
                if outcome == LIMITED]

    def stats_record(self, read: int) -> dict:
        attrs: dict[str, object] = {"policy": self.policy.name, "version": self.policy.version, "read": read,
                                    "allowed": self.counts[ALLOW], "denied": self.counts[DENY],
                                    "limited": self.counts[LIMITED]}
        for (outcome, rule), n in sorted(self.by_rule.items()):
            attrs[f"{'denied' if outcome == DENY else 'limited'}.{rule}"] = n
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {"ts": ts, "lane": "diag", "source": "ben.policy", "name": "policy.stats",
                "value": self.counts[DENY] + self.counts[LIMITED], "attrs": attrs}


PUSH = "policy.push"  # a control-lane record whose body is a signed bundle
LOOK_EVERY = 1.0  # seconds between two looks for a newer installed version (--watch)


class Watcher:
    """``--watch``: a thread that asks ``reload`` once a second for a newer verified policy and
    swaps it into the gate. The swap is one attribute assignment, so each record is decided by
    exactly one version, and an idle stream takes up a new version without waiting for a record."""

    def __init__(self, gate: Gate, reload: Callable[[], Evaluator | None]):
        self.gate, self.reload = gate, reload
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="policy-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(LOOK_EVERY):
            newer = self.reload()
            if newer is not None:
                self.gate.swap(newer)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def run(policy: Policy, inputs: Sequence[str], writer: Writer, rejects: Rejects, options: PolicyOptions,
        reload: Callable[[], Evaluator | None] | None = None,
        push: Callable[[dict], Evaluator | None] | None = None) -> tuple[Summary, Gate]:
    """``ben policy enforce``: the records of ``inputs`` judged by ``policy``. ``reload`` (``--watch``)
    is asked once a second, by a thread, for a newer verified policy. ``push`` is given each allowed
    ``control``-lane ``policy.push`` record: it verifies and installs the bundle in its body and
    answers the policy to enforce from the next record on (it raises to refuse it, and the record
    goes to the rejects with the reason)."""
    gate = Gate(policy, rejects, options.who)
    reader = Reader(inputs, rejects.add)
    watcher = Watcher(gate, reload) if reload is not None else None
    try:
        _loop(gate, reader, writer, rejects, push)
    finally:
        if watcher is not None:
            watcher.stop()
    if options.stats:
        writer.write(gate.stats_record(reader.read))
    writer.flush()
    summary = Summary("policy enforce", read=reader.read, written=writer.count, rejected=rejects.count)
    summary.extra.update({"denied": gate.counts[DENY], "limited": gate.counts[LIMITED]})
    return summary, gate


def _loop(gate: Gate, reader: Reader, writer: Writer, rejects: Rejects,
          push: Callable[[dict], Evaluator | None] | None) -> None:
    admit, write_line, write = gate.admit, writer.write_line, writer.write
    for raw, rec in reader.pairs():
        if admit(rec, raw, reader.file, reader.lineno):
            if push is not None and rec.get("name") == PUSH and rec.get("lane") == "control":
                try:
                    newer = push(rec)
                except BenError as exc:
                    rejects.add(BadRecord(reader.lineno, f"policy push refused: {exc}", raw, reader.file))
                    continue
                if newer is not None:
                    gate.swap(newer)
            write_line(raw + b"\n")
        alerts = gate.evaluator.alerts
        if alerts:
            for alert in alerts:
                write(alert)
            alerts.clear()


def gate_for(path: Path, rejects: Rejects, identity: str | None, groups: tuple[str, ...], to: str | None) -> Gate:
    """The gate ``ben sink --policy`` puts before storing: the policy at ``path``, checked."""
    from ben_cli.policy.check import load

    policy, _warnings = load(path)
    return Gate(policy, rejects, Who(identity, groups, to))


def enforce_installed(name: str, inputs: Sequence[str], writer: Writer, rejects: Rejects, options: PolicyOptions,
                      trust: Path | None, crl: Path | None, watch: bool,
                      notify: Callable[[str], None] = lambda _m: None) -> tuple[Summary, Gate]:
    """``ben policy enforce --installed NAME``: the installed version, verified; with ``watch``,
    a newer installed version is verified and taken up between two records (none is dropped), even
    while no record arrives."""
    from ben_cli.policy.bundle import Installed, load_trust, verify_bundle

    kept = Installed(name)
    now = int(time.time())
    verified = kept.load_current(*load_trust(trust, crl, now), now)
    version = verified.version
    notify(f"enforcing {name} version {version} (signed by {verified.signer.name})")

    def take_up() -> Evaluator | None:
        nonlocal version
        current = kept.current()
        if current is None or current.get("version") == version:
            return None
        at = int(time.time())
        try:
            newer = kept.load_current(*load_trust(trust, crl, at), at)
        except BenError as exc:  # keep enforcing what was verified; say why the new one is not taken
            notify(f"not taking up version {current.get('version')}: {exc}")
            version = int(current.get("version", 0))
            return None
        version = newer.version
        notify(f"now enforcing {name} version {newer.version} (signed by {newer.signer.name})")
        return Evaluator(newer.policy)

    def install_pushed(rec: dict) -> Evaluator | None:
        nonlocal version
        body = rec.get("body")
        if type(body) is not str:
            raise UsageError("a policy.push record carries the signed bundle as its body")
        at = int(time.time())
        pushed = verify_bundle(body.encode("utf-8"), *load_trust(trust, crl, at), at)
        if pushed.name != name:
            raise UsageError(f"the bundle is policy {pushed.name}, not {name}")
        notify(Installed(name).install(pushed))
        if pushed.version == version:
            return None
        version = pushed.version
        return Evaluator(pushed.policy)

    lock = threading.Lock()  # the watcher's thread and a push in the reading thread: one at a time

    def reload() -> Evaluator | None:
        with lock:
            return take_up()

    def push(rec: dict) -> Evaluator | None:
        with lock:
            return install_pushed(rec)

    return run(verified.policy, inputs, writer, rejects, options, reload if watch else None, push)


__all__ = ["Denied", "Gate", "PolicyOptions", "enforce_installed", "gate_for", "run"]
