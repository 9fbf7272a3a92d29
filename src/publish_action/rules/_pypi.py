"""PyPI's upload rules for one file, checked against what one read of the file found.

The rules follow Warehouse's upload view (``warehouse/forklift/legacy.py``), its metadata rules
(``forklift/metadata.py``), its zip framing check (``utils/zipfiles.py``) and its wheel checks
(``utils/wheel.py``). Where Warehouse stops at the first broken rule, these report every one, so a
maintainer fixes them all in one go. The libraries PyPI itself uses for a rule (``packaging``,
``trove-classifiers``, ``email-validator``, ``rfc3986``, ``readme-renderer``) are used for the same rule
here, imported only when a file is checked.
"""

from __future__ import annotations

import configparser
import csv
import email.utils
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
from publish_action.rules.facts import FileFacts
from publish_action.rules.readme import rendering_error
from publish_action.sizes import describe_size

if TYPE_CHECKING:
    from packaging.tags import Tag

ONE_MIB = 1024 * 1024
#: PyPI's default limit for one file (Warehouse ``MAX_FILESIZE``); PyPI raises it per project on request.
FILE_SIZE_LIMIT = 100 * ONE_MIB
#: Archives that unpack to more than this are held to the compression-ratio limit (Warehouse).
_RATIO_MIN_SIZE = 64 * ONE_MIB
_RATIO_LIMIT = 50
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

# Platform tags PyPI accepts: a fixed list, then families that each carry a defined ABI.
_FIXED_PLATFORMS = frozenset(
    {
        "any",
        "win32",
        "win_arm64",
        "win_amd64",
        "win_ia64",
        "manylinux1_x86_64",
        "manylinux1_i686",
        "manylinux2010_x86_64",
        "manylinux2010_i686",
        "manylinux2014_x86_64",
        "manylinux2014_i686",
        "manylinux2014_aarch64",
        "manylinux2014_armv7l",
        "manylinux2014_ppc64",
        "manylinux2014_ppc64le",
        "manylinux2014_s390x",
        "linux_armv6l",
        "linux_armv7l",
    }
)
_MACOS = re.compile(r"macosx_(\d+)_(\d+)_(.*)")
_MACOS_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal", "universal2"}
)
#: macOS 11 and later are tagged ``macosx_<major>_0``; 10.x keeps its minor version.
_MACOS_MAJORS = frozenset({"11", "12", "13", "14", "15", "26"})
_LINUX = re.compile(r"(many|musl)linux_(\d+)_(\d+)_(.*)")
_MUSLLINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})
_MANYLINUX_ARCHES = _MUSLLINUX_ARCHES | {"ppc64"}
_IOS = re.compile(r"ios_(\d+)_(\d+)_(.*)_(iphoneos|iphonesimulator)")
_IOS_ARCHES = frozenset({"arm64", "x86_64"})
_ANDROID = re.compile(r"android_(\d+)_(.*)")
_ANDROID_ARCHES = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})
_EMSCRIPTEN = re.compile(r"pyemscripten_(\d+)_(\d+)_wasm32")

_ENTRY_POINT_NAME = re.compile(r"[\w.-]+")


#: The rules Warehouse checks before it looks for an identical file already on the index (the upload form
#: and its metadata, the rendered description, the file name's characters and extension, the size limits:
#: ``forklift/legacy.py`` up to ``_is_duplicate_file``). A file the index holds byte for byte is still
#: refused for these. Every other rule comes after that check: an identical file is a duplicate (HTTP 200,
#: nothing stored) and never reaches them.
BEFORE_DUPLICATE_CHECK = frozenset(
    {
        "metadata-invalid",
        "metadata-version",
        "local-version",
        "summary-length",
        "email-invalid",
        "classifier-unknown",
        "classifier-deprecated",
        "url-invalid",
        "direct-dependency",
        "dynamic-invalid",
        "license-and-expression",
        "description-render",
        "filename-characters",
        "file-size",
    }
)


def refusals(findings: Iterable[Finding], *, held_identical: bool) -> list[Finding]:
    """The findings that would make the index refuse the file: all of them for a new file; for one the index
    already holds byte for byte, only those checked before the duplicate check."""
    return [
        finding
        for finding in findings
        if not finding.warning and (not held_identical or finding.rule in BEFORE_DUPLICATE_CHECK)
    ]


class _Make(Protocol):
    """The ``finding`` helper each group of rules receives: it fills in the file name."""

    def __call__(self, rule: str, reason: str, fix: str, *, warning: bool = False) -> Finding: ...


