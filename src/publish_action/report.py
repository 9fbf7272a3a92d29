"""Everything the user reads: log lines, GitHub workflow commands, step outputs and the job summary.

Stages return values (:class:`RunResult`, :class:`~publish_action.outcomes.FileOutcome`) and log progress
through the ``publish_action`` logger; this module alone decides how that looks on a terminal, on GitHub
(workflow commands, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``) and on GitLab (collapsible log sections, a
dotenv file of outputs, a Markdown summary file). Secrets never reach it: the credential types do not print
themselves and tokens are masked before the first line is written.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
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
    #: How the summary names the credential, as it stood at the end of the run.
    credential_label: str | None = None
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


#: Where a GitLab job finds the outputs and the summary unless the inputs say otherwise (the job's working
#: directory, where ``artifacts:`` paths are read from).
GITLAB_OUTPUTS_FILE = Path("publish-action.env")
GITLAB_SUMMARY_FILE = Path("publish-action-summary.md")
#: GitLab refuses a dotenv report larger than this (its ``dotenv_size`` limit on every plan).
DOTENV_LIMIT = 5120


class Reporter:
    """Writes for a terminal, for a GitHub Actions runner (``GITHUB_ACTIONS=true``) or for a GitLab CI job
    (``GITLAB_CI=true``).

    Outside GitHub no workflow command is written: ``::`` lines would be plain text there, and GitLab masks
    only the variables it knows, so nothing secret may ever be printed (nothing is: see the module's doc).
    """

    def __init__(self, environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.stream = stream or sys.stdout
        self.github = self.environ.get("GITHUB_ACTIONS") == "true"
        self.gitlab = not self.github and self.environ.get("GITLAB_CI") == "true"
        #: The dotenv file of outputs and the Markdown summary (inputs ``outputs-file``, ``summary-file``).
        self.outputs_file: Path | None = GITLAB_OUTPUTS_FILE if self.gitlab else None
        self.summary_file: Path | None = GITLAB_SUMMARY_FILE if self.gitlab else None
        self._sections = 0
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

    def use_files(self, outputs_file: Path | None, summary_file: Path | None) -> None:
        """The paths the inputs give for the outputs and the summary (``None``: keep the default)."""
        self.outputs_file = outputs_file or self.outputs_file
        self.summary_file = summary_file or self.summary_file

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable section on GitHub and GitLab, a heading elsewhere."""
        if self.github:
            self._command("group", title)
        elif self.gitlab:
            name = self._section("start", without_controls(title))
        else:
            self.line(f"== {title}")
        try:
            yield
        finally:
            if self.github:
                self._command("endgroup", "")
            elif self.gitlab:
                self._section("end", "", name)

    def _section(self, edge: str, title: str, name: str = "") -> str:
        """GitLab's ``section_start``/``section_end`` marker (collapsed, as GitHub's groups are)."""
        if edge == "start":
            with self._lock:
                self._sections += 1
                name = f"publish_action_{self._sections}"
        options = "[collapsed=true]" if edge == "start" else ""
        self._write(f"\x1b[0Ksection_{edge}:{int(time.time())}:{name}{options}\r\x1b[0K{title}")
        return name

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
        values = output_values(result)
        if self.outputs_file is not None:
            self._dotenv(self.outputs_file, output_values(result, compact=True))
        path = self.environ.get("GITHUB_OUTPUT")
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as handle:
                for name, value in values.items():
                    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
                    handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        except OSError as exc:
            self.annotate("warning", "Step outputs not written", f"GITHUB_OUTPUT ({path}): {exc.strerror or exc}")

    def _dotenv(self, path: Path, values: Mapping[str, str]) -> None:
        """The outputs as a dotenv file GitLab takes as a ``reports: dotenv`` artifact: ``NAME=value`` lines,
        one line per value, within GitLab's size limit (the longest lists are left out first, and named)."""
        text, left_out = dotenv_text(values)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.annotate("warning", "Outputs file not written", f"{path}: {exc.strerror or exc}")
            return
        if left_out:
            self.annotate(
                "warning",
                "Outputs left out of the dotenv file",
                f"{', '.join(left_out)} would make {path} larger than GitLab's {DOTENV_LIMIT}-byte limit for "
                "dotenv reports, so they are empty there (and named in PUBLISH_ACTION_LEFT_OUT); the summary "
                "file lists every file.",
            )

    def _summary(self, result: RunResult) -> None:
        if self.summary_file is not None:
            try:
                self.summary_file.write_text(render_summary(result), encoding="utf-8")
            except OSError as exc:
                self.annotate("warning", "Summary file not written", f"{self.summary_file}: {exc.strerror or exc}")
        path = self.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(render_summary(result))
        except OSError as exc:
            self.annotate("warning", "Job summary not written", f"GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}")


def output_values(result: RunResult, *, compact: bool = False) -> dict[str, str]:
    """The step outputs by name (docs/inputs.md's table); ``compact``: JSON without spaces (for dotenv files, where
    GitLab keeps a value only up to the size limit and reads no quoting)."""
    urls = result.release_urls()

    def dumps(value: object) -> str:
        return json.dumps(value, separators=(",", ":")) if compact else json.dumps(value)

    return {
        "uploaded": dumps(result.names(FileState.UPLOADED)),
        "skipped": dumps(result.names(FileState.SKIPPED)),
        "failed": dumps(result.names(FileState.FAILED)),
        "not-tried": dumps(result.names(FileState.NOT_TRIED)),
        "verified": dumps(result.published(Published.VERIFIED)),
        "release-url": urls[0] if len(urls) == 1 else "",
        "release-urls": dumps(urls),
        "files": dumps([_file_record(outcome, result.dry_run) for outcome in result.outcomes]),
        "exit-code": str(int(result.exit_code)),
    }


def dotenv_name(output: str) -> str:
    """``not-tried`` → ``PUBLISH_ACTION_NOT_TRIED``: GitLab variable names hold letters, digits and ``_``."""
    return "PUBLISH_ACTION_" + output.upper().replace("-", "_")


#: The outputs in the order they are kept when the dotenv file would be too large: the last go first.
_DOTENV_ORDER = (
    "exit-code",
    "release-url",
    "failed",
    "not-tried",
    "uploaded",
    "skipped",
    "verified",
    "release-urls",
    "files",
)


def dotenv_text(values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The dotenv file's text, and the variables left empty to keep it within :data:`DOTENV_LIMIT` bytes.

    Every output gets a line (empty when left out), so a later job never reads a stale value of the same
    name; values are single-line already (compact JSON, URLs), and control characters are dropped.
    """
    names = [name for name in _DOTENV_ORDER if name in values]
    kept = dict.fromkeys(names, "")
    left_out: list[str] = []
    # Room for the names, the empty values and the PUBLISH_ACTION_LEFT_OUT line naming what is left out.
    everything = ",".join(dotenv_name(name) for name in names)
    used = sum(len(f"{dotenv_name(name)}=\n") for name in names) + len(f"PUBLISH_ACTION_LEFT_OUT={everything}\n")
    for name in names:
        value = without_controls(values[name]).strip()
        size = len(value.encode("utf-8"))
        if used + size <= DOTENV_LIMIT:
            kept[name] = value
            used += size
        else:
            left_out.append(dotenv_name(name))
    lines = [f"{dotenv_name(name)}={value}" for name, value in kept.items()]
    lines.append(f"PUBLISH_ACTION_LEFT_OUT={','.join(left_out)}")
    return "\n".join(lines) + "\n", left_out


def render_summary(result: RunResult) -> str:
    """The job summary in Markdown: one table row per file, then the errors with their fixes."""
    where = result.index.display_name if result.index else "the index"
    title = "Dry run" if result.dry_run else "Publish"
    lines = [f"## {title} to {where}", ""]
    if result.credential_label:
        lines += [f"Credentials: {_md(result.credential_label)}", ""]
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
    """Text on one Markdown line (and in one table cell): every control character a space, pipes escaped."""
    return without_controls(text).replace("|", "\\|")


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
