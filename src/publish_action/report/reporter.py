"""The run's voice: log lines while it works, then the report of its result (the file table, notices,
errors, outputs and summary), written for the job's :class:`~publish_action.report.targets.Target`."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from publish_action.dists import Plan
from publish_action.identity.github import GitHubContext
from publish_action.outcomes import FileState, RunResult
from publish_action.progress import NoProgress, Progress
from publish_action.report.bars import Bars, wanted
from publish_action.report.outputs import DOTENV_LIMIT, dotenv_text, output_values
from publish_action.report.summary import render_summary
from publish_action.report.targets import GitHubFiles, Target, Terminal, Trouble, target_for
from publish_action.report.wording import confirmation_counts, grade_line, state_label
from publish_action.sizes import describe_size


class Reporter:
    """Writes lines for the job's target; renders a :class:`RunResult` at the end. Reads the result, never
    changes it."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, stream: TextIO | None = None, *, target: Target | None = None
    ) -> None:
        env = os.environ if environ is None else environ
        self.target = target or target_for(env)
        self.runner_files = GitHubFiles(GitHubContext.from_environ(env))
        self.stream = stream or sys.stdout
        #: The dotenv file of outputs and the Markdown summary (inputs ``outputs-file``, ``summary-file``).
        self.outputs_file = self.target.default_outputs_file
        self.summary_file = self.target.default_summary_file
        self._sections = 0
        # Stages log from several threads (signing, the token exchange): one line is one write under this
        # lock, so that two workflow commands never share a line (``print`` writes the text and the newline
        # separately, and the runner would read a mask command glued to another as plain text).
        self._lock = threading.Lock()
        self._environ = env
        self._bars: Bars | None = None
        self._progress: Progress | None = None

    @property
    def progress(self) -> Progress:
        """Bars in a terminal outside CI (:func:`~publish_action.report.bars.wanted`); nothing elsewhere."""
        if self._progress is None:
            # A GitLab job's log is a terminal's only in name: only the plain terminal target draws.
            if type(self.target) is Terminal and wanted(self.stream, self._environ):
                self._bars = Bars(self.stream)
                self._progress = self._bars
            else:
                self._progress = NoProgress()
        return self._progress

    def end_progress(self) -> None:
        """Leave the bars as they stand; every later line goes below them."""
        if self._bars is not None:
            self._bars.stop()

    def line(self, text: str = "") -> None:
        """One plain line (control characters become spaces; never read as a command)."""
        self._write([self.target.line(text)])

    def _write(self, lines: list[str]) -> None:
        with self._lock:
            bars = self._bars
            for text in lines:
                if bars is not None:
                    bars.print(text)
                else:
                    self.stream.write(text + "\n")
            self.stream.flush()

    def mask(self, secret: str) -> None:
        """Ask the runner to hide ``secret`` in every later log line. Call before anything else prints it."""
        self._write(self.target.mask(secret))

    def use_files(self, outputs_file: Path | None, summary_file: Path | None) -> None:
        """The paths the inputs give for the outputs and the summary (``None``: keep the default)."""
        self.outputs_file = outputs_file or self.outputs_file
        self.summary_file = summary_file or self.summary_file

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable section on GitHub and GitLab, a heading elsewhere."""
        with self._lock:
            self._sections += 1
            number = self._sections
        self._write(self.target.group_start(title, number))
        try:
            yield
        finally:
            self._write(self.target.group_end(number))

    def annotate(
        self, level: str, title: str, message: str, *, file: str | None = None, line: int | None = None
    ) -> None:
        """An ``error``/``warning``/``notice``; ``file`` and ``line`` place it on a file of the repository."""
        self._write(self.target.annotation(level, title, message, file, line))

    # -- the run's report ---------------------------------------------------------------------------------

    def hashes(self, plan: Plan) -> None:
        """Each distribution's digests, as the index will record them (not for attestations or dotfiles)."""
        with self.group("Distribution hashes"):
            for dist in plan.distributions:
                self.line(dist.filename)
                self.line(f"  sha256:     {dist.hashes.sha256}")
                self.line(f"  md5:        {dist.hashes.md5 or '(not available on this platform)'}")
                self.line(f"  blake2_256: {dist.hashes.blake2_256 or '(not available on this platform)'}")

    def report(self, result: RunResult) -> None:
        """Render the end of the run: the file table, notices, errors, outputs and summary."""
        self.end_progress()
        for notice in result.notices:
            self.annotate("warning", "", notice)
        for remark in result.remarks:
            self.annotate("notice", "", remark)
        for annotation in result.annotations:
            self.annotate(
                annotation.level, annotation.title, annotation.message, file=annotation.file, line=annotation.line
            )
        if result.outcomes:
            self._table(result)
        for error in result.errors:
            self.annotate("error", error.title, error.body())
        troubles = self._outputs(result) + self._summary(result)
        for title, message in troubles:
            self.annotate("warning", title, message)

    def _table(self, result: RunResult) -> None:
        heading = "Dry run: nothing was uploaded" if result.dry_run else "Result"
        where = result.index.display_name if result.index else "the index"
        with self.group(f"{heading} ({where})"):
            width = max(len(outcome.dist.filename) for outcome in result.outcomes)
            for outcome in result.outcomes:
                state = state_label(outcome, result.dry_run)
                detail = f" — {outcome.detail}" if outcome.detail else ""
                attestation = f" [attestation: {outcome.attestation}]" if outcome.attestation != "none" else ""
                published = f" [on the index: {outcome.published.state.value}]" if outcome.published else ""
                self.line(
                    f"  {outcome.dist.filename:<{width}}  {describe_size(outcome.dist.size):>10}  "
                    f"{state}{attestation}{published}{detail}"
                )
            counts = {state: len(result.names(state)) for state in FileState}
            self.line(
                "  "
                + ", ".join(f"{count} {state.value}" for state, count in counts.items() if count)
                + f" — {len(result.outcomes)} file(s)"
            )
            if result.confirmed:
                self.line(f"  On the index: {confirmation_counts(result)}")
            for url in result.release_urls():
                self.line(f"  Release: {url}")
            for grade in result.grades:
                self.line(f"  Provenance: {grade_line(grade)}")

    def _outputs(self, result: RunResult) -> list[Trouble]:
        troubles: list[Trouble] = []
        if self.outputs_file is not None:
            text, left_out = dotenv_text(output_values(result, compact=True))
            try:
                self.outputs_file.write_text(text, encoding="utf-8")
            except OSError as exc:
                troubles.append(("Outputs file not written", f"{self.outputs_file}: {exc.strerror or exc}"))
            else:
                if left_out:
                    troubles.append(
                        (
                            "Outputs left out of the dotenv file",
                            f"{', '.join(left_out)} would make {self.outputs_file} larger than GitLab's "
                            f"{DOTENV_LIMIT}-byte limit for dotenv reports, so they are empty there (and named in "
                            "PUBLISH_ACTION_LEFT_OUT); the summary file lists every file.",
                        )
                    )
        return troubles + self.runner_files.write_outputs(output_values(result))

    def _summary(self, result: RunResult) -> list[Trouble]:
        text = render_summary(result)
        troubles: list[Trouble] = []
        if self.summary_file is not None:
            try:
                self.summary_file.write_text(text, encoding="utf-8")
            except OSError as exc:
                troubles.append(("Summary file not written", f"{self.summary_file}: {exc.strerror or exc}"))
        return troubles + self.runner_files.write_summary(text)


class LogHandler(logging.Handler):
    """Renders the ``publish_action`` logger's records through a :class:`Reporter`."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        """Info as plain lines; warnings and errors labelled (annotations come from the final report)."""
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            self.reporter.line(f"error: {message}")
        elif record.levelno >= logging.WARNING:
            self.reporter.line(f"warning: {message}")
        else:
            self.reporter.line(message)


__all__ = ["LogHandler", "Reporter"]
