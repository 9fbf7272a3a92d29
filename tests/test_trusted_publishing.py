"""Trusted Publishing through the offline GitHub OIDC issuer and Warehouse stand-in.

Every test also runs the secret canary: the OIDC JWTs the issuer handed out and the tokens the index
minted must appear nowhere in what the user or the workflow sees, except in ``::add-mask::`` lines.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import DistCache, make_wheels
from tests.helpers import Run, run_action
from tests.sandbox import Fault, GitHubPublisher, OIDCIssuer, Warehouse

pytestmark = pytest.mark.sandbox


def assert_all_burnt(warehouse: Warehouse) -> None:
    assert warehouse.minted_tokens, "something was minted"
    burnt = {record.token for record in warehouse.burns}
    for token in warehouse.minted_tokens:
        assert token in burnt
        assert not warehouse.token_is_live(token)


def _tp_inputs(warehouse: Warehouse, **extra: str) -> dict[str, str]:
    return {"repository-url": warehouse.upload_url, "attestations": "false", **extra}


Publish = Callable[..., Run]


@pytest.fixture
def publish(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Publish:
    """Run the action in-process in ``tmp_path`` against the Warehouse stand-in (attestations off unless given)."""

    def run(env: dict[str, str] | None = None, **inputs: str) -> Run:
        return run_action(monkeypatch, capsys, tmp_path, _tp_inputs(warehouse, **inputs), env=env)

    return run


def test_full_trusted_publishing_publish(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    (tmp_path / "dist").symlink_to(hatch_dists)
    local = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in hatch_dists.iterdir()}

    run = publish()

    assert run.code == 0, run.out
    assert {f.filename: f.sha256 for f in warehouse.files} == local
    assert all(f.publisher is not None and f.publisher.workflow == "release.yml" for f in warehouse.files)
    assert warehouse.requests.endpoints()[:3] == ["audience", "simple", "mint"] or warehouse.requests.endpoints()[
        :3
    ] == ["simple", "audience", "mint"]
    assert warehouse.requests.count("mint") == 1
    assert warehouse.requests.count("upload") == 2
    # The token is revoked right after the uploads, before the confirmation reads the simple API (then read
    # once more for the release's provenance grade).
    assert warehouse.requests.endpoints()[-3:] == ["burn", "simple", "simple"]
    assert "Credentials: Trusted Publishing (short-lived token, revoked after the upload)" in run.summary
    assert_all_burnt(warehouse)


def test_refused_exchange_explains_what_the_publisher_must_say(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    oidc_issuer.claims = oidc_issuer.claims.replace(workflow_file="publish.yml", environment="release")
    (tmp_path / "dist").symlink_to(hatch_dists)

    run = publish()

    assert run.code == ExitCode.AUTHENTICATION, run.out
    assert run.out.count("::error ") == 1
    text = run.summary
    assert "refused the Trusted Publishing exchange" in text
    assert "index: invalid-publisher: valid token, but no corresponding publisher" in text
    for line in (
        "token claim (for debugging): repository: octo-org/sandbox-demo",
        "token claim (for debugging): repository_owner: octo-org",
        "token claim (for debugging): repository_owner_id: 900000001",
        "token claim (for debugging): job_workflow_ref: octo-org/sandbox-demo/.github/workflows/publish.yml@refs/heads/main",
        "token claim (for debugging): environment: release",
        "token claim (for debugging): event_name: push",
        "the trusted publisher must say owner: octo-org",
        "the trusted publisher must say repository: sandbox-demo",
        "the trusted publisher must say workflow name: publish.yml",
        "the trusted publisher must say environment: release",
    ):
        assert line in text, line
    link = next(word for word in text.split() if "/manage/project/sandbox-demo/settings/publishing/" in word)
    query = parse_qs(urlsplit(link).query)
    assert query == {
        "provider": ["github"],
        "owner": ["octo-org"],
        "repository": ["sandbox-demo"],
        "workflow_filename": ["publish.yml"],
        "environment": ["release"],
    }
    assert warehouse.files == []
    assert warehouse.requests.count("upload") == 0


def test_missing_claims_are_marked_missing(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    oidc_issuer.claims = oidc_issuer.claims.replace(environment=None, extra={"ref": None})
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = publish()
    assert run.code == ExitCode.AUTHENTICATION
    assert "token claim (for debugging): environment: MISSING" in run.summary
    assert "token claim (for debugging): ref: MISSING" in run.summary


def test_no_id_token_permission_shows_the_snippet(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = publish(env=oidc_issuer.env(id_token=False))
    assert run.code == ExitCode.AUTHENTICATION
    assert "The job may not request an OIDC token" in run.summary
    assert "id-token: write" in run.summary
    assert "permissions:%0A      id-token: write" in run.out  # the annotation keeps the snippet's lines
    assert warehouse.requests.count("mint") == 0
    assert warehouse.files == []


def test_fork_pull_request_explains_why_there_is_no_token(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    oidc_issuer.claims = oidc_issuer.claims.replace(event_name="pull_request")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(oidc_issuer.claims.event_payload(fork=True)))
    env = oidc_issuer.env(id_token=False)
    env["GITHUB_EVENT_PATH"] = str(event)
    (tmp_path / "dist").symlink_to(hatch_dists)

    run = publish(env=env)

    assert run.code == ExitCode.AUTHENTICATION
    assert "Trusted Publishing is not available in pull requests from forks" in run.summary
    assert "GitHub never gives OIDC tokens to workflows started from forks" in run.summary
    assert "`release: published`" in run.summary
    assert warehouse.files == []


def test_pull_request_target_is_refused_before_minting(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    oidc_issuer.claims = oidc_issuer.claims.replace(event_name="pull_request_target")
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = publish(env=oidc_issuer.env())
    assert run.code == ExitCode.AUTHENTICATION
    assert "Trusted Publishing refuses pull_request_target" in run.summary
    assert len(warehouse.requests) == 0
    assert oidc_issuer.issued_tokens == []


def test_reusable_workflow_without_attestations_publishes_with_a_warning(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    oidc_issuer.claims = oidc_issuer.claims.reusable(repository="octo-org/sandbox-demo", workflow_file="pypi.yml")
    warehouse.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "pypi.yml", "pypi"))
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = publish(env=oidc_issuer.env())
    assert run.code == 0, run.out
    warning = next(line for line in run.out.splitlines() if "reusable workflow" in line)
    assert warning.startswith("::warning")
    assert "octo-org/sandbox-demo/.github/workflows/pypi.yml" in warning
    assert "Sigstore certificates name the calling workflow (release.yml)" in warning
    assert "reusable workflow" in run.summary
    assert len(warehouse.files) == 2


@pytest.mark.parametrize(
    ("setup", "title", "fix"),
    [
        (
            lambda w: setattr(w, "trusted_publishing", "disabled"),
            "Trusted Publishing is disabled on",
            "an API token passed as `password` works",
        ),
        (
            lambda w: setattr(w, "trusted_publishing", "absent"),
            "does not offer Trusted Publishing",
            "pass an API token or password",
        ),
        (
            lambda w: w.faults.add("audience", Fault(kind="malformed", times=99)),
            "could not complete Trusted Publishing",
            "supports Trusted Publishing",
        ),
        (
            lambda w: w.faults.add("audience", Fault(kind="status", status=502, times=99)),
            "could not complete Trusted Publishing",
            "Re-run the job once the index answers again",
        ),
    ],
    ids=["audience-403", "audience-404", "audience-malformed", "audience-5xx"],
)
def test_audience_trouble_gives_an_index_status_hint(
    setup,
    title: str,
    fix: str,
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    fast_retries: None,
    publish: Publish,
) -> None:
    setup(warehouse)
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = publish()
    assert run.code == ExitCode.AUTHENTICATION, run.out
    assert title in run.summary
    assert fix in run.summary
    assert warehouse.requests.count("mint") == 0
    assert warehouse.files == []


def test_unknown_project_explains_pending_publishers(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    publish: Publish,
) -> None:
    make_wheels(tmp_path / "dist", 1, name="sandbox-demo-typo")
    run = publish()
    assert run.code == ExitCode.UPLOAD, run.out
    assert "Non-user identities cannot create new projects" in run.summary
    assert "pending* publisher" in run.summary
    assert "whose project name is exactly 'sandbox-demo-typo'" in run.summary
    assert_all_burnt(warehouse)


def test_pending_publisher_creates_the_project(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    publish: Publish,
) -> None:
    warehouse.add_pending_publisher("brand-new", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    make_wheels(tmp_path / "dist", 1, name="brand-new")
    run = publish()
    assert run.code == 0, run.out
    assert [f.project for f in warehouse.files] == ["brand-new"]


@pytest.mark.parametrize(
    "fault", [Fault(kind="status", status=503, times=1), Fault(kind="reset", times=1)], ids=["503", "reset"]
)
def test_mint_is_retried_with_a_fresh_oidc_token(
    fault: Fault,
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    fast_retries: None,
    publish: Publish,
) -> None:
    warehouse.faults.add("mint", fault)
    (tmp_path / "dist").symlink_to(hatch_dists)

    run = publish()

    assert run.code == 0, run.out
    assert warehouse.requests.count("mint") == 2
    pypi_tokens = [issued for issued in oidc_issuer.issued if issued.claims["aud"] == "pypi"]
    assert len(pypi_tokens) == 2
    assert len({issued.claims["jti"] for issued in pypi_tokens}) == 2
    assert "Token exchange: attempt 1 of 5 failed" in run.out
    assert len(warehouse.files) == 2
    assert_all_burnt(warehouse)


def test_a_reused_oidc_token_is_refused_by_the_stand_in(warehouse: Warehouse, oidc_issuer: OIDCIssuer) -> None:
    # The property the retry test relies on: the index really refuses a second exchange of one JWT.
    jwt = oidc_issuer.mint("pypi")
    assert warehouse.mint_direct(jwt)["status"] == 200
    again = warehouse.mint_direct(jwt)
    assert again["status"] == 422
    assert again["errors"][0]["code"] == "invalid-reuse-token"


def test_token_nearing_expiry_during_a_long_upload_is_minted_again(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    publish: Publish,
) -> None:
    warehouse.token_lifetime = 3
    warehouse.faults.add("upload", Fault(kind="delay", seconds=0.4))
    make_wheels(tmp_path / "dist", 12, distinct_by="platform")

    run = publish(**{"max-parallel": "2"})

    assert run.code == 0, run.out
    assert len(warehouse.files) == 12
    assert len(warehouse.mints) >= 2
    assert "The upload token expires soon; minting a new one" in run.out
    assert_all_burnt(warehouse)


def test_tokens_are_burnt_after_a_failed_upload(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    fast_retries: None,
    publish: Publish,
) -> None:
    wheels = make_wheels(tmp_path / "dist", 2)
    warehouse.faults.add("upload", Fault(kind="status", status=500, times=99))
    run = publish()
    assert run.code == ExitCode.UPLOAD
    assert json.loads(run.outputs["failed"]) == [wheels[0].name]
    assert_all_burnt(warehouse)


@pytest.mark.parametrize(
    ("status", "revoked", "remark"),
    [
        (None, True, None),  # Warehouse's own answer: 202 Accepted
        (404, False, "cannot revoke upload tokens"),
        (500, False, "Revoking an upload token failed (HTTP 500"),
    ],
)
def test_a_token_counts_as_revoked_only_on_a_2xx_answer(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    publish: Publish,
    status: int | None,
    revoked: bool,
    remark: str | None,
) -> None:
    make_wheels(tmp_path / "dist", 1)
    if status is not None:
        warehouse.faults.add("burn", Fault(kind="status", status=status, times=99))
    run = publish()
    assert run.code == 0, run.out
    assert ("Revoked 1 upload token(s)" in run.out) is revoked
    if remark is None:
        assert "::notice" not in run.out
    else:
        notice = next(line for line in run.out.splitlines() if remark in line)
        assert notice.startswith("::notice")


def test_burn_endpoint_missing_is_only_a_notice(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    publish: Publish,
) -> None:
    make_wheels(tmp_path / "dist", 1)
    warehouse.faults.add("burn", Fault(kind="status", status=404, times=99))
    run = publish()
    assert run.code == 0
    notice = next(line for line in run.out.splitlines() if "cannot revoke upload tokens" in line)
    assert notice.startswith("::notice")
    assert "they expire by themselves" in run.summary
    assert "::error" not in run.out


def test_dry_run_of_an_existing_project_mints_and_burns_but_uploads_nothing(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    # The project exists on the index, so minting changes nothing there and proves the publisher matches.
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = publish(**{"dry-run": "true"})
    assert run.code == 0, run.out
    assert warehouse.files == []
    assert warehouse.requests.count("upload") == 0
    assert_all_burnt(warehouse)


def test_dry_run_never_mints_through_a_pending_publisher(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    publish: Publish,
) -> None:
    # A brand-new project with a pending publisher: a mint would create the project on the index for good.
    warehouse.publishers.clear()
    del warehouse.projects["sandbox-demo"]
    pending = warehouse.add_pending_publisher(
        "sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi")
    )
    (tmp_path / "dist").symlink_to(hatch_dists)

    run = publish(**{"dry-run": "true"})

    assert run.code == 0, run.out
    assert warehouse.requests.count("mint") == 0
    assert warehouse.minted_tokens == []
    assert "sandbox-demo" not in warehouse.projects
    assert warehouse.pending_publishers == {pending: "sandbox-demo"}
    # The OIDC token was read (proving id-token: write) and what the publisher must say is spelled out.
    assert len(oidc_issuer.issued) == 1
    notice = next(line for line in run.out.splitlines() if "the token exchange was not tried" in line)
    assert notice.startswith("::warning::")
    for field in ("owner: octo-org", "repository: sandbox-demo", "workflow name: release.yml", "environment: pypi"):
        assert field in notice
    assert "the token exchange was not tried" in run.summary

    # The real run then mints through the pending publisher, which creates the project.
    real = publish(**{"dry-run": "false"})
    assert real.code == 0, real.out
    assert "sandbox-demo" in warehouse.projects
    assert warehouse.pending_publishers == {}


def test_api_token_to_pypi_gets_a_trusted_publishing_nudge(
    warehouse: Warehouse,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo-org/sandbox-demo")
    monkeypatch.setenv("GITHUB_REPOSITORY_OWNER", "octo-org")
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", "octo-org/sandbox-demo/.github/workflows/release.yml@refs/heads/main")
    run = run_action(
        monkeypatch,
        capsys,
        tmp_path,
        {
            "repository-url": "https://upload.pypi.org/legacy/",
            "check-url": warehouse.simple_url,
            "password": "pypi-AgEI" + secrets.token_urlsafe(60),
            "dry-run": "true",
            "attestations": "false",
        },
    )
    assert run.code == 0, run.out
    notice = next(line for line in run.out.splitlines() if "Trusted Publishing needs no stored secret" in line)
    assert notice.startswith("::warning")
    assert (
        "https://pypi.org/manage/project/sandbox-demo/settings/publishing/?provider=github&owner=octo-org"
        "&repository=sandbox-demo&workflow_filename=release.yml"
    ) in notice


def test_token_without_pypi_prefix_gets_a_warning(
    warehouse: Warehouse,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = run_action(
        monkeypatch,
        capsys,
        tmp_path,
        {"repository-url": warehouse.upload_url, "password": "not-a-token", "dry-run": "true"},
    )
    assert "does not look like a PyPI API token" in run.out


def test_trusted_publishing_needs_https_for_remote_indexes(
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = run_action(monkeypatch, capsys, tmp_path, {"repository-url": "http://pypi.example.org/legacy/"})
    assert run.code == ExitCode.SETTINGS
    assert "Trusted Publishing needs HTTPS" in run.summary
