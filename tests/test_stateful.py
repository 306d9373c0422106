"""Stateful properties (hypothesis state machines) of the state ben keeps between runs.

Each machine does random sequences of what happens to the state in life (a file grows, rotates,
is copied and truncated; a run stops and another starts from the saved state; batches are
spooled and confirmed out of order) and compares with a model after every step. The examples
are few, to keep ``make test`` short; ``make reliability`` is where long randomised runs go.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ben_cli import acks
from ben_cli.bee.window import Spool as BeeSpool
from ben_cli.bee.window import blocks_of
from ben_cli.ndjson import Writer
from ben_cli.policy.ratelimit import Buckets
from ben_cli.rejects import Rejects
from ben_cli.sink.spool import Spool

SHORT = settings(max_examples=12, stateful_step_count=12, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class _Folder(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ben-stateful-"))

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# --- ingest --since-last across rotations ---------------------------------------------------------

class IngestOffsets(_Folder):
    """Lines appended, the file renamed away (logrotate) or copied and truncated (copytruncate)
    at most once between two runs of ``--since-last`` (the rotated file is ``app.log.1``): all runs
    together read every whole line once, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.log = self.folder / "app.log"
        self.log.write_bytes(b"")
        self.written: list[str] = []  # every whole line ever appended, in order
        self.read: list[str] = []
        self.rotations = 0  # since the last run: one is found (app.log.1); a second would overwrite it
        self.ran = False  # a file rotated away before any run was never known: not a loss ingest could see
        self.n = 0

    @rule(count=st.integers(1, 30))
    def append(self, count: int) -> None:
        with open(self.log, "ab") as fh:
            for _ in range(count):
                fh.write(orjson.dumps({"msg": f"L{self.n}"}) + b"\n")
                self.written.append(f"L{self.n}")
                self.n += 1

    @precondition(lambda self: self.ran and not self.rotations)
    @rule()
    def rename_away(self) -> None:
        # the run after a rotation finds the old file beside the new one by its inode
        old = self.folder / "app.log.1"
        if old.exists():
            old.unlink()
        self.log.rename(old)
        self.log.write_bytes(b"")
        self.rotations += 1

    @precondition(lambda self: self.ran and not self.rotations)
    @rule()
    def copy_and_truncate(self) -> None:
        shutil.copyfile(self.log, self.folder / "app.log.1")
        with open(self.log, "r+b") as fh:
            fh.truncate(0)
        self.rotations += 1

    @rule()
    def since_last(self) -> None:
        from ben_cli import ingest

        out = io.BytesIO()
        ingest.run([str(self.log)], Writer(out), Rejects(),
                   ingest.IngestOptions(since_last=True, state=self.folder / "S"))
        self.read += [orjson.loads(line)["body"] for line in out.getvalue().splitlines()]
        self.rotations = 0
        self.ran = True

    @invariant()
    def read_is_a_prefix_of_written_once_each(self) -> None:
        assert self.read == self.written[:len(self.read)]


IngestOffsets.TestCase.settings = SHORT
test_ingest_offsets_across_rotations = IngestOffsets.TestCase


# --- detector state: saved, restored, and the twin that never stopped -------------------------------

def _points(lo: int, hi: int, series: int) -> list[dict]:
    return [{"ts": f"2026-11-25T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", "source": f"s{i % series}",
             "name": "cpu", "value": float((i * 7919) % 13) + (30.0 if i % 97 == 0 else 0.0)} for i in range(lo, hi)]


class DetectTwin(_Folder):
    """One detector table fed in pieces, saved and restored between them, against a twin fed the
    same records without ever stopping: both mark every record alike."""

    @initialize(detector=st.sampled_from(["ewma", "mad", "cusum", "pagehinkley", "auto"]), series=st.integers(1, 3))
    def start(self, detector: str, series: int) -> None:
        from ben_cli.detect.options import DetectOptions
        from ben_cli.detect.table import SeriesTable

        self.options = DetectOptions(detector=detector, state=self.folder / "D")
        self.twin = SeriesTable(DetectOptions(detector=detector))
        self.table_cls = SeriesTable
        self.series = series
        self.n = 0
        self.marks: list[object] = []
        self.twin_marks: list[object] = []

    @rule(count=st.integers(1, 60))
    def run_and_stop(self, count: int) -> None:
        records = _points(self.n, self.n + count, self.series)
        self.n += count
        with self.table_cls(self.options) as table:
            self.marks += [r.get("anomaly") for r in table.feed([dict(r) for r in records])]
            table.save()
        self.twin_marks += [r.get("anomaly") for r in self.twin.feed([dict(r) for r in records])]

    @invariant()
    def same_marks_as_the_twin(self) -> None:
        assert self.marks == self.twin_marks


DetectTwin.TestCase.settings = SHORT
test_detect_state_restored_marks_as_the_uninterrupted_twin = DetectTwin.TestCase


# --- the sink's spool and the acknowledgements ------------------------------------------------------

