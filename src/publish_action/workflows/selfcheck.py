"""``doctor`` on the workflow that is running the action: its findings become warnings of the run.

The runner names the workflow in ``GITHUB_WORKFLOW_REF`` (``owner/repo/.github/workflows/file.yml@ref``);
when that file is in the workspace (the job checked the repository out), it is checked like ``doctor``
would. Nothing here may fail a publish: the caller logs and drops any exception.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from publish_action.identity.github import GitHubContext
from publish_action.outcomes import Annotation
from publish_action.workflows.doctor import diagnose

_WORKFLOW_PATH = re.compile(r"^[^/]+/[^/]+/(?P<path>\.github/workflows/.+?\.ya?ml)@")


def running_workflow(context: GitHubContext) -> tuple[Path, Path] | None:
    """(workspace, workflow file) of this run, when the file is in the workspace."""
    ref = context.workflow_ref or ""
    workspace = context.workspace or ""
    match = _WORKFLOW_PATH.match(ref)
    if match is None or not workspace:
        return None
    path = Path(workspace) / match["path"]
    return (Path(workspace), path) if path.is_file() else None


def own_workflow_findings(context: GitHubContext) -> list[Annotation]:
    """The findings about this run's workflow, as warnings at their lines (an error of ``doctor`` is a
    warning here: the publish itself decides whether the workflow works)."""
    found = running_workflow(context)
    if found is None:
        return []
    workspace, path = found
    action_path = context.action_path or ""
    # `uses: ./` names this action only when the action is the repository being run (its own workflows).
    local = bool(action_path) and os.path.realpath(action_path) == os.path.realpath(workspace)
    # The runner names the repository of the action running this step: under that name it is this action.
    named = [context.action_repository] if context.action_repository else []
    diagnosis = diagnose([path], root=workspace, this_action_local=local, actions=named)
    return [
        Annotation(
            "warning",
            f"Workflow check: {finding.title} [{finding.check}]",
            f"{finding.why} Fix: {finding.fix}",
            finding.file,
            finding.line,
        )
        for finding in diagnosis.findings
    ]


__all__ = ["own_workflow_findings", "running_workflow"]
