"""The job summary in Markdown, as a pure function of the run's result."""

from __future__ import annotations

from publish_action.outcomes import FileOutcome, FileState, Published, RunResult
from publish_action.report.wording import confirmation_counts, grade_line, md, state_label
from publish_action.sizes import describe_size


def render_summary(result: RunResult) -> str:
    """One table row per file, then the errors with their fixes, then the notices."""
    where = result.index.display_name if result.index else "the index"
    title = "Dry run" if result.dry_run else "Publish"
    lines = [f"## {title} to {where}", ""]
    if result.credential_label:
        lines += [f"Credentials: {md(result.credential_label)}", ""]
    if result.outcomes:
        lines += _table(result, where)
    for grade in result.grades:
        lines += [f"Provenance: {md(grade_line(grade))}", ""]
    for error in result.errors:
        lines += [f"### :x: {md(error.title)}", "", md(error.cause)]
        lines += [f"- {md(problem)}" for problem in error.problems]
        if error.fix:
            lines += ["", f"**Fix:** {md(error.fix)}"]
        lines.append("")
    for notice in result.notices:
        lines += ["> [!WARNING]", f"> {md(notice)}", ""]
    for remark in result.remarks:
        lines += ["> [!NOTE]", f"> {md(remark)}", ""]
    for annotation in result.annotations:
        kind = "WARNING" if annotation.level == "warning" else "NOTE"
        lines += [
            f"> [!{kind}]",
            f"> `{md(annotation.file)}:{annotation.line}`: **{md(annotation.title)}**",
            f"> {md(annotation.message)}",
            "",
        ]
    return "\n".join(lines) + "\n"


def _table(result: RunResult, where: str) -> list[str]:
    confirmed = result.confirmed
    if confirmed:
        lines = [
            "| File | Size | SHA-256 | State | Attestation | On the index | Link |",
            "|---|---:|---|---|---|---|---|",
        ]
    else:
        lines = ["| File | Size | SHA-256 | State | Attestation | Link |", "|---|---:|---|---|---|---|"]
    for outcome in result.outcomes:
        dist = outcome.dist
        link = ""
        if result.index is not None:
            release = result.index.release_url(dist.project, dist.version)
            simple = result.index.project_simple_url(dist.project)
            target = release or simple
            if target and outcome.state in (FileState.UPLOADED, FileState.SKIPPED):
                link = f"[{'release' if release else 'index'}]({target})"
        state = state_label(outcome, result.dry_run)
        if outcome.detail:
            state += f" — {md(outcome.detail)}"
        published = f" {_published_cell(outcome)} |" if confirmed else ""
        lines.append(
            f"| `{dist.filename}` | {describe_size(dist.size)} | `{dist.hashes.sha256[:16]}…` | {state} | "
            f"{outcome.attestation} |{published} {link} |"
        )
    lines.append("")
    if confirmed:
        lines += [f"Confirmed on {where} after the upload: {confirmation_counts(result)}.", ""]
    return lines


def _published_cell(outcome: FileOutcome) -> str:
    if outcome.published is None:
        return "—"
    if outcome.published.state is Published.VERIFIED:
        return "verified"
    return f"{outcome.published.state.value} — {md(outcome.published.detail)}"


__all__ = ["render_summary"]
