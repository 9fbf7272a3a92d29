"""A release's provenance grade from what the index serves: its simple page (which files have provenance,
when each was uploaded) and PyPI's integrity API (who each file's provenance names).

:func:`predict` adds the files this run is about to upload, as the provenance they will get; :func:`read`
grades what the index serves now. Either fetches the provenance documents of the release and of the one
it is compared with, a few at a time; the simple page says which files have any without a fetch.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx

from publish_action.http import with_retries
from publish_action.index import Index, IndexedFile, ProjectPage, version_in
from publish_action.provenance.grade import Counts, Grade, Release, Source, comparison, source_of
from publish_action.redact import redact_url
from publish_action.stopping import block_stop_signals

#: What PyPI's integrity API serves provenance as (``warehouse/api/integrity.py``), plain JSON as a fallback.
INTEGRITY_ACCEPT = "application/vnd.pypi.integrity.v1+json, application/json;q=0.9"
#: Ask any cache between the runner and the index to revalidate rather than answer from its copy.
NO_CACHE = {"Cache-Control": "no-cache"}
#: Provenance documents fetched at the same time (small GETs; the index's CDN answers most of them).
PARALLEL_FETCHES = 8


class GradeUnknown(Exception):
    """The grade cannot be told: a provenance document the page names could not be fetched."""


@dataclass(frozen=True)
class Planned:
    """A file this run is about to upload: its name, and the publisher its provenance will name (``None``
    when it is uploaded without an attestation)."""

    filename: str
    publisher: object | None = None
    #: Whether it gets provenance at all (an attestation is uploaded with it).
    attested: bool = False


def offers_provenance(index: Index, page: ProjectPage) -> bool:
    """Whether the index publishes provenance (PyPI and TestPyPI do; others when their page speaks of it)."""
    return index.kind in ("pypi", "testpypi") or any(held.offers_provenance for held in page.files.values())


def fetch_document(client: httpx.Client, url: str, what: str) -> bytes | str:
    """The provenance document at ``url``; a reason it could not be had otherwise."""
    shown = redact_url(url)
    try:
        response = with_retries(
            f"provenance of {what}", lambda: client.get(url, headers={"Accept": INTEGRITY_ACCEPT, **NO_CACHE})
        )
    except httpx.HTTPError as exc:
        return f"its provenance could not be fetched from {shown} ({type(exc).__name__})"
    if response.status_code != 200:
        return f"its provenance is not served yet ({shown} answered HTTP {response.status_code})"
    return response.content


def predict(
    client: httpx.Client,
    page: ProjectPage,
    project: str,
    version: str,
    planned: Sequence[Planned],
    *,
    now: datetime | None = None,
) -> Grade:
    """The grade the release will have once ``planned`` is uploaded next to what the index holds of it."""
    return _grade(client, page, project, version, planned, now or datetime.now(timezone.utc), confirmed=False)


def read(
    client: httpx.Client, page: ProjectPage, project: str, version: str, *, known: Mapping[str, bytes] | None = None
) -> Grade:
    """The grade of the release as the index serves it now; ``known``: provenance documents just read
    from it, by URL, used instead of fetching them again."""
    return _grade(client, page, project, version, (), datetime.now(timezone.utc), confirmed=True, known=known)


def _grade(
    client: httpx.Client,
    page: ProjectPage,
    project: str,
    version: str,
    planned: Sequence[Planned],
    now: datetime,
    *,
    confirmed: bool,
    known: Mapping[str, bytes] | None = None,
) -> Grade:
    fetched = _Fetched(client, known or {})
    releases = page.releases()
    key = release_of_version(version)
    held = releases.pop(key, [])
    new = [item for item in planned if item.filename not in page.files]
    created = _created(held) if held else now
    earlier = [Release(other, _created(files), _presence(files)) for other, files in releases.items()]
    shown = {other: version_in(files[0].filename) or other for other, files in releases.items()}
    compared = comparison(earlier, created)
    if compared is not None:
        counts = _counts(fetched, releases[compared.version], ())
        compared = Release(shown[compared.version], compared.created, counts)
    return Grade(project, version, _counts(fetched, held, new), compared, confirmed=confirmed)


def release_of_version(version: str) -> str:
    """A version as :meth:`ProjectPage.releases` keys it."""
    from packaging.utils import canonicalize_version

    return canonicalize_version(version)


def _created(files: Sequence[IndexedFile]) -> datetime | None:
    """When the release was created, as its first file's upload (``None`` when the page gives no times)."""
    times = [held.upload_time for held in files if held.upload_time is not None]
    return min(times) if times and len(times) == len(files) else None


