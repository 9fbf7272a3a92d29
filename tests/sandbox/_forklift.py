"""PyPI's upload rules for the Warehouse stand-in, checked the way forklift checks them.

Each function here answers one of the questions ``warehouse/forklift/legacy.py`` ``file_upload`` asks of an
upload, with the same answer: a :class:`Refusal` carrying Warehouse's HTTP status and its exact text (clients
such as twine and uv parse those texts, so they are the one thing reproduced word for word). The code is
our own; where each rule lives in Warehouse is named beside it:

* form fields: ``warehouse/forklift/forms.py`` (``UploadForm``), ``forklift/decorators.py`` (``sanitize``);
* core metadata read from the form: ``warehouse/forklift/metadata.py`` (``parse``, ``parse_form_metadata``,
  ``_validate_metadata``) on top of ``packaging.metadata``;
* the long description: ``legacy.py`` with ``warehouse/utils/readme.py`` (readme_renderer, no fallback);
* the file: ``legacy.py`` ``_validate_filename``, the size and release checks of ``file_upload``,
  ``_is_valid_dist_file``, ``warehouse/utils/zipfiles.py`` (zip framing), ``warehouse/utils/wheel.py``
  (RECORD and entry points), ``_valid_platform_tag``.

:class:`~tests.sandbox.warehouse.Warehouse` calls them in forklift's order; the index state (duplicates,
deleted names, release age, the one sdist) is the caller's, the rules are here.
"""

from __future__ import annotations

import configparser
import csv
import email.utils
import io
import posixpath
import re
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import email_validator
import packaging.metadata as pm
from packaging.metadata import ExceptionGroup, InvalidMetadata, Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from rfc3986 import exceptions as uri_exceptions
from rfc3986 import uri_reference, validators
from trove_classifiers import all_classifiers, deprecated_classifiers

__all__ = [
    "MAX_FILESIZE",
    "MAX_PROJECT_SIZE",
    "RELEASE_WINDOW_DAYS",
    "Refusal",
    "check_content_type",
    "check_description",
    "check_dist_file",
    "check_filename",
    "check_release_age",
    "check_sdist",
    "check_sizes",
    "check_upload_form",
    "check_wheel",
    "parse_form_metadata",
    "sanitize_fields",
    "valid_platform_tag",
    "zip_framing_problem",
]

ONE_MIB = 1024 * 1024
ONE_GIB = 1024 * ONE_MIB
MAX_FILESIZE = 100 * ONE_MIB  # warehouse/constants.py MAX_FILESIZE
MAX_PROJECT_SIZE = 10 * ONE_GIB  # warehouse/constants.py MAX_PROJECT_SIZE
RELEASE_WINDOW_DAYS = 14  # legacy.py MAXIMUM_AGE_FOR_NEW_UPLOADS_DAYS
_BOMB_MIN_SIZE = 64 * ONE_MIB  # legacy.py COMPRESSION_RATIO_MIN_SIZE
_BOMB_RATIO = 50  # legacy.py COMPRESSION_RATIO_THRESHOLD
_UPLOAD_CHUNK = 8096  # legacy.py reads the upload in chunks of this size and checks the limits after each

HELP_URL = "https://pypi.org/help/"
USER_DOCS_URL = "https://docs.pypi.org"
CORE_METADATA_URL = "https://packaging.python.org/specifications/core-metadata"
LOCAL_VERSION_URL = (
    "https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers"
)
ARCHIVES_URL = "https://docs.pypi.org/archives"

FILETYPE_EXTENSIONS: dict[str, set[str]] = {"sdist": {".zip", ".tar.gz"}, "bdist_wheel": {".whl"}}

Fields = dict[str, list[str]]


