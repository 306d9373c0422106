"""Enforcement: the stage core that holds records to a contract, and ``ben contract validate``.

:class:`Enforcer` is a record-level stage (``feed``/``flush``). In ``reject`` mode a record that
breaks a rule goes to the rejects with each violation (rule, field, value and the contract's
file:line) and is not passed on; in ``warn`` mode it passes, marked
``contract: {violations: [...]}``. A deprecated field never rejects: it is counted, and marked
in ``warn`` mode. ``ben ingest --contract`` puts the same core behind its writer.

A ``signed`` lane's records must carry a ``sig``; whether the signature is good is for the
caller's :attr:`ContractOptions.signatures` hook to say (the command layer gives one made by
``ben_cli.ca.records`` from the CA trust bundle: a contract never imports the CA, which stands
above the parts). Without a hook only the presence of ``sig`` is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ben_cli.contract import fast
from ben_cli.contract.cardinality import Guard
from ben_cli.contract.check import DEFAULT_WINDOW, load_text
from ben_cli.contract.errors import ContractError, ContractErrors
from ben_cli.contract.pycode import compile_validator
from ben_cli.contract.tree import Contract, Pos
from ben_cli.errors import BadRecord, UsageError
from ben_cli.ndjson import Reader, Writer
from ben_cli.rejects import Rejects, Summary
from ben_cli.units import parse_duration

MODES = ("reject", "warn")
WARN_ONLY = frozenset({"deprecated"})  # rules that mark a record but never reject it


class Violation(BadRecord):
    """A record that breaks its contract: a bad record whose reject also lists each violation."""

    def __init__(self, lineno: int, violations: list[dict], raw: bytes, file: str):
        super().__init__(lineno, reason_of(violations), raw, file)
        self.detail = {"violations": violations}


def reason_of(violations: list[dict]) -> str:
    """One line naming each violation: its rule, field, value and where the contract says so."""
    return "contract: " + "; ".join(f"{v['rule']} {v['field']}={_short(v['value'])} ({v['at']})" for v in violations)


def _short(value: object) -> str:
    text = orjson.dumps(value).decode() if value is not None else "missing"
    return text if len(text) <= 60 else text[:57] + "..."


def faults(path: str | Path) -> str | None:
    """``ben contract check``: the rendered faults of the contract at ``path`` (None: it is sound)."""
    try:
        load(path)
    except (ContractError, ContractErrors) as exc:
        return exc.render()
    return None


def load(path: str | Path) -> Contract:
    """Read, parse and check the contract at ``path``."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the contract {path}: {exc}") from None
    return load_text(source, str(path))


SignatureCheck = Callable[[dict, str], "tuple[str, str] | None"]  # (record, lane) -> None or (reason, message)


@dataclass
class ContractOptions:
    mode: str = "reject"  # or "warn"
    on_overflow: Callable[[dict], None] | None = None  # told each cardinality overflow, once per key and window
    # asked about each record on a signed lane that carries a sig: None when the signature is
    # good, else (reason, message); None here: only the presence of sig is checked
    signatures: SignatureCheck | None = None


