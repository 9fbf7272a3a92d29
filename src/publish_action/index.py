"""Where an index lives: upload URL, simple API, release pages, Trusted Publishing endpoints; and what it holds.

The simple API is read as PEP 691 JSON when the index offers it and as PEP 503 HTML otherwise, so
skip-existing works by hash on PyPI, TestPyPI, pypiserver, devpi and any index with a simple API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from publish_action.errors import UploadError
from publish_action.http import RetryPolicy, with_retries
from publish_action.redact import redact_url

logger = logging.getLogger("publish_action")

IndexKind = Literal["pypi", "testpypi", "other"]

_KNOWN = {
    "upload.pypi.org": ("pypi", "https://pypi.org"),
    "pypi.org": ("pypi", "https://pypi.org"),
    "test.pypi.org": ("testpypi", "https://test.pypi.org"),
}

_HTML_TYPES = frozenset({"text/html", "application/vnd.pypi.simple.v1+html", "application/xhtml+xml"})
_SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@dataclass(frozen=True)
class Index:
    """URLs of one index, derived from ``repository-url`` (and ``check-url`` when given)."""

    upload_url: str
    check_url: str | None
    kind: IndexKind
    #: ``https://pypi.org`` style web root where release pages live; ``None`` where unknown.
    web_url: str | None

    def __repr__(self) -> str:
        # The upload URL may carry user:password@; a repr must never show it.
        check = redact_url(self.check_url) if self.check_url else None
        return f"Index(upload_url={redact_url(self.upload_url)!r}, check_url={check!r}, kind={self.kind!r})"

    @classmethod
    def from_urls(cls, repository_url: str, check_url: str | None = None) -> Index:
        """Derive the index's other URLs from its upload URL."""
        parts = urlsplit(repository_url)
        host = (parts.hostname or "").lower()
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        kind, web_url = _KNOWN.get(host, ("other", None))
        return cls(
            upload_url=repository_url,
            check_url=check_url or _derive_check_url(kind, origin, parts.path, web_url),
            kind=kind,  # type: ignore[arg-type]
            web_url=web_url,
        )

    @property
    def origin(self) -> str:
        """Scheme and host of the upload URL: Trusted Publishing endpoints live under it (``/_/oidc/…``)."""
        parts = urlsplit(self.upload_url)
        # Without any user:password@ the URL may carry: those are for uploads, never for these endpoints.
        host = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{host}"

    @property
    def behind_cdn(self) -> bool:
        """Whether the index serves its pages through a CDN, so that a file it accepted may be missing from
        them for a while (PyPI and TestPyPI); any other index lists a stored file at once."""
        return self.kind in ("pypi", "testpypi")

    @property
    def display_name(self) -> str:
        """How the report names the index."""
        return {"pypi": "PyPI", "testpypi": "TestPyPI"}.get(self.kind, redact_url(self.upload_url))

    def release_url(self, project: str, version: str) -> str | None:
        """The release page, where the index has one."""
        if self.web_url is None:
            return None
        return f"{self.web_url}/project/{project}/{version}/"

    def project_simple_url(self, project: str) -> str | None:
        """The simple API page of ``project`` (normalized name)."""
        if self.check_url is None:
            return None
        return urljoin(self.check_url, f"{project}/")


def _derive_check_url(kind: str, origin: str, path: str, web_url: str | None) -> str | None:
    """The simple index for the known layouts; ``None`` when the layout is not recognised."""
    if web_url is not None:
        # PyPI's simple index lives on pypi.org, not on the upload host; TestPyPI's on test.pypi.org.
        return f"{web_url}/simple/"
    segments = [segment for segment in path.split("/") if segment]
    if not segments or segments == ["legacy"]:
        # pypiserver (uploads at / or /legacy/) and Warehouse-compatible indexes: /simple/ on the same host.
        return f"{origin}/simple/"
    if len(segments) == 2 and not any(segment.startswith("+") for segment in segments):
        # devpi: uploads to /<user>/<index>/, simple pages under /<user>/<index>/+simple/.
        return f"{origin}/{segments[0]}/{segments[1]}/+simple/"
    return None


#: Digests an index may list for a file, strongest first, by the names the simple API uses for them.
DIGEST_NAMES = ("sha256", "blake2_256", "md5")
_DIGEST_ALIASES = {"sha256": "sha256", "blake2_256": "blake2_256", "blake2b_256": "blake2_256", "md5": "md5"}