class Refusal(Exception):
    """An upload refused: ``status`` and Warehouse's ``message`` (which goes in the reason phrase)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> Refusal:
    return Refusal(400, message)


def _server_error() -> Refusal:
    # Paths where Warehouse itself lets an exception escape: the client sees a bare 500.
    return Refusal(500, "Internal Server Error")


# ---------------------------------------------------------------------------------------------------------
# The form (decorators.py sanitize, forms.py UploadForm)
# ---------------------------------------------------------------------------------------------------------


def sanitize_fields(fields: Fields) -> Fields:
    """What ``sanitize`` does before the view runs.

    WebOb's ``POST.get`` reads the *last* value of a field: when that one is distutils' ``UNKNOWN``
    placeholder the whole field goes, and when it holds NUL characters every value of the field is replaced
    by that one value with the NULs escaped.
    """
    cleaned: Fields = {}
    for name, values in fields.items():
        last = values[-1]
        if last.strip() == "UNKNOWN":
            continue
        cleaned[name] = [last.replace("\x00", "\\x00")] if "\x00" in last else list(values)
    return cleaned


_PROJECT_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)  # utils/project.py
_HEX64_RE = re.compile(r"^[A-F0-9]{64}$", re.IGNORECASE)
# Warehouse reports the first failing field in this order, then alphabetically (legacy.py _error_message_order).
_FIELD_PRIORITY = ("metadata-version", "name", "version")


def _pick_field(names: Iterable[str]) -> str:
    present = set(names)
    for name in _FIELD_PRIORITY:
        if name in present:
            return name
    return sorted(present)[0]


def check_upload_form(fields: Fields) -> None:
    """``UploadForm.validate`` and the message ``file_upload`` builds from its first error."""

    def first(name: str) -> str | None:
        values = fields.get(name)
        return values[0] if values else None

    def given(name: str) -> bool:  # wtforms Optional(): absent or blank stops the field's checks
        value = first(name)
        return value is not None and bool(value.strip())

    errors: dict[str, str] = {}
    name = first("name")
    if not name:
        errors["name"] = "This field is required."
    elif not _PROJECT_NAME_RE.match(name):
        errors["name"] = "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'."
    filetype = first("filetype")
    if not filetype:
        errors["filetype"] = "This field is required."
    elif filetype not in FILETYPE_EXTENSIONS:
        errors["filetype"] = "Use a known file type."
    for digest, label in (("sha256_digest", "SHA256"), ("blake2_256_digest", "BLAKE2")):
        value = first(digest)
        if given(digest) and value is not None and not _HEX64_RE.match(value):
            errors[digest] = f"Use a valid, hex-encoded, {label} message digest."
    if errors:
        chosen = _pick_field(errors)
        if chosen == "name":
            shown = name[:30] + "..." + name[-30:] if name and len(name) > 60 else name or ""
            raise _bad(
                f"{shown!r} is an invalid value for Name. Error: {errors[chosen]} See {CORE_METADATA_URL} for more "
                "information."
            )
        raise _bad(f"Invalid value for {chosen}. Error: {errors[chosen]}")

    pyversion = first("pyversion")
    if filetype != "sdist" and not pyversion:
        raise _bad("Invalid value for pyversion. Error: Python version is required for binary distribution uploads.")
    if filetype == "sdist" and pyversion and pyversion != "source":
        raise _bad("Invalid value for pyversion. Error: Use 'source' as Python version for an sdist.")
    if not (first("md5_digest") or first("sha256_digest") or first("blake2_256_digest")):
        raise _bad("Error: Include at least one message digest.")


# ---------------------------------------------------------------------------------------------------------
# Core metadata from the form (metadata.py)
# ---------------------------------------------------------------------------------------------------------

SUPPORTED_METADATA_VERSIONS = frozenset({"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"})

# Fields PyPI accepts in Dynamic (metadata.py DYNAMIC_FIELDS), lower-cased as packaging stores them.
_DYNAMIC_ALLOWED = frozenset(
    name.lower()
    for name in [
        "Platform", "Supported-Platform", "Summary", "Description", "Description-Content-Type", "Keywords",
        "Home-Page", "Download-Url", "Author", "Author-Email", "Maintainer", "Maintainer-Email", "License",
        "License-Expression", "License-File", "Classifier", "Requires-Dist", "Requires-Python", "Requires-External",
        "Project-Url", "Provides-Extra", "Provides-Dist", "Obsoletes-Dist", "Requires", "Provides", "Obsoletes",
        "Import-Name", "Import-Namespace",
    ]
)  # fmt: skip
_LENGTH_LIMITS = {"summary": 512}
_KNOWN_CLASSIFIERS = frozenset(all_classifiers)
_PROJECT_URL_LABEL_MAX = 32

# Form field name -> packaging's raw key. The form uses the raw names, except for a few singular ones.
_FORM_NAMES = {
    "platforms": "platform",
    "supported_platforms": "supported_platform",
    "license_files": "license_file",
    "import_names": "import_name",
    "import_namespaces": "import_namespace",
}
_RAW_TO_EMAIL: Mapping[str, str] = pm._RAW_TO_EMAIL_MAPPING
_FORM_TO_RAW = {_FORM_NAMES.get(raw, raw): raw for raw in _RAW_TO_EMAIL}


def _email_name(raw: str) -> str:
    return _RAW_TO_EMAIL.get(raw, raw)


def is_valid_uri(uri: str) -> bool:
    """An absolute http(s) URI (``warehouse/utils/http.py`` ``is_valid_uri`` with ``require_authority=False``)."""
    reference = uri_reference(uri).normalize()
    validator = (
        validators.Validator()
        .allow_schemes("http", "https")
        .require_presence_of("scheme")
        .check_validity_of("scheme", "host", "port", "path", "query")
    )
    try:
        validator.validate(reference)
    except uri_exceptions.ValidationError:
        return False
    return True


def _raw_from_form(fields: Fields) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    unreadable: list[str] = []
    for form_name, values in fields.items():
        key = _FORM_TO_RAW.get(form_name)
        if key is None or values == [""]:
            continue  # not metadata (":action", digests, ...), or sent empty
        if key in pm._STRING_FIELDS and len(values) == 1:
            raw[key] = values[0]
        elif key in pm._LIST_FIELDS:
            raw[key] = list(values)
        elif key == "keywords" and len(values) == 1:
            raw[key] = pm._parse_keywords(values[0])
        elif key == "project_urls":
            try:
                raw[key] = pm._parse_project_urls(values)
            except KeyError:
                unreadable.append(form_name)
        else:
            unreadable.append(form_name)
    if unreadable:
        raise ExceptionGroup("unparsed", [InvalidMetadata(n, f"{n!r} has invalid data") for n in unreadable])
    return raw


def _pypi_metadata_problems(meta: Metadata) -> list[Exception]:
    """PyPI's rules on top of packaging's, in the order Warehouse collects them."""
    problems: list[Exception] = []
    if meta.metadata_version not in SUPPORTED_METADATA_VERSIONS:
        problems.append(
            InvalidMetadata("metadata-version", f"{meta.metadata_version!r} is not a valid metadata version")
        )
    if meta.version.local:
        problems.append(InvalidMetadata("version", f"The use of local versions in '{meta.version}' is not allowed."))
    for attr, limit in _LENGTH_LIMITS.items():
        value = getattr(meta, attr)
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                InvalidMetadata(_email_name(attr), f"{_email_name(attr)!r} field must be {limit} characters or less.")
            )
    for attr in ("author_email", "maintainer_email"):
        value = getattr(meta, attr)
        if value is None:
            continue
        address = email.utils.parseaddr(value)[1]
        if not address:
            continue
        try:
            email_validator.validate_email(address, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            problems.append(InvalidMetadata(_email_name(attr), f"{address!r} is not a valid email address: {exc}"))
    classifiers = set(meta.classifiers or [])
    problems.extend(
        InvalidMetadata("classifier", f"{c!r} is not a valid classifier.")
        for c in sorted(classifiers - _KNOWN_CLASSIFIERS)
    )
    for classifier in sorted(classifiers & deprecated_classifiers.keys()):
        replacements = deprecated_classifiers[classifier]
        text = f"The classifier {classifier!r} has been deprecated"
        problems.append(
            InvalidMetadata("classifier", f"{text}, use one of {replacements} instead." if replacements else f"{text}.")
        )
    for attr in ("home_page", "download_url"):
        url = getattr(meta, attr)
        if url is not None and not is_valid_uri(url):
            problems.append(InvalidMetadata(_email_name(attr), f"{url!r} is not a valid url."))
    for label, url in (meta.project_urls or {}).items():
        if not label:
            problems.append(InvalidMetadata("project-url", "Must have a label"))
        elif len(label) > _PROJECT_URL_LABEL_MAX:
            problems.append(
                InvalidMetadata("project-url", f"{label!r} must be {_PROJECT_URL_LABEL_MAX} characters or less.")
            )
        elif not url:
            problems.append(InvalidMetadata("project-url", "Must have a URL"))
        elif not is_valid_uri(url):
            problems.append(InvalidMetadata("project-url", f"{url!r} is not a valid url"))
    for attr in ("provides_dist", "obsoletes_dist"):
        for text in getattr(meta, attr) or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement as exc:
                problems.append(InvalidMetadata(_email_name(attr), f"{text!r} is invalid: {exc}"))
                continue
            if requirement.url is not None:
                problems.append(InvalidMetadata(_email_name(attr), f"Can't have direct dependency: {text!r}"))
    for requirement in meta.requires_dist or []:
        if requirement.url is not None:
            problems.append(InvalidMetadata("requires-dist", f"Can't have direct dependency: {requirement}"))
    for key in meta.dynamic or []:
        if key not in _DYNAMIC_ALLOWED:
            problems.append(InvalidMetadata("dynamic", f"Dynamic field {key!r} is not a valid dynamic field."))
    if meta.license and meta.license_expression:
        problems.append(
            InvalidMetadata(
                "license",
                "License is deprecated when License-Expression is present. Only License-Expression should be present.",
            )
        )
    return problems


def parse_form_metadata(fields: Fields) -> Metadata:
    """The validated metadata of the upload form, or the refusal Warehouse answers for the first problem."""
    try:
        meta = Metadata.from_raw(_raw_from_form(fields))  # type: ignore[arg-type]
        problems = _pypi_metadata_problems(meta)
        if problems:
            raise ExceptionGroup("invalid metadata", problems)
    except ExceptionGroup as group:
        by_field: dict[str, list[InvalidMetadata]] = {}
        for problem in group.exceptions:
            if not isinstance(problem, InvalidMetadata):
                raise
            by_field.setdefault(problem.field, []).append(problem)
        chosen = _pick_field(by_field)
        text = str(by_field[chosen][0])
        local = chosen == "version" and any("use of local versions" in str(p) for p in by_field["version"])
        see = LOCAL_VERSION_URL if local else CORE_METADATA_URL
        raise _bad(f"{text}{'' if text.endswith('.') else '.'} See {see} for more information.") from None
    return meta


# ---------------------------------------------------------------------------------------------------------
# The long description (legacy.py + utils/readme.py)
# ---------------------------------------------------------------------------------------------------------


def _render(text: str, content_type: str) -> str | None:
    """readme_renderer's verdict for ``text`` as Warehouse picks the renderer (None: it does not render)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # readme_renderer warns at import when its Markdown extra is missing
        import readme_renderer.markdown
        import readme_renderer.rst
        import readme_renderer.txt

    header = EmailMessage()
    header["content-type"] = content_type
    kind = header.get_content_type()
    if kind == "text/plain":
        return f"<pre>{readme_renderer.txt.render(text)}</pre>"
    if kind == "text/markdown":
        if getattr(readme_renderer.markdown, "variants", None):
            return readme_renderer.markdown.render(text)
        # Without readme_renderer's [md] extra there is no Markdown renderer here. PyPI always has one, and
        # its GFM renderer turns any text into HTML except text that renders to nothing (blank text).
        return text if text.strip() else None
    if kind == "text/x-rst":
        return readme_renderer.rst.render(text)
    return readme_renderer.txt.render(text)


