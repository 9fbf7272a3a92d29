"""The stand-in's mint-token view against the real one: the same request bytes to both, the same answer back.

Each case is one body POSTed to ``/_/oidc/mint-token`` of the Warehouse peer and of the stand-in
(:class:`tests.sandbox.warehouse.Warehouse`), both holding the seed's projects and publishers
(:func:`tests.peers.seed.trust_spec`). The status, the error codes and the descriptions must be equal;
for a success, both mint. The pydantic text of a payload that is not JSON names the pydantic version, so
only its first line is compared.

What the peer cannot be asked, because its development configuration (``NullOIDCPublisherService``)
leaves it out, and the stand-in's own tests hold against Warehouse's source: the signature and its key
id, ``exp``/``iat``/``nbf`` times, and the replay check on ``jti``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.peers import seed
from tests.peers.warehouse import SeededPeer
from tests.sandbox.gitlab_issuer import GitLabClaims, GitLabIssuer
from tests.sandbox.google_metadata import GoogleClaims, GoogleMetadataServer
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.warehouse import Warehouse

pytestmark = pytest.mark.e2e


@dataclass
class Signers:
    github: OIDCIssuer
    gitlab: GitLabIssuer
    google: GoogleMetadataServer


Body = Callable[[Signers, str], bytes]


def _jwt(signer: str, claims: Any = None, **raw: Any) -> Body:
    """A body carrying a token signed by one of the issuers, from ``claims``; ``raw`` overrides claims
    (``None`` removes one)."""

    def body(signers: Signers, audience: str) -> bytes:
        payload: dict[str, Any]
        if signer == "github":
            payload = (claims or GitHubClaims()).payload(audience)
            key = signers.github
        elif signer == "gitlab":
            payload = (claims or GitLabClaims()).payload(audience)
            key = signers.gitlab
        else:
            payload = (claims or GoogleClaims()).payload(audience)
            key = signers.google
        for name, value in raw.items():
            if value is None:
                payload.pop(name, None)
            else:
                payload[name] = value
        return json.dumps({"token": key.sign(payload)}).encode()

    return body


def _raw(data: bytes) -> Body:
    return lambda signers, audience: data


CASES: dict[str, Body] = {
    "github-mints": _jwt("github"),
    "gitlab-mints": _jwt("gitlab"),
    "google-mints": _jwt("google"),
    "body-not-json": _raw(b"token=abc"),
    "token-not-a-string": _raw(b'{"token": 5}'),
    "no-token-field": _raw(b"{}"),
    "token-not-a-jwt": _raw(b'{"token": "not-a-jwt"}'),
    "jwt-without-iss": _jwt("github", iss=None),
    "unknown-issuer": _jwt("github", iss="https://issuer.example.org"),
    "wrong-audience": _jwt("github", aud="testpypi"),
    "two-audiences": _jwt("github", aud=["pypi", "other"]),
    "no-iat": _jwt("github", iat=None),
    "no-exp": _jwt("github", exp=None),
    "wrong-repository": _jwt("github", GitHubClaims(repository="octo-org/other-repo")),
    "wrong-owner-id": _jwt("github", GitHubClaims(repository_owner_id="900000002")),
    "wrong-workflow": _jwt("github", GitHubClaims(workflow_file="other.yml")),
    "wrong-environment": _jwt("github", GitHubClaims(environment="staging")),
    "no-environment": _jwt("github", GitHubClaims(environment=None)),
    "environment-in-capitals": _jwt("github", GitHubClaims(environment="PyPI")),
    "reusable-workflow": _jwt("github", GitHubClaims().reusable()),
    "no-job-workflow-ref": _jwt("github", job_workflow_ref=None),
    "no-repository-owner-id": _jwt("github", repository_owner_id=None),
    "no-sha": _jwt("github", sha=None),
    "no-ref": _jwt("github", ref=None),
    "sub-of-another-repository": _jwt("github", sub="repo:octo-org/other:environment:pypi"),
    "pending-for-an-existing-project": _jwt("github", GitHubClaims(workflow_file=seed.STALE_PENDING_WORKFLOW)),
    # Both drop a stale pending publisher when it is used: asked again, neither knows the publisher.
    "pending-for-an-existing-project-again": _jwt("github", GitHubClaims(workflow_file=seed.STALE_PENDING_WORKFLOW)),
    "gitlab-wrong-project": _jwt("gitlab", GitLabClaims(project_name="other-project")),
    "gitlab-wrong-ci-file": _jwt("gitlab", GitLabClaims(ci_config_path="ci/release.yml")),
    "gitlab-wrong-environment": _jwt("gitlab", GitLabClaims(environment="staging")),
    "gitlab-no-sha": _jwt("gitlab", sha=None),
    "google-wrong-email": _jwt("google", GoogleClaims(email="someone-else@other.iam.gserviceaccount.com")),
    "google-email-unverified": _jwt("google", GoogleClaims(email_verified=False)),
    "google-without-email": _jwt("google", email=None),
}


@pytest.fixture(scope="module")
def signers() -> Signers:
    # Only their keys are used (nothing is fetched from them), so they are never started.
    return Signers(OIDCIssuer(), GitLabIssuer(), GoogleMetadataServer())


@pytest.fixture(scope="module")
def standin(signers: Signers, seeded_peer: SeededPeer) -> Iterator[Warehouse]:
    warehouse = Warehouse(
        signers.github,
        gitlab_issuer=signers.gitlab,
        google_issuer=signers.google,
        audience=seeded_peer.peer.audience,
    )
    # As the peer is now, not as it was seeded: earlier tests use up pending publishers on it.
    peer = seeded_peer.peer
    seed.standin_like_the_peer(warehouse, peer.seed({"inspect": True})["state"], peer.sql(seed.GITHUB_OWNER_IDS_SQL))
    warehouse.start()
    try:
        yield warehouse
    finally:
        warehouse.stop()


def _answer(url: str, body: bytes) -> tuple[int, Any]:
    response = httpx.post(f"{url}/_/oidc/mint-token", content=body, timeout=30)
    try:
        payload = response.json()
    except ValueError:
        return response.status_code, response.text
    if response.status_code == 200 and isinstance(payload, dict):
        # Both mint; the tokens themselves are each index's own.
        return 200, {
            "success": payload.get("success"),
            "token": bool(payload.get("token")),
            "expires": "expires" in payload,
        }
    if isinstance(payload, dict):
        for error in payload.get("errors", []):
            if error.get("code") == "invalid-payload" and "validation error" in error.get("description", ""):
                error["description"] = error["description"].splitlines()[0]
    return response.status_code, payload


@pytest.mark.parametrize("case", list(CASES))
def test_the_standin_answers_each_exchange_as_the_real_warehouse(
    case: str, signers: Signers, seeded_peer: SeededPeer, standin: Warehouse
) -> None:
    body = CASES[case](signers, seeded_peer.peer.audience)
    real = _answer(seeded_peer.peer.url, body)
    ours = _answer(standin.url, body)
    assert ours == real, f"{case}: the real Warehouse answered {real}, the stand-in {ours}"
