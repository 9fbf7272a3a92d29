"""The workflow ``publish-action init`` writes, run under ``act`` against the offline world: the build job,
then the TestPyPI job, then the PyPI job, both publishing through Trusted Publishing with attestations.

The workspace is a user's project (tests/projects/hatch_demo) as ``init`` leaves it. What differs from a
run on GitHub, each on purpose and visible below:

- the remote actions the workflow names by commit run from local folders (act's ``--local-repository``):
  this action from a snapshot of this checkout, the artifact actions and setup-uv from tests/e2e/stand-ins;
- the two ``repository-url`` values point at the Warehouse stand-ins (the only edit of the workflow's text);
- act hands every job of the run the same runner variables, so one issuer serves both publish jobs; its
  tokens for audience ``testpypi`` say environment ``testpypi``, those for ``pypi`` say ``pypi``, as
  GitHub's tokens for the two jobs would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from publish_action.workflows import _pins
from publish_action.workflows.doctor import diagnose
from tests.e2e._harness import REPO_ROOT, ActionImage, file_sha256s, run_act, snapshot_action
from tests.helpers import run_action
from tests.peers.seed import github_publisher
from tests.peers.warehouse import PeerError, WarehousePeer, start_peer
from tests.sandbox import GitHubPublisher, OIDCIssuer, Warehouse
from tests.sandbox.oidc_issuer import GitHubClaims

STAND_INS = Path(__file__).resolve().parent / "stand-ins"
PROJECT = REPO_ROOT / "tests" / "projects" / "hatch_demo"
ACTION_SHA = "c0ffee0000000000000000000000000000000001"
REPOSITORY = "octo-org/sandbox-demo"
TAG = "refs/tags/v1.0.0"


@pytest.fixture
def init_world() -> Iterator[tuple[OIDCIssuer, Warehouse, Warehouse]]:
    """One issuer (its claims switched per job), a TestPyPI and a PyPI stand-in, each with the publisher
    PUBLISHING.md tells the user to register: this repository, publish.yml, its environment."""
    claims = GitHubClaims(
        repository=REPOSITORY, workflow="Publish", workflow_file="publish.yml", ref=TAG, ref_type="tag"
    )
    issuer = OIDCIssuer(claims)
    issuer.start()
    indexes = []
    try:
        for audience, environment in (("testpypi", "testpypi"), ("pypi", "pypi")):
            index = Warehouse(issuer, audience=audience)
            index.add_pending_publisher(
                "sandbox-demo", GitHubPublisher(repository=REPOSITORY, workflow="publish.yml", environment=environment)
            )
            index.start()
            indexes.append(index)
        yield issuer, indexes[0], indexes[1]
    finally:
        for index in indexes:
            index.stop()
        issuer.stop()


def _git(cwd: Path, *args: str) -> None:
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _project_with_init(
    dest: Path,
    testpypi_url: str,
    pypi_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("__pycache__", "dist", "*.egg-info"))
    _git(dest, "init", "-q")
    _git(dest, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    run = run_action(monkeypatch, capsys, dest, {}, github=False, argv=["init", "--action-sha", ACTION_SHA])
    assert run.code == 0, run.out
    workflow = dest / ".github" / "workflows" / "publish.yml"
    assert diagnose([workflow], root=dest).findings == []
    text = workflow.read_text(encoding="utf-8")
    # The one edit: the stand-ins' upload URLs instead of TestPyPI's and PyPI's.
    publish_step = f"        uses: org/publish-action@{ACTION_SHA} # v1\n"
    assert text.count("          repository-url: https://test.pypi.org/legacy/\n") == 1
    assert text.endswith(publish_step)
    text = text.replace("https://test.pypi.org/legacy/", testpypi_url)
    text += f"        with:\n          repository-url: {pypi_url}\n"
    workflow.write_text(text, encoding="utf-8")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "publish-action init")
    _git(dest, "tag", "v1.0.0")
    return dest


def _act_args(action: Path, event: Path) -> list[str]:
    pins = {
        _pins.SETUP_UV: STAND_INS / "setup-uv",
        _pins.UPLOAD_ARTIFACT: STAND_INS / "upload-artifact",
        _pins.DOWNLOAD_ARTIFACT: STAND_INS / "download-artifact",
    }
    args = ["--eventpath", str(event), "--local-repository", f"org/publish-action@{ACTION_SHA}={action}"]
    for pin, folder in pins.items():
        args += ["--local-repository", f"{pin.repo}@{pin.sha}={folder}"]
    return args


def test_init_workflow_publishes_to_testpypi_then_pypi_with_attestations(
    action_image: ActionImage,
    init_world: tuple[OIDCIssuer, Warehouse, Warehouse],
    make_sigstore_sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    issuer, testpypi, pypi = init_world
    sigstore = make_sigstore_sandbox(token_keys=issuer.jwks)
    testpypi.attestation_verifier = pypi.attestation_verifier = sigstore.attestation_verifier()
    action = snapshot_action(tmp_path / "action", action_image.source)
    project = _project_with_init(tmp_path / "project", testpypi.upload_url, pypi.upload_url, monkeypatch, capsys)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": TAG, "repository": {"full_name": REPOSITORY}}), encoding="utf-8")
    runner = issuer.env()
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": runner["ACTIONS_ID_TOKEN_REQUEST_URL"],
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": runner["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG": str(sigstore.trust_config_path),
        "E2E_ARTIFACTS": str(artifacts),
    }

    issuer.claims_by_audience = {
        "testpypi": issuer.claims.replace(environment="testpypi"),
        "pypi": issuer.claims.replace(environment="pypi"),
    }

    run = run_act(project, variables={}, env=env, event="push", extra_args=_act_args(action, event))

    assert run.returncode == 0, run.log
    built = sorted(path.name for path in (artifacts / "distributions").iterdir())
    assert built == ["sandbox_demo-1.0.0-py3-none-any.whl", "sandbox_demo-1.0.0.tar.gz"], run.log
    assert f"container mode: {action_image.tag}" in run.log
    jobs = [line.split("]", 1)[0].lstrip("[") for line in run.log.splitlines() if "🏁  Job succeeded" in line]
    assert [job.split("/", 1)[1].strip() for job in jobs] == [
        "Build the sdist and wheels",
        "Publish to TestPyPI",
        "Publish to PyPI",
    ], run.log
    expected = file_sha256s(artifacts / "distributions")
    for index in (testpypi, pypi):
        assert {stored.filename: stored.sha256 for stored in index.files} == expected
        for stored in index.files:
            assert stored.publisher is not None, f"{stored.filename} was not uploaded through Trusted Publishing"
            assert stored.publisher.workflow == "publish.yml"
            assert stored.attestations, f"{stored.filename} was uploaded without attestations"
            assert len(json.loads(stored.attestations)) == 1
    assert {stored.publisher.environment for stored in testpypi.files if stored.publisher} == {"testpypi"}
    assert {stored.publisher.environment for stored in pypi.files if stored.publisher} == {"pypi"}
    secrets = [
        *issuer.issued_tokens,
        *testpypi.minted_tokens,
        *pypi.minted_tokens,
        env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
    ]
    assert all(secret not in run.log for secret in secrets)


@pytest.fixture(scope="module")
def two_peers(docker_engine: None) -> Iterator[tuple[WarehousePeer, WarehousePeer]]:
    """Two real Warehouses, as TestPyPI (audience ``testpypi``) and PyPI (``pypi``) are two of them, each with
    the pending publisher PUBLISHING.md tells the user to register (this repository, publish.yml, the
    job's environment) for a project neither has yet."""
    peers: list[WarehousePeer] = []
    try:
        for audience in ("testpypi", "pypi"):
            peer = start_peer(f"publish-action-warehouse-init-{audience}-{os.getpid()}", audience=audience)
            peers.append(peer)
            claims = GitHubClaims(repository=REPOSITORY, workflow_file="publish.yml", environment=audience)
            peer.seed(
                {
                    "user": {"username": "init-owner", "email": "init-owner@example.org"},
                    "pending": [{**github_publisher(claims), "project": "sandbox-demo"}],
                }
            )
    except PeerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield peers[0], peers[1]
    finally:
        for peer in peers:
            peer.stop()


def test_init_workflow_publishes_to_two_real_warehouses(
    action_image: ActionImage,
    two_peers: tuple[WarehousePeer, WarehousePeer],
    make_sigstore_sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The same run against Warehouse's own code: the pending publishers create the project on each index,
    # the real forklift stores the files, and the integrity API serves their provenance.
    testpypi, pypi = two_peers
    claims = GitHubClaims(
        repository=REPOSITORY, workflow="Publish", workflow_file="publish.yml", ref=TAG, ref_type="tag"
    )
    issuer = OIDCIssuer(claims)
    issuer.start()
    try:
        sigstore = make_sigstore_sandbox(token_keys=issuer.jwks)
        action = snapshot_action(tmp_path / "action", action_image.source)
        project = _project_with_init(tmp_path / "project", testpypi.upload_url, pypi.upload_url, monkeypatch, capsys)
        artifacts = tmp_path / "artifacts"
        artifacts.mkdir()
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"ref": TAG, "repository": {"full_name": REPOSITORY}}), encoding="utf-8")
        runner = issuer.env()
        env = {
            "ACTIONS_ID_TOKEN_REQUEST_URL": runner["ACTIONS_ID_TOKEN_REQUEST_URL"],
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": runner["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
            "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG": str(sigstore.trust_config_path),
            "E2E_ARTIFACTS": str(artifacts),
        }
        issuer.claims_by_audience = {
            "testpypi": issuer.claims.replace(environment="testpypi"),
            "pypi": issuer.claims.replace(environment="pypi"),
        }
        run = run_act(project, variables={}, env=env, event="push", extra_args=_act_args(action, event))
        secrets = [*issuer.issued_tokens, env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]]
    finally:
        issuer.stop()

    assert run.returncode == 0, run.log
    expected = file_sha256s(artifacts / "distributions")
    for peer, environment in ((testpypi, "testpypi"), (pypi, "pypi")):
        assert peer.files("sandbox-demo") == expected, run.log
        for name in expected:
            answer = peer.provenance("sandbox-demo", "1.0.0", name)
            assert answer.status_code == 200, answer.text
            publisher = answer.json()["attestation_bundles"][0]["publisher"]
            assert (publisher["workflow"], publisher["environment"]) == ("publish.yml", environment)
        assert peer.sql("SELECT count(*) FROM pending_oidc_publishers") == [["0"]]
    assert all(secret not in run.log for secret in secrets)
