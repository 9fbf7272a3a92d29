"""The action's image run by hand, exactly as the README shows it: ``docker run`` with ``INPUT_*`` variables.

    docker run --rm --network host --user "$(id -u):$(id -g)" -v "$PWD:$PWD" -w "$PWD" \
      -e INPUT_USER=alice -e INPUT_PASSWORD -e INPUT_REPOSITORY-URL=http://127.0.0.1:8080/ \
      publish-action:local

``--network host`` lets the container reach an index on the host's loopback; ``-e INPUT_PASSWORD`` without a
value passes the variable from the calling shell, so the secret is not on the command line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e._harness import ActionImage, docker_run, file_sha256s, parse_github_output
from tests.fixtures.peers import PypiServerIndex


def _github_files(root: Path) -> tuple[Path, Path]:
    """An empty GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, as the runner creates them before a step."""
    folder = root / "runner-files"
    folder.mkdir()
    output, summary = folder / "output", folder / "summary"
    output.touch()
    summary.touch()
    return output, summary


def test_help_runs(action_image: ActionImage) -> None:
    result = docker_run(action_image.tag, env={}, args=["--help"])
    assert result.returncode == 0, result.stderr
    assert "--repository-url" in result.stdout


def test_image_holds_only_the_venv_and_runs_as_any_user(action_image: ActionImage) -> None:
    """No pip, no build tools in the final stage; an arbitrary uid can start it (action.yml's --user)."""
    probe = subprocess.run(
        [
            "docker", "run", "--rm", "--user", "12345:12345", "--entrypoint", "/bin/sh", action_image.tag,
            "-c", "test ! -e /opt/venv/bin/pip && ! command -v gcc && test ! -e /build && echo clean",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert probe.stdout.strip() == "clean"
    config = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}}", action_image.tag],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(config.stdout) == ["/opt/venv/bin/python", "-m", "publish_action"]


def test_token_upload_to_pypiserver(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    output, summary = _github_files(tmp_path)
    env = {
        "INPUT_USER": pypiserver.username,
        "INPUT_PASSWORD": pypiserver.password,
        "INPUT_REPOSITORY-URL": pypiserver.upload_url,
        "INPUT_PACKAGES-DIR": hatch_dists.name,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    result = docker_run(action_image.tag, env=env, mounts=[tmp_path], workdir=tmp_path)

    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    local = file_sha256s(hatch_dists)
    assert pypiserver.sha256s() == local
    outputs = parse_github_output(output.read_text(encoding="utf-8"))
    assert sorted(json.loads(outputs["uploaded"])) == sorted(local)
    assert json.loads(outputs["failed"]) == []
    assert "sandbox_demo-1.0.0.tar.gz" in summary.read_text(encoding="utf-8")
    assert pypiserver.password not in log
    assert pypiserver.password not in output.read_text(encoding="utf-8")


def test_dry_run_uploads_nothing(
    action_image: ActionImage, pypiserver: PypiServerIndex, hatch_dists: Path, tmp_path: Path
) -> None:
    output, _ = _github_files(tmp_path)
    env = {
        "INPUT_USER": pypiserver.username,
        "INPUT_PASSWORD": pypiserver.password,
        "INPUT_REPOSITORY-URL": pypiserver.upload_url,
        "INPUT_PACKAGES-DIR": str(hatch_dists),
        "INPUT_DRY-RUN": "true",
        "GITHUB_OUTPUT": str(output),
    }
    result = docker_run(action_image.tag, env=env, mounts=[tmp_path], workdir=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert pypiserver.sha256s() == {}
    assert json.loads(parse_github_output(output.read_text(encoding="utf-8"))["uploaded"]) == []


def test_bad_input_exit_code_passes_through(action_image: ActionImage, tmp_path: Path) -> None:
    """The container's exit code is the program's: 2 for a settings error, naming the input."""
    result = docker_run(action_image.tag, env={"INPUT_SKIP-EXISTING": "maybe"}, mounts=[tmp_path], workdir=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "skip-existing" in result.stdout + result.stderr
