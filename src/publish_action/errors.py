"""One error type for everything a user can get wrong or the index can refuse.

Every error carries a short title, the cause (what happened and why) and the fix (what to change), so the
report can render it as one annotation and one summary entry. The exit code says which stage failed; the
table below is mirrored in docs/inputs.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, one per class of failure."""

    OK = 0
    #: A bug in publish-action itself: please report it.
    UNEXPECTED = 1
    #: An input is missing, malformed or contradicts another one.
    SETTINGS = 2
    #: The distributions failed the whole-set checks; nothing was uploaded.
    PREFLIGHT = 3
    #: Credentials could not be obtained or were refused (Trusted Publishing, token, password).
    AUTHENTICATION = 4
    #: Attestations could not be made or did not verify; nothing was uploaded.
    ATTESTATIONS = 5
    #: The index refused a file or could not be reached during the upload.
    UPLOAD = 6
    #: After the publish, the index serves a file with other content than was sent, or without the
    #: provenance this run uploaded, or with provenance naming another publisher.
    CONFIRMATION = 7
    #: ``doctor`` found an error in a workflow, or ``init --check`` found a file it would change.
    WORKFLOW = 8
    #: The job was cancelled (SIGINT or SIGTERM, as a runner sends on cancellation or at its timeout); the
    #: report says what each file became.
    CANCELLED = 130


class PublishError(Exception):
    """An error meant for a person: what failed, why, and how to fix it.

    ``problems`` lists several independent findings of one stage (for example every bad file of the
    pre-flight) so the user can fix them all in one go.
    """

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(
        self,
        title: str,
        cause: str,
        fix: str | None = None,
        *,
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__(title)
        self.title = title
        self.cause = cause
        self.fix = fix
        self.problems = list(problems)

    def body(self) -> str:
        """The cause, each problem on its own ``- `` line, then ``Fix: …``: the one text of an error, which
        every place that shows one (the log, annotations, ``init`` and ``doctor``) prints under its title."""
        parts = [self.cause, *(f"- {problem}" for problem in self.problems)]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return f"{self.title}: {self.body()}"


class SettingsError(PublishError):
    """An input is wrong."""

    exit_code = ExitCode.SETTINGS


class PreflightError(PublishError):
    """The distributions failed the checks made before anything is sent."""

    exit_code = ExitCode.PREFLIGHT


class AuthenticationError(PublishError):
    """Credentials could not be obtained, or the index refused them."""

    exit_code = ExitCode.AUTHENTICATION


class AttestationError(PublishError):
    """Attestations could not be produced or did not verify."""

    exit_code = ExitCode.ATTESTATIONS


class UploadError(PublishError):
    """The index refused a file, or could not be reached, during the upload."""

    exit_code = ExitCode.UPLOAD


class CancelledError(PublishError):
    """The run was stopped by a signal before it ended."""

    exit_code = ExitCode.CANCELLED


class Interrupted(BaseException):
    """Raised in the main thread when SIGINT or SIGTERM arrives. Not an :class:`Exception`, so that no
    handler of errors on the way catches it: it unwinds to the front door, which writes the report."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


class ConfirmationError(PublishError):
    """After the publish, what the index serves differs from what this run sent."""

    exit_code = ExitCode.CONFIRMATION