def check_description(meta: Metadata) -> None:
    """Uploads whose long description does not render are refused (no plain-text fallback)."""
    if not meta.description:
        return
    content_type = meta.description_content_type or "text/x-rst"
    if _render(meta.description, content_type) is not None:
        return
    if meta.description_content_type:
        message = f"The description failed to render for '{content_type}'."
    else:
        message = "The description failed to render in the default format of reStructuredText."
    raise _bad(f"{message} See {HELP_URL}#description-content-type for more information.")


# ---------------------------------------------------------------------------------------------------------
# The file: name, type, size, age
# ---------------------------------------------------------------------------------------------------------

_DIST_FILE_RE = re.compile(r".+?(?P<extension>\.(tar\.gz|zip|whl))$", re.IGNORECASE)


def check_filename(filename: str, filetype: str) -> None:
    """legacy.py ``_validate_filename``: printable, no path separators, an extension for the filetype."""
    if any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise _bad(
            "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character "
            "(ordinal 127) in the name."
        )
    if "/" in filename or "\\" in filename:
        raise _bad("Cannot upload a file with '/' or '\\' in the name.")
    match = _DIST_FILE_RE.match(filename)
    if match is None:
        raise _bad(
            "Invalid file extension: Use .tar.gz, .whl or .zip extension. See "
            "https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"
        )
    extension = match.group("extension")
    if extension not in FILETYPE_EXTENSIONS[filetype]:
        raise _bad(
            f"Invalid file extension: Extension {extension} is invalid for filetype {filetype}. See "
            "https://www.python.org/dev/peps/pep-0527 for more information."
        )


