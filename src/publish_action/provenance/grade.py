"""A release's provenance grade, as PyPI grades it.

Warehouse (``ProvenanceStatus`` in ``warehouse/attestations/models.py``) counts, for each release, its files,
the files with provenance, and the publishers (kind and repository, or e-mail for Google) and workflows
their provenance names, and compares those with the nearest earlier release that has provenance, created
within the 14 days before it. A release is in one or more of these states at once:

``no-provenance``            none of its files has provenance;
``full-provenance``          every file has provenance;
``partial-provenance``       some files have it and some do not;
``inconsistent-provenance``  its files name more than one publisher or more than one workflow;
``lost-provenance``          it has none, and the release it is compared with had some;
``changed-provenance``       it names publishers or workflows the release it is compared with did not, or
                             no longer names some that one did (not judged when either release holds a
                             provenance document that could not be read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

#: How far back Warehouse looks for the release to compare with (``PROVENANCE_COMPARISON_WINDOW_DAYS``).
COMPARISON_WINDOW = timedelta(days=14)


class State(str, Enum):
    """The states of Warehouse's ``ProvenanceState``, with its values, in the order reports list them."""

    NO = "no-provenance"
    FULL = "full-provenance"
    PARTIAL = "partial-provenance"
    INCONSISTENT = "inconsistent-provenance"
    LOST = "lost-provenance"
    CHANGED = "changed-provenance"


#: The states a maintainer is warned of before the exchange: each can be avoided by publishing otherwise.
WARNED = frozenset({State.PARTIAL, State.INCONSISTENT, State.LOST})


@dataclass(frozen=True)
class Source:
    """A publisher as a provenance document names it: its kind (``GitHub``, ``GitLab``, ``Google``) and who
    it is (the repository, or the service account's e-mail)."""

    kind: str
    identity: str

    def describe(self) -> str:
        return f"{self.kind} {self.identity}"


@dataclass(frozen=True)
class Counts:
    """What one release's files attest to."""

    total_files: int
    with_provenance: int
    #: Files whose provenance is served but could not be read: their publishers are unknown, not absent.
    unreadable: int = 0
    sources: frozenset[Source] = frozenset()
    workflows: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Release:
    """One release as the grade sees it: its version, when it was created, and its counts."""

    version: str
    created: datetime | None
    counts: Counts


@dataclass(frozen=True)
class Grade:
    """The provenance grade of one release (``project`` normalized)."""

    project: str
    version: str
    counts: Counts
    #: The release it is compared with; ``None`` when there is none within the window.
    compared_with: Release | None = None
    #: Whether the grade was read back from the index after the publish (else it is this run's prediction).
    confirmed: bool = False

    @property
    def states(self) -> frozenset[State]:
        """Every state the release is in, by Warehouse's rules."""
        counts = self.counts
        states = set()
        if counts.with_provenance == 0:
            states.add(State.NO)
        elif counts.with_provenance == counts.total_files:
            states.add(State.FULL)
        else:
            states.add(State.PARTIAL)
        if len(counts.sources) > 1 or len(counts.workflows) > 1:
            states.add(State.INCONSISTENT)
        if self.compared_with is not None:
            if counts.with_provenance == 0 and self.compared_with.counts.with_provenance > 0:
                states.add(State.LOST)
            elif any(self.changes()):
                states.add(State.CHANGED)
        return frozenset(states)

    def changes(self) -> tuple[frozenset[Source], frozenset[Source], frozenset[str], frozenset[str]]:
        """Sources added and removed, workflows added and removed, against the compared release; all empty
        when there is none, or when either release holds provenance that could not be read."""
        other = self.compared_with
        if other is None or self.counts.unreadable or other.counts.unreadable:
            return frozenset(), frozenset(), frozenset(), frozenset()
        mine, theirs = self.counts, other.counts
        return (
            mine.sources - theirs.sources,
            theirs.sources - mine.sources,
            mine.workflows - theirs.workflows,
            theirs.workflows - mine.workflows,
        )

    @property
    def value(self) -> str:
        """The states, comma-separated in :class:`State`'s order: the ``provenance-status`` output."""
        return ",".join(state.value for state in State if state in self.states)

    def describe(self) -> str:
        """One sentence: the states and what they come from."""
        counts = self.counts
        parts = [f"{counts.with_provenance} of {counts.total_files} file(s) with provenance"]
        if counts.sources:
            parts.append("from " + ", ".join(sorted(source.describe() for source in counts.sources)))
        if counts.workflows:
            parts.append("workflow " + ", ".join(sorted(counts.workflows)))
        compared = self.compared_with
        parts.append(f"compared with {compared.version}" if compared is not None else "no earlier release to compare")
        return f"{self.project} {self.version}: {self.value} ({'; '.join(parts)})"


def comparison(releases: list[Release], created: datetime | None) -> Release | None:
    """The release a release created at ``created`` is compared with: among ``releases`` (the project's
    others), the newest created before it and no more than :data:`COMPARISON_WINDOW` earlier that has any
    file with provenance. ``None`` when there is none, or when creation times are unknown."""
    if created is None:
        return None
    cutoff = created - COMPARISON_WINDOW
    candidates = [
        release
        for release in releases
        if release.created is not None and cutoff <= release.created < created and release.counts.with_provenance > 0
    ]
    return max(candidates, key=lambda release: release.created or created, default=None)


def source_of(publisher: object) -> tuple[Source, str | None] | None:
    """The source and workflow a ``pypi_attestations`` publisher stands for, or this action's publisher
    identity, whose fields bear the same names (as Warehouse's ``publisher_source`` and
    ``publisher_workflow``); ``None`` for a kind it does not know."""
    kind = str(getattr(publisher, "kind", ""))
    if kind in ("GitHub", "GitLab"):
        workflow = (
            getattr(publisher, "workflow", None) if kind == "GitHub" else getattr(publisher, "workflow_filepath", None)
        )
        return Source(kind, str(getattr(publisher, "repository", ""))), (str(workflow) if workflow else None)
    if kind == "Google":
        return Source(kind, str(getattr(publisher, "email", ""))), None
    return None


__all__ = ["COMPARISON_WINDOW", "WARNED", "Counts", "Grade", "Release", "Source", "State", "comparison", "source_of"]
