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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from publish_action.archive import ArchiveFacts
from publish_action.metadata import Parsed
from publish_action.rules._finding import Finding
from publish_action.rules.facts import FileFacts
from publish_action.rules.pypi_metadata import (
    PYPROJECT_FIX,
    REBUILD_FIX,
    Make,
    description_rules,
    license_file_rules,
    metadata_rules,
    name_rules,
    validated,
)
from publish_action.sizes import describe_size

if TYPE_CHECKING:
    pass

ONE_MIB = 1024 * 1024
#: PyPI's default limit for one file (Warehouse ``MAX_FILESIZE``); PyPI raises it per project on request.
FILE_SIZE_LIMIT = 100 * ONE_MIB
#: Archives that unpack to more than this are held to the compression-ratio limit (Warehouse).
_RATIO_MIN_SIZE = 64 * ONE_MIB
_RATIO_LIMIT = 50


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
        yield finding("filename-characters", "its name holds a control character or a backslash", REBUILD_FIX)
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
    metadata, problems = validated(parsed)
    for rule, reason in problems:
        fix = "rebuild with a current build backend" if rule == "metadata-version" else PYPROJECT_FIX
        yield finding(rule, reason, fix)
    if metadata is None:
        return
    yield from name_rules(filename, facts, metadata, finding)
    yield from metadata_rules(metadata, finding)
    yield from license_file_rules(filename, facts, metadata, finding)
    yield from description_rules(metadata, finding)


def _archive_rules(facts: ArchiveFacts, finding: Make) -> Iterator[Finding]:
    fix_rebuild = REBUILD_FIX + "; tools that append to, stream or comment zips produce such archives"
    if facts.is_zip and facts.is_tar:
        yield finding("zip-and-tar", "the file reads both as a zip and as a tar archive", REBUILD_FIX)
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
                REBUILD_FIX,
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


def _wheel_contents(stem: str, facts: ArchiveFacts, finding: Make) -> Iterator[Finding]:
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


__all__ = [
    "BEFORE_DUPLICATE_CHECK",
    "FILE_SIZE_LIMIT",
    "PypiRules",
    "refusals",
]