def check_content_type(part_type: str) -> None:
    """The ``content`` part must have a type, and not an image one."""
    if not part_type or part_type.startswith("image/"):
        raise _bad("Invalid distribution file.")


def check_sizes(
    filename: str, size: int, project_name: str, project_total: int, file_limit: int, project_limit: int
) -> None:
    """Buffering the upload: the file and project size limits, tripped at the first chunk that crosses
    either (the file limit first within a chunk)."""
    # legacy.py writes the upload to <tmpdir>/<filename>: a name the file system cannot hold fails there.
    if len(filename.encode("utf-8", "surrogatepass")) > 255:
        raise _server_error()
    if size == 0:
        return

    def first_chunk_over(threshold: int) -> int | None:
        # Index of the first chunk after which the running size exceeds ``threshold`` (None: never).
        if size <= threshold:
            return None
        return max(threshold, 0) // _UPLOAD_CHUNK

    file_trip = first_chunk_over(file_limit)
    project_trip = first_chunk_over(project_limit - project_total)
    if file_trip is not None and (project_trip is None or file_trip <= project_trip):
        raise _bad(
            f"File too large. Limit for project {project_name!r} is {file_limit // ONE_MIB} MB. See "
            f"{USER_DOCS_URL}/project-management/storage-limits#requesting-a-file-size-limit-increase "
            "for more information."
        )
    if project_trip is not None:
        raise _bad(
            f"Project size too large. Limit for project {project_name!r} total size is {project_limit // ONE_GIB} GB. "
            f"See {USER_DOCS_URL}/project-management/storage-limits#requesting-a-project-size-limit-increase"
        )


def check_release_age(created: float, now: float) -> None:
    """New files only within 14 days of the release's creation."""
    if created < now - RELEASE_WINDOW_DAYS * 86400:
        raise _bad(f"Uploading new files to releases older than {RELEASE_WINDOW_DAYS} days is not allowed.")


# ---------------------------------------------------------------------------------------------------------
# The archive (legacy.py _is_valid_dist_file, utils/zipfiles.py)
# ---------------------------------------------------------------------------------------------------------

Archive = zipfile.ZipFile | tarfile.TarFile


def _invalid_dist(detail: str | None) -> Refusal:
    # Warehouse formats the detail with an f-string, so a missing one reads "None".
    return _bad(f"Invalid distribution file. {detail}")


