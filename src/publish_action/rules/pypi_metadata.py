"""PyPI's rules for a file's metadata: names and versions against the file name, tags, fields, e-mails,
classifiers, URLs, requirements, license files and the description."""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from packaging.metadata import InvalidMetadata, Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from publish_action.archive import ArchiveFacts
from publish_action.metadata import Parsed
from publish_action.rules._finding import Finding
from publish_action.rules.platforms import (
    platform_tag_allowed,
)
from publish_action.rules.readme import rendering_error

if TYPE_CHECKING:
    from packaging.tags import Tag


_SUMMARY_LIMIT = 512


_URL_LABEL_LIMIT = 32


_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")


#: Fields Warehouse lets ``Dynamic`` name (PEP 643, plus the deprecated ones it still permits).
_DYNAMIC_FIELDS = frozenset(
    name.lower()
    for name in (
        "Platform",
        "Supported-Platform",
        "Summary",
        "Description",
        "Description-Content-Type",
        "Keywords",
        "Home-Page",
        "Download-Url",
        "Author",
        "Author-Email",
        "Maintainer",
        "Maintainer-Email",
        "License",
        "License-Expression",
        "License-File",
        "Classifier",
        "Requires-Dist",
        "Requires-Python",
        "Requires-External",
        "Project-Url",
        "Provides-Extra",
        "Provides-Dist",
        "Obsoletes-Dist",
        "Requires",
        "Provides",
        "Obsoletes",
        "Import-Name",
        "Import-Namespace",
    )
)


#: The core metadata fields (https://packaging.python.org/specifications/core-metadata/, up to 2.5), as
#: email header names in lower case: the ones an upload form can carry.
_CORE_FIELDS = frozenset(
    {
        "metadata-version", "name", "version", "dynamic", "platform", "supported-platform", "summary",
        "description", "description-content-type", "keywords", "home-page", "download-url", "author",
        "author-email", "maintainer", "maintainer-email", "license", "license-expression", "license-file",
        "classifier", "requires-dist", "requires-python", "requires-external", "project-url", "provides-extra",
        "provides-dist", "obsoletes-dist", "requires", "provides", "obsoletes", "import-name", "import-namespace",
    }
)  # fmt: skip


class Make(Protocol):
    """The ``finding`` helper each group of rules receives: it fills in the file name."""

    def __call__(self, rule: str, reason: str, fix: str, *, warning: bool = False) -> Finding: ...


REBUILD_FIX = "rebuild it with a standard build backend (for example `python -m build`) and publish the new file"


PYPROJECT_FIX = "fix it in pyproject.toml (or setup.cfg / setup.py) and rebuild"


def validated(parsed: Parsed) -> tuple[Metadata | None, list[tuple[str, str]]]:
    """The metadata as the index validates it; the problems as (rule, reason) pairs."""
    problems = [
        ("metadata-invalid", f"its metadata field {key!r} has a value that cannot be read")
        for key in sorted(parsed.unparsed)
        # Fields no client sends (unknown headers) never reach the index.
        if key.lower() in _CORE_FIELDS
    ]
    for error in _leaves(parsed.invalid):
        rule = "metadata-version" if error.field == "metadata-version" else "metadata-invalid"
        problems.append((rule, f"its metadata is invalid: {_sentence(str(error))}"))
    return parsed.validated, problems


def _leaves(errors: Iterable[BaseException]) -> Iterator[InvalidMetadata]:
    # packaging raises its own ExceptionGroup on Python 3.10 and the built-in one later: walk either.
    for error in errors:
        if isinstance(error, InvalidMetadata):
            yield error
        else:
            yield from _leaves(getattr(error, "exceptions", ()))


def _sentence(text: str) -> str:
    return text.strip().rstrip(".")


