"""A distribution's core metadata: found in what the one read of the file gathered, parsed, checked, and
turned into the fields of the legacy upload form.

Metadata is parsed with :mod:`packaging.metadata` and checked the way clients check it before an upload
(every field must be understood and valid). The long description is rendered with ``readme_renderer``, the
renderer the index uses. The upload form follows what the index's legacy upload view reads back
(Warehouse ``forklift``): one field per value, keywords joined by commas, each project URL as
``"label, url"``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Literal

from packaging.metadata import ExceptionGroup, Metadata, RawMetadata

from publish_action import rules

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
_MISSING_CONTENT_TYPE = "`long_description_content_type` missing. defaulting to `text/x-rst`."
_MISSING_DESCRIPTION = "`long_description` missing."


def wanted_members(filename: str) -> Callable[[str], bool]:
    """The members of zip ``filename`` to read whole: what the index rules read, plus any top-level
    ``*.dist-info/METADATA`` (a wheel's metadata when its folder is not named after the file)."""
    rules_want = rules.wanted_members(filename)
    if not filename.endswith(".whl"):
        return rules_want
    return lambda name: rules_want(name) or _top_level_dist_info_metadata(name)


def _top_level_dist_info_metadata(name: str) -> bool:
    folder, _, leaf = name.partition("/")
    return leaf == "METADATA" and folder.endswith(".dist-info")


def metadata_file(filename: str, kind: DistKind, facts: rules.ArchiveFacts) -> bytes:
    """The raw metadata file of the distribution whose archive ``facts`` describe.

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
            candidates = sorted(name for name in facts.members if _top_level_dist_info_metadata(name))
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
    data = facts.members[path]
    if b"Metadata-Version" not in data:
        raise MetadataError(f"its {path} has no Metadata-Version")
    return data


def _unreadable(kind: DistKind, facts: rules.ArchiveFacts) -> None:
    """Raise the reason the archive could not be read, when that is why the metadata was not found."""
    fault = facts.fault
    if fault is None:
        return
    if isinstance(fault, EOFError) or str(fault) == "unexpected end of data":  # tarfile's word for it
        raise MetadataError(f"cannot be read as a {kind}: the file ends before its archive does (truncated)")
    text = str(fault).strip()
    described = f"{type(fault).__name__}: {text}" if text else type(fault).__name__
    raise MetadataError(f"cannot be read as a {kind} ({described})")


def parse(data: bytes) -> RawMetadata:
    """Parse and validate core metadata; every field must be understood and valid.

    License-File below Metadata-Version 2.4 is dropped, as twine drops it: setuptools wrote it into 2.1
    metadata for years, and the index never receives it there.
    """
    raw, unparsed = rules.as_sent(data)
    if unparsed:
        raise MetadataError(
            "Invalid distribution metadata: "
            + "; ".join(f"unrecognized or malformed field {key!r}" for key in unparsed)
        )
    try:
        Metadata.from_raw(raw, validate=True)
    except ExceptionGroup as group:
        raise MetadataError(
            "Invalid distribution metadata: " + "; ".join(sorted(str(error) for error in group.exceptions))
        ) from None
    return raw


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


def check_description(raw: RawMetadata) -> tuple[str | None, list[str]]:
    """Whether the long description renders as the index will render it: the first render error (or
    ``None``), and the notes on what is missing (no content type, no description)."""
    notes: list[str] = []
    declared = raw.get("description_content_type")
    if declared is None:
        notes.append(_MISSING_CONTENT_TYPE)
        declared = "text/x-rst"
    description = raw.get("description")
    if not description or description.rstrip() == "UNKNOWN":
        notes.append(_MISSING_DESCRIPTION)
        return None, notes
    if _content_type(declared) in ("text/plain", "text/markdown"):
        return None, notes  # rendering these never fails
    import readme_renderer.rst

    stream = io.StringIO()
    if readme_renderer.rst.render(description, stream=stream) is not None:
        return None, notes
    return rules.first_render_error(stream.getvalue()) or "the markup has syntax errors", notes


def _content_type(declared: str) -> str:
    from email.message import EmailMessage

    message = EmailMessage()
    message["content-type"] = declared
    return message.get_content_type()


__all__ = [
    "MetadataError",
    "check_description",
    "metadata_file",
    "parse",
    "python_version",
    "safe_name",
    "upload_fields",
    "wanted_members",
]
