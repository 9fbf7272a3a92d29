"""Fixtures for the conformance tests: real distributions built once per session with ``python -m build``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_NAME = "sandbox-demo"

_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
description = "A tiny project built by the conformance tests."
requires-python = ">=3.10"

[tool.hatch.build.targets.wheel]
packages = ["src/sandbox_demo"]
"""


def build_dists(workdir: Path, *, version: str = "1.0.0", body: str = "VALUE = 1\n") -> list[Path]:
    """Build a wheel and an sdist of a tiny hatchling project (offline: ``--no-isolation``)."""
    project = workdir / "project"
    (project / "src" / "sandbox_demo").mkdir(parents=True)
    (project / "pyproject.toml").write_text(_PYPROJECT.format(name=PROJECT_NAME, version=version))
    (project / "src" / "sandbox_demo" / "__init__.py").write_text(body)
    outdir = workdir / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(project)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dists = sorted(outdir.iterdir())
    assert sorted(p.suffix for p in dists) == [".gz", ".whl"], dists
    return dists


@pytest.fixture(scope="session")
def _built(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_dists(tmp_path_factory.mktemp("conformance-build"))


@pytest.fixture
def dists(_built: list[Path], tmp_path: Path) -> list[Path]:
    """A fresh copy of the session's built wheel and sdist."""
    dest = tmp_path / "dist"
    dest.mkdir()
    return [Path(shutil.copy2(p, dest / p.name)) for p in _built]