def _common_top(names: list[str]) -> str:
    if not names:
        return ""
    try:
        return posixpath.commonpath(names)
    except ValueError:  # absolute and relative member names mixed: unhandled in Warehouse
        raise _server_error() from None


def check_dist_file(filename: str, content: bytes) -> Archive:
    """Open the upload as the archive its extension names and apply Warehouse's archive policy.

    Returns the open archive for the later sdist/wheel checks; refusals read "Invalid distribution file. …".
    """
    looks_zip = zipfile.is_zipfile(io.BytesIO(content))
    looks_tar = _is_tarfile(content)
    if looks_zip and looks_tar:
        raise _invalid_dist("File is both a zip and a tar file")
    if filename.endswith((".zip", ".whl")):
        if not looks_zip:
            raise _invalid_dist("File is not a zipfile")
        return _check_zip(filename, content)
    if not looks_tar:
        raise _invalid_dist("File is not a tarfile")
    return _check_tar(content)


def _is_tarfile(content: bytes) -> bool:
    try:
        return tarfile.is_tarfile(io.BytesIO(content))
    except (EOFError, zlib.error, OSError):  # escapes Warehouse's is_tarfile call too
        raise _server_error() from None


def _check_zip(filename: str, content: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise _invalid_dist(None) from None
    except (ValueError, OSError, struct.error, EOFError):
        raise _server_error() from None
    try:
        members = archive.infolist()
        unpacked = sum(m.file_size for m in members)
        if unpacked > _BOMB_MIN_SIZE and unpacked / len(content) > _BOMB_RATIO:
            raise _invalid_dist(f"File exceeds compression ratio of {_BOMB_RATIO}")
        if any(m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for m in members):
            raise _invalid_dist("File does not use a supported compression type")
        if filename.endswith(".zip"):
            top = _common_top(archive.namelist())
            if top in (".", "/", ""):
                raise _invalid_dist("Incorrect number of top-level directories in sdist")
            target = posixpath.join(top, "PKG-INFO")
            if _zip_member(archive, target, caught=True) is None:
                raise _invalid_dist(f"PKG-INFO not found at {target}")
        if filename.endswith(".whl"):
            parts = filename.split("-", 2)
            if len(parts) != 3:
                raise _invalid_dist("Unable to parse name and version from wheel filename")
            target = f"{parts[0]}-{parts[1]}.dist-info/WHEEL"
            if _zip_member(archive, target, caught=True) is None:
                raise _invalid_dist(f"WHEEL not found at {target}")
        sizes = {m.orig_filename: (m.compress_size, m.file_size) for m in members}
        problem = zip_framing_problem(content, sizes)
        if problem is not None:
            raise _invalid_dist(f"ZIP archive not accepted: {problem}. See {ARCHIVES_URL} for more information")
    except Refusal:
        archive.close()
        raise
    return archive


def _zip_member(archive: zipfile.ZipFile, name: str, *, caught: bool = False) -> bytes | None:
    """A member's bytes, None if absent. A corrupt member: Warehouse's 'None' refusal where it catches
    ``BadZipFile`` (``caught``), a 500 where it does not."""
    try:
        return archive.read(name)
    except KeyError:
        return None
    except zipfile.BadZipFile:
        raise (_invalid_dist(None) if caught else _server_error()) from None
    except (zlib.error, NotImplementedError, RuntimeError, EOFError, OSError):
        raise _server_error() from None


def _check_tar(content: bytes) -> tarfile.TarFile:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(content), mode="r:gz")  # noqa: SIM115 (returned open)
    except (tarfile.ReadError, EOFError):
        raise _invalid_dist(None) from None
    except (zlib.error, tarfile.TarError, OSError):
        raise _server_error() from None
    try:
        try:
            names = archive.getnames()  # reads (and inflates) the whole archive
            members = archive.getmembers()
        except (tarfile.ReadError, EOFError, zlib.error):
            raise _invalid_dist(None) from None
        except (tarfile.TarError, OSError):
            raise _server_error() from None
        top = _common_top(names)
        if any(m.issparse() for m in members):
            raise _invalid_dist(
                f"tar archive not accepted: Sparse members are not allowed. See {ARCHIVES_URL} for more information"
            )
        if top in (".", "/", ""):
            raise _invalid_dist("Incorrect number of top-level directories in sdist")
        target = posixpath.join(top, "PKG-INFO")
        if not _tar_has(archive, target):
            raise _invalid_dist(f"PKG-INFO not found at {target}")
    except Refusal:
        archive.close()
        raise
    return archive


def _tar_has(archive: tarfile.TarFile, name: str) -> bool:
    try:
        archive.getmember(name)
    except KeyError:
        return False
    return True


# -- zip framing ------------------------------------------------------------------------------------------

