"""A distribution's core metadata: found in what the one read of the file gathered, parsed once, and
turned into the fields of the legacy upload form.

Metadata is parsed with :mod:`packaging.metadata` and checked the way clients check it before an upload
(every field must be understood and valid). The upload form follows what the index's legacy upload view reads back
(Warehouse ``forklift``): one field per value, keywords joined by commas, each project URL as
``"label, url"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from packaging.metadata import ExceptionGroup, Metadata, RawMetadata, parse_email
from packaging.version import InvalidVersion, Version

from publish_action.archive import ArchiveFacts, top_level_dist_info_metadata

DistKind = Literal["wheel", "sdist"]


class MetadataError(Exception):
    """The file's metadata cannot be found or used; the text names why, without the file name."""


#: ``packaging`` field names mapped to the upload form's names; fields not named here are not sent.
_FORM_NAMES: dict[str, str] = {
    "metadata_version": "metadata_version",
    "name": "name",
    "version": "version",
    "platforms": "platform",
    "summary": "summary",
    "description": "description",
    "keywords": "keywords",
    "home_page": "home_page",
    "author": "author",
    "author_email": "author_email",
    "license": "license",
    "supported_platforms": "supported_platform",
    "download_url": "download_url",
    "classifiers": "classifiers",
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "requires_dist": "requires_dist",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires_python": "requires_python",
    "requires_external": "requires_external",
    "project_urls": "project_urls",
    "description_content_type": "description_content_type",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
    "license_expression": "license_expression",
    "license_files": "license_file",
}
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9.]+")


@dataclass(frozen=True)
class Parsed:
    """A distribution's core metadata, parsed once for everything that reads it: the upload form, the
    generic checks and PyPI's rules."""

    #: The archive member it was read from.
    path: str
    #: The fields as the upload form carries them (License-File dropped below 2.4), and those that could
    #: not be parsed, by header name.
    raw: RawMetadata
    unparsed: dict[str, list[str]]
    #: The validated metadata, or ``None`` with the reasons it is invalid.
    validated: Metadata | None
    invalid: tuple[Exception, ...]
    #: Whether the file has a Metadata-Version header at all.
    versioned: bool


def read(filename: str, kind: DistKind, facts: ArchiveFacts) -> Parsed:
    """Find and parse the metadata of the distribution whose archive ``facts`` describe (one parse)."""
    path = _locate(filename, kind, facts)
    return parse_bytes(path, facts.members[path])


def parse_bytes(path: str, data: bytes) -> Parsed:
    """Parse a metadata file's bytes: as sent, and validated."""
    raw, unparsed = as_sent(data)
    try:
        validated: Metadata | None = Metadata.from_raw(raw, validate=True)
        invalid: tuple[Exception, ...] = ()
    except ExceptionGroup as group:
        validated, invalid = None, tuple(group.exceptions)
    return Parsed(path, raw, unparsed, validated, invalid, b"Metadata-Version" in data)


def as_sent(data: bytes) -> tuple[RawMetadata, dict[str, list[str]]]:
    """Core metadata parsed as the upload form carries it to the index, with what could not be parsed.

    License-File is left out below Metadata-Version 2.4, as twine leaves it out: setuptools wrote it into
    2.1 metadata for years, and the index never sees it there.
    """
    raw, unparsed = parse_email(data)
    if _older_than_2_4(raw.get("metadata_version")):
        raw.pop("license_files", None)
        unparsed.pop("license-file", None)
    return raw, unparsed


def _older_than_2_4(declared: str | None) -> bool:
    try:
        return Version(declared or "0") < Version("2.4")
    except InvalidVersion:
        return False


def strict(parsed: Parsed) -> RawMetadata:
    """The metadata, if every field is understood and valid, as clients require before an upload; else
    :class:`MetadataError` in twine's words."""
    if not parsed.versioned:
        raise MetadataError(f"its {parsed.path} has no Metadata-Version")
    if parsed.unparsed:
        raise MetadataError(
            "Invalid distribution metadata: "
            + "; ".join(f"unrecognized or malformed field {key!r}" for key in parsed.unparsed)
        )
    if parsed.validated is None:
        raise MetadataError(
            "Invalid distribution metadata: " + "; ".join(sorted(str(error) for error in parsed.invalid))
        )
    return parsed.raw