_REBUILD = "rebuild it with a standard build backend (for example `python -m build`) and publish the new file"
_PYPROJECT = "fix it in pyproject.toml (or setup.cfg / setup.py) and rebuild"


def platform_tag_allowed(tag: str) -> bool:
    """Whether PyPI accepts wheels with this platform tag."""
    if tag in _FIXED_PLATFORMS:
        return True
    if match := _MACOS.fullmatch(tag):
        major, minor, arch = match.groups()
        if arch in _MACOS_ARCHES and (major == "10" or (major in _MACOS_MAJORS and minor == "0")):
            return True
    if match := _LINUX.fullmatch(tag):
        libc, _major, _minor, arch = match.groups()
        return arch in (_MUSLLINUX_ARCHES if libc == "musl" else _MANYLINUX_ARCHES)
    if (match := _IOS.fullmatch(tag)) and match.group(3) in _IOS_ARCHES:
        return True
    if (match := _ANDROID.fullmatch(tag)) and match.group(2) in _ANDROID_ARCHES:
        return True
    return _EMSCRIPTEN.fullmatch(tag) is not None


def breaks_filename_characters(filename: str) -> bool:
    """Warehouse's first file-name rule: no control character (0-31, DEL) and no backslash."""
    return any(ord(char) < 32 or ord(char) == 127 for char in filename) or "\\" in filename


@dataclass(frozen=True)
class PypiRules:
    """PyPI's upload rules, judged after the look-up: a file the index holds byte for byte is refused only
    for the rules in :data:`BEFORE_DUPLICATE_CHECK`."""

    name: str = "pypi"
    after_lookup: bool = True

    def judges_name(self, filename: str) -> bool:
        """Warehouse's file-name rule: a control character or a backslash."""
        return breaks_filename_characters(filename)

    def check(self, file: FileFacts) -> list[Finding]:
        """Every PyPI upload rule the file breaks."""
        return list(_check(file.filename, file.archive, file.parsed))


def _check(filename: str, facts: ArchiveFacts, parsed: Parsed | None) -> Iterator[Finding]:
    def finding(rule: str, reason: str, fix: str, *, warning: bool = False) -> Finding:
        return Finding(filename, rule, reason, fix, warning)

    if breaks_filename_characters(filename):
        yield finding("filename-characters", "its name holds a control character or a backslash", _REBUILD)
    if facts.size > FILE_SIZE_LIMIT:
        yield finding(
            "file-size",
            f"it is {describe_size(facts.size)}, above PyPI's default limit of 100 MiB per file",
            "ask PyPI for a larger file size limit for this project before publishing "
            "(https://docs.pypi.org/project-management/storage-limits), or make the file smaller",
            warning=True,
        )
    yield from _archive_rules(facts, finding)
    if facts.unreadable is not None or not (facts.is_zip or facts.is_tar):
        return

    if facts.kind == "wheel":
        stem = "-".join(filename.split("-", 2)[:2])
        metadata_path = f"{stem}.dist-info/METADATA"
        for part in ("WHEEL", "METADATA"):
            if f"{stem}.dist-info/{part}" not in facts.names:
                yield finding(
                    "wheel-missing-file",
                    f"the wheel has no {stem}.dist-info/{part}; PyPI finds a wheel's metadata through its file name",
                    "rebuild the wheel: its .dist-info folder must carry the name and version of the file name",
                )
        yield from _wheel_contents(stem, facts, finding)
    else:
        top = facts.top_level
        metadata_path = f"{top}/PKG-INFO"
        if top in ("", ".", "/"):
            yield finding(
                "sdist-layout",
                "the sdist does not keep all its files under one top-level folder",
                "build the sdist with `python -m build --sdist` instead of archiving the source tree by hand",
            )
            return
        if metadata_path not in facts.members:
            yield finding(
                "sdist-layout",
                f"the sdist has no {metadata_path}",
                "build the sdist with `python -m build --sdist` instead of archiving the source tree by hand",
            )

    # Warehouse reads the metadata at this one path; a wheel whose metadata is elsewhere was refused above.
    if parsed is None or parsed.path != metadata_path:
        return
    metadata, problems = _validated(parsed)
    for rule, reason in problems:
        fix = "rebuild with a current build backend" if rule == "metadata-version" else _PYPROJECT
        yield finding(rule, reason, fix)
    if metadata is None:
        return
    yield from _name_rules(filename, facts, metadata, finding)
    yield from _metadata_rules(metadata, finding)
    yield from _license_files(filename, facts, metadata, finding)
    yield from _description(metadata, finding)


