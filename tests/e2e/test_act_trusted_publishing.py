"""Trusted Publishing through our action.yml under ``act``, against the offline world (tests/sandbox).

The job gets the sandbox issuer's ``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN`` (act's ``--env-file``) exactly
where a GitHub runner puts them, and the container gets them from action.yml like every other runner
variable; the Warehouse stand-in mints the upload token for the issuer's claims. With attestations, the
loopback Sigstore signs and the env-only ``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG`` points the program at it
(action.yml mounts that file's folder into the container).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e._harness import ActionImage, file_sha256s, make_workspace, run_act
from tests.sandbox.fixtures import DEFAULT_PROJECT, start_sandbox
from tests.sandbox.oidc_issuer import OIDCIssuer
from tests.sandbox.warehouse import Warehouse


@pytest.fixture
def sandbox() -> Iterator[tuple[OIDCIssuer, Warehouse]]:
    issuer, index = start_sandbox()
    try:
        yield issuer, index
    finally:
        index.stop()
        issuer.stop()


def _runner_env(issuer: OIDCIssuer) -> dict[str, str]:
    env = issuer.env()
    return {name: env[name] for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")}


def _assert_no_secret_in(log: str, issuer: OIDCIssuer, index: Warehouse) -> None:
    for secret in [*issuer.issued_tokens, *index.minted_tokens, _runner_env(issuer)["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]]:
        assert secret not in log


def test_trusted_publishing_container_mode(
    action_image: ActionImage, sandbox: tuple[OIDCIssuer, Warehouse], hatch_dists: Path, tmp_path: Path
) -> None:
    issuer, index = sandbox
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists)

    run = run_act(
        workspace,
        variables={"E2E_REPOSITORY_URL": index.upload_url, "E2E_PACKAGES_DIR": "dist", "E2E_ATTESTATIONS": "false"},
        env=_runner_env(issuer),
    )

    assert run.returncode == 0, run.log
    assert f"container mode: {action_image.tag}" in run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]
    assert {f.filename: f.sha256 for f in index.files} == file_sha256s(hatch_dists)
    assert {f.project for f in index.files} == {DEFAULT_PROJECT}
    assert all(f.publisher is not None for f in index.files), "uploaded with a minted token"
    _assert_no_secret_in(run.log, issuer, index)


def test_trusted_publishing_with_attestations_container_mode(
    action_image: ActionImage,
    sandbox: tuple[OIDCIssuer, Warehouse],
    make_sigstore_sandbox,
    hatch_dists: Path,
    tmp_path: Path,
) -> None:
    """The full path: mint, sign with the loopback Sigstore, verify, upload with attestations."""
    issuer, index = sandbox
    sigstore = make_sigstore_sandbox(token_keys=issuer.jwks)
    index.attestation_verifier = sigstore.attestation_verifier()
    dists = sorted(hatch_dists.iterdir())
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", dists)

    run = run_act(
        workspace,
        variables={"E2E_REPOSITORY_URL": index.upload_url, "E2E_PACKAGES_DIR": "dist"},
        env={**_runner_env(issuer), "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG": str(sigstore.trust_config_path)},
    )

    assert run.returncode == 0, run.log
    assert sorted(run.json_output("uploaded")) == [p.name for p in dists]
    for stored in index.files:
        assert stored.attestations, f"{stored.filename} was uploaded without attestations"
        assert len(json.loads(stored.attestations)) == 1
    # Written next to the distributions in act's workspace, owned by the runner's user (action.yml's --user):
    # the workflow lists them with their owner.
    listed = {
        line.split("E2E-ATTESTATION ", 1)[1].split()[0]: line.split("E2E-ATTESTATION ", 1)[1]
        for line in run.log.splitlines()
        if "E2E-ATTESTATION " in line
    }
    assert sorted(listed) == sorted(f"{dist.name}.publish.attestation" for dist in dists), run.log
    for line in listed.values():
        owner, runner = (field.split("=", 1)[1] for field in line.split()[1:3])
        assert owner == runner
    _assert_no_secret_in(run.log, issuer, index)
