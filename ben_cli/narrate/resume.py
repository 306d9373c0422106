"""``ben narrate --every --state``: each window counted once and narrated once across crashes.

Tied to a sink (``ben ingest --since-last --ack``), a pipeline killed mid-run reads again the
records past what the sink acknowledged. Without state, narrate would count them into a window
begun afresh: a window narrated from part of its records, or narrated twice. With ``--state``:

- Counted once. The state keeps the furthest position (``_ingest.in``/``_ingest.at``) counted
  per input, the open window's number and collected records, and the narratives it still owes
  the sink. It is saved atomically *before* each block of output leaves the process, so
  everything downstream has been counted in the saved state; a record at or below the saved
  position is passed through and not counted again.
- Narrated once at the sink. Exactly-once emission is impossible for narrate alone (emit then
  save, or save then emit: a crash between repeats or loses). So a narrative carries a position
  of its own, ``_ingest: {"in": "narrate.ID", "at": WINDOW}``, which ``ben sink --ack`` holds
  and drops when it comes again. A narrative is kept with the position of the record that
  closed its window (it was written just before that record); when that record is read again
  (the sink did not hold it, so perhaps not the narrative either), the kept narrative is written
  again before it. It is forgotten once a run's first record of that input lies past it.
- No partial narrative: at the end of input the open window is saved, not narrated; the run
  that reads the record opening the next window narrates it whole.
"""

from __future__ import annotations

import io
import pickle
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from ben_cli.acks import position
from ben_cli.atomic import write_atomic
from ben_cli.errors import StateError
from ben_cli.narrate.narrator import Narrator

VERSION = 1
BLOCK = 4096  # records passed on per state save

# The only classes a narrate state holds. The state is a pickle of the open window's collector,
# and a pickle can name any callable; reading one that names anything else is refused, so a state
# file planted or damaged by someone else is an error, never code run with the user's rights.
ALLOWED = {("ben_cli.narrate.collect", name) for name in ("Collector", "Series", "Volume", "Flag")} | {
    ("array", "array"), ("array", "_array_reconstructor"), ("copyreg", "_reconstructor"),
    ("builtins", "object"), ("builtins", "set"), ("builtins", "frozenset")}


class _StateUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} has no place in a narrate state")
        return super().find_class(module, name)


class Resume:
    """Wraps a streaming :class:`Narrator` with the state at ``path`` (see the module)."""

    def __init__(self, narrator: Narrator, path: Path):
        self.narrator, self.path = narrator, path
        self.id = "narrate." + secrets.token_hex(6)
        self.counted: dict[str, int] = {}  # input id -> furthest position counted
        self.owed: dict[tuple[str, int], dict] = {}  # closing record's position -> its narrative
        self.first: dict[str, int] = {}  # input id -> first position read this run
        self.replayed = 0  # records passed on without being counted again
        self.load()

    def load(self) -> None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return
        try:
            data = _StateUnpickler(io.BytesIO(blob)).load()
        except Exception:
            data = None
        if type(data) is not dict or data.get("version") != VERSION:
            raise StateError(f"{self.path}: not a ben narrate state file; move it away (windows are then "
                             "counted from the next record)")
        if data["every"] != self.narrator.every_ns:
            raise StateError(f"{self.path}: kept for another --every ({data['every'] // 10**9}s); "
                             "use another state file or move it away")
        self.id, self.counted, self.owed = data["id"], data["counted"], data["owed"]
        self.narrator.window, self.narrator.collector = data["window"], data["collector"]

    def save(self) -> None:
        first, owed = self.first, self.owed
        for k in [k for k in owed if k[1] < first.get(k[0], 0)]:
            del owed[k]  # its closing record was held by the sink: so was the narrative
        n = self.narrator
        data = {"version": VERSION, "every": n.every_ns, "id": self.id, "counted": self.counted,
                "owed": self.owed, "window": n.window, "collector": n.collector}
        write_atomic(self.path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))

    def feed(self, records: Iterable[dict]) -> Iterator[dict]:
        """Every record, and each narrative before the record that closed its window. When
        suspended, everything yielded so far is counted (so a save then is consistent)."""
        n, counted, owed, first = self.narrator, self.counted, self.owed, self.first
        for rec in records:
            pos = position(rec)
            if pos is None:  # no position: counted every time it is read
                yield from list(n.feed((rec,)))
                continue
            key, at = pos[0], pos[1]
            first.setdefault(key, at)
            if (key, at) in owed:
                yield owed[(key, at)]
            if at <= counted.get(key, -1):
                self.replayed += 1
                yield rec
                continue
            counted[key] = at
            window = n.window
            out = list(n.feed((rec,)))
            for narrative in out[:-1]:  # a window closed by this record
                if window is not None and window >= 0:
                    narrative["_ingest"] = {"format": "narrate", "in": self.id, "at": window}
                    owed[(key, at)] = narrative
            yield from out


def blocks(resume: Resume, records: Iterable[dict]) -> Iterator[list[dict]]:
    """The output in blocks of about :data:`BLOCK`, the state saved before each is handed out,
    and once more at the end of input."""
    block: list[dict] = []
    for out in resume.feed(records):
        block.append(out)
        if len(block) >= BLOCK:
            resume.save()
            yield block
            block = []
    resume.save()
    if block:
        yield block
