"""The release pipeline (.github/workflows/release.yml) under ``act``, offline, end to end; then a user's
workflow that pins the resulting ``@v1`` and publishes through the pushed image, pulled by digest.

The world around the run, each piece standing where GitHub's would:

- a copy of this repository at version 1.0.0 (pyproject.toml and CHANGELOG.md's dated section as a
  maintainer would commit them), with ``origin`` a bare repository: the maintainer pushes ``main`` and the
  tag ``v1.0.0``; the workflow's push to ``https://github.com/octo-org/publish-action.git`` reaches that
  bare repository through a git ``insteadOf`` rule (``GIT_CONFIG_GLOBAL``);
- Debian's distribution registry (``docker-registry``) on loopback as GHCR (``vars.IMAGE_REGISTRY``);
- the GitHub releases stand-in (tests/sandbox/github_releases.py) as ``GITHUB_API_URL``;
- the real Warehouse (a peer of its own, as PyPI) with the pending publisher a maintainer registers for the
  project's first release: this repository, release.yml, environment ``pypi`` (``vars.PYPI_UPLOAD_URL``);
- the loopback OIDC issuer and Sigstore for Trusted Publishing and the attestations;
- the remote actions from tests/e2e/stand-ins (act's ``--local-repository``); each says what it leaves out.
  Only the runner's own platform is built: no emulator for arm64 can be fetched offline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from publish_action.workflows import _pins
from tests.e2e._harness import ACTION_FILES, REPO_ROOT, ActionImage, ActRun, run_act
from tests.peers.seed import github_publisher
from tests.peers.warehouse import PeerError, WarehousePeer, start_peer
from tests.sandbox.github_releases import GitHubReleases
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.warehouse import Warehouse

STAND_INS = Path(__file__).resolve().parent / "stand-ins"
REPOSITORY = "octo-org/publish-action"
VERSION = "1.0.0"
TAG = f"v{VERSION}"
PROJECT = "publish-action"
RELEASE_DATE = "2026-12-07"
#: The remote actions release.yml names, by the pins it names them with, and the stand-ins that run instead.
RELEASE_ACTIONS = {
    "docker/setup-qemu-action@96fe6ef7f33517b61c61be40b68a1882f3264fb8": "docker-setup-qemu",
    "docker/setup-buildx-action@37fe631027851001ddb9b187196cc803df7f5f0e": "docker-setup-buildx",
    "docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121": "docker-login",
    "docker/build-push-action@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a": "docker-build-push",
    "actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32": "attest-build-provenance",
    f"{_pins.SETUP_UV.repo}@{_pins.SETUP_UV.sha}": "setup-uv",
    f"{_pins.UPLOAD_ARTIFACT.repo}@{_pins.UPLOAD_ARTIFACT.sha}": "upload-artifact",
    f"{_pins.DOWNLOAD_ARTIFACT.repo}@{_pins.DOWNLOAD_ARTIFACT.sha}": "download-artifact",
}
#: What a release commit holds besides the action: the release script, the changelog and the workflow.
RELEASE_FILES = ("scripts/release.py", "CHANGELOG.md", ".github/workflows/release.yml", "SECURITY.md")
BASE_IMAGE = os.environ.get("PUBLISH_ACTION_BASE_IMAGE", "publish-action-base:local")


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    git = ["git", "-c", "user.name=Maintainer", "-c", "user.email=maintainer@example.org"]
    done = subprocess.run([*git, *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60, env=env)
    return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Registry:
    host: str
    log: Path

    def manifest(self, repository: str, reference: str) -> httpx.Response:
        return httpx.get(
            f"http://{self.host}/v2/{repository}/manifests/{reference}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=30,
        )


@pytest.fixture
def registry(docker_engine: None, tmp_path: Path) -> Iterator[Registry]:
    """Debian's distribution registry on a loopback port, storing in ``tmp_path``."""
    binary = shutil.which("docker-registry")
    assert binary is not None, "docker-registry is missing: scripts/e2e-setup installs it (Debian's docker-registry)"
    port = _free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'registry-data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    log = tmp_path / "registry.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        yield Registry(f"127.0.0.1:{port}", log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def pypi(docker_engine: None) -> Iterator[WarehousePeer]:
    """A Warehouse of its own as PyPI, where the project does not exist yet: the maintainer registered a
    pending publisher for its first release (this repository, release.yml, environment ``pypi``)."""
    try:
        peer = start_peer(f"publish-action-warehouse-release-{os.getpid()}", audience="pypi")
    except PeerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        claims = GitHubClaims(repository=REPOSITORY, workflow_file="release.yml", environment="pypi")
        peer.seed(
            {
                "user": {"username": "release-owner", "email": "release-owner@example.org", "token": True},
                "pending": [{**github_publisher(claims), "project": PROJECT}],
            }
        )
        yield peer
    finally:
        peer.stop()