_SIG_LOCAL = b"PK\x03\x04"
_SIG_CENTRAL = b"PK\x01\x02"
_SIG_END = b"PK\x05\x06"
_SIG_END64 = b"PK\x06\x06"
_SIG_END64_LOCATOR = b"PK\x06\x07"
_EXTRA_ZIP64 = 0x0001
_EXTRA_UNICODE_PATH = 0x7075
_ONCE_ONLY_EXTRAS = frozenset({_EXTRA_ZIP64, _EXTRA_UNICODE_PATH})
_ZIP64_EXTRA_LENGTHS = frozenset({0, 8, 16, 24, 28})
_SENTINEL32 = 0xFFFFFFFF
_FLAG_DATA_DESCRIPTOR = 0x08
_METHOD_STORED = 0


class _Framing(Exception):
    """One framing problem; the text is what PyPI reports after "ZIP archive not accepted: "."""


_MALFORMED = "Malformed zip file"


def _has_control_bytes(raw: bytes) -> bool:
    return any(b < 0x20 or b == 0x7F for b in raw)


class _Cursor:
    """Reads a byte string front to back; skipping past the end is allowed, reading past it is not."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        chunk = self.data[self.pos : self.pos + count]
        if len(chunk) != count:
            raise _Framing(_MALFORMED)
        self.pos += count
        return chunk

    def skip(self, count: int) -> None:
        self.pos += count


@dataclass
class _CentralTotals:
    """What the end record must agree with: the central directory actually walked."""

    records: int = 0
    size: int = 0
    offset: int | None = None


def _local_sizes_after_extras(extra: bytes, method: int, packed: int, unpacked: int) -> tuple[int, int]:
    """Walk a local header's extra fields; returns (compressed, uncompressed) sizes after ZIP64 overrides."""
    seen: set[int] = set()
    rest = extra
    while rest:
        if len(rest) < 4:
            raise _Framing(_MALFORMED)
        kind, length = struct.unpack_from("<HH", rest)
        if length + 4 > len(rest):
            raise _Framing(_MALFORMED)
        if kind in seen and kind in _ONCE_ONLY_EXTRAS:
            raise _Framing("Invalid duplicate extra in local file")
        seen.add(kind)
        if kind == _EXTRA_ZIP64:
            if length not in _ZIP64_EXTRA_LENGTHS:
                raise _Framing(_MALFORMED)
            if length == 0:
                if _SENTINEL32 in (packed, unpacked):
                    raise _Framing(_MALFORMED)
            elif length == 8:
                # Only one 64-bit size: meaningful for stored data only, where both sizes are equal.
                if method != _METHOD_STORED:
                    raise _Framing(_MALFORMED)
                (size64,) = struct.unpack_from("<Q", rest, 4)
                packed = size64
                if unpacked == _SENTINEL32:
                    unpacked = size64
            else:
                if unpacked == _SENTINEL32:
                    (unpacked,) = struct.unpack_from("<Q", rest, 4)
                (packed,) = struct.unpack_from("<Q", rest, 12)
        elif kind == _EXTRA_UNICODE_PATH:
            name = rest[9 : 4 + length]
            if _has_control_bytes(name):
                raise _Framing("Invalid character in filename")
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                raise _Framing("Filename not valid UTF-8") from None
        rest = rest[length + 4 :]
    return packed, unpacked


def _read_local_header(cursor: _Cursor, central_sizes: Mapping[str, tuple[int, int]]) -> bytes:
    flags, method, packed, unpacked, name_len, extra_len = struct.unpack("<2xHH8xLLHH", cursor.take(26))
    raw_name = cursor.take(name_len)
    extra = cursor.take(extra_len)
    if _has_control_bytes(raw_name):
        raise _Framing("Invalid character in filename")
    packed, unpacked = _local_sizes_after_extras(extra, method, packed, unpacked)
    if flags & _FLAG_DATA_DESCRIPTOR:
        raise _Framing("ZIP contains a data descriptor")
    try:
        expected = central_sizes[raw_name.decode("utf-8")]
    except UnicodeDecodeError:
        raise _Framing("Filename not unicode") from None
    except KeyError:
        raise _Framing("Filename not in central directory") from None
    if expected[0] != packed:
        raise _Framing("Mis-matched data size")
    if expected[1] != unpacked:
        raise _Framing("Mis-matched file size")
    cursor.skip(packed)
    return raw_name


def _read_central_header(cursor: _Cursor) -> tuple[bytes, bytes]:
    name_len, extra_len, comment_len = struct.unpack("<20x4xHHH12x", cursor.take(42))
    if comment_len:
        raise _Framing("Comment in central directory")
    raw_name = cursor.take(name_len)
    extra = cursor.take(extra_len)
    if _has_control_bytes(raw_name):
        raise _Framing("Invalid character in filename")
    return raw_name, extra


def _read_end(cursor: _Cursor) -> tuple[int, int, int]:
    on_disk, total, size, offset, comment_len = struct.unpack("<4xHHLLH", cursor.take(18))
    if on_disk != total:
        raise _Framing(_MALFORMED)
    cursor.skip(comment_len)
    return total, size, offset


