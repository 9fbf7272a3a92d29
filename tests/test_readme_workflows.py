"""Every GitHub workflow the README and docs/ show passes ``doctor``: a full workflow as written, a block of
steps inside the README's release job. The one placeholder, this action's commit (which ``init`` looks
up), becomes a 40-character SHA; every other action must already be pinned as ``init`` pins it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from publish_action.workflows.doctor import diagnose
from tests.test_workflow_lint import ROOT

_BLOCK = re.compile(r"```yaml\n(?P<yaml>.*?)```", re.DOTALL)
PLACEHOLDER = "<commit SHA of v1>"
SHA = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for number, match in enumerate(_BLOCK.finditer(page.read_text(encoding="utf-8")), start=1):
            found.append((f"{page.relative_to(ROOT)}#{number}", match["yaml"].replace(PLACEHOLDER, SHA)))
    return found


def _github_kind(text: str) -> str | None:
    """``workflow``, ``steps`` or None (a GitLab job, or not a workflow at all)."""
    data: Any = yaml.safe_load(text)
    if isinstance(data, dict) and isinstance(data.get("jobs"), dict):
        return "workflow"
    if (
        isinstance(data, list)
        and data
        and all(isinstance(step, dict) and ("uses" in step or "run" in step) for step in data)
    ):
        return "steps"
    return None


def _release_workflow() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return next(
        match["yaml"].replace(PLACEHOLDER, SHA)
        for match in _BLOCK.finditer(readme)
        if _github_kind(match["yaml"]) == "workflow"
    )


BLOCKS = [(name, text) for name, text in _blocks() if _github_kind(text) is not None]


def test_the_pages_show_workflows_at_all() -> None:
    assert len(BLOCKS) >= 3, BLOCKS


@pytest.mark.parametrize(("name", "text"), BLOCKS, ids=[name for name, _text in BLOCKS])
def test_every_workflow_the_docs_show_passes_doctor(name: str, text: str, tmp_path: Path) -> None:
    if _github_kind(text) == "steps":
        workflow = yaml.safe_load(_release_workflow())
        job = workflow["jobs"]["pypi"]
        steps = yaml.safe_load(text)
        job["steps"] = job["steps"][:1] + steps
        if any("password" in (step.get("with") or {}) for step in steps):
            # A stored credential belongs in a job that cannot get an OIDC token, as the page says.
            job["permissions"] = {"contents": "read"}
        text = yaml.safe_dump(workflow, sort_keys=False)
    path = tmp_path / ".github" / "workflows" / "publish.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")

    diagnosis = diagnose([path], root=tmp_path)

    assert diagnosis.publishing, f"{name}: doctor sees no publishing step"
    assert diagnosis.errors == [], f"{name}:\n" + "\n".join(f"{e.check}: {e.title}" for e in diagnosis.errors)
