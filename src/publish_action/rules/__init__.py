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

from publish_action.rules._archive import ArchiveFacts, read_sdist, read_zip
from publish_action.rules._finding import Finding
from publish_action.rules._pypi import (
    BEFORE_DUPLICATE_CHECK,
    as_sent,
    breaks_filename_characters,
    check_file,
    first_render_error,
    refusals,
    wanted_members,
)
from publish_action.rules._release import check_release

IndexRules = Literal["pypi", "none"]

__all__ = [
    "BEFORE_DUPLICATE_CHECK",
    "ArchiveFacts",
    "Finding",
    "IndexRules",
    "as_sent",
    "breaks_filename_characters",
    "check_file",
    "check_release",
    "first_render_error",
    "read_sdist",
    "read_zip",
    "refusals",
    "wanted_members",
]
