"""The provenance grade of each release this run publishes: predicted after pre-flight (with a warning, and
what to do instead, when the publish would leave the release partial, inconsistent or lost), and read back
from the index once the confirmation has seen every file.

A grade is information, never a reason to stop: a look-up that fails leaves the release ungraded (or
graded by the prediction), with a line in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import httpx

from publish_action.index import Index, IndexLookupError, ProjectPage, project_page
from publish_action.outcomes import FileOutcome, FileState, Published
from publish_action.provenance import WARNED, Grade, GradeUnknown, Planned, State, offers_provenance, predict, read
from publish_action.provenance.read import release_of_version

logger = logging.getLogger("publish_action")


def _releases(outcomes: Sequence[FileOutcome]) -> dict[tuple[str, str], list[FileOutcome]]:
    found: dict[tuple[str, str], list[FileOutcome]] = {}
    for outcome in outcomes:
        found.setdefault((outcome.dist.project, outcome.dist.version), []).append(outcome)
    return found


def predicted(
    client: httpx.Client,
    index: Index,
    pages: Mapping[str, ProjectPage],
    outcomes: Sequence[FileOutcome],
    *,
    publisher: object | None,
    attested: bool,
) -> tuple[list[Grade], list[str]]:
    """The grade each release will have once this run's files are uploaded, and a warning for each that
    would be partial, inconsistent or lost.

    ``publisher`` is the publisher the provenance of this run's files will name (this action's publisher
    identity, or a ``pypi_attestations`` one; ``None`` when not known before the exchange); ``attested``:
    whether they are uploaded with attestations.
    """
    grades: list[Grade] = []
    warnings: list[str] = []
    for (project, version), files in _releases(outcomes).items():
        page = pages.get(project)
        if page is None or not offers_provenance(index, page):
            continue
        planned = [
            Planned(outcome.dist.filename, publisher, attested)
            for outcome in files
            if outcome.state is FileState.NOT_TRIED
        ]
        try:
            grade = predict(client, page, project, version, planned)
        except GradeUnknown as exc:
            logger.info("Provenance of %s %s not predicted: %s", project, version, exc)
            continue
        logger.info("Provenance grade this publish leads to: %s", grade.describe())
        grades.append(grade)
        warning = _warning(grade, planned, page, index)
        if warning:
            warnings.append(warning)
    return grades, warnings


def confirmed(
    client: httpx.Client,
    index: Index,
    outcomes: Sequence[FileOutcome],
    grades: list[Grade],
    *,
    known: Mapping[str, bytes] | None = None,
) -> list[Grade]:
    """Each release's grade read back from the index, where the confirmation saw every file this run
    uploaded of it; elsewhere its prediction (``grades``), if there is one. ``known``: the provenance
    documents the confirmation has just read from the index, by URL (not fetched again)."""
    predictions = {(grade.project, grade.version): grade for grade in grades}
    final: list[Grade] = []
    for (project, version), files in _releases(outcomes).items():
        prediction = predictions.get((project, version))
        seen = any(outcome.published is not None for outcome in files) and all(
            outcome.published is not None and outcome.published.state is Published.VERIFIED
            for outcome in files
            if outcome.state is FileState.UPLOADED
        )
        read_back = _read_back(client, index, project, version, known) if seen else None
        if read_back is not None:
            final.append(read_back)
        elif prediction is not None:
            final.append(prediction)
    return final


def _read_back(
    client: httpx.Client, index: Index, project: str, version: str, known: Mapping[str, bytes] | None
) -> Grade | None:
    try:
        page = project_page(client, index, project)
        if not offers_provenance(index, page):
            return None
        grade = read(client, page, project, version, known=known)
    except (IndexLookupError, GradeUnknown) as exc:
        logger.info("Provenance of %s %s not read back from the index (%s)", project, version, exc)
        return None
    logger.info("Provenance grade on %s: %s", index.display_name, grade.describe())
    return grade


def _warning(grade: Grade, planned: Sequence[Planned], page: ProjectPage, index: Index) -> str | None:
    """What the publish would make of the release, why, and how to avoid it; ``None`` when nothing warned."""
    warned = [state for state in State if state in grade.states & WARNED]
    if not warned:
        return None
    why: list[str] = []
    fix: list[str] = []
    if State.PARTIAL in warned:
        bare = [item.filename for item in planned if not item.attested]
        if bare:
            why.append(f"{len(bare)} file(s) of this run go up without an attestation")
            fix.append("publish with Trusted Publishing and `attestations: true` (the default)")
        held = page.releases().get(release_of_version(grade.version), [])
        without = [held_file.filename for held_file in held if held_file.provenance is None]
        if without:
            why.append(f"{len(without)} file(s) of it are already on the index without provenance, and keep none")
            fix.append("a release keeps the provenance its files were first uploaded with: publish the next version "
                       "entirely from this workflow with attestations")  # fmt: skip
    if State.INCONSISTENT in warned:
        named = sorted(source.describe() for source in grade.counts.sources) + sorted(grade.counts.workflows)
        why.append(f"its files would name more than one publisher or workflow ({', '.join(named)})")
        fix.append("publish every file of a release from one workflow of one repository")
    if State.LOST in warned and grade.compared_with is not None:
        why.append(f"the release {grade.compared_with.version} before it had provenance, and this one would have none")
        fix.append("keep Trusted Publishing with `attestations: true`; a static token carries no attestations")
    return (
        f"Provenance: {index.display_name} would grade {grade.project} {grade.version} as {grade.value}: "
        f"{'; '.join(why)}. To avoid it: {'; '.join(dict.fromkeys(fix))}."
    )


__all__ = ["confirmed", "predicted"]
