"""``doctor`` on the workflow that is running the action: its findings become warnings of the run.

The runner names the workflow in ``GITHUB_WORKFLOW_REF`` (``owner/repo/.github/workflows/file.yml@ref``);
when that file is in the workspace (the job checked the repository out), it is checked like ``doctor``
would. Nothing here may fail a publish: the caller logs and drops any exception.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from publish_action.report import Annotation
from publish_action.workflows.doctor import diagnose

_WORKFLOW_PATH = re.compile(r"^[^/]+/[^/]+/(?P<path>\.github/workflows/.+?\.ya?ml)@")


def running_workflow(environ: Mapping[str, str]) -> tuple[Path, Path] | None:
    """(workspace, workflow file) of this run, when the file is in the workspace."""
    ref = environ.get("GITHUB_WORKFLOW_REF", "")
    workspace = environ.get("GITHUB_WORKSPACE", "")
    match = _WORKFLOW_PATH.match(ref)
    if match is None or not workspace:
        return None
    path = Path(workspace) / match["path"]
    return (Path(workspace), path) if path.is_file() else None


def own_workflow_findings(environ: Mapping[str, str]) -> list[Annotation]:
    """The findings about this run's workflow, as warnings at their lines (an error of ``doctor`` is a
    warning here: the publish itself decides whether the workflow works)."""
    found = running_workflow(environ)
    if found is None:
        return []
    workspace, path = found
    action_path = environ.get("GITHUB_ACTION_PATH", "")
    # `uses: ./` names this action only when the action is the repository being run (its own workflows).
    local = bool(action_path) and os.path.realpath(action_path) == os.path.realpath(workspace)
    # The runner names the repository of the action running this step: under that name it is this action.
    named = [environ["GITHUB_ACTION_REPOSITORY"]] if environ.get("GITHUB_ACTION_REPOSITORY") else []
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
