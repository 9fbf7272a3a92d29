"""Where the report goes: a terminal, a GitHub Actions runner or a GitLab CI job, behind one protocol.

A target turns each kind of line (plain text, a mask, a group's edges, an annotation) into the lines its
reader understands, and writes the runner's own files (GitHub's outputs and job summary). Outside GitHub no
workflow command is written: ``::`` lines would be plain text there, and GitLab masks only the variables it
knows, so nothing secret may ever be printed (nothing is: tokens are masked before the first line).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from publish_action.identity import github, gitlab
from publish_action.identity.github import GitHubContext
from publish_action.redact import without_controls

#: Where a GitLab job finds the outputs and the summary unless the inputs say otherwise (the job's working
#: directory, where ``artifacts:`` paths are read from).
GITLAB_OUTPUTS_FILE = Path("publish-action.env")
GITLAB_SUMMARY_FILE = Path("publish-action-summary.md")

#: A warning about the report itself: (title, message).
Trouble = tuple[str, str]


class Target(Protocol):
    """How one kind of log reader is written for."""

    #: The dotenv file of outputs and the Markdown summary written unless the inputs name others.
    default_outputs_file: Path | None
    default_summary_file: Path | None

    def line(self, text: str) -> str:
        """A plain line as written: it can never be read as a command, whatever outside text it carries."""
        ...

    def mask(self, secret: str) -> list[str]:
        """The lines that hide ``secret`` in every later line (none where the reader has no masking)."""
        ...

    def group_start(self, title: str, number: int) -> list[str]:
        """The lines that open the ``number``-th foldable section."""
        ...

    def group_end(self, number: int) -> list[str]:
        """The lines that close it."""
        ...

    def annotation(self, level: str, title: str, message: str, file: str | None, line: int | None) -> list[str]:
        """An ``error``/``warning``/``notice``, at a file's line when given."""
        ...


class Terminal:
    """A person at a terminal, or any CI this program does not know: plain labelled lines."""

    default_outputs_file: Path | None = None
    default_summary_file: Path | None = None

    def line(self, text: str) -> str:
        return without_controls(text)

    def mask(self, secret: str) -> list[str]:
        return []

    def group_start(self, title: str, number: int) -> list[str]:
        return [self.line(f"== {title}")]

    def group_end(self, number: int) -> list[str]:
        return []

    def annotation(self, level: str, title: str, message: str, file: str | None, line: int | None) -> list[str]:
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        label = f"{where}{level.capitalize()}: {title}: " if title else f"{where}{level.capitalize()}: "
        first, *rest = message.splitlines() or [""]
        return [self.line(label + first), *(self.line(more) for more in rest)]


class GitLab(Terminal):
    """A GitLab CI job: collapsible sections, and the outputs and summary as files beside the job."""

    default_outputs_file: Path | None = GITLAB_OUTPUTS_FILE
    default_summary_file: Path | None = GITLAB_SUMMARY_FILE

    def group_start(self, title: str, number: int) -> list[str]:
        # GitLab's ``section_start``/``section_end`` markers, collapsed as GitHub's groups are.
        marker = f"section_start:{int(time.time())}:publish_action_{number}[collapsed=true]"
        return [f"\x1b[0K{marker}\r\x1b[0K{without_controls(title)}"]

    def group_end(self, number: int) -> list[str]:
        return [f"\x1b[0Ksection_end:{int(time.time())}:publish_action_{number}\r\x1b[0K"]


class GitHub:
    """A GitHub Actions runner: workflow commands (masks, groups, annotations)."""

    default_outputs_file: Path | None = None
    default_summary_file: Path | None = None

    def __init__(self, context: GitHubContext) -> None:
        self.context = context

    def line(self, text: str) -> str:
        text = without_controls(text)
        return text.replace("::", ": :", 1) if text.lstrip().startswith("::") else text

    def mask(self, secret: str) -> list[str]:
        return [_command("add-mask", secret)] if secret else []

    def group_start(self, title: str, number: int) -> list[str]:
        return [_command("group", title)]

    def group_end(self, number: int) -> list[str]:
        return [_command("endgroup", "")]

    def annotation(self, level: str, title: str, message: str, file: str | None, line: int | None) -> list[str]:
        properties = [f"file={_escape_property(file)}"] if file else []
        if file and line:
            properties.append(f"line={line}")
        if title:
            properties.append(f"title={_escape_property(title)}")
        return [_command(level, message, (" " + ",".join(properties)) if properties else "")]


class GitHubFiles:
    """The step's outputs file and job summary the runner names (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``):
    written whenever they are named, whatever the log is written for (``docker run`` of the image with them
    set, a wrapper that reads them)."""

    def __init__(self, context: GitHubContext) -> None:
        self.context = context

    def write_outputs(self, values: Mapping[str, str]) -> list[Trouble]:
        path = self.context.output_file
        if not path:
            return []
        try:
            with open(path, "a", encoding="utf-8") as handle:
                for name, value in values.items():
                    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
                    handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        except OSError as exc:
            return [("Step outputs not written", f"GITHUB_OUTPUT ({path}): {exc.strerror or exc}")]
        return []

    def write_summary(self, text: str) -> list[Trouble]:
        path = self.context.summary_file
        if not path:
            return []
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            return [("Job summary not written", f"GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}")]
        return []


def target_for(environ: Mapping[str, str]) -> Target:
    """The target for the job these variables describe: GitHub's, GitLab's, or a terminal's."""
    if github.runs_the_job(environ):
        return GitHub(GitHubContext.from_environ(environ))
    if gitlab.runs_the_job(environ):
        return GitLab()
    return Terminal()


def _command(name: str, data: str, properties: str = "") -> str:
    """A workflow command; ``data`` escaped so that nothing in it ends the command early."""
    return f"::{name}{properties}::{_escape_data(data)}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


__all__ = [
    "GITLAB_OUTPUTS_FILE",
    "GITLAB_SUMMARY_FILE",
    "GitHub",
    "GitHubFiles",
    "GitLab",
    "Target",
    "Terminal",
    "target_for",
]