@dataclass(frozen=True)
class IndexedFile:
    """A file the index already holds."""

    filename: str
    url: str | None
    #: The digests the index lists for it (``sha256``, ``blake2_256``, ``md5``), lower-case hex.
    digests: Mapping[str, str] = field(default_factory=dict)
    #: When the file was uploaded and its size, where the page says (PEP 691 JSON does, HTML does not).
    upload_time: datetime | None = None
    size: int | None = None
    #: The URL of its PEP 740 provenance, where the page names one (JSON ``provenance``, HTML
    #: ``data-provenance``).
    provenance: str | None = None
    #: Whether the page speaks of provenance for this file at all (PEP 691 JSON: the ``provenance`` key is
    #: there, even as ``null``): an index that does so publishes provenance for attested uploads.
    offers_provenance: bool = False

    @property
    def sha256(self) -> str | None:
        """The sha256 the index lists, when it lists one."""
        return self.digests.get("sha256")

    def compared_digest(self, local: Mapping[str, str | None]) -> tuple[str, str] | None:
        """The strongest digest both sides have, as (name, the index's value); ``None`` when there is none."""
        for name in DIGEST_NAMES:
            held, mine = self.digests.get(name), local.get(name)
            if held and mine:
                return name, held
        return None

    def same_content(self, local: Mapping[str, str | None]) -> bool | None:
        """Whether the index's file has the local file's bytes; ``None`` when no digest can tell."""
        compared = self.compared_digest(local)
        if compared is None:
            return None
        name, held = compared
        return held == local[name]


def _digests(values: Mapping[str, object]) -> dict[str, str]:
    found = {}
    for key, value in values.items():
        name = _DIGEST_ALIASES.get(str(key).lower())
        if name is not None and isinstance(value, str) and value:
            found[name] = value.lower()
    return found


@dataclass(frozen=True)
class ProjectPage:
    """A project's simple API page: its files by name and its PEP 792 status (``None`` when not given)."""

    files: dict[str, IndexedFile] = field(default_factory=dict)
    status: str | None = None
    #: Whether the index knows the project at all (a page was served, even one with no files).
    exists: bool = False

    def releases(self) -> dict[str, list[IndexedFile]]:
        """The files by release (the version their name carries, canonicalized); names that parse as no
        distribution's are left out."""
        found: dict[str, list[IndexedFile]] = {}
        for held in self.files.values():
            version = release_of(held.filename)
            if version is not None:
                found.setdefault(version, []).append(held)
        return found


def release_of(filename: str) -> str | None:
    """The canonical version a wheel's or sdist's file name carries; ``None`` when it is neither."""
    from packaging.utils import canonicalize_version

    version = version_in(filename)
    return canonicalize_version(version) if version is not None else None


def version_in(filename: str) -> str | None:
    """The version a wheel's or sdist's file name carries, as written (``1.0.0``); ``None`` when neither."""
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


