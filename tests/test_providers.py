"""Provider detection: one detector per CI provider, each answering "not here", a token, or what is wrong."""

from __future__ import annotations

import httpx
import pytest

from publish_action.identity import claims_from_environ, detect, google
from publish_action.identity.claims import Claims
from publish_action.identity.github import GITHUB
from publish_action.identity.gitlab import GITLAB, env_variable
from publish_action.identity.google import GOOGLE
from publish_action.identity.provider import Broken, NotHere, Token, TransientTokenError


def _client(handler: httpx.MockTransport | None = None) -> httpx.Client:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    return httpx.Client(transport=handler or httpx.MockTransport(refuse))


def _no_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google, "resolves", lambda host: False)
    monkeypatch.setattr(google, "machine_is_google", lambda: False)


@pytest.mark.parametrize(
    ("audience", "variable"),
    [
        ("pypi", "PYPI_ID_TOKEN"),
        ("testpypi", "TESTPYPI_ID_TOKEN"),
        ("sigstore", "SIGSTORE_ID_TOKEN"),
        ("my-index.example", "MY_INDEX_EXAMPLE_ID_TOKEN"),
    ],
)
def test_gitlab_variable_names_follow_id(audience: str, variable: str) -> None:
    assert env_variable(audience) == variable


def test_nothing_detected_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_metadata(monkeypatch)
    assert detect("pypi", environ={}, client=_client()) == NotHere()


def test_gitlab_token(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_metadata(monkeypatch)
    outcome = detect("pypi", environ={"GITLAB_CI": "true", "PYPI_ID_TOKEN": "a.b.c"}, client=_client())
    assert isinstance(outcome, Token)
    assert outcome.provider == GITLAB
    assert outcome.token.get_secret_value() == "a.b.c"


def test_gitlab_without_id_tokens_shows_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_metadata(monkeypatch)
    outcome = detect("testpypi", environ={"GITLAB_CI": "true", "PYPI_ID_TOKEN": "x"}, client=_client())
    assert isinstance(outcome, Broken)
    assert outcome.provider == GITLAB
    assert "TESTPYPI_ID_TOKEN" in outcome.cause
    assert "id_tokens:\n    TESTPYPI_ID_TOKEN:\n      aud: testpypi" in outcome.fix


def test_github_without_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_metadata(monkeypatch)
    outcome = detect("pypi", environ={"GITHUB_ACTIONS": "true"}, client=_client())
    assert isinstance(outcome, Broken)
    assert outcome.provider == GITHUB
    assert "id-token: write" in outcome.fix


def test_github_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["audience"] == "pypi"
        assert request.headers["Authorization"] == "bearer request-token"
        return httpx.Response(200, json={"value": "gh.token.value"})

    environ = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.example/token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
    }
    outcome = detect("pypi", environ=environ, client=_client(httpx.MockTransport(answer)))
    assert isinstance(outcome, Token)
    assert outcome.provider == GITHUB
    assert outcome.token.get_secret_value() == "gh.token.value"


def _metadata(status: int, body: str = "", flavor: bool = True) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "127.0.0.1"
        assert request.url.port == 8089
        assert request.url.path == "/computeMetadata/v1/instance/service-accounts/default/identity"
        assert request.url.params["audience"] == "sigstore"
        assert request.url.params["format"] == "full"
        assert request.headers["Metadata-Flavor"] == "Google"
        return httpx.Response(status, text=body, headers={"Metadata-Flavor": "Google"} if flavor else {})

    return httpx.MockTransport(answer)


def test_google_token_through_gce_metadata_host() -> None:
    outcome = detect(
        "sigstore", environ={"GCE_METADATA_HOST": "127.0.0.1:8089"}, client=_client(_metadata(200, "g.tok.en\n"))
    )
    assert isinstance(outcome, Token)
    assert outcome.provider == GOOGLE
    assert outcome.token.get_secret_value() == "g.tok.en"


