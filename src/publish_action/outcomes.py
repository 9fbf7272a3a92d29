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
