"""What an operator can tune in ``ben narrate``, and how the flags' text becomes it.

Reading the flags is domain logic (which durations make sense as a window, what a percentage
means), so it lives here rather than in the command: ``ben run`` and tests build the same
:class:`Options` from the same text, and every problem is a :class:`~ben_cli.errors.UsageError`
that names its flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ben_cli.errors import UsageError
from ben_cli.narrate.humanize import parse_percent
from ben_cli.record import NS_PER_S, TimestampError, to_ns
from ben_cli.units import parse_duration

FORMATS = ("text", "markdown", "html", "json")
# --fail-on: each choice and the verdicts that make narrate exit 1 ("degraded" includes worse).
FAIL_ON = {"nodata": frozenset({"nodata"}), "unknown": frozenset({"unknown"}),
           "degraded": frozenset({"degraded", "incident"}), "incident": frozenset({"incident"}), "never": frozenset()}


@dataclass
class Options:
    """All have defaults that suit minute-level metrics."""

    gap_ns: int | None = None  # episode gap tolerance; None: three sampling intervals per series
    min_change: float = 0.2  # smallest change, as a fraction of the usual value, worth narrating
    since_ns: int | None = None
    until_ns: int | None = None
    every_ns: int | None = None  # streaming: a narrative at the end of each window this long
    format: str = "text"  # the whole-range report's layout, one of FORMATS
    rejected_files: list[str] = field(default_factory=list)  # earlier stages' --rejects files
    fail_on: frozenset[str] = FAIL_ON["nodata"]  # verdicts that make the run exit 1
    state: str | None = None  # streaming: windows counted and narrated once across runs (resume.py)

    @classmethod
    def from_flags(cls, *, format: str = "text", since: str | None = None, until: str | None = None,
                   every: str | None = None, gap: str | None = None, min_change: str = "20%",
                   rejected: list[str] | None = None, fail_on: str = "nodata", state: str | None = None) -> Options:
        """Options from the text of ``ben narrate``'s flags; a bad value is a usage error."""
        if state is not None and every is None:
            raise UsageError("--state: only with --every (a whole-range report has no windows to remember)")
        if format not in FORMATS:
            raise UsageError(f"--format: must be one of {', '.join(FORMATS)}, not {format!r}")
        return cls(gap_ns=_duration_ns("--gap", gap), min_change=_fraction("--min-change", min_change),
                   since_ns=_time("--since", since), until_ns=_time("--until", until),
                   every_ns=_duration_ns("--every", every), format=format, rejected_files=list(rejected or []),
                   fail_on=_fail_on(fail_on), state=state)


def _fail_on(text: str) -> frozenset[str]:
    """``nodata,incident``: the union of the verdicts each choice fails on."""
    out: set[str] = set()
    for name in (part.strip() for part in text.split(",")):
        if name not in FAIL_ON:
            raise UsageError(f"--fail-on: must be one or more of {', '.join(FAIL_ON)} (comma-separated), not {name!r}")
        out |= FAIL_ON[name]
    return frozenset(out)


def _time(flag: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return to_ns(text)
    except TimestampError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _duration_ns(flag: str, text: str | None) -> int | None:
    """A window or gap: positive, since a zero-length window would never close."""
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    ns = int(seconds * NS_PER_S)
    if ns <= 0:
        raise UsageError(f"{flag}: a duration must be positive: {text!r}")
    return ns


def _fraction(flag: str, text: str) -> float:
    try:
        value = parse_percent(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise UsageError(f"{flag}: must be a percentage such as 20% (or a fraction such as 0.2), not {text!r}")
    return value
