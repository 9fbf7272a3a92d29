"""Publishing from GitLab CI/CD and Google Cloud through the whole offline world, run as such a job runs it.

Each run is a job of that provider alone: GitLab's ``id_tokens:`` variables or Google's metadata server, and
no ``GITHUB_*`` variable at all (so no workflow commands either). The Warehouse stand-in checks the tokens
and every uploaded attestation as PyPI does: against the provider's keys, the loopback Sigstore's trust root
and the trusted publisher that minted the upload token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from pypi_attestations import Attestation, Distribution

from publish_action.errors import ExitCode
from tests.fixtures.dists import make_wheels
from tests.helpers import Run, run_in_world, run_process
from tests.sandbox.gitlab_issuer import GitLabClaims, GitLabIssuer
from tests.sandbox.google_metadata import GoogleClaims, GoogleMetadataServer
from tests.sandbox.sigstore import verify_attestation
from tests.sandbox.warehouse import GitLabPublisher, GooglePublisher, Publisher, StoredFile, Warehouse
from tests.sandbox.world import DEFAULT_GITLAB_PUBLISHER, DEFAULT_GOOGLE_PUBLISHER, Provider, World, offline_world

pytestmark = pytest.mark.sandbox

PROJECT = "sandbox-demo"
GITLAB_IDENTITY = "octo-group/sandbox-demo, pipeline file .gitlab-ci.yml, environment pypi"
GOOGLE_IDENTITY = f"service account {GoogleClaims().email}"


@contextmanager
def _world(
    tmp_path: Path,
    provider: Provider,
    *,
    claims: GitLabClaims | GoogleClaims | None = None,
    publisher: Publisher | None = None,
) -> Iterator[World]:
    with offline_world(tmp_path / "world", provider=provider, claims=claims, publisher=publisher) as world:
        yield world
        assert world.warehouse.errors == [], "a Warehouse handler raised"


def _run(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    without: tuple[str, ...] = (),
    **inputs: str,
) -> Run:
    # Typed as Any: each input is a string, which mypy cannot tell apart from run_in_world's own keywords.
    given: dict[str, Any] = dict(inputs)
    run = run_in_world(world, monkeypatch, capsys, tmp_path, without=without, **given)
    _assert_outside_github(run, world)
    return run


def _assert_outside_github(run: Run, world: World) -> None:
    """No secret in the log, and nothing of GitHub's: no workflow command, no mask line."""
    log = run.out
    secrets = [*world.issuer.issued_tokens, *world.warehouse.minted_tokens]
    for secret in secrets:
        assert secret not in log
    assert "::add-mask::" not in log
    assert not [line for line in log.splitlines() if line.startswith("::")], "a workflow command outside GitHub"


def _error(run: Run) -> str:
    """The run's error, as the log shows it outside GitHub (``Error: <title>: …`` and what follows)."""
    start = run.out.find("Error: ")
    assert start != -1, run.out
    return run.out[start:]


def _certificate(stored: StoredFile) -> x509.Certificate:
    assert stored.attestations is not None
    (attestation,) = [Attestation.model_validate(item) for item in json.loads(stored.attestations)]
    return x509.load_der_x509_certificate(attestation.verification_material.certificate)


def _assert_stored_with_verified_attestations(world: World, dists: list[Path], publisher: Publisher) -> None:
    """Every file stored for ``publisher``, its attestation verifying for that publisher's identity (checked
    here again, apart from the Warehouse's own hook) and its provenance naming it."""
    stored = {f.filename: f for f in world.warehouse.files}
    assert sorted(stored) == sorted(path.name for path in dists)
    identity = publisher.attestation_identity()
    for path in dists:
        name = path.name
        record = stored[name]
        assert record.publisher == publisher
        assert record.attestations is not None
        (attestation,) = [Attestation.model_validate(item) for item in json.loads(record.attestations)]
        verify_attestation(attestation, identity, Distribution.from_file(path), verifier=world.sigstore.verifier())
        assert record.provenance is not None
        (bundle,) = record.provenance["attestation_bundles"]
        assert bundle["publisher"]["kind"] == identity.kind
        # The .publish.attestation written next to the file is the one the index stored.
        written = json.loads((path.parent / f"{name}.publish.attestation").read_text())
        assert json.loads(record.attestations) == [written]


# -- publishing ------------------------------------------------------------------------------------------


