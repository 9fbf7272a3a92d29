"""Pre-flight against the index: which files it already holds (byte for byte, or under the same name with
other content), and every reason it would refuse the rest, raised at once before anything is sent.

The publish runs it after the look-up and before the token exchange; ``publish-action check --index`` runs
it where the distributions are built.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from publish_action.dists import Distribution
from publish_action.errors import PreflightError
from publish_action.index import (
    Index,
    IndexedFile,
    IndexLookupError,
    ProjectPage,
    changed_file_error,
    lookup_failed,
    project_page,
)
from publish_action.rules import check_release

logger = logging.getLogger("publish_action")


@dataclass
class Comparison:
    """What the index holds of the files: each project's page, the names it holds with these very bytes,
    and a line for each name it holds with other content."""

    pages: dict[str, ProjectPage] = field(default_factory=dict)
    identical: set[str] = field(default_factory=set)
    changed: list[str] = field(default_factory=list)


def compare_with_index(
    client: httpx.Client, index: Index, dists: Sequence[Distribution], *, skip_existing: bool
) -> Comparison:
    """Look up each project's files on the index and compare them with ``dists``.

    A file the index holds byte for byte is sent by nobody: indexes answer an identical upload as a
    duplicate (PyPI: 200, nothing stored) or refuse it as existing; either way it is there.
    """
    found = Comparison()
    if index.check_url is None:
        logger.info("No simple index known for %s: existing files are not looked up", index.display_name)
        return found
    held: dict[str, IndexedFile] = {}
    for project in dict.fromkeys(dist.project for dist in dists):
        try:
            found.pages[project] = project_page(client, index, project)
            held.update(found.pages[project].files)
        except IndexLookupError as exc:
            same_host = urlsplit(index.check_url).netloc == urlsplit(index.upload_url).netloc
            if skip_existing or (exc.unreachable and same_host):
                # Without the simple API nothing can be compared; and a host that does not answer its
                # simple API will not take uploads either.
                raise lookup_failed(index, exc) from None
            logger.warning("Could not look up existing files of %s (%s); the index will decide", project, exc)
    for dist in dists:
        there = held.get(dist.filename)
        if there is None:
            continue
        same = there.same_content(dist.hashes.by_name())
        if same is False:
            found.changed.append(changed_file_error(dist.filename, dist.hashes.by_name(), there, index).cause)
        elif same is None:
            logger.info("%s: already on the index, which lists no digest to compare; the index decides", dist.filename)
        else:
            found.identical.add(dist.filename)
            logger.info("%s: already on the index with identical content; skipped", dist.filename)
    return found


def stop_on_refusals(
    dists: Sequence[Distribution],
    comparison: Comparison,
    *,
    where: str,
    index_name: str,
    release_rules: bool,
    trusted_publishing: bool,
) -> list[str]:
    """Raise :class:`PreflightError` with every reason the index would refuse a file, in one list; return
    the warnings of the release-state rules otherwise.

    Files whose name the index holds with other content come first; then each file's PyPI rules in
    forklift's order around its duplicate check (a file the index holds byte for byte is refused only for
    the rules checked before it); then, with ``release_rules`` (PyPI's rules), the rules about the release
    as the index holds it, for the files still to be sent.
    """
    files: list[str] = []
    for dist in dists:
        files.extend(dist.refusals(held_identical=dist.filename in comparison.identical))
    release: list[str] = []
    warnings: list[str] = []
    if release_rules:
        pending = [dist for dist in dists if dist.filename not in comparison.identical]
        findings = check_release(pending, comparison.pages, trusted_publishing=trusted_publishing)
        warnings = [finding.line() for finding in findings if finding.warning]
        release = [finding.line() for finding in findings if not finding.warning]
    changed = comparison.changed
    problems = changed + files + release
    if not problems:
        return warnings
    nothing = "nothing was uploaded."
    if files:
        raise PreflightError(
            "Distributions failed the pre-flight checks",
            f"{len(problems)} problem(s) in '{where}'; {nothing}",
            "fix or remove the files named above, rebuild, and run again.",
            problems=problems,
        )
    if release:
        raise PreflightError(
            "The index would refuse files of this release",
            f"{len(problems)} file(s) break PyPI's rules for what the index already holds; {nothing}",
            "change what the lines above name, then run again.",
            problems=problems,
        )
    raise PreflightError(
        "Files on the index differ from the local ones",
        f"{len(changed)} file(s) already exist on {index_name} with other content; {nothing}",
        "a file name can never be reused with other content: bump the version and rebuild, or rebuild "
        "exactly what was uploaded before.",
        problems=problems,
    )


__all__ = ["Comparison", "compare_with_index", "stop_on_refusals"]
