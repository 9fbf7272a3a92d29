"""Everything the user reads: log lines, GitHub workflow commands, step outputs and the job summary.

Stages return values (:class:`RunResult`, :class:`~publish_action.outcomes.FileOutcome`) and log progress
through the ``publish_action`` logger; this module alone decides how that looks on a terminal and on
GitHub. Secrets never reach it: the credential types do not print themselves and tokens are masked before
the first line is written.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from publish_action.dists import Plan
from publish_action.errors import ExitCode, PublishError
from publish_action.index import Index
from publish_action.outcomes import FileOutcome, FileState, Published
from publish_action.redact import without_controls
from publish_action.sizes import describe_size


@dataclass(frozen=True)
class Annotation:
    """A finding about a file of the repository (for example the running workflow), shown at its line."""

    level: str
    title: str
    message: str
    file: str
    line: int


@dataclass
class RunResult:
    """What one run did, for the report and the exit code."""

    index: Index | None = None
    plan: Plan | None = None
    outcomes: list[FileOutcome] = field(default_factory=list)
    credential_kind: str | None = None
    dry_run: bool = False
    #: The error that ended the run early (settings, pre-flight, authentication, attestations).
    error: PublishError | None = None
    #: Non-fatal findings to annotate: deprecations, nudges, twine check warnings.
    notices: list[str] = field(default_factory=list)
    #: Informational notices (for example: an upload token could not be revoked and expires by itself).
    remarks: list[str] = field(default_factory=list)
    #: Findings about the repository's files, each at its file and line (``doctor`` on the running workflow).
    annotations: list[Annotation] = field(default_factory=list)

    @property
    def errors(self) -> list[PublishError]:
        """The run's error and every file's error, each once."""
        found: list[PublishError] = [self.error] if self.error else []
        for outcome in self.outcomes:
            if isinstance(outcome.error, PublishError) and outcome.error not in found:
                found.append(outcome.error)
        return found

    @property
    def exit_code(self) -> ExitCode:
        """The exit class of the first error, or OK."""
        errors = self.errors
        return errors[0].exit_code if errors else ExitCode.OK

    def names(self, state: FileState) -> list[str]:
        """File names in ``state``, in upload order."""
        return [outcome.dist.filename for outcome in self.outcomes if outcome.state is state]

    def published(self, state: Published) -> list[str]:
        """File names whose confirmation on the index ended in ``state``, in upload order."""
        return [
            outcome.dist.filename
            for outcome in self.outcomes
            if outcome.published is not None and outcome.published.state is state
        ]

    @property
    def confirmed(self) -> bool:
        """Whether the confirmation stage looked at any file."""
        return any(outcome.published is not None for outcome in self.outcomes)

    def release_urls(self) -> list[str]:
        """Release pages of the projects that now have files on the index."""
        if self.index is None:
            return []
        urls: list[str] = []
        for outcome in self.outcomes:
            if outcome.state in (FileState.UPLOADED, FileState.SKIPPED):
                url = self.index.release_url(outcome.dist.project, outcome.dist.version)
                if url and url not in urls:
                    urls.append(url)
        return urls


class Reporter:
    """Writes for a terminal, or for a GitHub Actions runner when ``GITHUB_ACTIONS=true``."""

    def __init__(self, environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.stream = stream or sys.stdout
        self.github = self.environ.get("GITHUB_ACTIONS") == "true"
        # Stages log from several threads (signing, the token exchange): one line is one write under this
        # lock, so that two workflow commands never share a line (``print`` writes the text and the newline
        # separately, and the runner would read a mask command glued to another as plain text).
        self._lock = threading.Lock()

    # -- workflow commands -------------------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        """One plain line: control characters inside it become spaces, and it can never be read as a
        workflow command, whatever outside text it carries."""
        text = without_controls(text)
        if self.github and text.lstrip().startswith("::"):
            text = text.replace("::", ": :", 1)
        self._write(text)

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _command(self, name: str, data: str, properties: str = "") -> None:
        """A workflow command; ``data`` escaped so that nothing in it ends the command early."""
        self._write(f"::{name}{properties}::{_escape_data(data)}")

    def mask(self, secret: str) -> None:
        """Ask the runner to hide ``secret`` in every later log line. Call before anything else prints it."""
        if self.github and secret:
            self._command("add-mask", secret)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable section on GitHub, a heading elsewhere."""
        if self.github:
            self._command("group", title)
        else:
            self.line(f"== {title}")
        try:
            yield
        finally:
            if self.github:
                self._command("endgroup", "")

    def annotate(
        self, level: str, title: str, message: str, *, file: str | None = None, line: int | None = None
    ) -> None:
        """An ``error``/``warning``/``notice`` annotation on GitHub, a labelled line elsewhere; ``file`` and
        ``line`` place it on a file of the repository."""
        if self.github:
            properties = [f"file={_escape_property(file)}"] if file else []
            if file and line:
                properties.append(f"line={line}")
            if title:
                properties.append(f"title={_escape_property(title)}")
            self._command(level, message, (" " + ",".join(properties)) if properties else "")
        else:
            where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
            label = f"{where}{level.capitalize()}: {title}: " if title else f"{where}{level.capitalize()}: "
            first, *rest = message.splitlines() or [""]
            self.line(label + first)
            for more in rest:
                self.line(more)

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
            self.annotate("error", error.title, _error_body(error))
        self._outputs(result)
        self._summary(result)

    def _table(self, result: RunResult) -> None:
        heading = "Dry run: nothing was uploaded" if result.dry_run else "Result"
        where = result.index.display_name if result.index else "the index"
        with self.group(f"{heading} ({where})"):
            width = max(len(outcome.dist.filename) for outcome in result.outcomes)
            for outcome in result.outcomes:
                state = _state_label(outcome, result.dry_run)
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
                self.line(f"  On the index: {_confirmation_counts(result)}")
            for url in result.release_urls():
                self.line(f"  Release: {url}")

    def _outputs(self, result: RunResult) -> None:
        path = self.environ.get("GITHUB_OUTPUT")
        if not path:
            return
        urls = result.release_urls()
        values = {
            "uploaded": json.dumps(result.names(FileState.UPLOADED)),
            "skipped": json.dumps(result.names(FileState.SKIPPED)),
            "failed": json.dumps(result.names(FileState.FAILED)),
            "not-tried": json.dumps(result.names(FileState.NOT_TRIED)),
            "verified": json.dumps(result.published(Published.VERIFIED)),
            "release-url": urls[0] if len(urls) == 1 else "",
            "release-urls": json.dumps(urls),
            "files": json.dumps([_file_record(outcome, result.dry_run) for outcome in result.outcomes]),
            "exit-code": str(int(result.exit_code)),
        }
        try:
            with open(path, "a", encoding="utf-8") as handle:
                for name, value in values.items():
                    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
                    handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        except OSError as exc:
            self.annotate("warning", "Step outputs not written", f"GITHUB_OUTPUT ({path}): {exc.strerror or exc}")

    def _summary(self, result: RunResult) -> None:
        path = self.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(render_summary(result))
        except OSError as exc:
            self.annotate("warning", "Job summary not written", f"GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}")


