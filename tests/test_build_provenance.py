"""``build-provenance``: an SLSA Provenance v1 attestation of the workflow run beside each file's publish
attestation, signed by the same identity, verified before any upload, and checked by the Warehouse stand-in
as Warehouse checks a second attestation (pypi-attestations' own verification; one per predicate type)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from publish_action.attestations.slsa import GITHUB_WORKFLOW_BUILD_TYPE, SLSA_PREDICATE
from publish_action.errors import ExitCode
from tests.fixtures.dists import DistCache
from tests.fixtures.twine_client import TWINE
from tests.helpers import Run, run_in_world
from tests.sandbox import GitHubPublisher, Warehouse
from tests.sandbox.world import World, offline_world

pytestmark = pytest.mark.sandbox

PUBLISH = "https://docs.pypi.org/attestations/publish/v1"


def _run(world: World, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **inputs: str) -> Run:  # fmt: skip
    return run_in_world(world, monkeypatch, capsys, workdir, **inputs)


def _statement(attestation: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = json.loads(base64.b64decode(attestation["envelope"]["statement"]))
    return statement


def test_every_file_carries_a_publish_attestation_and_its_build_provenance(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]

    run = _run(world, tmp_path, monkeypatch, capsys, build_provenance="true", verify_published="true")

    assert run.code == ExitCode.OK, run.out
    claims = world.issuer.claims
    for stored in world.warehouse.files:
        # The stand-in verified both (against the loopback Sigstore and this publisher) before storing them.
        sent = json.loads(stored.attestations or "[]")
        assert [_statement(item)["predicateType"] for item in sent] == [PUBLISH, SLSA_PREDICATE]
        statement = _statement(sent[1])
        assert statement["subject"] == [{"name": stored.filename, "digest": {"sha256": stored.sha256}}]
        definition = statement["predicate"]["buildDefinition"]
        assert definition["buildType"] == GITHUB_WORKFLOW_BUILD_TYPE
        assert definition["externalParameters"]["workflow"] == {
            "ref": claims.ref,
            "repository": f"https://github.com/{claims.repository}",
            "path": ".github/workflows/release.yml",
        }
        assert definition["resolvedDependencies"][0]["digest"] == {"gitCommit": claims.sha}
        assert definition["internalParameters"]["github"]["runner_environment"] == "github-hosted"
        details = statement["predicate"]["runDetails"]
        assert details["metadata"]["invocationId"].endswith(
            f"/{claims.repository}/actions/runs/{claims.run_id}/attempts/{claims.run_attempt}"
        )
        assert details["builder"]["id"] == f"https://github.com/{claims.job_workflow_ref}"
        # Both in the provenance the index serves, under this publisher.
        (bundle,) = (stored.provenance or {})["attestation_bundles"]
        assert len(bundle["attestations"]) == 2
        # Kept beside the file, as the publish attestation is.
        assert (tmp_path / "dist" / f"{stored.filename}.slsa.attestation").is_file()
    assert sorted(f.filename for f in world.warehouse.files) == sorted(names)
    # One transparency-log entry per attestation, one certificate for all.
    assert len(world.sigstore.log) == 4
    assert len([r for r in world.sigstore.fulcio.requests if r.path.endswith("signingCert")]) == 1
    assert set(json.loads(run.outputs["verified"])) == set(names)
    assert run.out.count("build provenance signed (transparency log index") == 2


def test_a_reused_publish_attestation_gets_fresh_build_provenance(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    second = Warehouse(world.issuer)
    second.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    second.attestation_verifier = world.sigstore.attestation_verifier()
    second.start()
    try:
        first = _run(world, tmp_path, monkeypatch, capsys)
        publish_files = {p.name: p.read_text() for p in (tmp_path / "dist").glob("*.publish.attestation")}
        again = _run(world, tmp_path, monkeypatch, capsys, repository_url=second.upload_url, build_provenance="true")
    finally:
        second.stop()

    assert first.code == ExitCode.OK, first.out
    assert again.code == ExitCode.OK, again.out
    assert {r["attestation"] for r in json.loads(again.outputs["files"])} == {"reused"}
    for stored in second.files:
        publish, provenance = json.loads(stored.attestations or "[]")
        assert json.dumps(publish, sort_keys=True) == json.dumps(
            json.loads(publish_files[f"{stored.filename}.publish.attestation"]), sort_keys=True
        )
        assert _statement(provenance)["predicateType"] == SLSA_PREDICATE


def test_build_provenance_without_attestations_is_a_settings_error(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, build_provenance="true", attestations="false")
    assert run.code == ExitCode.SETTINGS, run.out
    assert "build-provenance needs attestations" in run.out
    assert world.warehouse.files == [] and len(world.sigstore.log) == 0


def test_a_dry_run_signs_nothing(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, build_provenance="true", dry_run="true")
    assert run.code == ExitCode.OK, run.out
    assert run.out.count("its build provenance would be signed (dry run") == 2
    assert len(world.sigstore.log) == 0 and world.warehouse.files == []


def test_outside_github_actions_nothing_is_signed_or_uploaded(
    dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    with offline_world(tmp_path / "world", provider="gitlab") as gitlab:
        run = _run(gitlab, tmp_path, monkeypatch, capsys, build_provenance="true")
        assert run.code == ExitCode.ATTESTATIONS, run.out
        assert "build-provenance needs a GitHub Actions workflow run" in run.out
        assert gitlab.warehouse.files == [] and len(gitlab.sigstore.log) == 0


def test_the_stand_in_refuses_two_attestations_of_one_predicate_type_as_warehouse_does(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    assert _run(world, tmp_path, monkeypatch, capsys, dry_run="false").code == ExitCode.OK
    stored = world.warehouse.files[0]
    (publish,) = json.loads(stored.attestations or "[]")
    twice = json.dumps([publish, publish])

    verifier = world.warehouse.attestation_verifier
    assert verifier is not None
    publisher = GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi")
    with pytest.raises(ValueError, match=r"same predicate type \(https://docs.pypi.org/attestations/publish/v1\)"):
        verifier(stored.filename, stored.content, twice, publisher)


def test_twine_uploads_both_attestation_files_and_the_stand_in_verifies_them(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    # twine, the conformance client, sends every attestation file named with a distribution: the files
    # this action kept are what an index takes from any client, checked as Warehouse checks them.
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    assert _run(world, tmp_path, monkeypatch, capsys, build_provenance="true").code == ExitCode.OK
    wheel = next((tmp_path / "dist").glob("*.whl"))
    second = Warehouse(world.issuer)
    second.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    second.attestation_verifier = world.sigstore.attestation_verifier()
    second.start()
    try:
        minted = httpx.post(f"{second.url}/_/oidc/mint-token", json={"token": world.issuer.mint("pypi")}, timeout=10)
        assert minted.status_code == 200, minted.text
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
        env.update({"HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "NO_COLOR": "1"})
        files = [
            wheel,
            wheel.with_name(wheel.name + ".publish.attestation"),
            wheel.with_name(wheel.name + ".slsa.attestation"),
        ]
        done = subprocess.run(
            [TWINE, "upload", "--attestations", "--repository-url", second.upload_url, *map(str, files),
             "--username=__token__", f"--password={minted.json()['token']}", "--non-interactive", "--disable-progress-bar"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        sent = json.loads(second.file(wheel.name).attestations or "[]")
    finally:
        second.stop()
    assert sorted(_statement(item)["predicateType"] for item in sent) == [PUBLISH, SLSA_PREDICATE]
