"""What a ``ben detect`` run can be asked: the detectors on offer with their parameters
(``--list``), and :class:`DetectOptions`, read from the command line's text.

Every mistake in the text is a :class:`~ben_cli.errors.UsageError` (exit 2) that names the option
it came from, so ``ben detect -p lambda=abc`` says ``--param: lambda must be float, not 'abc'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ben_cli import registry
from ben_cli.detect.base import Detector
from ben_cli.errors import UsageError
from ben_cli.units import parse_duration

# About 5 KB a series with auto (measured: 1M series took 5.2 GB): 100,000 series stay near 500 MB.
MAX_SERIES = 100_000
JOINT_DEFAULT = "spca"  # what the default detector means with --joint


@dataclass(frozen=True)
class DetectOptions:
    """A run of ``ben detect``: which detector with which parameters (typed values by name),
    watching which fields, in series named by which fields, and where its state is kept."""

    detector: str = "auto"
    params: Mapping[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ("value",)
    by: tuple[str, ...] = ("source", "name")
    threshold: float = 0.5
    only_anomalies: bool = False
    state: Path | None = None
    checkpoint: float = 60.0  # seconds between state saves in long runs (0: only at the end)
    expire: float | None = None  # seconds; series unseen this long (in data time) are dropped
    max_series: int = MAX_SERIES  # past this many series the least recently seen are forgotten
    joint: bool = False  # score the channels of a group (the last --by field) as one vector (joint.py)
    joint_tolerance: float = 1.0  # seconds: records of a group this close in time form one row

    @classmethod
    def from_text(cls, *, detector: str = "auto", params: Sequence[str] | None = None, fields: Sequence[str] | None = None,
                  by: str = "source,name", expire: str | None = None, joint: bool = False,
                  joint_tolerance: str = "1s", **rest: Any) -> DetectOptions:
        """Options from the flags' text: ``params`` as NAME=VALUE, ``fields`` and ``by`` as
        comma-separated names, ``expire`` and ``joint_tolerance`` as durations (``90s``, ``1h30m``,
        ``7d``). With ``joint``, the default detector ``auto`` means ``spca`` (auto watches one number)."""
        seconds = None
        if expire is not None:
            try:
                seconds = parse_duration(expire)
            except ValueError as exc:
                raise UsageError(f"--expire: {exc}") from None
        try:
            tolerance = parse_duration(joint_tolerance)
        except ValueError as exc:
            raise UsageError(f"--joint-tolerance: {exc}") from None
        if joint and detector == "auto":
            detector = JOINT_DEFAULT
        return cls(joint=joint, joint_tolerance=tolerance, detector=detector, params=typed_params(detector, params or ()), fields=split_names(fields or ()) or ("value",),
                   by=split_names([by]), expire=seconds, **rest)


def split_names(values: Sequence[str]) -> tuple[str, ...]:
    """``["a,b", "c"]`` as ``("a", "b", "c")``: a flag may be repeated or take a list."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def detector_class(name: str) -> type[Detector[Any]]:
    """The detector registered as ``name`` (built-in or plugin)."""
    try:
        cls: type[Detector[Any]] = registry.detectors.get(name)
    except KeyError as exc:
        raise UsageError(f"--detector: {exc.args[0]}") from None
    return cls


def typed_params(detector: str, pairs: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs read as each of ``detector``'s parameters' type."""
    specs = {p.name: p for p in detector_class(detector).all_params()}
    out = {}
    for pair in pairs:
        name, sep, text = (part.strip() for part in pair.partition("="))
        if not sep or not name:
            raise UsageError(f"--param: {pair!r} is not NAME=VALUE")
        if name not in specs:
            raise UsageError(f"--param: {detector} has no parameter {name!r}; see ben detect --list")
        try:
            out[name] = specs[name].parse(text)
        except ValueError as exc:
            raise UsageError(f"--param: {exc}") from None
    return out


def describe() -> list[dict]:
    """Every detector with its summary and parameters (name, default, help)."""
    out = []
    for name, cls in registry.detectors.items():
        params = [{"name": p.name, "default": p.default, "help": p.help} for p in cls.all_params()]
        out.append({"name": name, "summary": getattr(cls, "summary", ""), "kind": getattr(cls, "kind", "point"),
                    "params": params})
    return out


def catalog_text() -> str:
    """``ben detect --list``: each detector, what it does, its parameters with their defaults."""
    lines = []
    for info in describe():
        kind = " (change points)" if info["kind"] == "change" else ""
        lines.append(f"{info['name']}: {info['summary']}{kind}")
        lines += [f"  {p['name']}={p['default']}  {p['help']}" for p in info["params"]]
    return "".join(line + "\n" for line in lines)