def name_rules(filename: str, facts: ArchiveFacts, metadata: Metadata, finding: Make) -> Iterator[Finding]:
    project = canonicalize_name(metadata.name)
    normalized = project.replace("-", "_")
    version: Version = metadata.version
    if facts.kind == "sdist":
        expected = f"{normalized}-{version}.tar.gz"
        named = _sdist_project(filename, project, version)
        if named != project:
            yield finding(
                "name-mismatch",
                f"the file name says project '{named}' but the metadata's Name is '{metadata.name}'",
                "rebuild so that the file name and the project name in pyproject.toml agree",
            )
        elif filename != expected:
            fix = (
                "build a .tar.gz sdist (`python -m build --sdist`); PyPI takes no .zip sdists"
                if filename.endswith(".zip")
                else f"rebuild with a build backend that writes PEP 625 names (current setuptools, hatchling, "
                f"flit-core, pdm-backend, maturin), or rename the file to {expected}"
            )
            yield finding("sdist-filename", f"an sdist of {metadata.name} {version} must be named {expected}", fix)
        return
    try:
        file_project, file_version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        yield finding("wheel-name-normalization", f"its name is not a valid wheel file name ({exc})", REBUILD_FIX)
        return
    yield from _tags(tags, finding)
    if file_project != project:
        yield finding(
            "name-mismatch",
            f"the file name says project '{file_project}' but the metadata's Name is '{metadata.name}'",
            "rebuild so that the file name and the project name in pyproject.toml agree",
        )
    else:
        name_part = filename.split("-", 1)[0]
        if name_part != normalized:
            yield finding(
                "wheel-name-normalization",
                f"a wheel's file name must start with the normalized project name '{normalized}', not '{name_part}'",
                "rebuild with a current build backend, which writes normalized names (renaming the file is not "
                "enough: its .dist-info folder carries the name too)",
            )
    if file_version != version:
        yield finding(
            "version-mismatch",
            f"the file name says version {file_version} but the metadata says {version}",
            "rebuild: the file name must carry the version in the metadata",
        )


def _sdist_project(filename: str, project: str, version: Version) -> str:
    """The normalized project an sdist's file name names, read as the index reads it."""
    try:
        named: str = parse_sdist_filename(filename)[0]
    except (InvalidSdistFilename, InvalidVersion):
        named = canonicalize_name(filename.rpartition("-")[0])
    if named != project and version.is_postrelease and filename.count("-") >= 2:
        # A post-release written with a hyphen (``1.0-1``) splits at the wrong hyphen; the index then tries
        # the one before it.
        stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
        head, _, tail = stem.rpartition("-")
        name_part, _, version_head = head.rpartition("-")
        try:
            Version(f"{version_head}-{tail}")
        except InvalidVersion:
            return named
        return canonicalize_name(name_part)
    return named


def _tags(tags: Iterable[Tag], finding: Make) -> Iterator[Finding]:
    for platform in sorted({tag.platform for tag in tags}):
        if not platform_tag_allowed(platform):
            fix = (
                "repair Linux wheels with auditwheel (cibuildwheel does this) so they carry a manylinux or "
                "musllinux tag"
                if platform.startswith("linux")
                else "build for a platform PyPI takes (manylinux, musllinux, macOS, Windows, iOS, Android, "
                "pyemscripten) or publish this wheel elsewhere"
            )
            yield finding("platform-tag", f"its platform tag '{platform}' is not one PyPI accepts", fix)


def metadata_rules(metadata: Metadata, finding: Make) -> Iterator[Finding]:
    if metadata.metadata_version not in _METADATA_VERSIONS:
        yield finding(
            "metadata-version",
            f"Metadata-Version {metadata.metadata_version} is not one PyPI accepts ({', '.join(_METADATA_VERSIONS)})",
            "rebuild with a build backend that writes a Metadata-Version PyPI supports",
        )
    version: Version = metadata.version
    if version.local:
        yield finding(
            "local-version",
            f"its version {version} has a local part ('+{version.local}'), which PyPI does not accept",
            "publish a version without '+…' (with setuptools-scm, set `local_scheme = \"no-local-version\"`)",
        )
    if metadata.summary is not None and len(metadata.summary) > _SUMMARY_LIMIT:
        yield finding(
            "summary-length",
            f"its summary is {len(metadata.summary)} characters long; PyPI allows at most {_SUMMARY_LIMIT}",
            "shorten `description` in pyproject.toml (it becomes the Summary) and rebuild",
        )
    yield from _emails(metadata, finding)
    yield from _classifiers(metadata.classifiers or [], finding)
    yield from _urls(metadata, finding)
    yield from _requirements(metadata, finding)
    for key in metadata.dynamic or []:
        if key.lower() not in _DYNAMIC_FIELDS:
            yield finding("dynamic-invalid", f"its Dynamic names {key!r}, which may not be dynamic", REBUILD_FIX)
    if metadata.license and metadata.license_expression:
        yield finding(
            "license-and-expression",
            "it has both License and License-Expression, and PyPI takes only License-Expression then",
            'keep only `license = "<SPDX expression>"` in pyproject.toml (drop `license = {text = …}` or '
            "`license = {file = …}`) and rebuild",
        )


