"""One broken rule of one file, as the report shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from publish_action.redact import shown_name

#: Who refuses the file: PyPI (its upload rules), any index (the file contradicts itself), or ``twine
#: check`` (the generic description check, in its words).
Judge = Literal["pypi", "any index", "twine check"]


@dataclass(frozen=True)
class Finding:
    """One rule one file breaks."""

    filename: str
    #: A stable name for the rule (listed in docs/index-rules.md), for tests and searches.
    rule: str
    #: Why the index refuses the file, without a final full stop.
    reason: str
    #: What to change, usually in pyproject.toml or the build.
    fix: str
    #: Warnings are shown but do not stop the publish (the index may have raised the limit).
    warning: bool = False
    judge: Judge = "pypi"

    def line(self) -> str:
        """The one line a user reads."""
        shown = shown_name(self.filename)
        if self.judge == "twine check":
            return f"{shown}: twine check: {self.reason}"
        if self.judge == "any index":
            return f"{shown}: {self.reason}" + (f". Fix: {self.fix}" if self.fix else "")
        verdict = "PyPI may refuse it" if self.warning else "PyPI would refuse it"
        return f"{shown}: {verdict}: {self.reason}. Fix: {self.fix}"
