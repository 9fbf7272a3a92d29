"""The values stages hand to the report: what happened to each file, and to the run (:class:`RunResult`,
with the exit code it ends in). Only the orchestrator writes a :class:`RunResult`; the report reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from publish_action.dists import Distribution, Plan
from publish_action.errors import ExitCode, PublishError
from publish_action.index import Index
from publish_action.provenance import Grade


class FileState(str, Enum):
    """Each file ends in exactly one of these."""

    UPLOADED = "uploaded"
    #: The index already holds this exact file (same sha256).
    SKIPPED = "skipped"
    FAILED = "failed"
    #: Never sent: an earlier failure stopped the run, or the run is a dry run.
    NOT_TRIED = "not tried"


class Published(str, Enum):
    """What the index serves for a file after the publish, as the confirmation stage found it."""

    #: Listed in the simple API with the sha256 this run holds (or, where the index lists no sha256, the
    #: strongest digest it lists), and, where the index offers provenance and
    #: the file was uploaded with an attestation by this run, with provenance naming this publisher.
    VERIFIED = "verified"
    #: Not listed yet (or its provenance not served yet) when the bounded wait ended: a warning.
    NOT_YET_VISIBLE = "not yet visible"
    #: Listed with another digest, or with provenance missing or naming another publisher: an error.
    DIFFERS = "differs"
    #: Listed, but the index lists no digest for it (pypiserver ``--hash-algo off``): only its presence is
    #: confirmed. A warning.
    UNCONFIRMED = "listed without a digest"


@dataclass(frozen=True)
class Confirmation:
    """The confirmation of one file: its state and one line saying what was compared or what is wrong."""

    state: Published
    detail: str
    #: For ``not yet visible``: the index's page was read, and it does not list the file.
    unlisted: bool = False


@dataclass
class FileOutcome:
    """What happened to one distribution."""

    dist: Distribution
    state: FileState = FileState.NOT_TRIED
    #: One line for people: why it was skipped, why it failed, how many attempts it took.
    detail: str = ""
    attempts: int = 0
    #: ``reused``, ``signed``, ``none`` — set by the attestation stage.
    attestation: str = "none"
    #: The problem that failed this file, with its exit class.
    error: Exception | None = field(default=None, repr=False)
    #: What the index serves for it after the publish; ``None`` when not confirmed (dry run, off, not sent).
    published: Confirmation | None = None


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
    #: The provenance grade of each release, as predicted or (``confirmed``) read back from the index.
    grades: list[Grade] = field(default_factory=list)

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