def test_gitlab_job_publishes_with_attestations_for_its_gitlab_publisher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dists = make_wheels(tmp_path / "dist", 2)
    names = [path.name for path in dists]
    with _world(tmp_path, "gitlab") as world:
        run = _run(world, tmp_path, monkeypatch, capsys)

        assert run.code == 0, run.out
        _assert_stored_with_verified_attestations(world, dists, DEFAULT_GITLAB_PUBLISHER)
        for record in world.warehouse.files:
            san = _certificate(record).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
                "https://gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@refs/heads/main"
            ]
        # The job's own tokens were used: one exchange with PYPI_ID_TOKEN, one certificate with SIGSTORE_ID_TOKEN.
        assert [mint.publisher for mint in world.warehouse.mints] == [DEFAULT_GITLAB_PUBLISHER]
        assert len([r for r in world.sigstore.fulcio.requests if r.path.endswith("signingCert")]) == 1
        assert all(not world.warehouse.token_is_live(token) for token in world.warehouse.minted_tokens)
    assert (
        "Sigstore issued a signing certificate for "
        "https://gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml@refs/heads/main"
    ) in run.out
    for name in names:
        # The confirmation stage read the index's provenance and found the GitLab publisher in it.
        assert f"{name}: verified (sha256 " in run.out
        assert f"and provenance of {GITLAB_IDENTITY}, with the attestation sent)" in run.out


def test_google_job_publishes_with_attestations_for_its_service_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dists = make_wheels(tmp_path / "dist", 2)
    names = [path.name for path in dists]
    with _world(tmp_path, "google") as world:
        assert isinstance(world.issuer, GoogleMetadataServer)
        run = _run(world, tmp_path, monkeypatch, capsys)

        assert run.code == 0, run.out
        _assert_stored_with_verified_attestations(world, dists, DEFAULT_GOOGLE_PUBLISHER)
        for record in world.warehouse.files:
            san = _certificate(record).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert san.get_values_for_type(x509.RFC822Name) == [GoogleClaims().email]
        # Both tokens came from the metadata server, in its full format (PyPI needs the e-mail claims).
        audiences = sorted(str(issued.claims["aud"]) for issued in world.issuer.issued)
        assert audiences == ["pypi", "sigstore"]
        assert all(issued.claims.get("email") == GoogleClaims().email for issued in world.issuer.issued)
        assert {r.headers.get("Metadata-Flavor") for r in world.issuer.requests.for_endpoint("identity")} == {"Google"}
        assert [mint.publisher for mint in world.warehouse.mints] == [DEFAULT_GOOGLE_PUBLISHER]
    assert f"Sigstore issued a signing certificate for {GoogleClaims().email}" in run.out
    for name in names:
        assert f"{name}: verified (sha256 " in run.out
        assert f"and provenance of {GOOGLE_IDENTITY}, with the attestation sent)" in run.out


def test_gitlab_job_as_a_process_sets_nothing_of_githubs(tmp_path: Path) -> None:
    """``python -m publish_action`` in a GitLab job's environment: what the container's entry point runs."""
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "gitlab") as world:
        env = world.action_env(index_rules="pypi")
        assert not [name for name in env if name.startswith(("GITHUB_", "ACTIONS_", "RUNNER_"))]
        completed = run_process([], env, tmp_path)

        assert completed.returncode == 0, completed.stdout + completed.stderr
        (stored,) = world.warehouse.files
        assert stored.publisher == DEFAULT_GITLAB_PUBLISHER
        assert stored.attestations is not None
        log = completed.stdout + completed.stderr
        for secret in (*world.issuer.issued_tokens, *world.warehouse.minted_tokens):
            assert secret not in log
    assert not [line for line in log.splitlines() if line.startswith("::")], "a workflow command outside GitHub"
    assert f"and provenance of {GITLAB_IDENTITY}, with the attestation sent)" in log


# -- refused exchanges -----------------------------------------------------------------------------------

_GITLAB_MUST_SAY = {
    "namespace": "octo-group",
    "project name": "sandbox-demo",
    "top-level pipeline file path": ".gitlab-ci.yml",
    "environment": "pypi",
}
_GITLAB_FORM = {
    "provider": ["gitlab"],
    "namespace": ["octo-group"],
    "project": ["sandbox-demo"],
    "workflow_filepath": [".gitlab-ci.yml"],
    "environment": ["pypi"],
}
_GOOGLE_MUST_SAY = {"email": GoogleClaims().email, "subject": GoogleClaims().sub}
_GOOGLE_FORM = {"provider": ["google"], "email": [GoogleClaims().email], "sub": [GoogleClaims().sub]}
_MUST_SAY = "the trusted publisher must say "
_NOT_FOUND = (
    "invalid-publisher: valid token, but no corresponding publisher (Publisher with matching claims was not found)"
)

