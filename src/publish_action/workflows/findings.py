"""What ``doctor`` reports: a finding (where, why, how to fix), its severity, the publisher values a check
compares with, and the diagnosis of a set of workflows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from publish_action.workflows._model import (
    PYPI_UPLOAD,
    TESTPYPI_UPLOAD,
    Job,
    Publish,
    index_key,
)

#: Which jobs a check holds to the stricter standard (those that can publish).
JobPredicate = Callable[[Job], bool]


class Severity(str, Enum):
    """How bad a finding is: errors fail ``doctor``, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a workflow, where it is, why it matters and how to fix it."""

    check: str
    severity: Severity
    file: str
    line: int
    title: str
    why: str
    fix: str

    @property
    def location(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Expected:
    """Values of a trusted publisher registered on an index, to compare the workflows with.

    ``environments`` maps an index (``pypi``, ``testpypi``, an upload URL, or ``*`` for any) to the
    environment its publisher names.
    """

    workflow_name: str | None = None
    environments: tuple[tuple[str, str], ...] = ()

    def environment_for(self, publish: Publish) -> str | None:
        """The environment the publisher of ``publish``'s index names, if one was given."""
        fallback = None
        for index, environment in self.environments:
            if index == "*":
                fallback = environment
            elif publish.index is not None and index_key(_index_url(index)) == index_key(publish.index):
                return environment
        return fallback


def _index_url(name: str) -> str:
    return {"pypi": PYPI_UPLOAD, "testpypi": TESTPYPI_UPLOAD}.get(name.lower(), name)


@dataclass
class Diagnosis:
    """What ``doctor`` found: every finding, and which of the files checked publish."""

    findings: list[Finding]
    checked: list[str]
    publishing: list[str]

    @property
    def errors(self) -> list[Finding]:
        """The findings that fail ``doctor``."""
        return [finding for finding in self.findings if finding.severity is Severity.ERROR]


__all__ = ["Diagnosis", "Expected", "Finding", "JobPredicate", "Severity"]
