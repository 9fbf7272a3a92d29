"""What a rule set judges: one file's name, its archive's facts and its metadata, each read once, and the
protocol every rule set follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from packaging.utils import NormalizedName
from packaging.version import Version

if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

    from publish_action.archive import ArchiveFacts
    from publish_action.metadata import Parsed
    from publish_action.rules._finding import Finding


@dataclass(frozen=True)
class FileFacts:
    """One distribution file as the rule sets see it."""

    filename: str
    kind: Literal["wheel", "sdist"]
    #: The project and version its file name names (``None`` when the name is not a distribution's).
    project: NormalizedName | None
    version: Version | None
    archive: ArchiveFacts
    #: The metadata as parsed, whatever its validity (``None`` when no metadata file was found).
    parsed: Parsed | None
    #: The metadata when it is valid as clients require (``None`` otherwise: the run reports why).
    metadata: RawMetadata | None


class RuleSet(Protocol):
    """A set of checks over :class:`FileFacts`."""

    @property
    def name(self) -> str:
        """How ``index-rules`` and the docs name the set."""
        ...

    @property
    def after_lookup(self) -> bool:
        """True when its refusals are judged after the index is looked up (a file the index holds byte for
        byte is a duplicate, not refused, for most of PyPI's rules); false when they stop the run at once."""
        ...

    def judges_name(self, filename: str) -> bool:
        """True when this set has its own rule for what is wrong with ``filename`` itself, said in its terms."""
        ...

    def check(self, file: FileFacts) -> list[Finding]:
        """Every finding of this set for ``file``."""
        ...


__all__ = ["FileFacts", "RuleSet"]