class IndexLookupError(Exception):
    """The simple API could not be read; ``unreachable`` when no answer came at all."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def existing_files(
    client: httpx.Client, index: Index, project: str, *, policy: RetryPolicy | None = None
) -> dict[str, IndexedFile]:
    """Files of ``project`` the index holds, by file name; empty when the project does not exist yet."""
    return project_page(client, index, project, policy=policy).files


def project_page(client: httpx.Client, index: Index, project: str, *, policy: RetryPolicy | None = None) -> ProjectPage:
    """The simple API page of ``project``; an empty page when the project does not exist yet."""
    url = index.project_simple_url(project)
    if url is None:
        raise IndexLookupError("no check-url is known for this index")
    try:
        response = with_retries(
            f"look-up of {project}",
            lambda: client.get(url, headers={"Accept": _SIMPLE_ACCEPT, "Cache-Control": "no-cache"}),
            policy=policy,
        )
    except httpx.HTTPError as exc:
        raise IndexLookupError(
            f"{redact_url(url)} could not be reached ({type(exc).__name__}: {exc})", unreachable=True
        ) from exc
    if response.status_code == 404:
        return ProjectPage()
    if response.is_redirect:
        location = response.headers.get("Location", "")
        target = urljoin(url, location)
        if urlsplit(target).netloc != urlsplit(url).netloc:
            # pypiserver (in its default configuration) and some proxies send projects they do not hold
            # to another index: the project is not on this one. That other index is never asked.
            logger.debug(
                "%s redirects to another host (%s): %s is not on this index",
                redact_url(url),
                redact_url(target),
                project,
            )
            return ProjectPage()
        # Simple pages redirect to their normalized or slash-terminated form on some servers.
        response = client.get(target, headers={"Accept": _SIMPLE_ACCEPT})
        if response.status_code == 404:
            return ProjectPage()
    if response.status_code != 200:
        raise IndexLookupError(f"{redact_url(url)} answered HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return _parse_json(response, url)
    if content_type in _HTML_TYPES:
        return _parse_html(response.text, str(response.url))
    # Anything else is not a simple page: reading it as one would make every file look new.
    raise IndexLookupError(
        f"{redact_url(url)} answered {content_type or 'a body without a content type'}, neither a PEP 691 JSON nor "
        "a PEP 503 HTML page"
    )


def _parse_json(response: httpx.Response, base: str) -> ProjectPage:
    try:
        payload = response.json()
        entries = payload["files"]
        files = {}
        for entry in entries:
            filename = str(entry["filename"])
            hashes = entry.get("hashes") or {}
            size = entry.get("size")
            provenance = entry.get("provenance")
            files[filename] = IndexedFile(
                filename,
                urljoin(base, str(entry.get("url", ""))),
                _digests(hashes),
                upload_time=_timestamp(entry.get("upload-time")),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                provenance=urljoin(base, provenance) if isinstance(provenance, str) and provenance else None,
                offers_provenance="provenance" in entry,
            )
        status = (payload.get("project-status") or {}).get("status")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexLookupError(f"{redact_url(base)} answered JSON that is not a PEP 691 project page") from exc
    return ProjectPage(files, str(status) if status else None, exists=True)


def _timestamp(value: object) -> datetime | None:
    """A PEP 700 ``upload-time`` (ISO 8601 in UTC, ``Z`` suffix), or ``None`` when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        #: Each link's href and its ``data-provenance`` (PEP 740), when it has one.
        self.links: list[tuple[str, str | None]] = []
        self.status: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            href = values.get("href")
            if href:
                self.links.append((href, values.get("data-provenance") or None))
        elif tag == "meta" and values.get("name") == "pypi:project-status":
            self.status = values.get("content") or None


def _parse_html(text: str, base: str) -> ProjectPage:
    parser = _LinkParser()
    parser.feed(text)
    files = {}
    for href, provenance in parser.links:
        url, _, fragment = href.partition("#")
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if not filename:
            continue
        algorithm, _, digest = fragment.partition("=")
        files[filename] = IndexedFile(
            filename,
            urljoin(base, url),
            _digests({algorithm: digest}),
            provenance=urljoin(base, provenance) if provenance else None,
            offers_provenance=provenance is not None,
        )
    return ProjectPage(files, parser.status, exists=True)


def changed_file_error(filename: str, local: Mapping[str, str | None], held: IndexedFile, index: Index) -> UploadError:
    """A file of the same name but other content is on the index: never overwritable."""
    name, value = held.compared_digest(local) or ("sha256", "unknown")
    return UploadError(
        f"{filename} on {index.display_name} differs from the local file",
        f"the index holds a file of that name with {name} {value}, the local file has {name} "
        f"{local[name]}. Indexes never let a file name be reused with other content.",
        "if the release is already published, bump the version and rebuild; otherwise rebuild exactly "
        "what was uploaded before, or delete the stray file from packages-dir.",
    )


def lookup_failed(index: Index, error: IndexLookupError) -> UploadError:
    """The simple API could not be read, so existing files cannot be compared."""
    return UploadError(
        f"Could not reach {index.display_name}"
        if error.unreachable
        else f"Could not look up existing files on {index.display_name}",
        str(error),
        "check `repository-url` and that the index is up."
        if error.unreachable
        else "check `check-url` (the index's simple API, e.g. https://pypi.org/simple/) and that the index is up.",
    )


__all__ = [
    "Index",
    "IndexLookupError",
    "IndexedFile",
    "ProjectPage",
    "changed_file_error",
    "existing_files",
    "lookup_failed",
    "project_page",
    "release_of",
    "version_in",
]
