"""``ben narrate``: plain-language health reports from the stream.

The core is :class:`Narrator` (``narrator.py``): fed records, it either collects them for one
:class:`Report` over the whole range (``--since``/``--until``), which :func:`render` lays out as
text, Markdown, HTML or JSON, or, with a window (``--every``), passes them on and ends each
window with a narrative record (lane ``event``, name ``ben.narrative``, the text in ``body``, the
verdict and the incidents in flat ``attrs``). :func:`run` is the command's read loop around it.

The same input always gives the same report, byte for byte: series, episodes and incidents are
ordered by their keys and times, never by hash order or arrival races.
"""

from __future__ import annotations

from ben_cli.narrate.layout import render
from ben_cli.narrate.narrator import Narrator, narrative_record
from ben_cli.narrate.options import FORMATS, Options
from ben_cli.narrate.report import Report
from ben_cli.narrate.run import NarrateSummary, VerdictFailure, check_verdict, read_rejected, run

__all__ = ["FORMATS", "NarrateSummary", "Narrator", "Options", "Report", "VerdictFailure", "check_verdict", "narrative_record",
           "read_rejected", "render", "run"]