def _presence(files: Sequence[IndexedFile]) -> Counts:
    """Counts from the page alone: which files have provenance (enough to choose the compared release)."""
    return Counts(len(files), sum(1 for held in files if held.provenance is not None))


def _counts(fetched: _Fetched, held: Sequence[IndexedFile], planned: Sequence[Planned]) -> Counts:
    """The counts of a release's files on the index and of the files about to join them."""
    sources: set[Source] = set()
    workflows: set[str] = set()
    unreadable = 0
    named = [(held_file.filename, held_file.provenance) for held_file in held if held_file.provenance is not None]
    for publishers in fetched.publishers(named):
        found = [source_of(publisher) for publisher in publishers] if publishers is not None else [None]
        if None in found:
            unreadable += 1
            continue
        for source, workflow in (pair for pair in found if pair is not None):
            sources.add(source)
            if workflow:
                workflows.add(workflow)
    for item in planned:
        if not item.attested:
            continue
        pair = source_of(item.publisher) if item.publisher is not None else None
        if pair is None:
            # Who will be named is not known yet (no token read): counted, its publisher unknown.
            unreadable += 1
            continue
        source, workflow = _as_held(pair[0], sources), pair[1]
        sources.add(source)
        if workflow:
            workflows.add(workflow)
    attested = sum(1 for item in planned if item.attested)
    return Counts(
        total_files=len(held) + len(planned),
        with_provenance=len(named) + attested,
        unreadable=unreadable,
        sources=frozenset(sources),
        workflows=frozenset(workflows),
    )


def _as_held(source: Source, held: set[Source]) -> Source:
    """This run's source as the index already spells it: the index names the registered publisher, whose
    repository may differ in case from the one the job's token carries."""
    for other in held:
        if other.kind == source.kind and other.identity.lower() == source.identity.lower():
            return other
    return source


@dataclass(frozen=True)
class _Fetched:
    """Where a grade's provenance documents come from: ``known`` ones by URL, the others from the index."""

    client: httpx.Client
    known: Mapping[str, bytes]

    def publishers(self, named: Sequence[tuple[str, str]]) -> list[list[object] | None]:
        """The publishers of each provenance document (``None`` for one that is not PEP 740 provenance);
        :class:`GradeUnknown` when one cannot be fetched."""
        bodies: dict[str, bytes | str] = {url: self.known[url] for _name, url in named if url in self.known}
        missing = [(filename, url) for filename, url in named if url not in bodies]
        if missing:
            with ThreadPoolExecutor(
                max_workers=min(PARALLEL_FETCHES, len(missing)), initializer=block_stop_signals
            ) as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, fetch_document, self.client, url, filename)
                    for filename, url in missing
                ]
                for (_filename, url), future in zip(missing, futures, strict=True):
                    bodies[url] = future.result()
        found: list[list[object] | None] = []
        for filename, url in named:
            body = bodies[url]
            if isinstance(body, str):
                raise GradeUnknown(f"{filename}: {body}")
            found.append(_publishers(body))
        return found


def _publishers(body: bytes) -> list[object] | None:
    from pydantic import ValidationError
    from pypi_attestations import Provenance

    try:
        provenance = Provenance.model_validate_json(body)
    except ValidationError:
        return None
    return [bundle.publisher for bundle in provenance.attestation_bundles]


__all__ = [
    "INTEGRITY_ACCEPT",
    "NO_CACHE",
    "GradeUnknown",
    "Planned",
    "fetch_document",
    "offers_provenance",
    "predict",
    "read",
    "release_of_version",
]