_REFUSALS: dict[str, tuple[Provider, Publisher, str]] = {
    "gitlab-other-project": (
        "gitlab",
        GitLabPublisher("octo-group", "other-project", ".gitlab-ci.yml", "pypi"),
        _NOT_FOUND,
    ),
    "gitlab-other-ci-file": (
        "gitlab",
        GitLabPublisher("octo-group", "sandbox-demo", "ci/release.yml", "pypi"),
        _NOT_FOUND,
    ),
    "gitlab-other-environment": (
        "gitlab",
        GitLabPublisher("octo-group", "sandbox-demo", ".gitlab-ci.yml", "release"),
        _NOT_FOUND,
    ),
    # Found by the case-insensitive look-up, refused by the exact check: the index's own reason says why.
    "gitlab-project-in-other-case": (
        "gitlab",
        GitLabPublisher("Octo-Group", "Sandbox-Demo", ".gitlab-ci.yml", "pypi"),
        "invalid-publisher: valid token, but no corresponding publisher (The ci_config_ref_uri claim does not "
        "match, expecting one of ['gitlab.com/Octo-Group/Sandbox-Demo//.gitlab-ci.yml@",
    ),
    "google-other-service-account": (
        "google",
        GooglePublisher("release@other-project.iam.gserviceaccount.com"),
        _NOT_FOUND,
    ),
    "google-other-subject": (
        "google",
        # The look-up takes a publisher naming the token's subject, else one naming none: neither is there.
        GooglePublisher(GoogleClaims().email, sub="999999999999999999999"),
        _NOT_FOUND,
    ),
}


@pytest.mark.parametrize("case", sorted(_REFUSALS))
def test_refused_exchange_names_what_the_providers_publisher_must_say(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    provider, publisher, reason = _REFUSALS[case]
    make_wheels(tmp_path / "dist", 2)
    with _world(tmp_path, provider, publisher=publisher) as world:
        run = _run(world, tmp_path, monkeypatch, capsys)

        assert run.code == ExitCode.AUTHENTICATION, run.out
        assert world.warehouse.files == []
        assert world.warehouse.requests.count("upload") == 0
        assert world.warehouse.minted_tokens == []
        assert len(world.sigstore.log) == 0
        web_root = world.warehouse.url
    text = _error(run)
    assert "refused the Trusted Publishing exchange" in text
    assert f"index: {reason}" in text
    name, must_say, form = (
        ("GitLab CI/CD", _GITLAB_MUST_SAY, _GITLAB_FORM)
        if provider == "gitlab"
        else ("Google Cloud", _GOOGLE_MUST_SAY, _GOOGLE_FORM)
    )
    assert f"CI provider: {name}" in text
    assert f"register a {name} trusted publisher" in text
    # Exactly the provider's fields, in the form's order, with the job's values (none of GitHub's).
    said = [line.split(_MUST_SAY, 1)[1] for line in text.splitlines() if _MUST_SAY in line]
    assert said == [f"{label}: {value}" for label, value in must_say.items()]
    words = text.split()
    (link,) = [word for word in words if "/settings/publishing/" in word]
    assert link.startswith(f"{web_root}/manage/project/{PROJECT}/settings/publishing/?")
    assert parse_qs(urlsplit(link).query) == form
    # The project exists (its look-up found it): a pending publisher's form would not help.
    assert f"{web_root}/manage/account/publishing/" not in words


def test_a_refusal_for_a_project_not_yet_on_the_index_points_at_the_pending_publisher_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "gitlab") as world:
        # A first release: only a pending publisher, for another CI file.
        world.warehouse.projects.clear()
        world.warehouse.publishers.clear()
        world.warehouse.add_pending_publisher(
            PROJECT, GitLabPublisher("octo-group", "sandbox-demo", "ci/release.yml", "pypi")
        )
        run = _run(world, tmp_path, monkeypatch, capsys)

        assert run.code == ExitCode.AUTHENTICATION, run.out
        assert world.warehouse.minted_tokens == [] and world.warehouse.projects == {}
        web_root = world.warehouse.url
    text = _error(run)
    words = text.split()
    # PyPI's account form is not filled from a link: the fields are listed above it instead.
    assert f"{web_root}/manage/account/publishing/" in words
    assert "(new project: a pending publisher for project name sandbox-demo, with the values above)" in text
    assert not [word for word in words if "/settings/publishing/" in word]
    assert "the trusted publisher must say top-level pipeline file path: .gitlab-ci.yml" in text


