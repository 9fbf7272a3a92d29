"""The GitLab and Google stand-ins: their tokens, the Warehouse's GitLab and Google publishers, the loopback
Fulcio's certificates for them (judged by pypi-attestations' own publisher policies), and the world."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from pypi_attestations import Attestation, Distribution, VerificationError
from pypi_attestations import GitLabPublisher as GitLabIdentity
from pypi_attestations import GooglePublisher as GoogleIdentity
from sigstore._internal.fulcio.client import FulcioClientError
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext

from tests.sandbox.gitlab_issuer import GITLAB_ISSUER, GitLabClaims, GitLabIssuer, id_token_variable
from tests.sandbox.google_metadata import GOOGLE_ISSUER, IDENTITY_PATH, GoogleClaims, GoogleMetadataServer
from tests.sandbox.oidc_issuer import OIDCIssuer
from tests.sandbox.sigstore import LoopbackSigstore, verify_attestation
from tests.sandbox.warehouse import GitLabPublisher, GooglePublisher, Warehouse
from tests.sandbox.world import DEFAULT_GITLAB_PUBLISHER, DEFAULT_GOOGLE_PUBLISHER, offline_world

pytestmark = pytest.mark.sandbox

FULCIO = "1.3.6.1.4.1.57264.1"


def _decode(token: str, jwks: dict[str, Any], audience: str, issuer: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims: dict[str, Any] = jwt.decode(token, jwt.PyJWK(key), algorithms=["RS256"], audience=audience, issuer=issuer)
    return claims


def _refusal(result: dict[str, Any]) -> tuple[str, str]:
    assert result["status"] == 422, result
    (error,) = result["errors"]
    return error["code"], error["description"]


# -- GitLab issuer -------------------------------------------------------------------------------------


def test_gitlab_token_carries_gitlabs_claim_set() -> None:
    issuer = GitLabIssuer()
    claims = _decode(issuer.token("pypi"), issuer.jwks(), "pypi", GITLAB_ISSUER)
    assert claims["iss"] == "https://gitlab.com"
    assert claims["sub"] == "project_path:octo-group/sandbox-demo:ref_type:branch:ref:main"
    assert claims["project_path"] == "octo-group/sandbox-demo"
    assert claims["namespace_path"] == "octo-group"
    assert claims["ci_config_ref_uri"] == "gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@refs/heads/main"
    assert (claims["ref"], claims["ref_type"], claims["ref_path"]) == ("main", "branch", "refs/heads/main")
    assert claims["environment"] == "pypi"
    for name in (
        "namespace_id",
        "project_id",
        "user_id",
        "user_login",
        "user_email",
        "pipeline_id",
        "pipeline_source",
        "job_id",
        "ref_protected",
        "environment_protected",
        "deployment_tier",
        "runner_id",
        "runner_environment",
        "sha",
        "ci_config_sha",
        "project_visibility",
        "jti",
        "iat",
        "nbf",
        "exp",
    ):
        assert name in claims, name
    assert issuer.issued_tokens and issuer.issued[0].claims["aud"] == "pypi"


def test_gitlab_tag_without_environment() -> None:
    claims = GitLabClaims(ref_path="refs/tags/v1.2.0", environment=None).payload("pypi")
    assert claims["sub"].endswith(":ref_type:tag:ref:v1.2.0")
    assert claims["ci_config_ref_uri"].endswith("@refs/tags/v1.2.0")
    assert "environment" not in claims and "deployment_tier" not in claims


def test_gitlab_env_is_what_id_detects(monkeypatch: pytest.MonkeyPatch) -> None:
    import id as oidc_id

    issuer = GitLabIssuer()
    env = issuer.env(audiences=("pypi", "testpypi", "sigstore"))
    assert not any(name.startswith("GITHUB_") or name.startswith("ACTIONS_") for name in env)
    assert env["GITLAB_CI"] == "true" and env["CI_PROJECT_PATH"] == "octo-group/sandbox-demo"
    assert env["CI_CONFIG_PATH"] == ".gitlab-ci.yml" and env["CI_COMMIT_REF_NAME"] == "main"
    assert {"PYPI_ID_TOKEN", "TESTPYPI_ID_TOKEN", "SIGSTORE_ID_TOKEN"} <= set(env)
    assert id_token_variable("https://test.example") == "HTTPS___TEST_EXAMPLE_ID_TOKEN"
    for name in [n for n in list(__import__("os").environ) if n.startswith(("GITHUB_", "ACTIONS_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert oidc_id.detect_credential("pypi") == env["PYPI_ID_TOKEN"]
    assert oidc_id.detect_credential("sigstore") == env["SIGSTORE_ID_TOKEN"]
    assert len(issuer.issued_tokens) == 3


def test_gitlab_discovery_served(gitlab_issuer: GitLabIssuer) -> None:
    issuer = gitlab_issuer
    with urllib.request.urlopen(f"{issuer.url}/.well-known/openid-configuration") as response:
        config = json.load(response)
    assert config["issuer"] == GITLAB_ISSUER and config["jwks_uri"] == issuer.jwks_url
    with urllib.request.urlopen(issuer.jwks_url) as response:
        assert json.load(response) == issuer.jwks()
    assert issuer.requests.endpoints() == ["openid-configuration", "jwks"]


# -- Google metadata server ----------------------------------------------------------------------------


def _identity(server: GoogleMetadataServer, query: str, *, flavor: bool = True) -> tuple[int, str]:
    request = urllib.request.Request(f"{server.url}{IDENTITY_PATH}?{query}")
    if flavor:
        request.add_header("Metadata-Flavor", "Google")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_google_identity_endpoint(google_metadata: GoogleMetadataServer) -> None:
    server = google_metadata
    assert _identity(server, "audience=pypi&format=full", flavor=False)[0] == 403
    assert _identity(server, "format=full")[0] == 400
    status, body = _identity(server, "audience=pypi&format=full")
    assert status == 200
    claims = _decode(body, server.jwks(), "pypi", GOOGLE_ISSUER)
    assert claims["email"] == GoogleClaims().email and claims["email_verified"] is True
    assert claims["sub"].isdigit() and claims["azp"] == claims["sub"]
    status, body = _identity(server, "audience=pypi")
    standard = _decode(body, server.jwks(), "pypi", GOOGLE_ISSUER)
    assert "email" not in standard
    assert server.issued_tokens == [server.issued[0].token, server.issued[1].token]
    assert server.env() == {"GCE_METADATA_HOST": f"127.0.0.1:{server.port}"}


def test_google_machine_without_service_account(google_metadata: GoogleMetadataServer) -> None:
    google_metadata.service_account = False
    assert _identity(google_metadata, "audience=pypi&format=full", flavor=False)[0] == 403
    assert _identity(google_metadata, "audience=pypi&format=full") == (404, "Not Found\n")
    assert google_metadata.issued_tokens == []
    google_metadata.service_account = True
    assert _identity(google_metadata, "audience=pypi&format=full")[0] == 200


# -- Warehouse: GitLab publishers ------------------------------------------------------------------------


@pytest.fixture
def gitlab() -> GitLabIssuer:
    return GitLabIssuer()


def _gitlab_index(issuer: GitLabIssuer, publisher: GitLabPublisher = DEFAULT_GITLAB_PUBLISHER) -> Warehouse:
    index = Warehouse(gitlab_issuer=issuer)
    index.add_publisher("sandbox-demo", publisher)
    return index


def test_gitlab_mint_and_reuse(gitlab: GitLabIssuer) -> None:
    index = _gitlab_index(gitlab)
    token = gitlab.token("pypi")
    result = index.mint_direct(token)
    assert result["status"] == 200 and result["success"] is True
    assert index.mints[0].publisher == DEFAULT_GITLAB_PUBLISHER
    assert index.tokens[result["token"]].projects == frozenset({"sandbox-demo"})
    assert _refusal(index.mint_direct(token)) == ("invalid-reuse-token", "invalid token: already used")


def test_gitlab_project_path_case_insensitive_environment_exact(gitlab: GitLabIssuer) -> None:
    index = _gitlab_index(gitlab)
    # The lookup ignores case, but the ci_config_ref_uri check compares with the publisher's own spelling,
    # so a differently cased project is refused there (as on PyPI).
    upper = GitLabClaims(namespace_path="Octo-Group", project_name="Sandbox-Demo")
    code, text = _refusal(index.mint_direct(gitlab.token("pypi", upper)))
    assert code == "invalid-publisher"
    assert "(The ci_config_ref_uri claim does not match, expecting one of " in text
    assert "got 'gitlab.com/Octo-Group/Sandbox-Demo//.gitlab-ci.yml@refs/heads/main'" in text
    code, text = _refusal(index.mint_direct(gitlab.token("pypi", GitLabClaims(environment="PyPI"))))
    assert (code, text) == (
        "invalid-publisher",
        "valid token, but no corresponding publisher (Publisher with matching claims was not found)",
    )


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (GitLabClaims(project_name="other-project"), "Publisher with matching claims was not found"),
        (GitLabClaims(namespace_path="someone-else"), "Publisher with matching claims was not found"),
        (GitLabClaims(ci_config_path="ci/release.yml"), "Publisher with matching claims was not found"),
        (GitLabClaims(environment="staging"), "Publisher with matching claims was not found"),
        (GitLabClaims(environment=None), "Publisher with matching claims was not found"),
        (GitLabClaims(ci_config_path="ci/release.txt"), "Could not extract workflow filename from OIDC claims"),
        (GitLabClaims(extra={"ref_path": None}), "Missing claim 'ref_path'"),
        (
            GitLabClaims(extra={"sub": "project_path:octo-group/elsewhere:ref_type:branch:ref:main"}),
            "Check failed for required claim 'sub'",
        ),
        (
            GitLabClaims(extra={"ref_path": "refs/heads/other"}),
            "The ci_config_ref_uri claim does not match, expecting one of "
            "['gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@4b7d2c9e1f3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c', "
            "'gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@refs/heads/other'], "
            "got 'gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@refs/heads/main'",
        ),
    ],
)
def test_gitlab_refusals(gitlab: GitLabIssuer, claims: GitLabClaims, reason: str) -> None:
    index = _gitlab_index(gitlab)
    code, text = _refusal(index.mint_direct(gitlab.token("pypi", claims)))
    assert (code, text) == ("invalid-publisher", f"valid token, but no corresponding publisher ({reason})")
    assert not index.mints


def test_gitlab_publisher_without_environment_takes_any(gitlab: GitLabIssuer) -> None:
    index = _gitlab_index(gitlab, GitLabPublisher("octo-group", "sandbox-demo", ".gitlab-ci.yml"))
    assert index.mint_direct(gitlab.token("pypi", GitLabClaims(environment=None)))["status"] == 200
    assert index.mint_direct(gitlab.token("pypi", GitLabClaims(environment="staging")))["status"] == 200
    nested = GitLabPublisher("octo-group", "sandbox-demo", "ci/release.yml")
    index.add_publisher("sandbox-demo", nested)
    assert index.mint_direct(gitlab.token("pypi", GitLabClaims(ci_config_path="ci/release.yml")))["status"] == 200
    assert index.mints[-1].publisher == nested


def test_gitlab_tokens_need_gitlab_keys(gitlab: GitLabIssuer) -> None:
    github = OIDCIssuer()
    index = Warehouse(github)
    index.add_publisher("sandbox-demo", DEFAULT_GITLAB_PUBLISHER)
    # A GitLab token is refused when the index has no GitLab keys, or the keys are another issuer's.
    assert _refusal(index.mint_direct(gitlab.token()))[0] == "invalid-token"
    forged = github.sign(GitLabClaims().payload("pypi"))
    index.gitlab_issuer = gitlab
    assert _refusal(index.mint_direct(forged)) == ("invalid-token", "malformed or invalid token")
    assert _refusal(index.mint_direct(gitlab.token("testpypi")))[0] == "invalid-token"
    assert _refusal(index.mint_direct(gitlab.token(claims=GitLabClaims(clock_offset=-7200))))[0] == "invalid-token"
    assert index.mint_direct(gitlab.token())["status"] == 200
    index.disabled_providers.add("gitlab")
    assert _refusal(index.mint_direct(gitlab.token())) == (
        "not-enabled",
        "gitlab trusted publishing functionality not enabled",
    )
    index.disabled_providers.clear()
    index.trusted_publishing = "disabled"
    assert _refusal(index.mint_direct(gitlab.token())) == (
        "not-enabled",
        "gitlab trusted publishing functionality not enabled",
    )


def test_gitlab_pending_publisher_creates_project(gitlab: GitLabIssuer) -> None:
    index = Warehouse(gitlab_issuer=gitlab)
    index.add_pending_publisher("fresh-project", DEFAULT_GITLAB_PUBLISHER)
    result = index.mint_direct(gitlab.token())
    assert result["status"] == 200
    assert "fresh-project" in index.projects and not index.pending_publishers


# -- Warehouse: Google publishers ------------------------------------------------------------------------


def _google_index(server: GoogleMetadataServer, publisher: GooglePublisher = DEFAULT_GOOGLE_PUBLISHER) -> Warehouse:
    index = Warehouse(google_issuer=server)
    index.add_publisher("sandbox-demo", publisher)
    return index


def test_google_mint() -> None:
    server = GoogleMetadataServer()
    index = _google_index(server)
    token = server.token("pypi")
    assert index.mint_direct(token)["status"] == 200
    # Google's identity tokens carry no jti: Warehouse has nothing to claim, the token mints again.
    assert index.mint_direct(token)["status"] == 200
    index.trusted_publishing = "disabled"
    assert _refusal(index.mint_direct(token)) == ("not-enabled", "google trusted publishing functionality not enabled")


@pytest.mark.parametrize(
    ("publisher", "claims", "full", "reason"),
    [
        (
            DEFAULT_GOOGLE_PUBLISHER,
            GoogleClaims(email="other@sandbox-demo.iam.gserviceaccount.com"),
            True,
            "Publisher with matching claims was not found",
        ),
        (
            GooglePublisher(GoogleClaims().email, sub="111"),
            GoogleClaims(),
            True,
            "Publisher with matching claims was not found",
        ),
        (
            DEFAULT_GOOGLE_PUBLISHER,
            GoogleClaims(email_verified=False),
            True,
            "Check failed for required claim 'email_verified'",
        ),
        (DEFAULT_GOOGLE_PUBLISHER, GoogleClaims(), False, "Missing claim 'email'"),
    ],
)
def test_google_refusals(publisher: GooglePublisher, claims: GoogleClaims, full: bool, reason: str) -> None:
    server = GoogleMetadataServer(claims)
    index = _google_index(server, publisher)
    code, text = _refusal(index.mint_direct(server.token("pypi", full=full)))
    assert (code, text) == ("invalid-publisher", f"valid token, but no corresponding publisher ({reason})")


def test_google_publisher_with_sub() -> None:
    server = GoogleMetadataServer()
    specific = GooglePublisher(GoogleClaims().email, sub=GoogleClaims().sub)
    index = _google_index(server, DEFAULT_GOOGLE_PUBLISHER)
    index.add_publisher("sandbox-demo", specific)
    assert index.mint_direct(server.token())["status"] == 200
    assert index.mints[-1].publisher == specific


# -- Fulcio certificates, judged by pypi-attestations' publisher policies -----------------------------------


def _sign(sigstore: LoopbackSigstore, token: str, dist_path: Path) -> Attestation:
    context = SigningContext.from_trust_config(sigstore.client_trust_config())
    with context.signer(IdentityToken(token), cache=True) as signer:
        return Attestation.sign(signer, Distribution.from_file(dist_path))


def _wheel(directory: Path) -> Path:
    from tests.test_sigstore_sandbox import make_wheel

    return make_wheel(directory)


def _extension(cert: x509.Certificate, arc: int) -> bytes:
    return cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(f"{FULCIO}.{arc}")).value.public_bytes()


def test_gitlab_certificate_verifies_as_gitlab_publisher(tmp_path: Path) -> None:
    issuer = GitLabIssuer()
    with LoopbackSigstore({GITLAB_ISSUER: issuer.jwks}, workdir=tmp_path / "s", issuers=(GITLAB_ISSUER,)) as sigstore:
        wheel = _wheel(tmp_path)
        attestation = _sign(sigstore, issuer.token("sigstore"), wheel)
        dist = Distribution.from_file(wheel)
        identity = GitLabIdentity(repository="octo-group/sandbox-demo", workflow_filepath=".gitlab-ci.yml")
        verify_attestation(attestation, identity, dist, verifier=sigstore.verifier())
        cert = x509.load_der_x509_certificate(attestation.verification_material.certificate)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
            "https://gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@refs/heads/main"
        ]
        assert _extension(cert, 1) == b"https://gitlab.com"
        assert _extension(cert, 12).endswith(b"https://gitlab.com/octo-group/sandbox-demo")
        assert _extension(cert, 14).endswith(b"refs/heads/main")
        assert _extension(cert, 21).endswith(b"https://gitlab.com/octo-group/sandbox-demo/-/jobs/8800000001")
        assert _extension(cert, 23).endswith(b"pypi")
        for wrong, reason in (
            (
                GitLabIdentity(repository="octo-group/sandbox-demo", workflow_filepath="ci/release.yml"),
                "Build Config URI",
            ),
            (GitLabIdentity(repository="octo-group/other", workflow_filepath=".gitlab-ci.yml"), "SourceRepositoryURI"),
        ):
            with pytest.raises(VerificationError, match=reason):
                verify_attestation(attestation, wrong, dist, verifier=sigstore.verifier())


def test_google_certificate_verifies_as_google_publisher(tmp_path: Path) -> None:
    server = GoogleMetadataServer()
    with LoopbackSigstore({GOOGLE_ISSUER: server.jwks}, workdir=tmp_path / "s", issuers=(GOOGLE_ISSUER,)) as sigstore:
        wheel = _wheel(tmp_path)
        attestation = _sign(sigstore, server.token("sigstore"), wheel)
        dist = Distribution.from_file(wheel)
        verify_attestation(attestation, GoogleIdentity(email=GoogleClaims().email), dist, verifier=sigstore.verifier())
        cert = x509.load_der_x509_certificate(attestation.verification_material.certificate)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.RFC822Name) == [GoogleClaims().email]
        with pytest.raises(VerificationError, match=r"Certificate's SANs do not match"):
            verify_attestation(
                attestation,
                GoogleIdentity(email="other@example.iam.gserviceaccount.com"),
                dist,
                verifier=sigstore.verifier(),
            )


def test_fulcio_refuses_a_token_of_an_issuer_it_does_not_trust(tmp_path: Path) -> None:
    issuer = GitLabIssuer()
    with LoopbackSigstore({GITLAB_ISSUER: issuer.jwks}, workdir=tmp_path / "s", issuers=(GITLAB_ISSUER,)) as sigstore:
        google = GoogleMetadataServer()
        with pytest.raises(FulcioClientError):
            _sign(sigstore, google.token("sigstore"), _wheel(tmp_path))


# -- the world --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["gitlab", "google"])
def test_world_upload_with_attestation(tmp_path: Path, provider: str) -> None:
    import httpx

    with offline_world(tmp_path / "w", provider=provider) as world:  # type: ignore[arg-type]
        env = world.action_env(attestations="true")
        assert not any(name.startswith("GITHUB_") for name in env)
        assert env["INPUT_REPOSITORY-URL"] == world.warehouse.upload_url
        if provider == "gitlab":
            assert isinstance(world.issuer, GitLabIssuer)
            pypi_token, sigstore_token = env["PYPI_ID_TOKEN"], env["SIGSTORE_ID_TOKEN"]
        else:
            assert isinstance(world.issuer, GoogleMetadataServer)
            assert env["GCE_METADATA_HOST"] == world.issuer.host_port
            pypi_token, sigstore_token = world.issuer.token("pypi"), world.issuer.token("sigstore")
        minted = httpx.post(f"{world.warehouse.url}/_/oidc/mint-token", json={"token": pypi_token}).json()
        assert minted["success"] is True
        wheel = _wheel(tmp_path)
        attestation = _sign(world.sigstore, sigstore_token, wheel)
        content = wheel.read_bytes()
        import hashlib

        form = {
            ":action": "file_upload",
            "protocol_version": "1",
            "metadata_version": "2.1",
            "name": "sandbox-demo",
            "version": "1.0.0",
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
            "attestations": json.dumps([attestation.model_dump(mode="json")]),
        }
        response = httpx.post(
            world.warehouse.upload_url,
            data=form,
            files={"content": (wheel.name, content, "application/octet-stream")},
            auth=("__token__", minted["token"]),
        )
        assert response.status_code == 200, response.text
        stored = world.warehouse.file(wheel.name)
        assert stored.publisher == (DEFAULT_GITLAB_PUBLISHER if provider == "gitlab" else DEFAULT_GOOGLE_PUBLISHER)
        assert stored.provenance is not None
        # The same attestation checked against another publisher (what the upload check does with the
        # minting publisher) is refused with Warehouse's prefix.
        other = (
            GitLabPublisher("octo-group", "sandbox-demo", "ci/other.yml")
            if provider == "gitlab"
            else GooglePublisher("other@sandbox-demo.iam.gserviceaccount.com")
        )
        with pytest.raises(Exception, match=r"^Invalid attestations supplied during upload: Could not verify"):
            world.warehouse._check_attestations(wheel.name, content, form["attestations"], other)


def test_gitlab_certificate_matches_a_production_one(tmp_path: Path) -> None:
    """Claims describing the job behind the production GitLab attestation in tests/assets give the
    certificate Fulcio gave it: the same SAN and the same extensions, in the same order (that Fulcio
    predates .23/.24, which the job's token would add now)."""
    assets = Path(__file__).parent / "assets" / "attestations"
    production = Attestation.model_validate_json(
        (assets / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation").read_text()
    )
    real = x509.load_der_x509_certificate(production.verification_material.certificate)
    sha = "72f7c63b75eb55ea80864962f0e645c93414da34"
    claims = GitLabClaims(
        namespace_path="facutuesca",
        project_name="gitlab-oidc-project",
        namespace_id="12885801",
        project_id="55235664",
        job_id="8415754949",
        sha=sha,
        project_visibility="private",
        environment=None,
    )
    issuer = GitLabIssuer(claims)
    with LoopbackSigstore({GITLAB_ISSUER: issuer.jwks}, workdir=tmp_path / "s", issuers=(GITLAB_ISSUER,)) as sigstore:
        ours = _sign(sigstore, issuer.token("sigstore"), _wheel(tmp_path))
    cert = x509.load_der_x509_certificate(ours.verification_material.certificate)

    def fulcio(c: x509.Certificate) -> list[tuple[str, bytes]]:
        return [
            (e.oid.dotted_string, e.value.public_bytes())
            for e in c.extensions
            if e.oid.dotted_string.startswith(FULCIO + ".")
        ]

    real_extensions = fulcio(real)
    assert [oid for oid, _ in real_extensions] == [f"{FULCIO}.{arc}" for arc in (1, *range(8, 23))]
    assert fulcio(cert)[: len(real_extensions)] == real_extensions
    assert [oid for oid, _ in fulcio(cert)[len(real_extensions) :]] == [f"{FULCIO}.24"]
    assert cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ) == real.extensions.get_extension_for_class(x509.SubjectAlternativeName)