class SinkSpool(_Folder):
    """Batches spooled, confirmed in any order, the sink restarted (a new Spool on the folder):
    pending is exactly the batches spooled and not confirmed, in order; the offsets and the
    acknowledgements only move forward, to the furthest confirmed position."""

    def __init__(self) -> None:
        super().__init__()
        self.spool = Spool(self.folder / "spool")
        self.spool.lock()
        self.acked: dict[str, list[int]] = {}
        self.spool.on_done = lambda held: acks.save(self.folder / "S.ack", self._merged(held))
        self.pending: list[str] = []
        self.done_at: dict[str, int] = {}  # the furthest offset confirmed per input
        self.at = {"a": 0, "b": 0}
        self.n = 0

    def _merged(self, held: dict[str, list[int]]) -> dict[str, list[int]]:
        acks.merge(self.acked, held)
        return self.acked

    @rule(inp=st.sampled_from(["a", "b"]), rows=st.integers(1, 5))
    def spool_batch(self, inp: str, rows: int) -> None:
        self.at[inp] += 10 * rows
        batch_id = f"b{self.n}"
        self.n += 1
        self.spool.write(batch_id, [b'{"n":%d}\n' % i for i in range(rows)],
                         {inp: {"dev": 1, "ino": 1, "offset": self.at[inp]}}, {inp: [self.at[inp], self.n]})
        self.pending.append(batch_id)

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def confirm_one(self, data: st.DataObject) -> None:
        batch_id = data.draw(st.sampled_from(self.pending))
        batch = next(b for b in self.spool.pending() if b.batch_id == batch_id)
        self.spool.done(batch)
        self.pending.remove(batch_id)
        for inp, pos in batch.inputs.items():
            self.done_at[inp] = max(self.done_at.get(inp, 0), pos["offset"])

    @rule()
    def restart(self) -> None:
        self.spool.unlock()
        self.spool = Spool(self.folder / "spool")
        self.spool.lock()
        self.spool.on_done = lambda held: acks.save(self.folder / "S.ack", self._merged(held))
        self.acked = acks.load(self.folder / "S.ack")[0]

    @invariant()
    def pending_is_what_was_not_confirmed_in_order(self) -> None:
        assert [b.batch_id for b in self.spool.pending()] == self.pending

    @invariant()
    def offsets_reach_the_furthest_confirmed_position(self) -> None:
        saved = self.spool._saved_offsets()
        assert {k: v["offset"] for k, v in saved.items()} == self.done_at
        on_disk = acks.load(self.folder / "S.ack")[0]
        assert {k: v[0] for k, v in on_disk.items()} == self.done_at

    def teardown(self) -> None:
        self.spool.unlock()
        super().teardown()


SinkSpool.TestCase.settings = SHORT
test_sink_spool_and_acknowledgements = SinkSpool.TestCase


# --- bee resume: the sender's spool across restarts -------------------------------------------------

class BeeResume(_Folder):
    """``ben bee send --spool``: records taken in, acknowledged up to a number, the sender killed
    and started again; the records after the acknowledged number are still there, numbered as
    before, and a new record is numbered after every old one (never over one)."""

    def __init__(self) -> None:
        super().__init__()
        self.spool = BeeSpool(self.folder / "spool")
        self.lines: list[bytes] = []  # record n is lines[n - 1]
        self.acked = 0

    @rule(count=st.integers(1, 20))
    def take_in(self, count: int) -> None:
        new = [b'{"n":%d}\n' % (len(self.lines) + i) for i in range(count)]
        self.spool.append(blocks_of(b"".join(new), 200)[0])
        self.lines += new

    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        number = data.draw(st.integers(self.acked, len(self.lines)))
        self.spool.ack(number)
        self.acked = number

    @rule()
    def kill_and_restart(self) -> None:
        self.spool._lock.__exit__(None, None, None)  # the kernel's doing when a process dies
        self.spool._fh.close()
        self.spool = BeeSpool(self.folder / "spool")

    @invariant()
    def unacknowledged_records_are_kept_with_their_numbers(self) -> None:
        assert self.spool.last == len(self.lines)
        resent = self.spool.since(self.acked + 1, 1 << 20)
        lines = [line + b"\n" for _, _, data in resent for line in data.split(b"\n")[:-1]]
        first = resent[0][0] if resent else self.acked + 1
        assert first <= self.acked + 1
        assert lines == self.lines[first - 1:]

    def teardown(self) -> None:
        self.spool.close()
        self.spool._lock.__exit__(None, None, None)
        super().teardown()


BeeResume.TestCase.settings = SHORT
test_bee_spool_resume = BeeResume.TestCase


# --- policy rate limiters ----------------------------------------------------------------------------

