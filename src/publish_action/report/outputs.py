"""The step outputs (docs/inputs.md's table) as a pure function of the run's result, and their dotenv form
for GitLab, within GitLab's size limit."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from publish_action.outcomes import FileOutcome, FileState, Published, RunResult
from publish_action.redact import without_controls
from publish_action.report.wording import state_label

#: GitLab refuses a dotenv report larger than this (its ``dotenv_size`` limit on every plan).
DOTENV_LIMIT = 5120


def output_values(result: RunResult, *, compact: bool = False) -> dict[str, str]:
    """The step outputs by name; ``compact``: JSON without spaces (for dotenv files, where GitLab keeps a
    value only up to the size limit and reads no quoting)."""
    urls = result.release_urls()

    def dumps(value: object) -> str:
        return json.dumps(value, separators=(",", ":")) if compact else json.dumps(value)

    return {
        "uploaded": dumps(result.names(FileState.UPLOADED)),
        "skipped": dumps(result.names(FileState.SKIPPED)),
        "failed": dumps(result.names(FileState.FAILED)),
        "not-tried": dumps(result.names(FileState.NOT_TRIED)),
        "verified": dumps(result.published(Published.VERIFIED)),
        "release-url": urls[0] if len(urls) == 1 else "",
        "release-urls": dumps(urls),
        "files": dumps([_file_record(outcome, result.dry_run) for outcome in result.outcomes]),
        "provenance-status": _provenance_status(result, dumps),
        "exit-code": str(int(result.exit_code)),
    }


def _provenance_status(result: RunResult, dumps: Callable[[object], str]) -> str:
    """The release's grade (``full-provenance``; states comma-separated); with several releases graded, a
    JSON object of them by ``project==version``; empty when none was graded."""
    if len(result.grades) == 1:
        return result.grades[0].value
    if not result.grades:
        return ""
    return dumps({f"{grade.project}=={grade.version}": grade.value for grade in result.grades})


def _file_record(outcome: FileOutcome, dry_run: bool) -> dict[str, object]:
    dist = outcome.dist
    return {
        "filename": dist.filename,
        "project": dist.project,
        "version": dist.version,
        "size": dist.size,
        "sha256": dist.hashes.sha256,
        "state": state_label(outcome, dry_run),
        "attestation": outcome.attestation,
        "attempts": outcome.attempts,
        "published": outcome.published.state.value if outcome.published else None,
    }


def dotenv_name(output: str) -> str:
    """``not-tried`` → ``PUBLISH_ACTION_NOT_TRIED``: GitLab variable names hold letters, digits and ``_``."""
    return "PUBLISH_ACTION_" + output.upper().replace("-", "_")


#: The outputs in the order they are kept when the dotenv file would be too large: the last go first.
_DOTENV_ORDER = (
    "exit-code",
    "release-url",
    "provenance-status",
    "failed",
    "not-tried",
    "uploaded",
    "skipped",
    "verified",
    "release-urls",
    "files",
)


def dotenv_text(values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The dotenv file's text, and the variables left empty to keep it within :data:`DOTENV_LIMIT` bytes.

    Every output gets a line (empty when left out), so a later job never reads a stale value of the same
    name; values are single-line already (compact JSON, URLs), and control characters are dropped.
    """
    names = [name for name in _DOTENV_ORDER if name in values]
    kept = dict.fromkeys(names, "")
    left_out: list[str] = []
    # Room for the names, the empty values and the PUBLISH_ACTION_LEFT_OUT line naming what is left out.
    everything = ",".join(dotenv_name(name) for name in names)
    used = sum(len(f"{dotenv_name(name)}=\n") for name in names) + len(f"PUBLISH_ACTION_LEFT_OUT={everything}\n")
    for name in names:
        value = without_controls(values[name]).strip()
        size = len(value.encode("utf-8"))
        if used + size <= DOTENV_LIMIT:
            kept[name] = value
            used += size
        else:
            left_out.append(dotenv_name(name))
    lines = [f"{dotenv_name(name)}={value}" for name, value in kept.items()]
    lines.append(f"PUBLISH_ACTION_LEFT_OUT={','.join(left_out)}")
    return "\n".join(lines) + "\n", left_out


__all__ = ["DOTENV_LIMIT", "dotenv_name", "dotenv_text", "output_values"]