def test_google_without_service_account() -> None:
    outcome = detect("sigstore", environ={"GCE_METADATA_HOST": "127.0.0.1:8089"}, client=_client(_metadata(404)))
    assert isinstance(outcome, Broken)
    assert outcome.provider == GOOGLE
    assert "service account" in outcome.fix


def test_google_metadata_host_not_google() -> None:
    outcome = detect(
        "sigstore", environ={"GCE_METADATA_HOST": "127.0.0.1:8089"}, client=_client(_metadata(200, "x", flavor=False))
    )
    assert isinstance(outcome, Broken)


def test_google_metadata_failure_is_transient() -> None:
    with pytest.raises(TransientTokenError):
        detect("sigstore", environ={"GCE_METADATA_HOST": "127.0.0.1:8089"}, client=_client(_metadata(503)))


def test_google_not_here_when_the_metadata_host_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_metadata(monkeypatch)
    assert detect("sigstore", environ={}, client=_client()) == NotHere()


def test_gitlab_publisher_fields_and_form_link() -> None:
    claims = Claims(
        {
            "namespace_path": "acme/tools",
            "project_path": "acme/tools/widget",
            "ci_config_ref_uri": "gitlab.com/acme/tools/widget//ci/release.yml@refs/tags/v1.0",
            "environment": "pypi",
            "ref_path": "refs/tags/v1.0",
        }
    )
    assert GITLAB.publisher_fields(claims) == [
        "namespace: acme/tools",
        "project name: widget",
        "top-level pipeline file path: ci/release.yml",
        "environment: pypi",
    ]
    url = GITLAB.form_url("https://pypi.org", "widget", claims)
    assert url == (
        "https://pypi.org/manage/project/widget/settings/publishing/?provider=gitlab&namespace=acme%2Ftools"
        "&project=widget&workflow_filepath=ci%2Frelease.yml&environment=pypi"
    )


def test_google_publisher_fields_and_form_link() -> None:
    claims = Claims({"email": "release@acme.iam.gserviceaccount.com", "sub": "1234567890"})
    assert GOOGLE.publisher_fields(claims) == ["email: release@acme.iam.gserviceaccount.com", "subject: 1234567890"]
    assert GOOGLE.form_url("https://pypi.org", "widget", claims).endswith(
        "?provider=google&email=release%40acme.iam.gserviceaccount.com&sub=1234567890"
    )
    assert GOOGLE.publisher_fields(Claims({}))[1].startswith("subject: (optional)")


def test_the_provider_is_read_from_the_claims() -> None:
    from publish_action.identity import provider_of, publisher_form_url

    github = Claims({"repository": "octo/widget", "job_workflow_ref": "octo/widget/.github/workflows/r.yml@x"})
    gitlab = Claims(
        {
            "iss": "https://gitlab.example",
            "project_path": "group/sub/widget",
            "ci_config_ref_uri": "gitlab.example/group/sub/widget//ci/release.yml@refs/tags/v1",
        }
    )
    google = Claims({"iss": "https://accounts.google.com", "email": "ci@p.iam.gserviceaccount.com", "sub": "42"})
    assert [provider_of(claims) for claims in (github, gitlab, google, Claims({}))] == [GITHUB, GITLAB, GOOGLE, GITHUB]
    # An existing project's form is pre-filled for the token's own provider; a new project's never is.
    assert "provider=gitlab&namespace=group%2Fsub&project=widget&workflow_filepath=ci%2Frelease.yml" in (
        publisher_form_url("https://pypi.org", "widget", gitlab, existing_project=True)
    )
    assert "provider=google&email=ci%40p.iam.gserviceaccount.com&sub=42" in publisher_form_url(
        "https://pypi.org", "widget", google, existing_project=True
    )
    assert publisher_form_url("https://pypi.org", "widget", gitlab, existing_project=False).endswith(
        "/manage/account/publishing/"
    )


