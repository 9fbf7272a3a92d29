"""What an index refuses at upload, predicted before the first byte is sent.

PyPI checks every file when it arrives and refuses what breaks its rules. A release whose first files were
accepted and whose next one is refused is half-published, and file names can never be reused, so the only
safe moment to learn about a refusal is before anything is sent. :func:`check_file` holds one file against
PyPI's upload rules (names, tags, archive framing, metadata, wheel contents, sizes); :func:`check_release`
holds the whole set against what the index already serves (release window, one sdist per release, project
status). Each rule follows Warehouse, PyPI's server; docs/index-rules.md lists them. Warehouse looks for an identical
file already on the index part-way through its checks: :func:`refusals` keeps, for a file the index holds
byte for byte, only the rules checked before that (:data:`BEFORE_DUPLICATE_CHECK`).

Every finding says which file, which rule, why PyPI refuses it and what to change. Size findings are
warnings: PyPI raises those limits per project on request.
"""

from __future__ import annotations

from typing import Literal

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion

from publish_action.archive import ArchiveFacts
from publish_action.rules._finding import Finding
from publish_action.rules._pypi import BEFORE_DUPLICATE_CHECK, PypiRules, breaks_filename_characters, refusals
from publish_action.rules._release import check_release
from publish_action.rules.facts import FileFacts, RuleSet
from publish_action.rules.generic import DescriptionRenders, NamesMatchMetadata
from publish_action.rules.readme import first_render_error

IndexRules = Literal["pypi", "none"]

PYPI = PypiRules()
NAMES = NamesMatchMetadata()
DESCRIPTION = DescriptionRenders()


def selected(index_rules: IndexRules, *, verify_metadata: bool) -> tuple[RuleSet, ...]:
    """The rule sets a publish runs: PyPI's (which say in Warehouse's terms what the generic ones check),
    or the generic ones, the description check with ``verify-metadata``."""
    if index_rules == "pypi":
        return (PYPI,)
    return (NAMES, DESCRIPTION) if verify_metadata else (NAMES,)


def check_file(filename: str, facts: ArchiveFacts) -> list[Finding]:
    """PyPI's rules for one file from its archive's facts alone (its metadata found and parsed from them):
    for tools and tests that judge a file outside a publish."""
    from publish_action import metadata

    try:
        parsed = metadata.read(filename, facts.kind, facts)
    except metadata.MetadataError:
        parsed = None
    try:
        if facts.kind == "wheel":
            project, version, _build, _tags = parse_wheel_filename(filename)
        else:
            project, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        project, version = None, None
    return PYPI.check(FileFacts(filename, facts.kind, project, version, facts, parsed, None))


__all__ = [
    "BEFORE_DUPLICATE_CHECK",
    "DESCRIPTION",
    "NAMES",
    "PYPI",
    "FileFacts",
    "Finding",
    "IndexRules",
    "RuleSet",
    "breaks_filename_characters",
    "check_file",
    "check_release",
    "first_render_error",
    "refusals",
    "selected",
]