def test_refused_gitlab_exchange_shows_the_tokens_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = GitLabClaims(ref_path="refs/tags/v1.0.0", environment=None)
    publisher = GitLabPublisher("octo-group", "sandbox-demo", "ci/release.yml")
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "gitlab", claims=claims, publisher=publisher) as world:
        run = _run(world, tmp_path, monkeypatch, capsys)
    assert run.code == ExitCode.AUTHENTICATION, run.out
    text = _error(run)
    for line in (
        "token claim (for debugging): iss: https://gitlab.com",
        "token claim (for debugging): project_path: octo-group/sandbox-demo",
        "token claim (for debugging): ci_config_ref_uri: gitlab.com/octo-group/sandbox-demo//.gitlab-ci.yml"
        "@refs/tags/v1.0.0",
        "token claim (for debugging): ref_path: refs/tags/v1.0.0",
        "token claim (for debugging): environment: MISSING",
        "the trusted publisher must say top-level pipeline file path: .gitlab-ci.yml",
        "the trusted publisher must say environment: (any) — the job has no environment",
    ):
        assert line in text, line
    (link,) = [word for word in text.split() if "/settings/publishing/" in word]
    assert parse_qs(urlsplit(link).query, keep_blank_values=True)["environment"] == [""]


# -- no identity -----------------------------------------------------------------------------------------


def test_gitlab_job_without_an_id_token_for_the_index_shows_the_id_tokens_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "gitlab") as world:
        world.warehouse.audience = "sandbox-index"
        run = _run(world, tmp_path, monkeypatch, capsys, without=("SANDBOX_INDEX_ID_TOKEN",))

        assert run.code == ExitCode.AUTHENTICATION, run.out
        assert world.warehouse.requests.count("mint") == 0
        assert world.warehouse.files == []
    text = _error(run)
    assert "no SANDBOX_INDEX_ID_TOKEN variable" in text
    # The block names the audience the index asked for, not PyPI's.
    assert "  id_tokens:\n    SANDBOX_INDEX_ID_TOKEN:\n      aud: sandbox-index\n" in text
    assert "PYPI_ID_TOKEN" not in text


def test_gitlab_job_without_pypi_id_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "gitlab") as world:
        run = _run(world, tmp_path, monkeypatch, capsys, without=("PYPI_ID_TOKEN",))

        assert run.code == ExitCode.AUTHENTICATION, run.out
        assert world.warehouse.requests.count("mint") == 0
        assert world.warehouse.files == []
        assert len(world.sigstore.log) == 0
    text = _error(run)
    assert text.startswith("Error: The GitLab CI job has no ID token for the index")
    assert "no PYPI_ID_TOKEN variable" in text
    assert "(audience 'pypi', as the index names it)" in text
    assert "  id_tokens:\n    PYPI_ID_TOKEN:\n      aud: pypi\n" in text


def test_google_machine_without_a_service_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "google") as world:
        assert isinstance(world.issuer, GoogleMetadataServer)
        world.issuer.service_account = False
        run = _run(world, tmp_path, monkeypatch, capsys)

        assert run.code == ExitCode.AUTHENTICATION, run.out
        assert world.issuer.requests.count("identity", status=404) >= 1
        assert world.warehouse.requests.count("mint") == 0
        assert world.warehouse.files == []
    text = _error(run)
    assert "No service account is attached to this Google Cloud job" in text
    assert "attach a service account" in text


# -- the Sigstore token ----------------------------------------------------------------------------------


def test_gitlab_job_without_a_sigstore_id_token_uploads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 2)
    with _world(tmp_path, "gitlab") as world:
        run = _run(world, tmp_path, monkeypatch, capsys, without=("SIGSTORE_ID_TOKEN",))

        # No `sigstore` token is an identity problem, found before the exchange: exit 4.
        assert run.code == ExitCode.AUTHENTICATION, run.out
        assert world.warehouse.files == []
        assert world.warehouse.requests.count("upload") == 0
        assert len(world.sigstore.log) == 0
        assert not [r for r in world.sigstore.fulcio.requests if r.method == "POST"]
        # Found missing before the exchange: no upload token was minted for a run that could not sign.
        assert world.warehouse.requests.count("mint") == 0
        assert world.warehouse.minted_tokens == []
    assert not list((tmp_path / "dist").glob("*.publish.attestation"))
    text = _error(run)
    assert "The GitLab CI job has no ID token for Sigstore" in text
    assert "no SIGSTORE_ID_TOKEN variable" in text
    assert "  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n" in text
    assert "as the index names it" not in text
    assert "attestations: false" in text


