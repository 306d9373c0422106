"""A progress bar on stderr for long reads (``ben ingest`` of big files)."""

from __future__ import annotations


class ProgressBar:
    """A rich progress bar per big input, drawn on stderr; started at the first report."""

    MIN_BYTES = 8 << 20

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.tasks: dict = {}
        self.started = False

    def update(self, name: str, done: int, total: int) -> None:
        if total < self.MIN_BYTES:
            return
        if not self.started:
            self.progress.start()
            self.started = True
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done)

    def stop(self) -> None:
        if self.started:
            self.progress.stop()