def test_a_provider_without_a_publisher_identity_is_refused_attestations() -> None:
    from publish_action.attestations.model import GitLabPublisherIdentity, GooglePublisherIdentity, publisher_identity
    from publish_action.errors import AttestationError

    buildkite = Claims({"iss": "https://agent.buildkite.com", "organization_slug": "acme", "pipeline_slug": "widget"})
    with pytest.raises(AttestationError) as raised:
        publisher_identity(buildkite)
    assert "https://agent.buildkite.com" in raised.value.cause
    assert "attestations: false" in (raised.value.fix or "")
    gitlab = Claims({"project_path": "g/widget", "ci_config_ref_uri": "gitlab.com/g/widget//ci/r.yml@refs/tags/v1"})
    assert publisher_identity(gitlab) == GitLabPublisherIdentity("g/widget", "ci/r.yml", None)
    google = Claims({"iss": "https://accounts.google.com", "email": "ci@p.iam.gserviceaccount.com"})
    assert publisher_identity(google) == GooglePublisherIdentity("ci@p.iam.gserviceaccount.com")
    # A Google-looking token from another issuer is not Google's.
    with pytest.raises(AttestationError):
        publisher_identity(Claims({"iss": "https://accounts.example", "email": "ci@p.iam.gserviceaccount.com"}))


def test_google_is_known_by_the_machine_product_name(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_metadata(monkeypatch)
    monkeypatch.setattr(google, "machine_is_google", lambda: True)
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url.host))
        assert request.headers["Metadata-Flavor"] == "Google"
        assert request.url.params["format"] == "full"
        return httpx.Response(200, text="g.token.value", headers={"Metadata-Flavor": "Google"})

    outcome = detect("pypi", environ={}, client=_client(httpx.MockTransport(answer)))
    assert isinstance(outcome, Token) and outcome.provider == GOOGLE
    assert asked == [google.METADATA_HOST]


def test_impersonation_is_left_to_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # GOOGLE_SERVICE_ACCOUNT_NAME asks for another account's token (IAM generateIdToken), which id does.
    _no_metadata(monkeypatch)
    environ = {"GOOGLE_SERVICE_ACCOUNT_NAME": "release@p.iam.gserviceaccount.com", "GCE_METADATA_HOST": "127.0.0.1:9"}
    assert detect("pypi", environ=environ, client=_client()) == NotHere()


def test_the_precheck_reads_only_the_environment() -> None:
    from publish_action.identity import precheck

    missing = precheck("sigstore", environ={"GITLAB_CI": "true", "PYPI_ID_TOKEN": "a.b.c"})
    assert isinstance(missing, Broken) and "SIGSTORE_ID_TOKEN" in missing.cause
    assert precheck("sigstore", environ={"GITLAB_CI": "true", "SIGSTORE_ID_TOKEN": "a.b.c"}) is None
    # GitHub's token needs a request: the precheck leaves it to the detection proper (and sends nothing).
    github = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
    }
    assert precheck("sigstore", environ=github) is None


def test_a_gitlab_jobs_variables_give_the_publisher_it_would_need() -> None:
    # For advice without a token (an API-token publish nudged towards Trusted Publishing).
    from publish_action.identity import provider_of

    environ = {
        "GITLAB_CI": "true",
        "CI_SERVER_HOST": "gitlab.com",
        "CI_PROJECT_PATH": "octo-group/widget",
        "CI_PROJECT_NAMESPACE": "octo-group",
        "CI_CONFIG_PATH": "ci/release.yml",
        "CI_COMMIT_TAG": "v1.0",
        "CI_ENVIRONMENT_NAME": "pypi",
    }
    claims = claims_from_environ(environ)
    assert provider_of(claims) is GITLAB
    assert claims.get("ci_config_ref_uri") == "gitlab.com/octo-group/widget//ci/release.yml@refs/tags/v1.0"
    assert GITLAB.publisher_fields(claims) == [
        "namespace: octo-group",
        "project name: widget",
        "top-level pipeline file path: ci/release.yml",
        "environment: pypi",
    ]
    assert provider_of(claims_from_environ({"GITHUB_REPOSITORY": "octo/widget"})) is GITHUB