def test_gitlab_job_without_a_sigstore_id_token_publishes_when_attestations_are_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 1)
    with _world(tmp_path, "gitlab") as world:
        run = _run(world, tmp_path, monkeypatch, capsys, without=("SIGSTORE_ID_TOKEN",), attestations="false")

        assert run.code == 0, run.out
        (stored,) = world.warehouse.files
        assert stored.publisher == DEFAULT_GITLAB_PUBLISHER
        assert stored.attestations is None
        assert world.sigstore.fulcio.requests == []


# -- reusing attestations --------------------------------------------------------------------------------


@contextmanager
def _second_index(world: World, publisher: GitLabPublisher) -> Iterator[Warehouse]:
    """Another index trusting the same GitLab issuer and Sigstore, with ``publisher`` for the project."""
    assert isinstance(world.issuer, GitLabIssuer)
    index = Warehouse(gitlab_issuer=world.issuer)
    index.add_publisher(PROJECT, publisher)
    index.attestation_verifier = world.sigstore.attestation_verifier()
    index.start()
    try:
        yield index
        assert index.errors == [], "a Warehouse handler raised"
    finally:
        index.stop()


def test_gitlab_attestations_are_reused_for_the_same_publisher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [path.name for path in make_wheels(tmp_path / "dist", 2)]
    with _world(tmp_path, "gitlab") as world:
        first = _run(world, tmp_path, monkeypatch, capsys)
        assert first.code == 0, first.out
        entries = len(world.sigstore.log)
        written = {name: (tmp_path / "dist" / f"{name}.publish.attestation").read_text() for name in names}
        with _second_index(world, DEFAULT_GITLAB_PUBLISHER) as second:
            again = _run(world, tmp_path, monkeypatch, capsys, repository_url=second.upload_url)

            assert again.code == 0, again.out
            assert len(world.sigstore.log) == entries, "something was signed again"
            assert sorted(f.filename for f in second.files) == sorted(names)
            for stored in second.files:
                assert stored.publisher == DEFAULT_GITLAB_PUBLISHER
                assert stored.attestations is not None
                assert json.loads(stored.attestations) == [json.loads(written[stored.filename])]
    for name in names:
        assert f"{name}: reusing {name}.publish.attestation (verified for {GITLAB_IDENTITY})" in again.out


def test_gitlab_attestation_of_another_ci_file_is_refused_before_anything_is_uploaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [path.name for path in make_wheels(tmp_path / "dist", 2)]
    release = GitLabPublisher("octo-group", "sandbox-demo", "ci/release.yml", "pypi")
    with _world(tmp_path, "gitlab", claims=GitLabClaims(ci_config_path="ci/release.yml"), publisher=release) as world:
        assert isinstance(world.issuer, GitLabIssuer)
        made = _run(world, tmp_path, monkeypatch, capsys)
        assert made.code == 0, made.out
        assert {f.publisher for f in world.warehouse.files} == {release}
        entries = len(world.sigstore.log)
        # The same project's next job runs .gitlab-ci.yml, the publisher of the other index too.
        world.issuer.claims = GitLabClaims()
        with _second_index(world, DEFAULT_GITLAB_PUBLISHER) as second:
            run = _run(world, tmp_path, monkeypatch, capsys, repository_url=second.upload_url)

            assert run.code == ExitCode.ATTESTATIONS, run.out
            assert second.requests.count("upload") == 0
            assert second.files == []
            assert len(world.sigstore.log) == entries, "nothing may be signed in place of a refused attestation"
            assert all(not second.token_is_live(token) for token in second.minted_tokens)
    text = _error(run)
    assert "Existing attestations do not fit this publish" in text
    for name in names:
        assert f"{name}.publish.attestation" in text
    assert (
        "signed by the pipeline file https://gitlab.com/octo-group/sandbox-demo//ci/release.yml@refs/heads/main, "
        f"but this publish is for {GITLAB_IDENTITY}"
    ) in text