class Enforcer:
    """Holds records to ``contract``. ``rejects`` receives the broken records (reject mode)."""

    def __init__(self, contract: Contract, rejects: Rejects, options: ContractOptions | None = None):
        self.options = options or ContractOptions()
        if self.options.mode not in MODES:
            raise UsageError(f"--mode is reject or warn, not {self.options.mode!r}")
        self.contract = contract
        self.rejects = rejects
        module = compile_validator(contract)
        self.kind_of = module["kind_of"]
        self.checks = module["CHECKS"]
        # each kind's check: the compiled one (a spec for _check.c) where it was built, else Python's
        tables = fast.specs(contract, module)
        self._run: Callable[[dict, Any, list], None] = _call if tables is None else fast.compiled_check()
        self._tables: list = self.checks if tables is None else tables
        self.kinds: list[tuple[str, str]] = module["KINDS"]
        self.file = contract.file
        self.broken = self.deprecated = 0
        limits = self._limits()
        self.guarded = frozenset(limits)
        self.guard = Guard(limits, self.kinds, self._overflow)
        # the guard's common case compiled: the record's values were all seen in this minute's windows
        self._seen = fast.compiled_seen() if tables is not None and self.guard.whole_minutes else None
        self._sets = {kind: self.guard.seen_sets(kind) for kind in limits}
        self.signed = {lane.name: lane.at["signed"].line for lane in contract.lanes if lane.signed}
        self._signatures = self.options.signatures if self.signed else None

    def _limits(self) -> dict[int, list[tuple[str, int, int, float]]]:
        out: dict[int, list[tuple[str, int, int, float]]] = {}
        default = parse_duration(self.contract.window or DEFAULT_WINDOW)
        for i, (_lane, kind) in enumerate(self.contract.kinds()):
            every = parse_duration(kind.window) if kind.window else default
            for rule in kind.rules:
                if rule.cardinality is not None:
                    out.setdefault(i, []).append((rule.name, rule.cardinality, rule.at["cardinality"].line, every))
        return out

    def _overflow(self, report: dict) -> None:
        if self.options.on_overflow is not None:
            self.options.on_overflow(report)

    def violations(self, rec: dict) -> list[tuple[str, str, object, int]]:
        """The violations of one record (cardinality counted as it is seen)."""
        out: list[tuple[str, str, object, int]] = []
        self.judge(rec, "-", 0, found=out, count=False)
        return out

    def judge(self, rec: dict, file: str, line: int, raw: bytes | None = None, *,
              found: list | None = None, count: bool = True) -> bool:
        """Whether ``rec`` goes on (marked in warn mode); a broken one goes to the rejects.
        ``count=False`` only fills ``found`` with the violations."""
        if found is None:
            found = []
        i = self.kind_of(rec.get("lane"), rec.get("name"))
        if i >= 0:
            self._run(rec, self._tables[i], found)
            if i in self.guarded:
                seen = self._seen
                if seen is None or not seen(rec, self._sets[i], self.guard.minute):
                    self.guard.see(i, rec, found)
            if self._signatures is not None:
                self._signature(rec, found)
        if not found or not count:
            return not found
        listed = self._held(rec, found)
        if listed is None:
            return True
        where = rec.get("_ingest")
        if type(where) is dict and type(where.get("line")) is int:
            file, line = str(where.get("file", file)), where["line"]
        self.rejects.add(Violation(line, listed, raw if raw is not None else orjson.dumps(rec), file))
        return False

    def _held(self, rec: dict, found: list) -> list[dict] | None:
        """Count a record that has violations, mark it in warn mode; the violations when it is
        refused, None when it goes on."""
        listed = [{"rule": r, "field": f, "value": v, "at": f"{self.file}:{n}"} for r, f, v, n in found]
        if all(v["rule"] in WARN_ONLY for v in listed):
            self.deprecated += 1
            if self.options.mode == "warn":
                _mark(rec, listed)
            return None
        self.broken += 1
        if self.options.mode == "warn":
            _mark(rec, listed)
            return None
        return listed

    def refusal(self, rec: dict) -> str | None:
        """The reason to refuse ``rec`` (reject mode), or None when it goes on (marked in warn
        mode). The caller rejects it: the OTLP door counts it in its answer and writes the reject."""
        found: list = []
        self.judge(rec, "-", 0, found=found, count=False)
        listed = self._held(rec, found) if found else None
        return None if listed is None else reason_of(listed)

    def _signature(self, rec: dict, found: list) -> None:
        lane = rec.get("lane")
        line = self.signed.get(lane) if type(lane) is str else None
        if line is None or "sig" not in rec:  # a missing sig is the compiled check's to report
            return
        assert self._signatures is not None and type(lane) is str
        bad = self._signatures(rec, lane)
        if bad is not None:
            found.append(("signed", "sig", f"{bad[0]}: {bad[1]}", line))

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        judge = self.judge
        for n, rec in enumerate(records, 1):
            if judge(rec, "-", n):
                yield rec

    def flush(self) -> Iterator[dict]:
        self.guard.flush()
        return iter(())

    def counts(self) -> dict[str, int]:
        return {"broken": self.broken, "deprecated": self.deprecated, "overflows": self.guard.overflows}


def _call(rec: dict, check: Callable[[dict, list], None], out: list) -> None:
    check(rec, out)


def _mark(rec: dict, listed: list[dict]) -> None:
    mark = rec.get("contract")
    if type(mark) is dict and type(mark.get("violations")) is list:
        mark["violations"].extend(listed)
    else:
        rec["contract"] = {"violations": listed}


class ContractWriter(Writer):
    """A writer that holds every record to a contract before it is written (``ben ingest
    --contract``). It has no file descriptor of its own, so ingest decodes in this process, where
    every record passes through it."""

    def __init__(self, inner: Writer, enforcer: Enforcer):
        self.inner = inner
        self.enforcer = enforcer
        self.line_buffered = inner.line_buffered
        self.target = inner.target
        self.stream = None  # type: ignore[assignment]  # no descriptor: workers cannot bypass the contract

        judge, write = enforcer.judge, inner.write

        def held(record: dict) -> None:  # bound once: this runs per record
            if judge(record, "-", 0):
                write(record)

        self.write = held  # type: ignore[method-assign]

    @property
    def count(self) -> int:
        return self.inner.count

    @count.setter
    def count(self, value: int) -> None:
        pass

    def write(self, record: dict) -> None:
        if self.enforcer.judge(record, "-", 0):
            self.inner.write(record)

    def write_line(self, line: bytes) -> None:
        self.write(orjson.loads(line))

    def flush(self) -> None:
        self.inner.flush()


def overflow_message(report: dict, who: str = "ben contract") -> str:
    """The one line on stderr that tells a cardinality overflow (once per key and window)."""
    top = ", ".join(f"{v} ({n})" for v, n in report["top"])
    return (f"{who}: attrs.{report['key']} of {report['lane']} {report['kind']}: more than {report['limit']} "
            f"values in the window from {report['window']}; {report['over']} records past the limit, most: {top}")


def run(contract: Contract, inputs: Sequence[str], writer: Writer, rejects: Rejects, options: ContractOptions) -> Summary:
    """``ben contract validate``: the records of ``inputs`` held to ``contract``."""
    enforcer = Enforcer(contract, rejects, options)
    reader = Reader(inputs, rejects.add)
    judge, write_line, write = enforcer.judge, writer.write_line, writer.write
    warn = options.mode == "warn"
    for raw, rec in reader.pairs():
        if judge(rec, reader.file, reader.lineno, raw):
            if warn and "contract" in rec:
                write(rec)
            else:
                write_line(raw + b"\n")
    enforcer.flush()
    writer.flush()
    summary = Summary("contract", read=reader.read, written=writer.count, rejected=rejects.count)
    summary.extra.update({"violating": enforcer.broken, "deprecated": enforcer.deprecated,
                          "overflows": enforcer.guard.overflows})
    return summary


__all__ = ["ContractError", "ContractOptions", "SignatureCheck", "ContractWriter", "Enforcer", "Pos", "Violation", "load", "run"]