def _release_checkout(dest: Path) -> Path:
    """This repository's action and release files at version 1.0.0, committed as a maintainer would."""
    for name in (*ACTION_FILES, *RELEASE_FILES):
        source = REPO_ROOT / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    pyproject = dest / "pyproject.toml"
    text, count = re.subn(r'(?m)^version = "[^"]+"$', f'version = "{VERSION}"', pyproject.read_text("utf-8"))
    assert count == 1
    pyproject.write_text(text, encoding="utf-8")
    changelog = dest / "CHANGELOG.md"
    text = changelog.read_text("utf-8")
    assert "## [Unreleased]\n" in text
    changelog.write_text(text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n## [{VERSION}] - {RELEASE_DATE}\n", 1))
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", f"Version {VERSION}")
    _git(dest, "tag", "-a", TAG, "-m", f"publish-action {TAG}")
    return dest


def _tag_commit(bare: Path, tag: str) -> str:
    return _git(bare, "rev-parse", f"{tag}^{{commit}}")


def test_release_pipeline_then_a_workflow_pinned_to_v1(
    action_image: ActionImage,
    registry: Registry,
    pypi: WarehousePeer,
    make_sigstore_sandbox,
    hatch_dists: Path,
    tmp_path: Path,
) -> None:
    # The maintainer's side: the repository, its origin, and the pushed tag.
    checkout = _release_checkout(tmp_path / "publish-action")
    tagged = _git(checkout, "rev-parse", "HEAD")
    bare = tmp_path / "origin.git"
    _git(tmp_path, "init", "-q", "--bare", str(bare))
    _git(checkout, "push", "-q", str(bare), "main", f"refs/tags/{TAG}")
    git_config = tmp_path / "gitconfig"
    git_config.write_text(f'[url "{bare}"]\n\tinsteadOf = https://github.com/{REPOSITORY}.git\n', encoding="utf-8")
    token = "ghs_" + os.urandom(18).hex()
    github = GitHubReleases(REPOSITORY, token, lambda tag: _git(bare, "tag", "--list", tag) == tag)
    github.start()
    claims = GitHubClaims(
        repository=REPOSITORY,
        workflow="Release",
        workflow_file="release.yml",
        ref=f"refs/tags/{TAG}",
        ref_type="tag",
        sha=tagged,
        environment="pypi",
    )
    issuer = OIDCIssuer(claims)
    issuer.start()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": f"refs/tags/{TAG}", "repository": {"full_name": REPOSITORY}}), "utf-8")
    try:
        sigstore = make_sigstore_sandbox(token_keys=issuer.jwks)
        runner = issuer.env()
        env = {
            "ACTIONS_ID_TOKEN_REQUEST_URL": runner["ACTIONS_ID_TOKEN_REQUEST_URL"],
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": runner["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
            "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG": str(sigstore.trust_config_path),
            "GITHUB_API_URL": github.api_url,
            "GIT_CONFIG_GLOBAL": str(git_config),
            "E2E_ARTIFACTS": str(artifacts),
            "E2E_BASE_IMAGE": BASE_IMAGE,
        }
        args = ["--eventpath", str(event)]
        for uses, folder in RELEASE_ACTIONS.items():
            args += ["--local-repository", f"{uses}={STAND_INS / folder}"]

        def release() -> ActRun:
            return run_act(
                checkout,
                variables={"IMAGE_REGISTRY": registry.host, "PYPI_UPLOAD_URL": pypi.upload_url},
                secrets={"GITHUB_TOKEN": token},
                env=env,
                event="push",
                extra_args=args,
            )

        run = release()
        stored_first = pypi.files(PROJECT)
        # Run again, as a maintainer re-runs a release: nothing is made twice, and it still succeeds.
        again = release()
        secrets = [*issuer.issued_tokens, env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], token]
    finally:
        issuer.stop()
        github.stop()

    assert run.returncode == 0, run.log
    jobs = [line.split("]", 1)[0].lstrip("[") for line in run.log.splitlines() if "🏁  Job succeeded" in line]
    assert sorted(job.split("/", 1)[1].strip() for job in jobs) == sorted(
        [
            "Check the tag",
            "Build, push and attest the image",
            "Release commit, tags and GitHub release",
            "Build the CLI's wheel and sdist",
            "Publish the CLI to PyPI with this release",
        ]
    ), run.log
    assert all(secret not in run.log for secret in secrets)

    # The re-run: one GitHub release, left as it was; PyPI's files skipped as held byte for byte; the tags on a
    # release commit of the same shape (the tagged commit plus image-digest.txt).
    assert again.returncode == 0, again.log
    assert "made by an earlier run; left as it is" in again.log
    skipped = '::set-output:: skipped=["publish_action-1.0.0-py3-none-any.whl", "publish_action-1.0.0.tar.gz"]'
    assert skipped in again.log, again.log
    assert all(secret not in again.log for secret in secrets)

    # The image: in the registry, by the digest the release commit names.
    image = f"{registry.host}/{REPOSITORY}"
    released = _tag_commit(bare, TAG)
    assert _git(bare, "rev-parse", f"{released}^") == tagged, "the release commit is the tagged commit's child"
    assert _tag_commit(bare, "v1") == released
    digest_line = [
        line for line in _git(bare, "show", f"{released}:image-digest.txt").splitlines() if not line.startswith("#")
    ]
    assert len(digest_line) == 1 and digest_line[0].startswith(f"{image}@sha256:"), digest_line
    reference = digest_line[0]
    digest = reference.split("@", 1)[1]
    assert registry.manifest(REPOSITORY, digest).status_code == 200
    assert registry.manifest(REPOSITORY, VERSION).headers.get("Docker-Content-Digest") == digest
    # Only image-digest.txt differs from what the maintainer tagged.
    assert _git(bare, "diff", "--name-only", tagged, released) == "image-digest.txt"

    # The GitHub release, with the changelog's notes for the version.
    assert [(r.tag_name, r.name) for r in github.releases] == [(TAG, TAG)]
    notes = subprocess.run(
        ["python3", "scripts/release.py", "notes", VERSION], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout
    assert github.releases[0].body == notes and "### Added" in notes

    # The CLI on PyPI (the real Warehouse), published by this very release's image, with provenance.
    assert f"container mode: {reference}" in run.log, run.log
    built = sorted(path.name for path in (artifacts / "dist").iterdir())
    assert built == ["publish_action-1.0.0-py3-none-any.whl", "publish_action-1.0.0.tar.gz"], built
    stored = pypi.files(PROJECT)
    assert sorted(stored) == built
    assert stored == stored_first
    for name in built:
        answer = pypi.provenance(PROJECT, VERSION, name)
        assert answer.status_code == 200, answer.text
        publisher = answer.json()["attestation_bundles"][0]["publisher"]
        assert (publisher["repository"], publisher["workflow"]) == (REPOSITORY, "release.yml")

    # The CLI in one line, from the index it was released to (its dependencies from PyPI, as uv looks
    # through the indexes in order).
    uvx = shutil.which("uvx")
    assert uvx is not None, "uv is on PATH wherever the tests run (scripts/test installs it)"
    cli = subprocess.run(
        [uvx, "--no-cache", "--index", pypi.simple_url, "--from", f"{PROJECT}=={VERSION}", PROJECT, "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "init" in cli.stdout and "doctor" in cli.stdout, cli.stdout

    # A user's workflow pinned to @v1: the image is pulled by digest from the registry, not built.
    for tag in (f"{image}:{VERSION}", f"{image}:sha-{tagged}"):
        subprocess.run(["docker", "rmi", tag], capture_output=True, timeout=60, check=False)
    assert subprocess.run(["docker", "image", "inspect", reference], capture_output=True, check=False).returncode != 0
    pulls_before = registry.log.read_text(errors="replace").count(f"/manifests/{digest}")
    v1 = tmp_path / "publish-action-at-v1"
    _git(tmp_path, "clone", "-q", "--branch", "v1", str(bare), str(v1))
    user = _user_repository(tmp_path / "user", hatch_dists)
    index = Warehouse()  # the user's index, with an account-wide API token
    user_token = index.add_api_token("user")
    index.start()
    try:
        used = run_act(
            user,
            variables={"E2E_REPOSITORY_URL": index.upload_url},
            secrets={"E2E_PASSWORD": user_token},
            event="workflow_dispatch",
            extra_args=["--local-repository", f"{REPOSITORY}@v1={v1}"],
        )
    finally:
        index.stop()
    assert used.returncode == 0, used.log
    assert f"container mode: {reference}" in used.log, used.log
    assert "building publish-action:build-" not in used.log
    assert registry.log.read_text(errors="replace").count(f"/manifests/{digest}") > pulls_before
    assert sorted(stored_file.filename for stored_file in index.files) == sorted(p.name for p in hatch_dists.iterdir())


_USER_WORKFLOW = f"""\
name: user release
on: workflow_dispatch
permissions: {{}}
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: read # check out the distributions
    steps:
      - uses: {_pins.CHECKOUT.uses()}
        with:
          persist-credentials: false
      - uses: {REPOSITORY}@v1
        with:
          repository-url: ${{{{ vars.E2E_REPOSITORY_URL }}}}
          password: ${{{{ secrets.E2E_PASSWORD }}}}
          attestations: false
"""


def _user_repository(dest: Path, dists: Path) -> Path:
    (dest / ".github" / "workflows").mkdir(parents=True)
    (dest / ".github" / "workflows" / "release.yml").write_text(_USER_WORKFLOW, encoding="utf-8")
    shutil.copytree(dists, dest / "dist")
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "dist")
    return dest
