"""The stage cores composed in one process give, byte for byte, what the shell pipeline gives.

This is the promise ``ben run``, ``ben watch`` and the bee listener build on: a stage is one core,
and a pipe between two commands adds nothing but bytes. Each pipeline the README and DESIGN
show is run both ways on the bundled samples: the real ``ben`` commands joined by a shell pipe,
and the cores chained with :func:`ben_cli.stage.chain` over records in memory.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ben_cli.detect import DetectOptions, SeriesTable
from ben_cli.ingest import Ingester, sniff_format
from ben_cli.narrate import Narrator, Options, render
from ben_cli.ndjson import dumps
from ben_cli.scrub import Scrubber
from ben_cli.sink import DurableRejects, SinkOptions, batcher_for, parse_target
from ben_cli.stage import chain, fed_then_flushed

ROOT = Path(__file__).resolve().parent.parent
DATA = "tests/data"
APP = f"{DATA}/sample-app.ndjson"
DB = f"{DATA}/sample-db.logfmt"
PROM = f"{DATA}/sample-queue.prom"
BEN = str(ROOT / ".venv" / "bin" / "ben") if (ROOT / ".venv" / "bin" / "ben").exists() else "ben"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One $BEN_HOME for both ways, so scrub's pseudonyms use the same key."""
    monkeypatch.setenv("BEN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def shell(pipeline: str) -> bytes:
    """Run a pipeline of real ``ben`` commands from the repository root; stdout of the last."""
    script = "set -o pipefail; " + pipeline.replace("ben ", f"{shlex.quote(BEN)} ")
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def ingested(path: str, format: str | None = None) -> Iterator[dict]:
    """``ben ingest PATH`` as a core: the format sniffed from the head, as the command does."""
    data = (ROOT / path).read_bytes()
    core = Ingester(format or sniff_format(data[:65536]), file=path)
    return fed_then_flushed(core, data.splitlines(keepends=True))


def text_report(records: Iterator[dict]) -> bytes:
    narrator = Narrator(Options())
    for _ in fed_then_flushed(narrator, records):
        pass
    return render(narrator.report(), "text").encode()


def stored(records: Iterator[dict], path: Path) -> bytes:
    """The file ``ben sink --to file:PATH`` writes, by the sink's core."""
    options = SinkOptions(target=parse_target(f"file:{path}"))
    with DurableRejects(None, stage="sink") as rejects, batcher_for(options, rejects) as core:
        core.load()
        for _ in fed_then_flushed(core, records):
            pass
        core.save()
    return path.read_bytes()


@pytest.mark.parametrize("path", [APP, DB])
def test_readme_pipeline(home: Path, path: str) -> None:
    """ben ingest app.log | ben scrub | ben detect | ben narrate"""
    piped = shell(f"ben ingest -q {path} | ben scrub -q | ben detect -q | ben narrate -q")
    cores = text_report(chain([Scrubber(), SeriesTable(DetectOptions())], ingested(path)))
    assert b"Verdict:" in piped
    assert cores == piped


def test_design_pipeline_with_by(home: Path) -> None:
    """ben ingest app.log | ben scrub | ben detect --by source,name | ben narrate"""
    piped = shell(f"ben ingest -q {APP} | ben scrub -q | ben detect -q --by source,name | ben narrate -q")
    table = SeriesTable(DetectOptions.from_text(by="source,name"))
    assert text_report(chain([Scrubber(), table], ingested(APP))) == piped


def test_metrics_into_the_file_sink(home: Path, tmp_path: Path) -> None:
    """ben ingest --format prom metrics.txt | ben detect | ben sink --to file:..."""
    shell(f"ben ingest -q --format prom {PROM} | ben detect -q | ben sink -q --to file:{tmp_path / 'piped.ndjson'}")
    cores = stored(chain([SeriesTable(DetectOptions())], ingested(PROM, "prom")), tmp_path / "cores.ndjson")
    piped = (tmp_path / "piped.ndjson").read_bytes()
    assert piped.count(b"\n") == 240 and b'"is_anomaly":true' in piped
    assert cores == piped


def test_every_stage_into_the_file_sink(home: Path, tmp_path: Path) -> None:
    """ingest, scrub, detect, narrate --every (records and narratives), sink: the whole pipeline."""
    shell(f"ben ingest -q {APP} | ben scrub -q | ben detect -q | ben narrate -q --every 10m"
          f" | ben sink -q --to file:{tmp_path / 'piped.ndjson'}")
    narrator = Narrator(Options.from_flags(every="10m"))
    cores = stored(chain([Scrubber(), SeriesTable(DetectOptions()), narrator], ingested(APP)), tmp_path / "cores.ndjson")
    piped = (tmp_path / "piped.ndjson").read_bytes()
    assert b'"name":"ben.narrative"' in piped and b'"redacted":["email"' in piped
    assert cores == piped


def test_the_cores_output_is_what_the_pipe_carries(home: Path) -> None:
    """Between two cores a record is what ``dumps`` of it would be on a pipe: the same lines."""
    piped = shell(f"ben ingest -q {APP} | ben scrub -q | ben detect -q")
    cores = b"".join(dumps(rec) for rec in chain([Scrubber(), SeriesTable(DetectOptions())], ingested(APP)))
    assert cores == piped
