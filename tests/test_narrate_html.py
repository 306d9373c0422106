"""The HTML report in a real browser (Debian's chromium, headless): it renders, the sparklines are
there as SVG, and a screenshot is a page with content, not a blank one.

The screenshot is decoded here with zlib (PNG is zlib-compressed scanlines, each behind a filter
byte), so the check needs no imaging library.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from ben_cli import narrate
from ben_cli.narrate.collect import Collector
from ben_cli.narrate.report import build

from .narrate_scenarios import ewma_marks, merge, series, step, window

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed (tests/support/system-packages lists it; make test installs it)"
    return found


def browse(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line if bpp == 3 else b"".join(line[i:i + 3] for i in range(0, stride, 4))))
        prev = line
    return width, height, rows


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> tuple[Path, int]:
    web = [series(h, "http.request", "ms", "09:00", 1, 120, 120, 5, i, window("10:02", "10:14", 292))
           for i, h in enumerate(["web-1", "web-2", "web-3"])]
    db = series("db-1", "cpu.usage", "%", "09:00", 1, 120, 31, 1, 7, step("09:40", 27))
    c = Collector()
    for rec in ewma_marks(merge(*web, db)):
        c.add(rec)
    r = build(c)
    sparklines = sum(len(n.incident.episodes) for n in r.incidents)
    page = tmp_path_factory.mktemp("html") / "report.html"
    page.write_text(narrate.render(r, "html"))
    return page, sparklines


def test_the_browser_renders_the_report_with_its_sparklines(tmp_path, report_page):
    page, sparklines = report_page
    proc = browse(tmp_path, page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert sparklines == 4
    assert dom.count("<svg") == sparklines and dom.count('class="band"') == sparklines
    assert "Verdict: incident." in dom and "web-1, web-2 and web-3" not in dom  # the lead is not repeated
    assert "did the same" in dom and "stepped up from 31" in dom


def test_a_screenshot_of_the_report_is_not_an_empty_page(tmp_path, report_page):
    page, _ = report_page
    shot = tmp_path / "shot.png"
    proc = browse(tmp_path, page, f"--screenshot={shot}", "--window-size=900,1200", "--hide-scrollbars")
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (900, 1200)
    pixels = [row[i:i + 3] for row in rows[::4] for i in range(0, len(row), 12)]
    colours = set(pixels)
    white = sum(p == b"\xff\xff\xff" for p in pixels)
    assert len(colours) > 20, "the page is (nearly) one colour"
    assert white < 0.97 * len(pixels), "the page is (nearly) all white"
    reddish = sum(p[0] > 200 and p[1] < 120 and p[2] < 120 for p in pixels)  # the verdict bar and flagged points
    blueish = sum(p[2] > 180 and p[0] < 60 for p in pixels)  # the series lines
    assert reddish > 0 and blueish > 0
