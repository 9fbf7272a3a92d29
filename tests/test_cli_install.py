"""The CLI as a user gets it: the built wheel installed into a clean virtual environment (as ``uvx`` and
``pipx run`` do), then ``init`` and ``doctor`` in a scratch repository that knows nothing of this one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_workflow_lint import ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_the_built_wheel_runs_init_and_doctor_in_a_scratch_repository(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is on PATH wherever the tests run (scripts/test installs it)"
    wheels = tmp_path / "wheels"
    _run([uv, "build", "--wheel", "--out-dir", str(wheels), str(ROOT)], cwd=tmp_path)
    (wheel,) = wheels.glob("publish_action-*.whl")
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), str(wheel)], cwd=tmp_path)
    command = venv / "bin" / "publish-action"

    repo = tmp_path / "my-project"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "my-project"\nversion = "0.1.0"\n', encoding="utf-8")
    _run(["git", "init", "-q"], cwd=repo)
    _run(["git", "remote", "add", "origin", "https://github.com/octo-org/my-project.git"], cwd=repo)

    wrote = _run([str(command), "init", "--action-sha", SHA], cwd=repo)
    checked = _run([str(command), "doctor"], cwd=repo)
    help_text = _run([str(python), "-m", "publish_action", "--help"], cwd=repo)

    assert "wrote .github/workflows/publish.yml" in wrote.stdout
    assert (repo / "PUBLISHING.md").is_file()
    assert "no findings in .github/workflows/publish.yml" in checked.stdout
    assert "publish-action init" in help_text.stdout
    # Nothing of a project environment is left in the user's repository.
    assert sorted(path.name for path in repo.iterdir()) == [".git", ".github", "PUBLISHING.md", "pyproject.toml"]
