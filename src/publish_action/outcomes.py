"""The values stages hand to the report: what happened to each file, and to the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from publish_action.dists import Distribution


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