def _read_end64(cursor: _Cursor) -> tuple[int, int, int]:
    record_size, on_disk, total, size, offset = struct.unpack("<Q12xQQQQ", cursor.take(52))
    if on_disk != total:
        raise _Framing(_MALFORMED)
    if record_size != 44:
        raise _Framing("ZIP64 extensible data not allowed")
    return total, size, offset


def zip_framing_problem(data: bytes, central_sizes: Mapping[str, tuple[int, int]]) -> str | None:
    """Walk every zip record from the first byte to the last; None if PyPI accepts the framing.

    A zip read through its central directory (pip, Python) and one streamed through its local headers must
    see the same members, so PyPI refuses anything that lets the two readings differ: data descriptors,
    names present in one place only or twice, sizes that disagree, comments, unknown records, end records
    that do not describe the directory walked, and bytes after the end. ``central_sizes`` maps each central
    directory name (as Python's zipfile decoded it) to its (compressed, uncompressed) sizes.
    """
    cursor = _Cursor(data)
    local_names: set[bytes] = set()
    central_names: set[bytes] = set()
    walked = _CentralTotals()
    # Values the end record(s) claim; a ZIP64 end record is used only once its locator has been seen.
    claimed: tuple[int, int, int] | None = None
    end64_at: int | None = None
    locator_seen = False
    try:
        while True:
            signature = cursor.take(4)
            if signature == _SIG_END and end64_at is not None and not locator_seen:
                return _MALFORMED
            if signature == _SIG_CENTRAL:
                if walked.offset is None:
                    walked.offset = cursor.pos - 4
                walked.records += 1
                raw_name, extra = _read_central_header(cursor)
                walked.size += 46 + len(raw_name) + len(extra)
                if raw_name in central_names:
                    raise _Framing("Duplicate filename in central directory")
                if raw_name not in local_names:
                    raise _Framing("Missing filename in local headers")
                central_names.add(raw_name)
            elif signature == _SIG_LOCAL:
                raw_name = _read_local_header(cursor, central_sizes)
                if raw_name in local_names:
                    raise _Framing("Duplicate filename in local headers")
                local_names.add(raw_name)
            elif signature == _SIG_END:
                if walked.offset is None:
                    walked.offset = cursor.pos - 4  # an empty archive: the directory starts (and ends) here
                values = _read_end(cursor)
                if not (locator_seen and claimed is not None):
                    claimed = values
                records, size, offset = claimed
                if records != walked.records:
                    raise _Framing("Mismatched central directory records")
                if offset != walked.offset:
                    raise _Framing("Mismatched central directory offset")
                if size != walked.size:
                    raise _Framing("Mismatched central directory size")
                break
            elif signature == _SIG_END64:
                end64_at = cursor.pos - 4
                claimed = _read_end64(cursor)
            elif signature == _SIG_END64_LOCATOR:
                cursor.take(16)
                locator_seen = True
            else:
                return "Unknown record signature"
    except _Framing as problem:
        return str(problem)
    if central_names != local_names:
        return "Mis-matched local headers and central directory"
    if cursor.pos != len(data):
        return "Trailing data"
    return None


# ---------------------------------------------------------------------------------------------------------
# After the archive: sdist and wheel specifics (legacy.py file_upload, utils/wheel.py)
# ---------------------------------------------------------------------------------------------------------


def check_sdist(filename: str, meta: Metadata, project_name: str, normalized: str, archive: Archive) -> None:
    """PEP 625 file name, then every License-File present under the sdist's top directory."""
    try:
        name_in_file, _ = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        raise _bad(f"Invalid source distribution filename: {filename}") from None
    name_text: str = name_in_file
    # A post-release version written with a hyphen ("1.0-1") makes the plain parse cut the name short:
    # Warehouse then takes the name before the second-to-last hyphen (whether or not the rest parses).
    if meta.version.is_postrelease and name_text != canonicalize_name(meta.name) and filename.count("-") >= 2:
        name_text = filename.rpartition("-")[0].rpartition("-")[0]
    if canonicalize_name(name_text) != normalized:
        raise _bad(f"Start filename for {project_name!r} with {normalized.replace('-', '_')!r}.")
    expected = f"{normalized.replace('-', '_')}-{meta.version}.tar.gz"
    if filename != expected:
        raise _bad(f"Filename {filename!r} is invalid, should be {expected!r}.")
    if not meta.license_files:
        return
    assert isinstance(archive, tarfile.TarFile)  # a .tar.gz by now
    top = _common_top(archive.getnames())
    for license_file in meta.license_files:
        target = posixpath.join(top, license_file)
        if not _tar_has(archive, target):
            raise _bad(f"License-File {license_file} does not exist in distribution file {filename} at {target}")