def _archive_rules(facts: ArchiveFacts, finding: _Make) -> Iterator[Finding]:
    fix_rebuild = _REBUILD + "; tools that append to, stream or comment zips produce such archives"
    if facts.is_zip and facts.is_tar:
        yield finding("zip-and-tar", "the file reads both as a zip and as a tar archive", _REBUILD)
        return
    if facts.unreadable is not None:
        yield finding("archive-unreadable", facts.unreadable, "rebuild the file; it is corrupt or truncated")
        return
    if facts.format == "zip":
        ratio = facts.uncompressed_size / max(facts.size, 1)
        if facts.uncompressed_size > _RATIO_MIN_SIZE and ratio > _RATIO_LIMIT:
            yield finding(
                "zip-bomb",
                f"it unpacks to {describe_size(facts.uncompressed_size)} from {describe_size(facts.size)} "
                f"({ratio:.0f} times), and PyPI refuses archives over 64 MiB unpacked that compress more than "
                f"{_RATIO_LIMIT} times",
                "leave highly compressible data (large generated text, zero-filled files) out of the wheel",
            )
        for member, method in facts.odd_compression:
            yield finding(
                "zip-compression",
                f"the member {member} is compressed with {method}; PyPI takes only stored and deflated members",
                _REBUILD,
            )
        if facts.framing_error is not None:
            yield finding(
                "zip-framing",
                f"its zip framing is ambiguous: {facts.framing_error} (https://docs.pypi.org/archives)",
                fix_rebuild,
            )
    else:
        for member in facts.sparse_members:
            yield finding(
                "tar-sparse",
                f"the member {member} is a sparse file, which a PEP 625 sdist may not hold",
                "rebuild the sdist with `python -m build --sdist` (GNU tar's --sparse writes such members)",
            )


def _wheel_contents(stem: str, facts: ArchiveFacts, finding: _Make) -> Iterator[Finding]:
    record_path = f"{stem}.dist-info/RECORD"
    record = facts.members.get(record_path)
    try:
        if record is None:
            raise KeyError(record_path)
        list(csv.reader(record.decode("utf-8").splitlines()))
    except (KeyError, UnicodeDecodeError, csv.Error):
        yield finding(
            "wheel-record",
            f"the wheel has no readable {record_path} (it must exist, be UTF-8 and be CSV)",
            "rebuild the wheel with a build backend; do not edit a built wheel's contents",
        )
    entry_points = facts.members.get(f"{stem}.dist-info/entry_points.txt")
    if entry_points is not None:
        problem = _entry_points_problem(entry_points)
        if problem is not None:
            yield finding(
                "wheel-entry-points",
                f"its entry_points.txt {problem}",
                "fix [project.scripts] / [project.gui-scripts] in pyproject.toml (script names may hold only "
                "letters, digits, '_', '.' and '-') and rebuild",
            )


def _entry_points_problem(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8"
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return f"is not a valid INI file ({str(exc).splitlines()[0]})"
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            for name in parser[section]:
                if _ENTRY_POINT_NAME.fullmatch(name) is None:
                    return f"names the script {name!r} in [{section}], which is not a valid script name"
    return None


def _validated(parsed: Parsed) -> tuple[Metadata | None, list[tuple[str, str]]]:
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


def _name_rules(filename: str, facts: ArchiveFacts, metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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
        yield finding("wheel-name-normalization", f"its name is not a valid wheel file name ({exc})", _REBUILD)
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


def _tags(tags: Iterable[Tag], finding: _Make) -> Iterator[Finding]:
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


def _metadata_rules(metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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
            yield finding("dynamic-invalid", f"its Dynamic names {key!r}, which may not be dynamic", _REBUILD)
    if metadata.license and metadata.license_expression:
        yield finding(
            "license-and-expression",
            "it has both License and License-Expression, and PyPI takes only License-Expression then",
            'keep only `license = "<SPDX expression>"` in pyproject.toml (drop `license = {text = …}` or '
            "`license = {file = …}`) and rebuild",
        )


def _emails(metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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


def _classifiers(classifiers: Iterable[str], finding: _Make) -> Iterator[Finding]:
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


def _urls(metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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


def _requirements(metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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


def _license_files(filename: str, facts: ArchiveFacts, metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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


def _description(metadata: Metadata, finding: _Make) -> Iterator[Finding]:
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
    "BEFORE_DUPLICATE_CHECK",
    "FILE_SIZE_LIMIT",
    "PypiRules",
    "platform_tag_allowed",
    "refusals",
]
