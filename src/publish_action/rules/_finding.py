"""One broken rule of one file, as the report shows it."""

from __future__ import annotations

from dataclasses import dataclass

from publish_action.redact import shown_name


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

    def line(self) -> str:
        """The one line a user reads."""
        verdict = "PyPI may refuse it" if self.warning else "PyPI would refuse it"
        return f"{shown_name(self.filename)}: {verdict}: {self.reason}. Fix: {self.fix}"