def parse(data: bytes) -> RawMetadata:
    """Parse and validate a metadata file's bytes (:func:`parse_bytes`, then :func:`strict`)."""
    return strict(parse_bytes("PKG-INFO", data))


def _locate(filename: str, kind: DistKind, facts: ArchiveFacts) -> str:
    """The archive path of the metadata file of the distribution whose archive ``facts`` describe.

    A wheel's is ``{name}-{version}.dist-info/METADATA`` after its file name, as the index finds it, or else
    the one top-level ``*.dist-info/METADATA``; an sdist's is ``<top-level folder>/PKG-INFO``.
    """
    if not (facts.is_tar if facts.format == "tar" else facts.is_zip):
        _unreadable(kind, facts)
        raise MetadataError(f"cannot be read as a {kind}")
    if kind == "wheel":
        stem = "-".join(filename.split("-", 2)[:2])
        named = f"{stem}.dist-info/METADATA"
        candidates = [named] if named in facts.members else []
        if not candidates:
            candidates = sorted(name for name in facts.members if top_level_dist_info_metadata(name))
        if len(candidates) != 1:
            _unreadable(kind, facts)
            found = f"{len(candidates)} top-level .dist-info/METADATA files" if candidates else "none elsewhere"
            raise MetadataError(f"the wheel has no {named} ({found})")
        path = candidates[0]
    else:
        top = facts.top_level
        if top in ("", ".", "/"):
            _unreadable(kind, facts)
            raise MetadataError("the sdist does not keep all its files under one top-level folder")
        path = f"{top.rstrip('/')}/PKG-INFO"
        if path not in facts.members:
            _unreadable(kind, facts)
            raise MetadataError(f"the sdist has no {path} file")
    return path


def _unreadable(kind: DistKind, facts: ArchiveFacts) -> None:
    """Raise the reason the archive could not be read, when that is why the metadata was not found."""
    fault = facts.fault
    if fault is None:
        return
    if isinstance(fault, EOFError) or str(fault) == "unexpected end of data":  # tarfile's word for it
        raise MetadataError(f"cannot be read as a {kind}: the file ends before its archive does (truncated)")
    text = str(fault).strip()
    described = f"{type(fault).__name__}: {text}" if text else type(fault).__name__
    raise MetadataError(f"cannot be read as a {kind} ({described})")


def safe_name(name: str) -> str:
    """The project name as the upload form carries it: each run of characters other than letters, digits
    and dots becomes one ``-`` (the index's historical "safe name")."""
    return _UNSAFE_RUN.sub("-", name)


def python_version(filename: str, kind: DistKind) -> str:
    """The form's ``pyversion``: a wheel's python tag as its file name spells it, ``source`` for an sdist."""
    if kind == "sdist":
        return "source"
    # A valid wheel name is name-version[-build]-python-abi-platform.whl: the python tag is third from last.
    parts = filename[: -len(".whl")].split("-")
    return parts[-3] if len(parts) >= 5 else "any"


def upload_fields(raw: RawMetadata, filename: str, kind: DistKind) -> tuple[tuple[str, str], ...]:
    """The legacy upload form's metadata fields for ``raw`` (digests and the file itself are added by the
    uploader). Lists become one field per item; keywords are joined with ", "; project URLs are sent as
    ``"label, url"``, one field each."""
    fields: list[tuple[str, str]] = []
    for key, form_name in _FORM_NAMES.items():
        if key not in raw:
            continue
        value: object = raw[key]  # type: ignore[literal-required]
        if key == "name":
            fields.append((form_name, safe_name(str(value))))
        elif key == "project_urls" and isinstance(value, dict):
            fields.extend((form_name, f"{label}, {url}") for label, url in value.items())
        elif key == "keywords" and isinstance(value, list):
            fields.append((form_name, ", ".join(value)))
        elif isinstance(value, list):
            fields.extend((form_name, str(item)) for item in value)
        else:
            fields.append((form_name, str(value)))
    fields.append(("pyversion", python_version(filename, kind)))
    fields.append(("filetype", "bdist_wheel" if kind == "wheel" else "sdist"))
    return tuple(fields)


__all__ = [
    "MetadataError",
    "Parsed",
    "as_sent",
    "parse",
    "parse_bytes",
    "python_version",
    "read",
    "safe_name",
    "strict",
    "upload_fields",
]