class RateLimiter(RuleBasedStateMachine):
    """Token buckets against a model in fractions: at most ``burst`` at once, never more than
    ``burst + count * elapsed / per`` in any stretch, time going back refills nothing."""

    @initialize(count=st.integers(1, 5), per=st.integers(1, 10), burst=st.integers(1, 6))
    def start(self, count: int, per: int, burst: int) -> None:
        self.buckets = Buckets(count, per * 10**9, burst)
        self.count, self.per, self.burst = count, per * 10**9, burst
        self.now = 0
        self.taken: dict[str, list[int]] = {}  # key -> times of tokens taken
        self.clock: dict[str, int] = {}

    @rule(key=st.sampled_from(["a", "b"]), step=st.integers(-2 * 10**9, 4 * 10**9))
    def take(self, key: str, step: int) -> None:
        self.now += step
        self.clock[key] = max(self.clock.get(key, self.now), self.now)  # the bucket's own time never goes back
        if self.buckets.take(key, self.now):
            self.taken.setdefault(key, []).append(self.clock[key])

    @invariant()
    def never_more_than_the_rate_allows(self) -> None:
        from fractions import Fraction

        for times in self.taken.values():
            ordered = sorted(times)
            for i in range(len(ordered)):
                for j in range(i, len(ordered)):
                    allowed = self.burst + Fraction(self.count * (ordered[j] - ordered[i]), self.per)
                    assert j - i + 1 <= allowed


RateLimiter.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_policy_rate_limiter = RateLimiter.TestCase


# --- the CA folder: issue, revoke, rotate, verify, in any order ---------------------------------

class CaFolder(_Folder):
    """A CA folder taken through issue, revoke, rotate and the passing of time in any order: every
    certificate not revoked verifies until it expires (its reissue after a rotation too), every
    revoked one is refused, ``ben ca list`` says the same, and the audit log checks out."""

    PW = b"correct horse"
    NOW = 1_800_000_000

    def __init__(self) -> None:
        super().__init__()
        from ben_cli.ca import authority
        from ben_cli.ca.store import Store

        self.store = Store(self.folder / "ca")
        authority.init(self.store, self.PW, self.NOW, cost="interactive")
        self.key = self.store.signing_key(lambda: self.PW)
        self.now = self.NOW
        self.live: dict[bytes, object] = {}  # noise key -> its newest certificate
        self.revoked: list[object] = []
        self.rotations = 0
        self.events = {"issue": 0, "revoke": 0, "rotate": 0}

    @rule(ttl_days=st.integers(1, 20))
    def issue(self, ttl_days: int) -> None:
        from ben_cli.ca import authority
        from ben_cli.crypto.primitives import x25519_keypair

        profile = authority.Profile(name=f"n{len(self.live) + len(self.revoked)}", groups=("web",), lanes=("diag",),
                                    ttl=ttl_days * 86400)
        cert = authority.issue(self.store, self.key, profile, x25519_keypair()[1], None, self.now)
        self.live[cert.noise_pub] = cert
        self.events["issue"] += 1

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        from ben_cli.ca import authority

        noise = data.draw(st.sampled_from(sorted(self.live)))
        cert = self.live.pop(noise)
        authority.revoke(self.store, self.key, self.now, serial_or_id=cert.serial)
        self.revoked.append(cert)
        self.events["revoke"] += 1

    @rule(days=st.integers(0, 3))
    def time_passes(self, days: int) -> None:
        from ben_cli.ca import authority

        self.now += days * 86400
        authority.refresh_crl(self.store, self.key, self.now)

    @precondition(lambda self: self.rotations < 2)
    @rule()
    def rotate(self) -> None:
        from ben_cli.ca import authority

        done = authority.rotate(self.store, self.key, self.PW, self.now, overlap=86400, cost="interactive")
        self.key = self.store.signing_key(lambda: self.PW)
        still = {k: c for k, c in self.live.items() if self.now <= c.not_after}
        self.live = {**still, **{c.noise_pub: c for c in done.reissued}}
        self.rotations += 1
        self.events["rotate"] += 1
        self.events["issue"] += len(done.reissued)

    @invariant()
    def live_verify_revoked_are_refused_and_the_list_agrees(self) -> None:
        from ben_cli.ca import audit, authority
        from ben_cli.ca import cert as c
        from ben_cli.ca import crl as r
        from ben_cli.ca.verify import SKEW, Verifier

        verifier = Verifier(authority.bundle(self.store, self.now), r.parse(self.store.crl_path.read_bytes()))
        for cert in self.live.values():
            if self.now <= cert.not_after + SKEW:
                assert verifier.check(cert.text, self.now)
        for cert in self.revoked:
            try:
                verifier.check(cert.text, self.now)
                raise AssertionError(f"revoked certificate {cert.serial} verifies")
            except c.Refused as exc:
                assert exc.reason in ("revoked", "unknown-issuer", "issuer-expired", "expired")
        status = {row["serial"]: row["status"] for row in authority.listing(self.store, self.now)}
        assert all(status[cert.serial] == "revoked" for cert in self.revoked)
        assert all(status[cert.serial] in ("valid", "expiring") for cert in self.live.values()
                   if self.now <= cert.not_after)
        summary = audit.check(self.store)
        assert {k: summary.events.get(k, 0) for k in self.events} == self.events


CaFolder.TestCase.settings = settings(max_examples=4, stateful_step_count=8, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
test_ca_folder = CaFolder.TestCase
