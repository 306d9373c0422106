"""ben watch in a real terminal: a pipeline under tmux, keys typed with send-keys, the screen read
with capture-pane. This is the path Pilot cannot take: data on a pipe, keys from /dev/tty, the
dashboard drawn on stderr, and `q` while the producer is still writing."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

BEN = Path(sys.executable).with_name("ben")
PRODUCER = r"""
import json, sys, time
i = 0
while True:
    sev = "error" if i % 10 == 0 else "info"
    rec = {"ts": "2026-11-25T10:%02d:%02dZ" % (i // 60 % 60, i % 60), "lane": "event", "source": "web-%d" % (i % 3),
           "name": "http.request", "severity": sev, "value": i % 7, "body": "request %d" % i}
    sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()
    i += 1
    time.sleep(0.005)
"""


class Tmux:
    def __init__(self, tmp: Path):
        # a server of its own per test: kill-server returns before the old server is gone, and a
        # new session on the same socket then met it exiting ("server exited unexpectedly")
        self.socket = f"ben-watch-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self, joined: bool = False) -> str:
        """The pane's text; ``joined``: lines the terminal wrapped are one line again."""
        return self("capture-pane", "-p", *(["-J"] if joined else []), "-t", "watch")

    def wait_for(self, text: str, seconds: float = 30, joined: bool = False) -> str:
        """The screen once it shows ``text`` (polled; the deadline only ends a hung test)."""
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(joined)
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")


@pytest.fixture
def tmux(tmp_path):
    assert shutil.which("tmux"), "tmux is a test dependency (tests/support/system-packages)"
    t = Tmux(tmp_path)
    yield t
    subprocess.run(["tmux", "-L", t.socket, "kill-server"], capture_output=True)


def test_a_pipeline_under_tmux_keys_and_q_while_the_producer_writes(tmux, tmp_path):
    producer = tmp_path / "producer.py"
    producer.write_text(PRODUCER)
    tee = tmp_path / "tee.ndjson"
    script = (f"{shlex.quote(sys.executable)} {shlex.quote(str(producer))} | "
              f"{shlex.quote(str(BEN))} watch --tee --refresh 200ms > {shlex.quote(str(tee))}; "
              f"echo \"watch exited $?\"; sleep 60")
    tmux("new-session", "-d", "-s", "watch", "-x", "120", "-y", "40",
         "env", "TERM=xterm-256color", "BEN_LOAD_PLUGINS=", "COLUMNS=80", "LINES=24", "bash", "-c", script)
    screen = tmux.wait_for("1 Rates")
    assert len(screen.splitlines()[0]) == 120  # the terminal's size, not a stale COLUMNS (the test runner exports 80)
    for title in ("2 Top sources & names", "3 Anomalies", "4 Incidents", "5 Chart", "Scrub & rejects"):
        assert title in screen
    screen = tmux.wait_for("web-2")  # records arrive and are counted
    assert "UNKNOWN" in tmux.wait_for("UNKNOWN")  # records, but no detector judged them

    tmux("send-keys", "-t", "watch", "a")  # the feed: all records
    tmux.wait_for("3 Records")
    tmux("send-keys", "-t", "watch", "/")
    tmux.wait_for("filter: lane:event")  # the box is open (its placeholder): a person types after seeing it
    tmux("send-keys", "-t", "watch", "-l", "severity:error")
    tmux("send-keys", "-t", "watch", "Enter")
    screen = tmux.wait_for("filter: severity:error")
    feed_rows = [line for line in screen.splitlines() if "http.request" in line and "│ 10:" in line]
    assert feed_rows and all("error" in line for line in feed_rows)

    tmux("send-keys", "-t", "watch", "p")
    tmux.wait_for("PAUSED")
    tmux("send-keys", "-t", "watch", "?")
    tmux.wait_for("quit at once")
    tmux("send-keys", "-t", "watch", "Escape")
    tmux("send-keys", "-t", "watch", "p")

    tmux("send-keys", "-t", "watch", "q")  # the producer never stops writing
    screen = tmux.wait_for("watch exited")
    assert "watch exited 0" in screen
    assert "ben watch: read " in screen
    # --tee passed the records on unchanged, in order
    lines = tee.read_text().splitlines()
    assert len(lines) > 10
    assert [line.split('"body": "request ')[1].rstrip('"}') for line in lines[:5]] == ["0", "1", "2", "3", "4"]


def test_in_a_terminal_without_input_or_with_a_missing_file_the_error_comes_before_any_screen(tmux, tmp_path):
    script = (f"{shlex.quote(str(BEN))} watch --from {shlex.quote(str(tmp_path / 'missing.ndjson'))}; echo \"first $?\"; "
              f"{shlex.quote(str(BEN))} watch; echo \"second $?\"; sleep 60")
    tmux("new-session", "-d", "-s", "watch", "-x", "120", "-y", "40",
         "env", "TERM=xterm-256color", "BEN_LOAD_PLUGINS=", "bash", "-c", script)
    screen = tmux.wait_for("second ", joined=True)
    assert f"ben watch: --from {tmp_path / 'missing.ndjson'}: No such file or directory\nfirst 2" in screen
    assert ("ben watch: no input: stdin is the terminal; pipe records in or name them with --from FILE\n"
            "second 2") in screen
