"""Progress a person at a terminal can watch: a bar per file being uploaded (bytes, speed, time left) and a
spinner line per phase that takes a while (signing, the confirmation), drawn with rich below the log's
lines, which keep scrolling above them. Chosen only for a terminal outside CI (:func:`wanted`); CI logs
get no bars, only their lines."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, TextIO

from publish_action.identity import runs_in_ci
from publish_action.progress import FileProgress

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress import Progress as RichProgress
    from rich.progress import ProgressColumn, Task, TaskID


def wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Bars for a terminal that can draw them, never in a CI job (its log is not a terminal anyway, and a
    pseudo-terminal some runners give must keep plain lines too)."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return terminal and not runs_in_ci(environ) and environ.get("TERM", "") != "dumb"


class Bars:
    """rich's progress display on ``stream``; started with the first bar or phase, stopped by :meth:`stop`."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.console = Console(file=stream, highlight=False, markup=False, emoji=False)
        self._progress: RichProgress = Progress(
            *_columns(),
            console=self.console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._lock = threading.Lock()
        self._started = False

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                self._progress.start()
                self._started = True

    def file(self, filename: str, size: int) -> FileProgress:
        self._start()
        return _FileBar(self._progress, self._progress.add_task(filename, total=size, bytes=True))

    def phase(self, title: str) -> AbstractContextManager[None]:
        return self._phase(title)

    @contextmanager
    def _phase(self, title: str) -> Iterator[None]:
        self._start()
        task = self._progress.add_task(title, total=None)
        try:
            yield
        finally:
            self._progress.update(task, total=1, completed=1)

    def print(self, text: str) -> None:
        """One log line, above the bars."""
        self.console.print(text, soft_wrap=True)

    def stop(self) -> None:
        """Draw the bars a last time and leave them; later lines go below."""
        with self._lock:
            if self._started:
                self._progress.stop()
                self._started = False


class _FileBar:
    def __init__(self, progress: RichProgress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def restart(self) -> None:
        self._progress.reset(self._task)

    def advance(self, sent: int) -> None:
        self._progress.advance(self._task, sent)

    def finish(self) -> None:
        self._progress.stop_task(self._task)


def _columns() -> list[ProgressColumn]:
    """Spinner, name, bar, then bytes and speed (for files only) and the time left."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import ProgressColumn as Column
    from rich.table import Column as TableColumn
    from rich.text import Text

    class ForFiles(Column):
        """A column shown for files' bars and left empty on phases' lines."""

        def __init__(self, inner: Column) -> None:
            super().__init__(table_column=TableColumn())
            self._inner = inner

        def render(self, task: Task) -> RenderableType:
            return self._inner.render(task) if task.fields.get("bytes") else Text("")

    return [
        SpinnerColumn(finished_text="✓"),
        TextColumn("{task.description}"),
        BarColumn(),
        ForFiles(DownloadColumn(binary_units=True)),
        ForFiles(TransferSpeedColumn()),
        TimeRemainingColumn(),
    ]


__all__ = ["Bars", "wanted"]
