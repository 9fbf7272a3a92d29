"""The few words the log, the outputs and the summary share about a file and the run."""

from __future__ import annotations

from publish_action.outcomes import FileOutcome, FileState, Published, RunResult
from publish_action.provenance import Grade
from publish_action.redact import without_controls


def state_label(outcome: FileOutcome, dry_run: bool) -> str:
    """A file's state as the report names it (``would upload`` for a dry run's files)."""
    if dry_run and outcome.state is FileState.NOT_TRIED:
        return "would upload"
    return outcome.state.value


def confirmation_counts(result: RunResult) -> str:
    """``3 verified, 1 not yet visible``: what the confirmation found, by state."""
    counts = {state: len(result.published(state)) for state in Published}
    return ", ".join(f"{count} {state.value}" for state, count in counts.items() if count)


def md(text: str) -> str:
    """Text on one Markdown line (and in one table cell): every control character a space, pipes escaped."""
    return without_controls(text).replace("|", "\\|")


def grade_line(grade: Grade) -> str:
    """``demo 1.0: full-provenance (2 of 2 file(s) with provenance; …) — on the index`` (or ``— predicted``)."""
    how = "on the index" if grade.confirmed else "predicted"
    return f"{grade.describe()} — {how}"


__all__ = ["confirmation_counts", "grade_line", "md", "state_label"]