def render_summary(result: RunResult) -> str:
    """The job summary in Markdown: one table row per file, then the errors with their fixes."""
    where = result.index.display_name if result.index else "the index"
    title = "Dry run" if result.dry_run else "Publish"
    lines = [f"## {title} to {where}", ""]
    if result.credential_kind:
        label = _CREDENTIAL_LABELS.get(result.credential_kind, result.credential_kind)
        lines += [f"Credentials: {label}", ""]
    if result.outcomes:
        confirmed = result.confirmed
        if confirmed:
            lines += [
                "| File | Size | SHA-256 | State | Attestation | On the index | Link |",
                "|---|---:|---|---|---|---|---|",
            ]
        else:
            lines += ["| File | Size | SHA-256 | State | Attestation | Link |", "|---|---:|---|---|---|---|"]
        for outcome in result.outcomes:
            dist = outcome.dist
            link = ""
            if result.index is not None:
                release = result.index.release_url(dist.project, dist.version)
                simple = result.index.project_simple_url(dist.project)
                target = release or simple
                if target and outcome.state in (FileState.UPLOADED, FileState.SKIPPED):
                    link = f"[{'release' if release else 'index'}]({target})"
            state = _state_label(outcome, result.dry_run)
            if outcome.detail:
                state += f" — {_md(outcome.detail)}"
            published = ""
            if confirmed:
                published = f" {_published_cell(outcome)} |"
            lines.append(
                f"| `{dist.filename}` | {describe_size(dist.size)} | `{dist.hashes.sha256[:16]}…` | {state} | "
                f"{outcome.attestation} |{published} {link} |"
            )
        lines.append("")
        if confirmed:
            lines += [f"Confirmed on {where} after the upload: {_confirmation_counts(result)}.", ""]
    for error in result.errors:
        lines += [f"### :x: {_md(error.title)}", "", _md(error.cause)]
        lines += [f"- {_md(problem)}" for problem in error.problems]
        if error.fix:
            lines += ["", f"**Fix:** {_md(error.fix)}"]
        lines.append("")
    for notice in result.notices:
        lines += ["> [!WARNING]", f"> {_md(notice)}", ""]
    for remark in result.remarks:
        lines += ["> [!NOTE]", f"> {_md(remark)}", ""]
    for annotation in result.annotations:
        kind = "WARNING" if annotation.level == "warning" else "NOTE"
        lines += [
            f"> [!{kind}]",
            f"> `{_md(annotation.file)}:{annotation.line}`: **{_md(annotation.title)}**",
            f"> {_md(annotation.message)}",
            "",
        ]
    return "\n".join(lines) + "\n"


_CREDENTIAL_LABELS = {
    "trusted-publishing": "Trusted Publishing (short-lived token, revoked after the upload)",
    "token": "API token",
    "password": "user name and password",
}


def _state_label(outcome: FileOutcome, dry_run: bool) -> str:
    if dry_run and outcome.state is FileState.NOT_TRIED:
        return "would upload"
    return outcome.state.value


def _published_cell(outcome: FileOutcome) -> str:
    if outcome.published is None:
        return "—"
    if outcome.published.state is Published.VERIFIED:
        return "verified"
    return f"{outcome.published.state.value} — {_md(outcome.published.detail)}"


def _confirmation_counts(result: RunResult) -> str:
    counts = {state: len(result.published(state)) for state in Published}
    return ", ".join(f"{count} {state.value}" for state, count in counts.items() if count)


def _file_record(outcome: FileOutcome, dry_run: bool) -> dict[str, object]:
    dist = outcome.dist
    return {
        "filename": dist.filename,
        "project": dist.project,
        "version": dist.version,
        "size": dist.size,
        "sha256": dist.hashes.sha256,
        "state": _state_label(outcome, dry_run),
        "attestation": outcome.attestation,
        "attempts": outcome.attempts,
        "published": outcome.published.state.value if outcome.published else None,
    }


def _error_body(error: PublishError) -> str:
    parts = [error.cause, *(f"- {problem}" for problem in error.problems)]
    if error.fix:
        parts.append(f"Fix: {error.fix}")
    return "\n".join(parts)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


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
