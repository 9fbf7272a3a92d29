"""The checks any index's upload makes, as twine makes them before an upload: the file name names the
project and version of the metadata inside, and (``verify-metadata``) ``twine check``'s description check.

PyPI's rule set says the same in Warehouse's terms, so these are selected when PyPI's rules are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from publish_action.rules._finding import Finding
from publish_action.rules.facts import FileFacts
from publish_action.rules.readme import rendering_error

MISSING_CONTENT_TYPE = "`long_description_content_type` missing. defaulting to `text/x-rst`."
MISSING_DESCRIPTION = "`long_description` missing."


@dataclass(frozen=True)
class NamesMatchMetadata:
    """The file name must name the project and version of the metadata inside."""

    name: str = "names"
    after_lookup: bool = False

    def judges_name(self, filename: str) -> bool:
        return False

    def check(self, file: FileFacts) -> list[Finding]:
        raw = file.metadata
        if raw is None or file.project is None:
            return []
        meta_name, meta_version = raw.get("name", ""), raw.get("version", "")

        def finding(reason: str) -> Finding:
            return Finding(file.filename, "name-matches-metadata", reason, "", judge="any index")

        found = []
        if canonicalize_name(meta_name) != file.project:
            found.append(finding(f"the file name says project '{file.project}' but its metadata says '{meta_name}'"))
        try:
            if Version(meta_version) != file.version:
                found.append(finding(f"the file name says version {file.version} but its metadata says {meta_version}"))
        except InvalidVersion:
            found.append(finding(f"the metadata version '{meta_version}' is not a valid version"))
        return found


@dataclass(frozen=True)
class DescriptionRenders:
    """``twine check``: the long description renders as the index renders it; notes on what is missing."""

    name: str = "twine-check"
    after_lookup: bool = False

    def judges_name(self, filename: str) -> bool:
        return False

    def check(self, file: FileFacts) -> list[Finding]:
        raw = file.metadata
        if raw is None:
            return []
        return list(description_findings(file.filename, raw.get("description"), raw.get("description_content_type")))


def description_findings(filename: str, description: str | None, declared: str | None) -> Iterator[Finding]:
    """What ``twine check`` says of a long description: notes on what is missing, and whether it renders."""

    def note(text: str) -> Finding:
        return Finding(filename, "twine-check", text, "", warning=True, judge="twine check")

    if declared is None:
        yield note(MISSING_CONTENT_TYPE)
    if not description or not description.strip() or description.rstrip() == "UNKNOWN":
        yield note(MISSING_DESCRIPTION)
        return
    error = rendering_error(description, declared)
    if error is not None:
        reason = f"the long description would not render on PyPI ({error})"
        yield Finding(filename, "twine-check", reason, "", judge="twine check")


__all__ = [
    "MISSING_CONTENT_TYPE",
    "MISSING_DESCRIPTION",
    "DescriptionRenders",
    "NamesMatchMetadata",
    "description_findings",
]