def _emails(metadata: Metadata, finding: Make) -> Iterator[Finding]:
    for label, value in (("Author-email", metadata.author_email), ("Maintainer-email", metadata.maintainer_email)):
        if value is None:
            continue
        # The index checks the first address of the field, as email.utils reads it.
        _, address = email.utils.parseaddr(value)
        if not address:
            continue
        import email_validator

        try:
            email_validator.validate_email(address, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            yield finding(
                "email-invalid",
                f"its {label} address {address!r} is not valid ({_sentence(str(exc))})",
                "fix the `email` of `authors` / `maintainers` in pyproject.toml and rebuild",
            )


def _classifiers(classifiers: Iterable[str], finding: Make) -> Iterator[Finding]:
    from trove_classifiers import all_classifiers, deprecated_classifiers

    fix = "pick classifiers from https://pypi.org/classifiers/ in `classifiers` of pyproject.toml and rebuild"
    for classifier in sorted(set(classifiers)):
        if classifier not in all_classifiers:
            yield finding("classifier-unknown", f"the classifier {classifier!r} is not a known Trove classifier", fix)
        elif classifier in deprecated_classifiers:
            replacements = deprecated_classifiers[classifier]
            instead = f"; use {' or '.join(repr(c) for c in replacements)} instead" if replacements else ""
            yield finding("classifier-deprecated", f"the classifier {classifier!r} is deprecated{instead}", fix)


def _valid_url(url: str) -> bool:
    import rfc3986
    from rfc3986 import exceptions, validators

    try:
        reference = rfc3986.uri_reference(url).normalize()
        validator = (
            validators.Validator()
            .allow_schemes("http", "https")
            .require_presence_of("scheme")
            .check_validity_of("scheme", "host", "port", "path", "query")
        )
        validator.validate(reference)
    except (exceptions.RFC3986Exception, ValueError):
        return False
    return True


def _urls(metadata: Metadata, finding: Make) -> Iterator[Finding]:
    fix = "fix [project.urls] in pyproject.toml (each an http(s) URL under a label of at most 32 characters)"
    for label, url in (("Home-page", metadata.home_page), ("Download-URL", metadata.download_url)):
        if url is not None and not _valid_url(url):
            yield finding("url-invalid", f"its {label} {url!r} is not a valid http(s) URL", fix)
    for label, url in (metadata.project_urls or {}).items():
        if not label:
            yield finding("url-invalid", "one of its project URLs has no label", fix)
        elif len(label) > _URL_LABEL_LIMIT:
            yield finding("url-invalid", f"the project URL label {label!r} is longer than 32 characters", fix)
        elif not url:
            yield finding("url-invalid", f"the project URL {label!r} has no URL", fix)
        elif not _valid_url(url):
            yield finding("url-invalid", f"the project URL {label!r} ({url!r}) is not a valid http(s) URL", fix)


def _requirements(metadata: Metadata, finding: Make) -> Iterator[Finding]:
    fix = "depend on a released version from an index instead of a URL (or drop the dependency) and rebuild"
    for requirement in metadata.requires_dist or []:
        if requirement.url is not None:
            yield finding(
                "direct-dependency",
                f"the dependency '{requirement}' points at a URL; PyPI takes no direct references",
                fix,
            )
    for label, values in (("Provides-Dist", metadata.provides_dist), ("Obsoletes-Dist", metadata.obsoletes_dist)):
        for value in values or []:
            try:
                parsed = Requirement(value)
            except InvalidRequirement as exc:
                yield finding("direct-dependency", f"its {label} {value!r} is not a valid requirement ({exc})", fix)
                continue
            if parsed.url is not None:
                yield finding("direct-dependency", f"its {label} {value!r} points at a URL", fix)


def license_file_rules(filename: str, facts: ArchiveFacts, metadata: Metadata, finding: Make) -> Iterator[Finding]:
    if not metadata.license_files:
        return
    names = set(facts.names)
    wheel_folder = "-".join(filename.split("-", 2)[:2]) + ".dist-info/licenses"
    folder = wheel_folder if facts.kind == "wheel" else facts.top_level
    for license_file in metadata.license_files:
        path = f"{folder}/{license_file}"
        if path not in names:
            yield finding(
                "license-file-missing",
                f"its metadata lists License-File {license_file} but the archive has no {path}",
                "make `license-files` in pyproject.toml match files that exist, and rebuild",
            )


def description_rules(metadata: Metadata, finding: Make) -> Iterator[Finding]:
    description = metadata.description
    if not description:
        return
    error = rendering_error(description, metadata.description_content_type)
    if error is not None:
        shown = metadata.description_content_type or "reStructuredText (no content type is declared)"
        fix = (
            "fix the README so that it renders (`python -m readme_renderer README.rst` lists every error), "
            "or declare its real format with `readme = {file = …, content-type = …}` in pyproject.toml"
        )
        yield finding("description-render", f"its long description does not render as {shown}: {error}", fix)


__all__ = [
    "PYPROJECT_FIX",
    "REBUILD_FIX",
    "Make",
    "description_rules",
    "license_file_rules",
    "metadata_rules",
    "name_rules",
    "validated",
]
