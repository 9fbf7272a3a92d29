"""A publish step that replaces ``PATH`` in its ``env:`` (issue 9, "a runner environment that is not clean").

Some workflows give a step a PATH without the system folders. On GitHub the runner finds ``bash`` on its own
PATH and hands the step's PATH to the script, so action.yml must rebuild a sane PATH itself: the mode
detection must still find Docker (rather than wrongly report that no engine answers), and native mode must
still find Python. Each mode publishes to a fresh pypiserver with a nonsense PATH on the step.

``act`` differs from the runner in one way: it looks ``bash`` up on the step's PATH (a bare ``/nonexistent``
ends in "Cannot find: bash in PATH" before any of our code runs). The step's PATH is therefore a folder that
does not exist followed by one that holds nothing but a link to ``bash``: the script starts, as it would on
GitHub, and then finds neither Docker, Python nor any other tool through the PATH it was given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e._harness import ActionImage, file_sha256s, make_workspace, run_act
from tests.fixtures.peers import PypiServerIndex

WORKFLOW = "publish-step-path.yml"
NONSENSE_FOLDER = "/nonexistent"


def _bash_only_folder(dest: Path) -> Path:
    """A folder holding only a link to this host's bash: what act needs to start the step, and nothing else."""
    bash = shutil.which("bash")
    assert bash is not None, "bash is not on this host's PATH"
    dest.mkdir()
    (dest / "bash").symlink_to(Path(bash).resolve())
    return dest


@pytest.mark.parametrize(
    ("forced", "expected"),
    [
        pytest.param("", "container", id="auto"),
        pytest.param("container", "container", id="container"),
        pytest.param("native", "native", id="native"),
    ],
)
def test_step_path_without_system_folders_still_publishes(
    forced: str,
    expected: str,
    action_image: ActionImage,
    pypiserver: PypiServerIndex,
    hatch_dists: Path,
    tmp_path: Path,
) -> None:
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, WORKFLOW, dists)
    step_path = f"{NONSENSE_FOLDER}:{_bash_only_folder(tmp_path / 'only-bash')}"
    variables = {
        "E2E_USER": pypiserver.username,
        "E2E_REPOSITORY_URL": pypiserver.upload_url,
        "E2E_MODE": forced,
        "E2E_STEP_PATH": step_path,
    }

    run = run_act(workspace, variables=variables, secrets={"E2E_PASSWORD": pypiserver.password})

    assert run.returncode == 0, run.log
    # The step was given the nonsense PATH (so this run tests something), and the action said what it added.
    assert f"PATH {step_path} lacked " in run.log, run.log
    if expected == "container":
        assert f"container mode: {action_image.tag}" in run.log, run.log
        assert "no Docker engine answers" not in run.log
    else:
        assert "native mode: installing into" in run.log, run.log
        assert "container mode" not in run.log
    assert run.outputs["outcome"] == "success"
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]
    assert run.json_output("failed") == []
    assert pypiserver.sha256s() == file_sha256s(hatch_dists)
