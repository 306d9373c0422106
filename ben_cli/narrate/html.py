"""The report as one self-contained HTML file: inline CSS, an inline SVG sparkline per series of
each incident with its expected band, no scripts, fonts or images fetched from anywhere.

A sparkline shows the series around the incident (a margin of context either side), the band
detect expected it in (its ``expected`` value, or the narrated baseline, plus or minus three
robust spreads), the episode shaded, and the flagged points in red. Long series are thinned to
the minimum and maximum of each pixel column, so a one-point spike is never averaged away.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from html import escape

from ben_cli.narrate.episodes import Episode
from ben_cli.narrate.layout import (
    VOLUME_HEADER,
    lanes_text,
    noise_text,
    range_text,
    rejected_text,
    scrubbed_text,
    volume_cells,
    watched_text,
)
from ben_cli.narrate.report import Report
from ben_cli.narrate.wording import metric

W, H, PAD = 560, 96, 4
MAX_COLUMNS = 280
MAX_SPARKLINES = 8
BAND_SIGMAS = 3.0

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:62rem;
padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.15rem;margin:1.8rem 0 .6rem;border-bottom:1px solid #d0d7de}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.verdict{padding:.7rem 1rem;border-radius:6px;font-size:1.05rem}
.verdict-healthy{background:#dafbe1;border-left:6px solid #1a7f37}
.verdict-degraded{background:#fff8c5;border-left:6px solid #bf8700}
.verdict-incident{background:#ffebe9;border-left:6px solid #cf222e}
.verdict-nodata,.verdict-unknown{background:#eaeef2;border-left:6px solid #57606a}
.meta{color:#57606a;font-size:.9rem}
figure{margin:.4rem 0 .8rem}figcaption{font-size:.85rem;color:#57606a}
svg.spark{width:100%;max-width:560px;height:auto;background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:.25rem .7rem;border-bottom:1px solid #d0d7de;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def _window(ep: Episode, lo_ns: int, hi_ns: int) -> tuple[int, int]:
    t = ep.series.t
    return bisect_left(t, lo_ns), bisect_right(t, hi_ns)


def _columns(ep: Episode, a: int, b: int) -> list[int]:
    """Indices to draw: all of them, or per pixel column the first, lowest and highest point."""
    n = b - a
    if n <= MAX_COLUMNS:
        return list(range(a, b))
    v = ep.series.v
    keep: set[int] = set()
    for c in range(MAX_COLUMNS):
        lo, hi = a + c * n // MAX_COLUMNS, a + (c + 1) * n // MAX_COLUMNS
        if hi <= lo:
            continue
        chunk = range(lo, hi)
        keep.update((lo, min(chunk, key=lambda i: (v[i], i)), max(chunk, key=lambda i: (v[i], -i))))
    return sorted(keep)


def sparkline(ep: Episode, lo_ns: int, hi_ns: int) -> str:
    """An inline SVG of one series between two times, with its expected band and the episode."""
    s = ep.series
    a, b = _window(ep, lo_ns, hi_ns)
    if b - a < 2:
        a, b = max(0, ep.start - 1), min(len(s.t), ep.end + 2)
    idx = _columns(ep, a, b)
    expected = [s.e[i] if not math.isnan(s.e[i]) else ep.baseline for i in idx]
    band = BAND_SIGMAS * ep.sigma
    ys = [s.v[i] for i in idx] + [x + band for x in expected] + [x - band for x in expected]
    y_lo, y_hi = min(ys), max(ys)
    if y_hi - y_lo < 1e-12:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    t0, t1 = s.t[idx[0]], s.t[idx[-1]]
    span = max(t1 - t0, 1)

    def x(t: int) -> float:
        return PAD + (W - 2 * PAD) * (t - t0) / span

    def y(val: float) -> float:
        return PAD + (H - 2 * PAD) * (1 - (val - y_lo) / (y_hi - y_lo))

    def pts(pairs: Iterable[tuple[float, float]]) -> str:
        return " ".join(f"{px:.1f},{py:.1f}" for px, py in pairs)

    upper = [(x(s.t[i]), y(e + band)) for i, e in zip(idx, expected, strict=True)]
    lower = [(x(s.t[i]), y(e - band)) for i, e in zip(idx, expected, strict=True)]
    line = [(x(s.t[i]), y(s.v[i])) for i in idx]
    mid = [(x(s.t[i]), y(e)) for i, e in zip(idx, expected, strict=True)]
    shade_a = x(max(ep.start_ns, t0))
    shade_b = x(min(ep.end_ns if not ep.ongoing else t1, t1))
    flagged = {f.index for f in s.flags}
    dots = "".join(f'<circle cx="{x(s.t[i]):.1f}" cy="{y(s.v[i]):.1f}" r="2.2" fill="#cf222e"/>'
                   for i in idx if i in flagged)
    label = f"{s.source} {metric(ep)}"
    return (
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<rect x="{shade_a:.1f}" y="0" width="{max(shade_b - shade_a, 1.5):.1f}" height="{H}" fill="#ffebe9"/>'
        f'<polygon class="band" points="{pts(upper + lower[::-1])}" fill="#ddf4ff" stroke="none"/>'
        f'<polyline class="expected" points="{pts(mid)}" fill="none" stroke="#54aeff" stroke-dasharray="4 3" stroke-width="1"/>'
        f'<polyline class="value" points="{pts(line)}" fill="none" stroke="#0969da" stroke-width="1.6"/>'
        f"{dots}</svg>"
    )


def html(r: Report) -> str:
    title = f"Health report: {range_text(r)}" + (" (window so far)" if r.partial else "")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(title)}</title><style>{CSS.strip()}</style></head><body>",
           f"<h1>{escape(title)}</h1>",
           f'<p class="verdict verdict-{r.verdict}"><strong>Verdict: {r.label}.</strong> {escape(r.why)}</p>',
           f'<p class="meta">{escape(watched_text(r))}</p>']
    if r.incidents:
        out.append("<h2>Incidents</h2>")
        for n in r.incidents:
            inc = n.incident
            out += [f'<section class="incident" id="incident-{inc.number}">',
                    f"<h3>{inc.number}. {escape(n.title)}</h3>",
                    f'<p class="meta">{inc.grade}, severity {inc.severity:g}; sources: {escape(", ".join(inc.sources))}</p>',
                    f"<p>{escape(n.text)}</p>"]
            margin = max((inc.end_ns - inc.start_ns) // 2, 10 * max(ep.interval_ns for ep in inc.episodes))
            for ep in inc.episodes[:MAX_SPARKLINES]:
                out.append(f"<figure>{sparkline(ep, inc.start_ns - margin, inc.end_ns + margin)}"
                           f"<figcaption>{escape(ep.series.source)}: {escape(metric(ep))} "
                           f"(shaded: the episode; blue band: expected range)</figcaption></figure>")
            if len(inc.episodes) > MAX_SPARKLINES:
                out.append(f'<p class="meta">and {len(inc.episodes) - MAX_SPARKLINES} more series</p>')
            out.append("</section>")
    if r.noise:
        out.append(f'<p class="meta">{escape(noise_text(r))}</p>')
    if r.volume:
        out += ["<h2>Volume and errors</h2>", f"<p>By lane: {escape(lanes_text(r))}.</p>", "<table><thead><tr>"]
        out += [f"<th>{escape(h)}</th>" for h in VOLUME_HEADER]
        out.append("</tr></thead><tbody>")
        for row in volume_cells(r):
            cells = [f"<td>{escape(c)}</td>" if i < 2 else f'<td class="n">{escape(c)}</td>' for i, c in enumerate(row)]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
    for heading, body in (("Scrubbed", scrubbed_text(r)), ("Rejected", rejected_text(r))):
        if body:
            out += [f"<h2>{heading}</h2>", f"<p>{escape(body)}</p>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
