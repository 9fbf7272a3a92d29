"""A self-contained token minter for the sandbox's own tests and its standalone mode.

The project's GitHub OIDC issuer stand-in lives elsewhere (tests/sandbox/oidc_issuer.py); this one only
signs JWTs with GitHub's claim set so the loopback Sigstore can be exercised without it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox._signer import TokenSigner
from tests.sandbox.sigstore._fulcio import GITHUB_ISSUER, SIGSTORE_AUDIENCE


def github_claims(
    *,
    repository: str = "octo-org/sandbox-demo",
    workflow_file: str = "release.yml",
    ref: str = "refs/tags/v1.0.0",
    environment: str | None = "pypi",
    job_workflow_ref: str | None = None,
    event_name: str = "push",
    sha: str = "1f2e3d4c5b6a79880716253443526170f9e8d7c6",
) -> dict[str, Any]:
    """GitHub Actions' claims for a job of `workflow_file` in `repository` at `ref`.

    `job_workflow_ref` defaults to the same file as `workflow_ref` (a job defined in the top-level
    workflow); pass another `owner/repo/.github/workflows/file@ref` for a job in a reusable workflow.
    """
    owner = repository.split("/")[0]
    workflow_ref = f"{repository}/.github/workflows/{workflow_file}@{ref}"
    subject = f"repo:{repository}:environment:{environment}" if environment else f"repo:{repository}:ref:{ref}"
    claims: dict[str, Any] = {
        "sub": subject,
        "repository": repository,
        "repository_id": "700000001",
        "repository_owner": owner,
        "repository_owner_id": "100000001",
        "repository_visibility": "public",
        "actor": "octocat",
        "actor_id": "583231",
        "workflow": "Release",
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "ref_protected": "false",
        "sha": sha,
        "event_name": event_name,
        "run_id": "9000000001",
        "run_number": "42",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "workflow_ref": workflow_ref,
        "workflow_sha": sha,
        "job_workflow_ref": job_workflow_ref or workflow_ref,
        "job_workflow_sha": sha,
        "head_ref": "",
        "base_ref": "",
    }
    if environment:
        claims["environment"] = environment
    return claims


class LocalTokenIssuer(TokenSigner):
    """Signs RS256 JWTs in GitHub's shape with a key of its own (so that another one with the same kid is an
    impostor); ``jwks()`` publishes the key."""

    def __init__(self, *, issuer: str = GITHUB_ISSUER, kid: str | None = None) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        super().__init__(origin="the Sigstore stand-in's token issuer", key=key, kid=kid or uuid.uuid4().hex)
        self.issuer = issuer

    def token(
        self, claims: dict[str, Any] | None = None, *, audience: str = SIGSTORE_AUDIENCE, lifetime: int = 300
    ) -> str:
        """A signed token with ``claims`` (default: ``github_claims()``) plus iss/aud/iat/nbf/exp/jti; recorded."""
        now = int(time.time())
        payload = {
            **(claims if claims is not None else github_claims()),
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        return self.issue(payload)
