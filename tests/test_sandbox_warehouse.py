"""The Warehouse stand-in: Trusted Publishing exchange, legacy upload, simple API, faults.

Expected texts and codes are Warehouse's own (warehouse/oidc/views.py, warehouse/oidc/models/github.py,
warehouse/forklift/legacy.py); each test would fail if the stand-in drifted from them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox import AttestationRejected, Fault, GitHubClaims, GitHubPublisher, OIDCIssuer, Warehouse
from tests.sandbox._dists import upload_fields, upload_file, write_sdist, write_wheel
from tests.sandbox.fixtures import DEFAULT_PUBLISHER, start_sandbox

pytestmark = pytest.mark.sandbox

FAKE_ATTESTATION = {
    "version": 1,
    "verification_material": {"certificate": "AAAA", "transparency_entries": [{"logIndex": "1"}]},
    "envelope": {"statement": "AAAA", "signature": "AAAA"},
}


def mint(warehouse: Warehouse, jwt_token: str) -> httpx.Response:
    return httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": jwt_token}, timeout=10)


def minted_token(warehouse: Warehouse, issuer: OIDCIssuer) -> str:
    response = mint(warehouse, issuer.mint("pypi"))
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def error_of(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Token request failed"
    assert len(body["errors"]) == 1
    return body["errors"][0]["code"], body["errors"][0]["description"]


# -- audience -----------------------------------------------------------------------------------------


def test_audience_default_and_configured(warehouse: Warehouse):
    assert httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10).json() == {"audience": "pypi"}
    warehouse.audience = "testpypi"
    assert httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10).json() == {"audience": "testpypi"}


def test_audience_disabled_and_absent(warehouse: Warehouse):
    warehouse.trusted_publishing = "disabled"
    response = httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "Trusted publishing functionality not enabled"}

    warehouse.trusted_publishing = "absent"
    assert httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10).status_code == 404
    assert mint(warehouse, "x").status_code == 404


# -- mint-token ---------------------------------------------------------------------------------------


def test_mint_success_shape(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    before = int(time.time())
    response = mint(warehouse, oidc_issuer.mint("pypi"))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "token", "expires"}
    assert body["success"] is True
    assert body["token"].startswith("pypi-")
    assert before + 900 <= body["expires"] <= int(time.time()) + 900
    assert warehouse.token_is_live(body["token"])
    assert warehouse.mints[-1].publisher == GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi")
    assert warehouse.mints[-1].projects == frozenset({"sandbox-demo"})


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (b"not json", "1 validation error for TokenPayload"),
        (b"{}", "1 validation error for TokenPayload"),
        (b'{"token": 5}', "1 validation error for TokenPayload"),
        (b'{"token": "not-a-jwt"}', "malformed JWT"),
    ],
)
def test_mint_invalid_payload(warehouse: Warehouse, body: bytes, description: str):
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", content=body, timeout=10)

    code, text = error_of(response)
    assert code == "invalid-payload"
    assert text.startswith(description)


def test_mint_unknown_issuer(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    payload = oidc_issuer.claims.payload("pypi")
    payload["iss"] = "https://gitlab.example.com"

    assert error_of(mint(warehouse, oidc_issuer.sign(payload))) == (
        "invalid-payload",
        "unknown trusted publishing issuer",
    )


def test_mint_not_enabled(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    warehouse.trusted_publishing = "disabled"

    code, _ = error_of(mint(warehouse, oidc_issuer.mint("pypi")))
    assert code == "not-enabled"


def _other_key_token(issuer: OIDCIssuer) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(issuer.claims.payload("pypi"), other, algorithm="RS256", headers={"kid": issuer.kid})


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda i: i.mint("testpypi"), id="wrong-audience"),
        pytest.param(lambda i: i.mint(None), id="default-audience"),
        pytest.param(lambda i: i.sign({**i.claims.payload("pypi"), "aud": ["pypi", "other"]}), id="two-audiences"),
        pytest.param(lambda i: i.sign({**i.claims.payload("pypi"), "aud": ["pypi"]}), id="audience-list"),
        pytest.param(lambda i: i.mint("pypi", i.claims.replace(clock_offset=-400)), id="expired"),
        pytest.param(lambda i: i.mint("pypi", i.claims.replace(clock_offset=120)), id="not-yet-valid"),
        pytest.param(lambda i: i.sign(i.claims.payload("pypi"), kid="unknown-kid"), id="unknown-kid"),
        pytest.param(_other_key_token, id="bad-signature"),
        pytest.param(lambda i: i.sign({k: v for k, v in i.claims.payload("pypi").items() if k != "iat"}), id="no-iat"),
    ],
)
def test_mint_invalid_token(warehouse: Warehouse, oidc_issuer: OIDCIssuer, make_token: Any):
    assert error_of(mint(warehouse, make_token(oidc_issuer))) == ("invalid-token", "malformed or invalid token")
    assert warehouse.mints == []


def test_mint_leeway_is_thirty_seconds(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    # Expired 20 s ago, and issued 20 s in the future: both inside Warehouse's 30 s leeway.
    expired_recently = oidc_issuer.claims.replace(clock_offset=-320)
    from_the_future = oidc_issuer.claims.replace(clock_offset=20)

    assert mint(warehouse, oidc_issuer.mint("pypi", expired_recently)).status_code == 200
    assert mint(warehouse, oidc_issuer.mint("pypi", from_the_future)).status_code == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (GitHubClaims(repository="octo-org/other-repo"), "Publisher with matching claims was not found"),
        (GitHubClaims(repository_owner_id="1"), "Publisher with matching claims was not found"),
        (GitHubClaims(workflow_file="ci.yml"), "Publisher with matching claims was not found"),
        (GitHubClaims(environment="staging"), "Publisher with matching claims was not found"),
        (GitHubClaims(environment=None), "Publisher with matching claims was not found"),
        (GitHubClaims().reusable("octo-org/shared", "release.yml"), "The job_workflow_ref claim does not match"),
        (GitHubClaims().reusable("octo-org/shared", "other.yml"), "Publisher with matching claims was not found"),
        (
            GitHubClaims(event_name="pull_request_target"),
            "Publishing from a workflow invoked via 'pull_request_target'",
        ),
        (GitHubClaims(repository_owner="someone-else"), "Check failed for required claim 'repository_owner'"),
        (GitHubClaims(extra={"ref": None}), "Missing claim 'ref'"),
        (GitHubClaims(extra={"job_workflow_ref": "octo-org/sandbox-demo/no-file"}), "Could not job extract"),
    ],
)
def test_mint_invalid_publisher(warehouse: Warehouse, oidc_issuer: OIDCIssuer, claims: GitHubClaims, reason: str):
    code, description = error_of(mint(warehouse, oidc_issuer.mint("pypi", claims)))

    assert code == "invalid-publisher"
    assert description.startswith("valid token, but no corresponding publisher (")
    assert reason in description


def test_mint_matching_is_case_insensitive_where_warehouse_is(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    assert mint(warehouse, oidc_issuer.mint("pypi", GitHubClaims(environment="PyPI"))).status_code == 200

    # The repository check itself ignores case, but job_workflow_ref is compared exactly with the
    # registered spelling (warehouse/oidc/models/github.py), so a differently cased repository fails there.
    claims = GitHubClaims(repository="Octo-Org/Sandbox-Demo", repository_owner="octo-org")
    code, description = error_of(mint(warehouse, oidc_issuer.mint("pypi", claims)))
    assert code == "invalid-publisher"
    assert "The job_workflow_ref claim does not match" in description


def test_publisher_without_environment_accepts_any(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    warehouse.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml"))

    for environment in ("staging", None):
        response = mint(warehouse, oidc_issuer.mint("pypi", GitHubClaims(environment=environment)))
        assert response.status_code == 200
        assert warehouse.mints[-1].publisher.environment == ""
    # With a matching environment the more specific publisher is chosen.
    assert mint(warehouse, oidc_issuer.mint("pypi")).status_code == 200
    assert warehouse.mints[-1].publisher.environment == "pypi"


def test_mint_refuses_a_reused_jwt(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    jwt_token = oidc_issuer.mint("pypi")

    assert mint(warehouse, jwt_token).status_code == 200
    assert error_of(mint(warehouse, jwt_token)) == ("invalid-reuse-token", "invalid token: already used")
    assert len(warehouse.mints) == 1


def test_mint_direct_matches_http(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    result = warehouse.mint_direct(oidc_issuer.mint("testpypi"))

    assert result["status"] == 422
    assert result["errors"][0]["code"] == "invalid-token"


# -- pending publishers -------------------------------------------------------------------------------


def test_pending_publisher_creates_the_project_and_uploads(
    warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path
):
    oidc_issuer.claims = GitHubClaims(repository="octo-org/brand-new", workflow_file="publish.yml", environment=None)
    warehouse.add_pending_publisher("Brand.New", GitHubPublisher("octo-org/brand-new", "publish.yml"))
    assert "brand-new" not in warehouse.projects

    token = minted_token(warehouse, oidc_issuer)

    assert warehouse.projects["brand-new"].created_via == "pending-publisher"
    assert warehouse.pending_publishers == {}
    wheel = write_wheel(tmp_path, "brand-new", "0.1.0")
    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200
    assert warehouse.file(wheel.name).publisher == GitHubPublisher("octo-org/brand-new", "publish.yml")
    # The converted publisher keeps working for later runs.
    assert mint(warehouse, oidc_issuer.mint("pypi")).status_code == 200


def test_pending_publisher_for_a_project_that_appeared(warehouse: Warehouse, oidc_issuer: OIDCIssuer):
    oidc_issuer.claims = GitHubClaims(repository="octo-org/late", environment=None)
    warehouse.add_pending_publisher("late", GitHubPublisher("octo-org/late", "release.yml"))
    warehouse.add_project("late")

    assert error_of(mint(warehouse, oidc_issuer.mint("pypi"))) == (
        "invalid-pending-publisher",
        "valid token, but project already exists",
    )


def test_minted_token_cannot_create_another_project(warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path):
    token = minted_token(warehouse, oidc_issuer)
    wheel = write_wheel(tmp_path, "not-registered", "1.0")

    response = upload_file(warehouse.upload_url, wheel, token)

    assert response.status_code == 400
    assert response.reason_phrase == (
        "Non-user identities cannot create new projects. This was probably caused by successfully using a "
        "pending publisher but specifying the project name incorrectly (either in the publisher or in your "
        "project's metadata). Please ensure that both match. "
        "See: https://docs.pypi.org/trusted-publishers/troubleshooting/"
    )
    assert "not-registered" not in warehouse.projects


# -- burn and expiry ----------------------------------------------------------------------------------

INVALID_AUTH = (
    "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."
)


def test_burn_invalidates_at_once(warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path):
    token = minted_token(warehouse, oidc_issuer)

    response = httpx.post(f"{warehouse.url}/_/oidc/burn-token", json={"token": token}, timeout=10)

    assert response.status_code == 202
    assert response.json() == {"message": "Accepted", "errors": []}
    assert [(b.token, b.known) for b in warehouse.burns] == [(token, True)]
    assert not warehouse.token_is_live(token)
    rejected = upload_file(warehouse.upload_url, write_wheel(tmp_path), token)
    assert (rejected.status_code, rejected.reason_phrase) == (403, INVALID_AUTH)


def test_burn_bad_payload_and_unknown_token(warehouse: Warehouse):
    bad = httpx.post(f"{warehouse.url}/_/oidc/burn-token", content=b"[]", timeout=10)
    unknown = httpx.post(f"{warehouse.url}/_/oidc/burn-token", json={"token": "pypi-nope"}, timeout=10)

    # Warehouse answers every burn request alike: receipt, never the outcome.
    for answer in (bad, unknown):
        assert answer.status_code == 202
        assert answer.json() == {"message": "Accepted", "errors": []}
    assert [(b.token, b.known) for b in warehouse.burns] == [("pypi-nope", False)]


def test_minted_token_expires(warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path):
    warehouse.token_lifetime = 1
    token = minted_token(warehouse, oidc_issuer)
    time.sleep(1.1)

    response = upload_file(warehouse.upload_url, write_wheel(tmp_path), token)

    assert (response.status_code, response.reason_phrase) == (403, "Invalid API Token: token is expired")
    assert warehouse.files == []


# -- legacy upload ------------------------------------------------------------------------------------


@pytest.fixture
def token(warehouse: Warehouse, oidc_issuer: OIDCIssuer) -> str:
    return minted_token(warehouse, oidc_issuer)


def test_upload_stores_bytes_fields_and_publisher(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)
    sdist = write_sdist(tmp_path)

    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200
    assert upload_file(warehouse.upload_url, sdist, token).status_code == 200

    stored = warehouse.file(wheel.name)
    assert stored.content == wheel.read_bytes()
    assert stored.form["name"] == ["sandbox-demo"]
    assert stored.form["filetype"] == ["bdist_wheel"]
    assert stored.publisher == GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi")
    assert stored.attestations is None
    assert [f.filename for f in warehouse.files] == [wheel.name, sdist.name]
    download = httpx.get(f"{warehouse.url}/packages/{stored.path}", timeout=10)
    assert download.content == wheel.read_bytes()
    metadata = httpx.get(f"{warehouse.url}/packages/{stored.path}.metadata", timeout=10)
    assert metadata.content.startswith(b"Metadata-Version: 2.4\nName: sandbox-demo\n")
    assert hashlib.sha256(metadata.content).hexdigest() == stored.metadata_sha256


def test_identical_reupload_is_ok_and_different_bytes_are_refused(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)
    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200
    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200

    other = write_wheel(tmp_path / "..", payload="changed")
    response = upload_file(warehouse.upload_url, other, token)

    blake2 = hashlib.blake2b(other.read_bytes(), digest_size=32).hexdigest()
    expected = (
        f"File already exists ('sandbox_demo-1.0.0-py3-none-any.whl', with blake2_256 hash '{blake2}'). "
        "See https://pypi.org/help/#file-name-reuse for more information."
    )
    assert response.status_code == 400
    assert response.reason_phrase == expected
    body = response.json()
    assert body["code"] == f"400 {expected}"
    assert body["title"] == "Bad Request"
    assert expected in body["message"]
    assert len(warehouse.files) == 1


def test_errors_are_html_without_json_accept(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)

    response = upload_file(warehouse.upload_url, wheel, "pypi-unknown", accept_json=False)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert f"<title>403 {INVALID_AUTH}</title>" in response.text
    assert "Access was denied to this resource.<br/><br/>" in response.text


def test_one_sdist_per_release(warehouse: Warehouse, token: str, tmp_path: Path):
    first = write_sdist(tmp_path)
    assert upload_file(warehouse.upload_url, first, token).status_code == 200
    zipped = tmp_path / "sandbox_demo-1.0.0.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("sandbox_demo-1.0.0/PKG-INFO", "Metadata-Version: 2.1\nName: sandbox-demo\nVersion: 1.0.0\n")

    response = upload_file(warehouse.upload_url, zipped, token)

    assert (response.status_code, response.reason_phrase) == (400, "Only one sdist may be uploaded per release.")


def test_size_limit(warehouse: Warehouse, token: str, tmp_path: Path):
    warehouse.file_size_limit = 2 * 1024 * 1024
    big = write_wheel(tmp_path, payload="x" * 0)
    content = big.read_bytes()
    padded = content + b"\0" * (2 * 1024 * 1024)  # trailing bytes after the zip's end: size only

    response = upload_file(
        warehouse.upload_url,
        big,
        token,
        content=padded,
        fields={"md5_digest": None, "sha256_digest": None, "blake2_256_digest": _blake2(padded)},
    )

    assert response.status_code == 400
    assert response.reason_phrase == (
        "File too large. Limit for project 'sandbox-demo' is 2 MB. See "
        "https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more "
        "information."
    )


def _blake2(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=32).hexdigest()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sha256_digest": "0" * 64}, "The digest supplied does not match a digest calculated from the uploaded file."),
        (
            {"sha256_digest": None, "md5_digest": None, "blake2_256_digest": None},
            "Error: Include at least one message digest.",
        ),
        ({"protocol_version": "2"}, "Unknown protocol version."),
        ({"filetype": "bdist_egg"}, "Invalid value for filetype. Error: Use a known file type."),
        ({"filetype": None}, "Invalid value for filetype. Error: This field is required."),
        ({"version": "2.0.0"}, "Version in filename should be '2.0.0' not '1.0.0'."),
        ({"version": "1.0.0+local"}, "The use of local versions in '1.0.0+local' is not allowed."),
        # packaging reports a missing Metadata-Version as the value None (Warehouse's own test expects this).
        ({"metadata_version": None}, "None is not a valid metadata version."),
        ({"name": None}, "'' is an invalid value for Name. Error: This field is required."),
        ({"name": "sandbox_demo"}, None),  # same project under another spelling: accepted
    ],
)
def test_upload_field_validation(
    warehouse: Warehouse, token: str, tmp_path: Path, fields: dict[str, str | None], reason: str | None
):
    response = upload_file(warehouse.upload_url, write_wheel(tmp_path), token, fields=fields)

    if reason is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.reason_phrase.startswith(reason)
    assert warehouse.files == []


def test_wheel_filename_must_match_the_project(warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path):
    warehouse.add_publisher("other-project", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    token = minted_token(warehouse, oidc_issuer)
    wheel = write_wheel(tmp_path, "other-project", "1.0.0")

    response = upload_file(warehouse.upload_url, wheel, token, fields={"name": "sandbox-demo"})

    assert response.status_code == 400
    assert response.reason_phrase == "Start filename for 'sandbox-demo' with 'sandbox_demo'."


def test_token_scoped_to_other_projects(warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path):
    warehouse.add_project("someone-elses")
    token = minted_token(warehouse, oidc_issuer)

    response = upload_file(warehouse.upload_url, write_wheel(tmp_path, "someone-elses"), token)

    assert response.status_code == 403
    assert response.reason_phrase == "Invalid API Token: OIDC scoped token is not valid for project 'someone-elses'"


def test_user_accounts_and_api_tokens(warehouse: Warehouse, tmp_path: Path):
    warehouse.add_account("alice", "s3cret", projects=("alice-lib",))
    wheel = write_wheel(tmp_path, "alice-lib")

    assert upload_file(warehouse.upload_url, wheel, "wrong", username="alice").status_code == 403
    assert upload_file(warehouse.upload_url, wheel, "s3cret", username="alice").status_code == 200
    assert warehouse.file(wheel.name).uploader == "user:alice"

    # An account-wide API token may create a project; a scoped one only uploads to its projects.
    wide = warehouse.add_api_token("alice")
    new = write_wheel(tmp_path, "alice-new")
    assert upload_file(warehouse.upload_url, new, wide).status_code == 200
    assert "alice" in warehouse.projects["alice-new"].owners
    scoped = warehouse.add_api_token("alice", projects=("alice-lib",))
    refused = upload_file(warehouse.upload_url, write_wheel(tmp_path, "alice-other"), scoped)
    assert refused.status_code == 403
    assert "project-scoped token is not valid" in refused.reason_phrase
    assert "alice-other" not in warehouse.projects

    bob = warehouse.add_api_token("bob")
    response = upload_file(warehouse.upload_url, write_wheel(tmp_path, "alice-lib", "2.0"), bob)
    assert response.status_code == 403
    assert response.reason_phrase.startswith("The user 'bob' isn't allowed to upload to project 'alice-lib'.")


def test_password_uploads_can_be_refused_like_pypi(warehouse: Warehouse, tmp_path: Path):
    warehouse.add_account("alice", "s3cret", projects=("alice-lib",))
    warehouse.password_uploads = False

    response = upload_file(warehouse.upload_url, write_wheel(tmp_path, "alice-lib"), "s3cret", username="alice")

    assert response.status_code == 403
    assert response.reason_phrase.startswith("Username/Password authentication is no longer supported.")


def test_deleted_filename_cannot_come_back(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)
    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200
    warehouse.delete_file(wheel.name)

    response = upload_file(warehouse.upload_url, wheel, token)

    assert response.status_code == 400
    assert response.reason_phrase.startswith("This filename was previously used by a file that has since been deleted.")


# -- attestations -------------------------------------------------------------------------------------


def test_attestations_reach_the_verifier_and_the_simple_api(warehouse: Warehouse, token: str, tmp_path: Path):
    seen: list[tuple[str, bytes, str, GitHubPublisher]] = []
    warehouse.attestation_verifier = lambda *args: seen.append(args)
    wheel = write_wheel(tmp_path)
    attestations = json.dumps([FAKE_ATTESTATION])

    assert upload_file(warehouse.upload_url, wheel, token, fields={"attestations": attestations}).status_code == 200

    assert seen == [(wheel.name, wheel.read_bytes(), attestations, warehouse.mints[0].publisher)]
    stored = warehouse.file(wheel.name)
    assert stored.attestations == attestations
    index = httpx.get(
        f"{warehouse.simple_url}sandbox-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=10
    ).json()
    provenance_url = index["files"][0]["provenance"]
    assert provenance_url.endswith(f"/integrity/sandbox-demo/1.0.0/{wheel.name}/provenance")
    provenance = httpx.get(provenance_url, timeout=10).json()
    assert provenance["version"] == 1
    bundle = provenance["attestation_bundles"][0]
    assert bundle["publisher"]["kind"] == "GitHub"
    assert bundle["publisher"]["repository"] == "octo-org/sandbox-demo"
    assert bundle["publisher"]["workflow"] == "release.yml"
    assert bundle["publisher"]["environment"] == "pypi"


def test_attestation_refusals(warehouse: Warehouse, token: str, tmp_path: Path):
    def refuse(*_: object) -> None:
        raise AttestationRejected("Could not verify the uploaded artifact using the included attestation: nope")

    wheel = write_wheel(tmp_path)
    prefix = "Invalid attestations supplied during upload: "
    empty = upload_file(warehouse.upload_url, wheel, token, fields={"attestations": "[]"})
    assert empty.reason_phrase == prefix + "Malformed attestations: an empty attestation set is not permitted"
    three = upload_file(warehouse.upload_url, wheel, token, fields={"attestations": json.dumps([FAKE_ATTESTATION] * 3)})
    assert three.reason_phrase == prefix + "A maximum of 2 attestations per file are supported"

    warehouse.attestation_verifier = refuse
    refused = upload_file(warehouse.upload_url, wheel, token, fields={"attestations": json.dumps([FAKE_ATTESTATION])})
    assert refused.status_code == 400
    assert (
        refused.reason_phrase == prefix + "Could not verify the uploaded artifact using the included attestation: nope"
    )

    api_token = warehouse.add_api_token("alice", projects=("sandbox-demo",))
    warehouse.projects["sandbox-demo"].owners.add("alice")
    no_tp = upload_file(warehouse.upload_url, wheel, api_token, fields={"attestations": json.dumps([FAKE_ATTESTATION])})
    assert no_tp.reason_phrase == prefix + "Attestations are only supported when using Trusted Publishing"
    assert warehouse.files == []


# -- simple API and pages -----------------------------------------------------------------------------


def test_simple_api_json_html_404_and_redirect(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)
    upload_file(warehouse.upload_url, wheel, token)
    json_accept = {"Accept": "application/vnd.pypi.simple.v1+json"}

    index = httpx.get(f"{warehouse.simple_url}sandbox-demo/", headers=json_accept, timeout=10)
    assert index.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    body = index.json()
    assert body["meta"]["api-version"] == "1.4"
    assert body["name"] == "sandbox-demo"
    assert body["versions"] == ["1.0.0"]
    assert body["files"][0]["filename"] == wheel.name
    assert body["files"][0]["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert body["files"][0]["provenance"] is None

    page = httpx.get(f"{warehouse.simple_url}sandbox-demo/", timeout=10)
    assert page.headers["content-type"].startswith("text/html")
    assert f"#sha256={body['files'][0]['hashes']['sha256']}" in page.text

    assert httpx.get(f"{warehouse.simple_url}nothing-here/", headers=json_accept, timeout=10).status_code == 404
    redirect = httpx.get(f"{warehouse.simple_url}Sandbox_Demo/", timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "/simple/sandbox-demo/"
    assert httpx.get(warehouse.project_url("sandbox-demo", "1.0.0"), timeout=10).status_code == 200
    assert httpx.get(warehouse.project_url("sandbox-demo", "9.9"), timeout=10).status_code == 404


# -- faults and the request log -----------------------------------------------------------------------


def test_status_faults_then_recovery(warehouse: Warehouse, token: str, tmp_path: Path):
    warehouse.faults.add("upload", Fault(kind="status", status=503, times=2))
    wheel = write_wheel(tmp_path)

    statuses = [upload_file(warehouse.upload_url, wheel, token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert warehouse.requests.count("upload") == 3
    assert warehouse.requests.count("upload", 503) == 2
    assert len(warehouse.files) == 1


def test_rate_limit_fault(warehouse: Warehouse):
    warehouse.faults.add("mint", Fault(kind="rate_limit", seconds=7, times=1))

    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": "x"}, timeout=10)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


def test_reset_fault_closes_without_an_answer(warehouse: Warehouse):
    warehouse.faults.add("audience", Fault(kind="reset", times=1))

    with pytest.raises(httpx.TransportError):
        httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10)
    assert httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10).status_code == 200
    assert [r.status for r in warehouse.requests.for_endpoint("audience")] == [None, 200]


def test_malformed_and_delay_faults(warehouse: Warehouse):
    warehouse.faults.add("audience", Fault(kind="malformed", times=1))
    warehouse.faults.add("simple", Fault(kind="delay", seconds=0.3))

    malformed = httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10)
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    started = time.monotonic()
    assert httpx.get(f"{warehouse.simple_url}sandbox-demo/", timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_request_held_when_the_server_stops_is_never_handled(warehouse: Warehouse, tmp_path: Path) -> None:
    # A held mint that outlived its test used to mint (and hand out) a token during a later one.
    warehouse.faults.add("upload", Fault(kind="delay", seconds=30.0, times=1))
    wheel = write_wheel(tmp_path)
    outcome: list[object] = []
    sender = threading.Thread(target=lambda: outcome.append(_try_upload(warehouse.upload_url, wheel)))
    sender.start()
    deadline = time.monotonic() + 10
    while warehouse.faults.pending("upload") and time.monotonic() < deadline:
        time.sleep(0.02)

    started = time.monotonic()
    warehouse.stop()
    sender.join(timeout=10)

    assert time.monotonic() - started < 5
    assert outcome and isinstance(outcome[0], httpx.TransportError), outcome
    assert warehouse.files == []
    assert [record.status for record in warehouse.requests.for_endpoint("upload")] == [None]


def _try_upload(url: str, wheel: Path) -> object:
    try:
        return upload_file(url, wheel, "pypi-unused")
    except httpx.TransportError as exc:
        return exc


def test_after_fault_stores_the_upload_but_loses_the_answer(warehouse: Warehouse, token: str, tmp_path: Path):
    warehouse.faults.add("upload", Fault(kind="reset", times=1, after=True))
    wheel = write_wheel(tmp_path)

    with pytest.raises(httpx.TransportError):
        upload_file(warehouse.upload_url, wheel, token)

    assert warehouse.file(wheel.name).content == wheel.read_bytes()
    # Looking before retrying finds the file; the retry itself is an identical re-upload.
    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200


def test_nothing_reached_the_index(warehouse: Warehouse):
    assert len(warehouse.requests) == 0
    assert warehouse.requests.endpoints() == []


def test_fault_validation():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay"):
        Fault(kind="delay", seconds=3600)


# -- transport details clients rely on ----------------------------------------------------------------


def test_concurrent_uploads_with_one_token(warehouse: Warehouse, token: str, tmp_path: Path):
    wheels = [write_wheel(tmp_path, "sandbox-demo", f"1.0.{n}") for n in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda w: upload_file(warehouse.upload_url, w, token).status_code, wheels))

    assert statuses == [200] * 8
    assert sorted(f.filename for f in warehouse.files) == sorted(w.name for w in wheels)
    index = httpx.get(
        f"{warehouse.simple_url}sandbox-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=10
    ).json()
    assert index["versions"] == [f"1.0.{n}" for n in range(8)]


def test_chunked_streamed_upload(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)
    boundary = "sandbox-boundary-7d1f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in upload_fields(wheel).items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{wheel.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + wheel.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def stream():  # a generator body makes httpx send Transfer-Encoding: chunked
        yield from parts

    response = httpx.post(
        warehouse.upload_url,
        content=stream(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        auth=("__token__", token),
        timeout=10,
    )

    assert response.status_code == 200, response.reason_phrase
    assert warehouse.requests.for_endpoint("upload")[0].headers.get("Transfer-Encoding") == "chunked"
    assert warehouse.file(wheel.name).content == wheel.read_bytes()


def test_keep_alive_survives_error_answers(warehouse: Warehouse, token: str, tmp_path: Path):
    wheel = write_wheel(tmp_path)
    with httpx.Client(timeout=10) as client:
        for password in ("pypi-wrong", token, token):
            files = {"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")}
            client.post(warehouse.upload_url, data=upload_fields(wheel), files=files, auth=("__token__", password))

    records = warehouse.requests.for_endpoint("upload")
    assert [r.status for r in records] == [403, 200, 200]
    assert len({r.client_port for r in records}) == 1  # one connection, kept alive across answers


def test_start_sandbox_with_a_pending_publisher(tmp_path: Path):
    issuer, index = start_sandbox(project="fresh-project", pending=True)
    try:
        assert index.pending_publishers == {DEFAULT_PUBLISHER: "fresh-project"}
        assert "fresh-project" not in index.projects
        token = minted_token(index, issuer)
        wheel = write_wheel(tmp_path, "fresh-project")
        assert upload_file(index.upload_url, wheel, token).status_code == 200
    finally:
        index.stop()
        issuer.stop()


def test_non_multipart_upload_fails_the_form_checks(warehouse: Warehouse, token: str):
    response = httpx.post(warehouse.upload_url, json={"name": "sandbox-demo"}, auth=("__token__", token), timeout=10)

    assert response.status_code == 400
    assert response.reason_phrase.startswith("'' is an invalid value for Name. Error: This field is required.")