# Platform tags PyPI accepts (legacy.py _allowed_platforms and the regexes after it).
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
_MACOS_RE = re.compile(r"macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.*)")
_MACOS_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal", "universal2"}
)
_MACOS_MAJORS_AFTER_10 = frozenset({"11", "12", "13", "14", "15", "26"})
_IOS_RE = re.compile(r"ios_(\d+)_(\d+)_(?P<arch>.*)_(iphoneos|iphonesimulator)")
_IOS_ARCHES = frozenset({"arm64", "x86_64"})
_ANDROID_RE = re.compile(r"android_(\d+)_(?P<arch>.*)")
_ANDROID_ARCHES = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})
_LINUX_RE = re.compile(r"(?P<libc>(many|musl))linux_(\d+)_(\d+)_(?P<arch>.*)")
_MUSLLINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})
_MANYLINUX_ARCHES = _MUSLLINUX_ARCHES | {"ppc64"}
_EMSCRIPTEN_RE = re.compile(r"pyemscripten_(?P<major>\d+)_(?P<minor>\d+)_wasm32")


def valid_platform_tag(platform: str) -> bool:
    """Whether PyPI accepts a wheel built for ``platform`` (prefix matches, as Warehouse's ``re.match``)."""
    if platform in _FIXED_PLATFORMS:
        return True
    mac = _MACOS_RE.match(platform)
    # macOS 10.x counts minor versions; from 11 on only x.0 tags exist.
    if (
        mac
        and mac["arch"] in _MACOS_ARCHES
        and (mac["major"] == "10" or (mac["major"] in _MACOS_MAJORS_AFTER_10 and mac["minor"] == "0"))
    ):
        return True
    linux = _LINUX_RE.match(platform)
    if linux:
        return linux["arch"] in (_MUSLLINUX_ARCHES if linux["libc"] == "musl" else _MANYLINUX_ARCHES)
    ios = _IOS_RE.match(platform)
    if ios and ios["arch"] in _IOS_ARCHES:
        return True
    android = _ANDROID_RE.match(platform)
    if android and android["arch"] in _ANDROID_ARCHES:
        return True
    return _EMSCRIPTEN_RE.match(platform) is not None


_ENTRY_POINT_NAME_RE = re.compile(r"[\w.-]+")


class _CaseKeepingParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _entry_points_ok(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    parser = _CaseKeepingParser(delimiters=("=",))
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section) and any(
            _ENTRY_POINT_NAME_RE.fullmatch(name) is None for name in parser[section]
        ):
            return False
    return True


def _record_readable(raw: bytes | None) -> bool:
    if raw is None:
        return False
    try:
        for row in csv.reader(raw.decode("utf-8").splitlines()):
            if not row:  # Warehouse unpacks every row: an empty one escapes as a 500
                raise _server_error()
    except (UnicodeDecodeError, csv.Error):
        return False
    return True


def check_wheel(filename: str, meta: Metadata, project_name: str, normalized: str, archive: Archive) -> bytes:
    """Wheel file name, tags, License-Files, RECORD, entry points and METADATA; returns METADATA's bytes."""
    try:
        name, version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise _bad(str(exc)) from None
    for tag in tags:
        if not valid_platform_tag(tag.platform):
            raise _bad(f"Binary wheel '{filename}' has an unsupported platform tag '{tag.platform}'.")
    canonical = canonicalize_name(meta.name)
    if canonical != name:
        raise _bad(f"Start filename for {project_name!r} with {canonical.replace('-', '_')!r}.")
    name_in_file = filename.split("-", 1)[0]
    wanted = normalized.replace("-", "_")
    if name_in_file != wanted:
        raise _bad(
            f"Filename {filename!r} should contain the normalized project name {wanted!r}, not {name_in_file!r}."
        )
    if meta.version != version:
        raise _bad(f"Version in filename should be {str(meta.version)!r} not {str(version)!r}.")
    assert isinstance(archive, zipfile.ZipFile)
    raw_name, raw_version, _ = filename.split("-", 2)
    dist_info = f"{raw_name}-{raw_version}.dist-info"
    for license_file in meta.license_files or []:
        target = f"{dist_info}/licenses/{license_file}"
        if _zip_member(archive, target) is None:
            raise _bad(f"License-File {license_file} does not exist in distribution file {filename} at {target}")
    if not _record_readable(_zip_member(archive, f"{dist_info}/RECORD")):
        raise _bad(f"Wheel '{filename}' does not contain the required RECORD file: {dist_info}/RECORD")
    # A RECORD that disagrees with the archive only earns the owners an e-mail on PyPI; no refusal.
    entry_points = _zip_member(archive, f"{dist_info}/entry_points.txt")
    if entry_points is not None and not _entry_points_ok(entry_points):
        raise _bad(f"Wheel '{filename}' has invalid entry points defined in the entry_points.txt file")
    metadata = _zip_member(archive, f"{dist_info}/METADATA")
    if metadata is None:
        raise _bad(f"Wheel '{filename}' does not contain the required METADATA file: {dist_info}/METADATA")
    # legacy.py stores METADATA next to the upload as <filename>.metadata, which must fit a file name.
    if len(filename.encode("utf-8", "surrogatepass")) + len(".metadata") > 255:
        raise _bad(f"Filename is too long: '{filename}'")
    return metadata
