"""PyPI's rules about the release as the index already holds it: window, sdist count, project status, quota.

These need the index's simple API page of each project (PEP 691 JSON gives upload times and sizes; PEP 792
gives the project status), so they run after the look-up and before the token exchange. They follow
Warehouse's upload view: new files for a release older than 14 days are refused, a release takes one
sdist, archived projects take no uploads, quarantined ones none from Trusted Publishing, and a project's
files may not add up to more than its size limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Protocol

from publish_action.index import ProjectPage, release_of
from publish_action.rules._finding import Finding
from publish_action.sizes import describe_size

#: Warehouse refuses new files for releases created longer ago than this.
RELEASE_WINDOW = timedelta(days=14)
#: PyPI's default total size of one project's files (Warehouse ``MAX_PROJECT_SIZE``).
PROJECT_SIZE_LIMIT = 10 * 1024 * 1024 * 1024


class _Dist(Protocol):
    @property
    def filename(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def size(self) -> int: ...


def check_release(
    dists: Iterable[_Dist],
    pages: Mapping[str, ProjectPage],
    *,
    trusted_publishing: bool,
    now: datetime | None = None,
) -> list[Finding]:
    """Every rule the files about to be sent break against what the index serves, per project in ``pages``."""
    pending = list(dists)
    return list(_check(pending, pages, trusted_publishing, now or datetime.now(timezone.utc)))


def _check(
    pending: list[_Dist], pages: Mapping[str, ProjectPage], trusted_publishing: bool, now: datetime
) -> Iterator[Finding]:
    for project, page in pages.items():
        mine = [dist for dist in pending if dist.project == project]
        if not mine:
            continue
        new = [dist for dist in mine if dist.filename not in page.files]
        if page.status == "archived":
            for dist in mine:
                yield Finding(
                    dist.filename,
                    "project-archived",
                    f"the project {project} is archived on the index, and archived projects take no uploads",
                    "unarchive the project in its settings on the index first, or publish under another name",
                )
            continue
        if page.status == "quarantined" and trusted_publishing:
            for dist in mine:
                yield Finding(
                    dist.filename,
                    "project-quarantined",
                    f"the project {project} is quarantined on the index, and a quarantined project takes no "
                    "Trusted Publishing uploads",
                    "wait until the index's administrators lift the quarantine (see the project's page and "
                    "your e-mail), then publish again",
                )
            continue
        releases = page.releases()
        for dist in new:
            release = release_of(dist.filename)
            existing = releases.get(release or "", [])
            times = [f.upload_time for f in existing if f.upload_time is not None]
            if times and now - min(times) > RELEASE_WINDOW:
                first = min(times)
                yield Finding(
                    dist.filename,
                    "release-closed",
                    f"the release {dist.version} got its first file on {first:%Y-%m-%d}, more than 14 days ago, "
                    "and the index takes no new files for older releases",
                    "publish the new files under a new version (for example a post-release) instead",
                )
            elif dist.kind == "sdist":
                sdists = [f.filename for f in existing if not f.filename.endswith(".whl")]
                if sdists:
                    yield Finding(
                        dist.filename,
                        "sdist-exists",
                        f"the release {dist.version} already has an sdist on the index ({sdists[0]}), and a "
                        "release takes only one",
                        "leave the sdist out of this upload, or publish a new version",
                    )
        held_size = sum(f.size or 0 for f in page.files.values())
        total = held_size + sum(dist.size for dist in new)
        if new and total > PROJECT_SIZE_LIMIT:
            yield Finding(
                new[-1].filename,
                "project-size",
                f"with this set, {project} would hold {describe_size(total)} of files, above PyPI's default "
                "project limit of 10 GiB",
                "delete old files or ask for a larger project limit "
                "(https://docs.pypi.org/project-management/storage-limits) before publishing",
                warning=True,
            )


__all__ = ["PROJECT_SIZE_LIMIT", "RELEASE_WINDOW", "check_release"]
