"""The GitHub OIDC issuer stand-in, checked with the real client (`id`) and a strict JWT verifier."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import id as id_client
import jwt
import pytest

from tests.sandbox import GITHUB_ISSUER, Fault, GitHubClaims, OIDCIssuer

pytestmark = pytest.mark.sandbox


def _verify(issuer: OIDCIssuer, token: str, audience: str) -> dict[str, Any]:
    """Verify like Warehouse does, with the JWKS fetched over HTTP from the issuer."""
    jwks = httpx.get(issuer.jwks_url, timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(
        token,
        key=jwt.PyJWK(key),
        algorithms=["RS256"],
        audience=audience,
        issuer=GITHUB_ISSUER,
        options={"require": ["iss", "iat", "exp", "aud", "nbf", "jti"], "strict_aud": True},
    )
    return claims


def test_id_detect_credential_gets_a_verifiable_github_token(oidc_issuer: OIDCIssuer, github_env: dict[str, str]):
    token = id_client.detect_credential("pypi")

    assert token is not None
    claims = _verify(oidc_issuer, token, "pypi")
    assert claims["iss"] == "https://token.actions.githubusercontent.com"
    assert claims["aud"] == "pypi"
    assert claims["sub"] == "repo:octo-org/sandbox-demo:environment:pypi"
    assert claims["repository"] == "octo-org/sandbox-demo"
    assert claims["repository_owner"] == "octo-org"
    assert claims["repository_owner_id"] == "900000001"
    assert claims["environment"] == "pypi"
    assert claims["workflow_ref"] == "octo-org/sandbox-demo/.github/workflows/release.yml@refs/heads/main"
    assert claims["job_workflow_ref"] == claims["workflow_ref"]
    assert claims["runner_environment"] == "github-hosted"
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 30
    # The token went over HTTP with the runner's bearer, and is recorded for canary checks.
    assert oidc_issuer.issued_tokens == [token]
    record = oidc_issuer.requests.for_endpoint("token")[0]
    assert record.headers["Authorization"].lower().startswith("bearer ")
    assert "audience=pypi" in record.query
    assert "api-version=2.0" in record.query


def test_every_token_has_a_fresh_jti(oidc_issuer: OIDCIssuer, github_env: dict[str, str]):
    tokens = [id_client.detect_credential("pypi") for _ in range(3)]

    jtis = {_verify(oidc_issuer, t or "", "pypi")["jti"] for t in tokens}
    assert len(jtis) == 3


def test_default_audience_is_the_owner_url_as_on_github(oidc_issuer: OIDCIssuer):
    response = httpx.get(
        oidc_issuer.request_url, headers={"Authorization": f"Bearer {oidc_issuer.request_token}"}, timeout=10
    )

    assert response.status_code == 200
    assert set(response.json()) == {"value"}
    claims = _verify(oidc_issuer, response.json()["value"], "https://github.com/octo-org")
    assert claims["aud"] == "https://github.com/octo-org"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Basic abc", 401), ("bearer wrong-token", 403)],
)
def test_token_endpoint_checks_the_bearer(oidc_issuer: OIDCIssuer, authorization: str | None, status: int):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(oidc_issuer.request_url + "&audience=pypi", headers=headers, timeout=10)

    assert response.status_code == status
    assert oidc_issuer.issued == []


def test_claims_without_environment_use_the_ref_subject(oidc_issuer: OIDCIssuer):
    oidc_issuer.claims = oidc_issuer.claims.replace(environment=None)

    claims = _verify(oidc_issuer, oidc_issuer.mint("pypi"), "pypi")

    assert "environment" not in claims
    assert claims["sub"] == "repo:octo-org/sandbox-demo:ref:refs/heads/main"


def test_reusable_workflow_claims_name_the_called_file(oidc_issuer: OIDCIssuer):
    claims = GitHubClaims().reusable("octo-org/shared", "publish.yml", "refs/tags/v1")

    payload = _verify(oidc_issuer, oidc_issuer.mint("pypi", claims), "pypi")

    assert payload["workflow_ref"] == "octo-org/sandbox-demo/.github/workflows/release.yml@refs/heads/main"
    assert payload["job_workflow_ref"] == "octo-org/shared/.github/workflows/publish.yml@refs/tags/v1"


def test_extra_claims_add_override_and_remove(oidc_issuer: OIDCIssuer):
    claims = GitHubClaims(extra={"event_name": "pull_request_target", "sha": None, "custom": "x"})

    payload = _verify(oidc_issuer, oidc_issuer.mint("pypi", claims), "pypi")

    assert payload["event_name"] == "pull_request_target"
    assert "sha" not in payload
    assert payload["custom"] == "x"


def test_discovery_document_and_jwks(oidc_issuer: OIDCIssuer):
    config = httpx.get(f"{oidc_issuer.url}/.well-known/openid-configuration", timeout=10).json()
    jwks = httpx.get(config["jwks_uri"], timeout=10).json()

    assert config["issuer"] == GITHUB_ISSUER
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert [k["kid"] for k in jwks["keys"]] == [oidc_issuer.kid]
    assert jwks["keys"][0]["kty"] == "RSA"
    assert "d" not in jwks["keys"][0]  # public half only


def test_env_is_what_a_runner_sets(oidc_issuer: OIDCIssuer):
    env = oidc_issuer.env(GITHUB_EVENT_NAME="release")

    assert env["ACTIONS_ID_TOKEN_REQUEST_URL"] == oidc_issuer.request_url
    assert "?api-version=2.0" in env["ACTIONS_ID_TOKEN_REQUEST_URL"]
    assert env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] == oidc_issuer.request_token
    assert env["GITHUB_ACTIONS"] == "true"
    assert env["GITHUB_SERVER_URL"] == "https://github.com"
    assert env["GITHUB_REPOSITORY"] == "octo-org/sandbox-demo"
    assert env["GITHUB_REPOSITORY_OWNER"] == "octo-org"
    assert env["GITHUB_WORKFLOW_REF"] == "octo-org/sandbox-demo/.github/workflows/release.yml@refs/heads/main"
    assert env["GITHUB_EVENT_NAME"] == "release"
    assert env["GITHUB_RUN_ID"].isdigit()


def test_token_endpoint_faults(oidc_issuer: OIDCIssuer, github_env: dict[str, str]):
    oidc_issuer.faults.add("token", Fault(kind="status", status=500, times=1))
    headers = {"Authorization": f"bearer {oidc_issuer.request_token}"}

    first = httpx.get(oidc_issuer.request_url + "&audience=pypi", headers=headers, timeout=10)
    second = httpx.get(oidc_issuer.request_url + "&audience=pypi", headers=headers, timeout=10)

    assert (first.status_code, second.status_code) == (500, 200)
    assert len(oidc_issuer.issued) == 1

    oidc_issuer.faults.add("token", Fault(kind="delay", seconds=0.3))
    started = time.monotonic()
    assert id_client.detect_credential("pypi") is not None
    assert time.monotonic() - started >= 0.3


def test_id_reports_a_refusing_endpoint(oidc_issuer: OIDCIssuer, github_env: dict[str, str]):
    oidc_issuer.faults.add("token", Fault(kind="status", status=503))

    with pytest.raises(id_client.IdentityError):
        id_client.detect_credential("pypi")


def test_env_without_id_token_and_with_an_event_file(oidc_issuer: OIDCIssuer, tmp_path):
    oidc_issuer.claims = GitHubClaims(event_name="pull_request", environment=None)

    env = oidc_issuer.env(id_token=False, event_path=tmp_path / "event.json")

    assert "ACTIONS_ID_TOKEN_REQUEST_URL" not in env
    assert "ACTIONS_ID_TOKEN_REQUEST_TOKEN" not in env
    event = json.loads((tmp_path / "event.json").read_text())
    assert env["GITHUB_EVENT_PATH"] == str(tmp_path / "event.json")
    assert event["pull_request"]["head"]["repo"]["fork"] is False
    fork = oidc_issuer.claims.event_payload(fork=True)
    assert fork["pull_request"]["head"]["repo"] == {"full_name": "octocat/sandbox-demo", "fork": True}
