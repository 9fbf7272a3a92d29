"""Our real action.yml under ``act``: ``uses: ./`` in a workflow, steps on this host (``-self-hosted``).

On the host the composite action does what it does on a GitHub-hosted Linux runner: it finds the Docker
engine, looks for the image (here the one the session built, found by its content key, because the
unreleased image-digest.txt names none), mounts the workspace and the runner's files at the same paths, and
runs it. The outputs the workflow reads come back through GITHUB_OUTPUT; the workflow echoes them as
``E2E-OUTPUT name=value`` lines, which is what these tests assert.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e._harness import ActionImage, file_sha256s, make_workspace, run_act
from tests.fixtures.peers import PypiServerIndex


def _token_vars(index: PypiServerIndex, **extra: str) -> dict[str, str]:
    return {
        "E2E_USER": index.username,
        "E2E_REPOSITORY_URL": index.upload_url,
        "E2E_PACKAGES_DIR": "dist",
        **extra,
    }


def test_container_mode_token_publish_then_skip_existing(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists)
    secrets = {"E2E_PASSWORD": pypiserver.password}

    first = run_act(workspace, variables=_token_vars(pypiserver), secrets=secrets)

    assert first.returncode == 0, first.log
    assert f"container mode: {action_image.tag}" in first.log
    assert first.outputs["outcome"] == "success"
    assert sorted(first.json_output("uploaded")) == [p.name for p in dists]
    assert first.json_output("skipped") == []
    assert first.json_output("failed") == []
    assert pypiserver.sha256s() == file_sha256s(hatch_dists)
    assert pypiserver.password not in first.log

    again = run_act(workspace, variables=_token_vars(pypiserver, E2E_SKIP_EXISTING="true"), secrets=secrets)

    assert again.returncode == 0, again.log
    assert again.json_output("uploaded") == []
    assert sorted(again.json_output("skipped")) == [p.name for p in dists]


def test_container_mode_failure_is_the_step_outcome(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """A wrong password fails the step (exit code through docker and the composite) and says which files."""
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists)

    run = run_act(workspace, variables=_token_vars(pypiserver), secrets={"E2E_PASSWORD": "not-the-password"})

    assert run.returncode != 0, run.log
    assert run.outputs["outcome"] == "failure"
    assert pypiserver.sha256s() == {}


def test_unpullable_released_image_falls_back_to_building(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """A release commit whose image cannot be pulled still publishes: warning, then the local build path.

    The registry is a closed port on loopback, so the pull fails at once and nothing leaves the machine.
    """
    dists = sorted(hatch_dists.iterdir())
    pinned = "127.0.0.1:9/publish-action@sha256:" + "0" * 64
    workspace = make_workspace(
        tmp_path / "repo", action_image, "publish.yml", dists, image_digest=f"# released\n{pinned}\n"
    )

    run = run_act(workspace, variables=_token_vars(pypiserver), secrets={"E2E_PASSWORD": pypiserver.password})

    assert run.returncode == 0, run.log
    assert f"could not pull {pinned}" in run.log
    assert f"container mode: {action_image.tag}" in run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]


def test_malformed_image_digest_file_stops_the_step(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """A digest file naming an image by tag is refused, never pulled: a tag can move under a release."""
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(
        tmp_path / "repo", action_image, "publish.yml", dists, image_digest="ghcr.io/example/publish-action:v1\n"
    )

    run = run_act(workspace, variables=_token_vars(pypiserver), secrets={"E2E_PASSWORD": pypiserver.password})

    assert run.returncode != 0, run.log
    assert "not an image reference pinned by digest" in run.log
    assert run.outputs["outcome"] == "failure"
    assert pypiserver.sha256s() == {}


def test_packages_dir_outside_the_workspace_is_mounted(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """An absolute packages-dir elsewhere on the runner reaches the container too."""
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", [])

    run = run_act(
        workspace,
        variables=_token_vars(pypiserver, E2E_PACKAGES_DIR=str(hatch_dists)),
        secrets={"E2E_PASSWORD": pypiserver.password},
    )

    assert run.returncode == 0, run.log
    assert f"container mode: {action_image.tag}" in run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]


def test_deprecated_input_spellings_still_work(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """repository_url / packages_dir reach the program when the new spellings are not given."""
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists, folder="wheelhouse")
    variables = {
        "E2E_USER": pypiserver.username,
        "E2E_REPOSITORY_URL_ALIAS": pypiserver.upload_url,
        "E2E_PACKAGES_DIR_ALIAS": "wheelhouse",
    }

    run = run_act(workspace, variables=variables, secrets={"E2E_PASSWORD": pypiserver.password})

    assert run.returncode == 0, run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]
    assert pypiserver.sha256s() == file_sha256s(hatch_dists)


def test_native_mode_token_publish(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """PUBLISH_ACTION_MODE=native: a hash-locked venv in RUNNER_TEMP instead of the image (macOS/Windows path)."""
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists)

    run = run_act(
        workspace,
        variables=_token_vars(pypiserver, E2E_MODE="native"),
        secrets={"E2E_PASSWORD": pypiserver.password},
    )

    assert run.returncode == 0, run.log
    assert "native mode: installing into" in run.log
    # The locked set went in through uv (its binary taken straight out of its hash-pinned wheel), not the pip
    # fallbacks.
    assert "could not install the locked set" not in run.log
    assert "could not be fetched directly" not in run.log
    assert "container mode" not in run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]
    assert pypiserver.sha256s() == file_sha256s(hatch_dists)


def test_native_mode_falls_back_to_pip_when_the_installer_wheel_is_refused(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    """A uv wheel whose hash the lock does not pin is refused (nothing unpinned runs); the locked set is
    then installed with pip, and the log says so."""
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists)
    lock = workspace / "installer.lock"
    lock.write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, lock.read_text(encoding="utf-8")))

    run = run_act(
        workspace,
        variables=_token_vars(pypiserver, E2E_MODE="native"),
        secrets={"E2E_PASSWORD": pypiserver.password},
    )

    assert run.returncode == 0, run.log
    assert "uv's pinned wheel could not be fetched directly; installing it with pip" in run.log
    assert "no pinned uv 0.13.9 wheel fits" in run.log
    assert "the fast installer (uv) could not install the locked set; installing with pip" in run.log
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]
    assert pypiserver.sha256s() == file_sha256s(hatch_dists)
