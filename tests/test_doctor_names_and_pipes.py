"""``doctor`` where users meet it: this action under any name (the marker ``init`` writes, ``--action``, the
runner's own name for it), findings worded for the job they name, no traceback on a closed pipe, and a
``--help`` that lists the commands."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from publish_action.__main__ import CLOSED_PIPE, main
from publish_action.identity.github import GitHubContext
from publish_action.workflows._model import STEP_MARKER
from publish_action.workflows.doctor import diagnose
from publish_action.workflows.selfcheck import own_workflow_findings
from tests.test_init import SHA, WORKFLOW, _init, project  # noqa: F401 - the fixture

RENAMED = "mycorp/pypi-release"

#: A publishing job that runs this action under another name, without `id-token: write`.
_RENAMED_WORKFLOW = f"""\
on:
  push:
    tags: ["v*"]
permissions: {{}}
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      contents: read
    steps:
      - uses: {RENAMED}@{SHA} # v2
"""


def _workflow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".github" / "workflows" / "release.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_workflow_init_wrote_for_a_renamed_action_is_recognised(
    project: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _init(capsys, "--action", f"{RENAMED}@v2")[0] == 0
    text = (project / WORKFLOW).read_text()
    assert text.count(STEP_MARKER) == 2 and f"uses: {RENAMED}@{SHA} # v2" in text

    diagnosis = diagnose([project / WORKFLOW], root=project)

    assert diagnosis.publishing == [".github/workflows/publish.yml"], "doctor found no publishing workflow"
    assert diagnosis.findings == []
    # Without the marker the same workflow is not this action's: the marker is what says so.
    (project / WORKFLOW).write_text(text.replace(STEP_MARKER, "# a step"))
    assert diagnose([project / WORKFLOW], root=project).publishing == []


def test_a_hand_written_workflow_is_recognised_with_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _workflow(tmp_path, _RENAMED_WORKFLOW)
    assert diagnose([path], root=tmp_path).publishing == []

    diagnosis = diagnose([path], root=tmp_path, actions=[RENAMED])

    assert diagnosis.publishing == [".github/workflows/release.yml"]
    assert {finding.check for finding in diagnosis.findings} == {"id-token-missing"}
    assert main(["doctor", "--root", str(tmp_path), "--action", RENAMED]) == 8
    assert "id-token" in capsys.readouterr().out


def test_the_running_action_is_known_by_the_name_the_runner_gives_it(tmp_path: Path) -> None:
    _workflow(tmp_path, _RENAMED_WORKFLOW)
    environ = {
        "GITHUB_WORKFLOW_REF": "octo-org/sandbox-demo/.github/workflows/release.yml@refs/tags/v1",
        "GITHUB_WORKSPACE": str(tmp_path),
    }
    assert own_workflow_findings(GitHubContext.from_environ(environ)) == []
    found = own_workflow_findings(GitHubContext.from_environ({**environ, "GITHUB_ACTION_REPOSITORY": RENAMED}))
    assert [annotation.title for annotation in found if "id-token" in annotation.title]


def test_an_unpinned_action_in_a_publishing_job_without_id_token_is_worded_for_that_job(tmp_path: Path) -> None:
    path = _workflow(
        tmp_path,
        """\
        on:
          push:
            tags: ["v*"]
        permissions: {}
        jobs:
          publish:
            runs-on: ubuntu-latest
            environment: pypi
            permissions:
              contents: read
            steps:
              - uses: actions/setup-python@v5
              - run: twine upload dist/*
                env:
                  TWINE_PASSWORD: ${{ secrets.PYPI_TOKEN }}
        """,
    )
    (unpinned,) = [
        finding for finding in diagnose([path], root=tmp_path).findings if finding.check == "unpinned-action"
    ]
    assert "OIDC token" not in unpinned.why
    assert "in a job that publishes" in unpinned.why


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "publish-action init [options]" in out and "publish-action doctor [options]" in out
    assert "\n  init " in out and "\n  doctor " in out


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["init", "--check", "--project", "demo", "--repository", "octo-org/demo", "--action-sha", SHA], CLOSED_PIPE),
        (["doctor", "--root", "."], CLOSED_PIPE),
        (["--help"], 0),  # argparse drops what it cannot write and exits as it would
    ],
    ids=["init", "doctor", "help"],
)
def test_a_closed_pipe_ends_quietly(command: list[str], code: int, tmp_path: Path) -> None:
    # `… | head -1` that has already exited: every write finds the pipe closed.
    _workflow(tmp_path, _RENAMED_WORKFLOW.replace(RENAMED, "org/publish-action"))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "publish_action", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == code, done.stderr
