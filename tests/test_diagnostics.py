"""Every refusal gets the fix for its own cause: each mint error code, and each kind of upload 403.

The texts and codes are Warehouse's (``warehouse/oidc/views.py``, ``warehouse/forklift/decorators.py``,
``warehouse/forklift/legacy.py``). The mint cases talk to a recording transport (one request-and-answer
seam); the upload cases publish for real to a loopback index that answers with Warehouse's words.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from publish_action.credentials import TrustedPublishing
from publish_action.errors import AuthenticationError, ExitCode
from publish_action.identity.github import GitHubContext
from publish_action.index import Index
from tests.fixtures.dists import make_wheels
from tests.helpers import run_action


def _unsigned_jwt(claims: dict[str, str]) -> str:
    """A JWT-shaped string carrying ``claims`` (unsigned: only our claim reading looks at it)."""

    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


_CLAIMS = {
    "iss": "https://token.actions.githubusercontent.com",
    "repository": "octo-org/demo",
    "repository_owner": "octo-org",
    "job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1",
    "workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1",
    "environment": "pypi",
}


def _exchange(code: str, description: str, *, claims: dict[str, str] | None = None, on_github: bool = True) -> str:
    """Run the exchange against an index answering ``code``; return the error as the user reads it."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_/oidc/audience":
            return httpx.Response(200, json={"audience": "pypi"})
        body = {"message": "Token request failed", "errors": [{"code": code, "description": description}]}
        return httpx.Response(422, json=body)

    context = GitHubContext(
        event_name="push",
        repository="octo-org/demo",
        fork_pull_request=False,
        on_github=on_github,
        server_url="https://ghe.example.com" if claims else "https://github.com",
    )
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        trusted = TrustedPublishing(
            client=client,
            index=Index.from_urls("https://upload.pypi.org/legacy/"),
            mask=lambda _secret: None,
            projects=["demo"],
            context=context,
            detect=lambda _audience: _unsigned_jwt(claims or _CLAIMS),
        )
        with pytest.raises(AuthenticationError) as raised:
            trusted.start()
    return str(raised.value)


_MINT_ERRORS = {
    "not-enabled": ("github trusted publishing functionality not enabled", "switched off"),
    "invalid-token": ("malformed or invalid token", "could not verify this job's OIDC token"),
    "invalid-reuse-token": ("invalid token: already used", "exchanged before"),
    "invalid-pending-publisher": ("valid token, but project already exists", "register a normal trusted publisher"),
    "invalid-publisher": (
        "valid token, but no corresponding publisher (Publisher with matching claims was not found)",
        "found no trusted publisher matching",
    ),
}


@pytest.mark.parametrize("code", sorted(_MINT_ERRORS))
def test_each_mint_error_code_has_its_own_explanation(code: str) -> None:
    description, words = _MINT_ERRORS[code]
    text = _exchange(code, description)
    assert words in text
    assert f"index: {code}: {description}" in text
    assert "the trusted publisher must say workflow name: release.yml" in text
    for other, (_, other_words) in _MINT_ERRORS.items():
        if other != code:
            assert other_words not in text, other


def test_a_github_enterprise_server_issuer_is_named() -> None:
    claims = {**_CLAIMS, "iss": "https://ghe.example.com/_services/token"}
    text = _exchange("invalid-payload", "unknown trusted publishing issuer", claims=claims)
    assert "does not trust this job's OIDC issuer" in text
    assert "https://ghe.example.com/_services/token" in text
    assert "GitHub Enterprise Server" in text


_FORBIDDEN = {
    "read-only": ("Read-only mode: Uploads are temporarily disabled.", ExitCode.UPLOAD, "read-only mode"),
    "uploads-disabled": (
        "New uploads are temporarily disabled. See https://pypi.org/help/#admin-intervention for more information.",
        ExitCode.UPLOAD,
        "has switched uploads off",
    ),
    "unverified-email": (
        "User 'alice', associated with the API token used, does not have a verified primary email address. "
        "Please add a verified primary email before attempting to upload to PyPI.",
        ExitCode.AUTHENTICATION,
        "no verified e-mail address",
    ),
    "no-2fa": (
        "User 'alice', associated with the API token used, does not have two-factor authentication enabled. "
        "Please enable two-factor authentication before attempting to upload to PyPI.",
        ExitCode.AUTHENTICATION,
        "no two-factor authentication",
    ),
    "not-a-maintainer": (
        "The user 'alice' isn't allowed to upload to project 'demo'. See https://pypi.org/help/#project-name for "
        "more information.",
        ExitCode.AUTHENTICATION,
        "refused the upload to this project",
    ),
    "bad-credentials": (
        "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more "
        "information.",
        ExitCode.AUTHENTICATION,
        "refused the credentials",
    ),
}


class _Forbidding(BaseHTTPRequestHandler):
    message = ""

    def do_GET(self) -> None:
        self._send(404, b"{}")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"message": "403 Forbidden", "code": f"403 {self.message}", "title": "Forbidden"})
        self._send(403, body.encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def forbidding_index(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Forbidding,), {"message": _FORBIDDEN[request.param][0]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/legacy/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("forbidding_index", sorted(_FORBIDDEN), indirect=True)
def test_each_kind_of_upload_403_gets_its_own_fix(
    forbidding_index: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kind = request.node.callspec.params["forbidding_index"]
    message, exit_code, title = _FORBIDDEN[kind]
    dist = tmp_path / "dist"
    make_wheels(dist, 1, name="demo")
    inputs = {
        "repository-url": forbidding_index,
        "password": "pypi-" + "x" * 40,
        "attestations": "false",
        "packages-dir": str(dist),
    }

    run = run_action(monkeypatch, capsys, tmp_path, inputs)

    assert run.code == exit_code, run.out
    assert title in run.summary
    assert message in run.summary
    assert len([line for line in run.out.splitlines() if line.startswith("::error")]) == 1


def test_publisher_links_fill_only_the_form_pypi_fills() -> None:
    from publish_action.identity import publisher_form_url
    from publish_action.identity.claims import Claims

    claims = Claims(
        {
            "repository": "octo-org/sandbox-demo",
            "repository_owner": "octo-org",
            "job_workflow_ref": "octo-org/sandbox-demo/.github/workflows/release.yml@refs/tags/v1",
            "environment": "pypi",
        }
    )
    existing = publisher_form_url("https://pypi.org", "sandbox-demo", claims, existing_project=True)
    assert existing == (
        "https://pypi.org/manage/project/sandbox-demo/settings/publishing/?provider=github&owner=octo-org"
        "&repository=sandbox-demo&workflow_filename=release.yml&environment=pypi"
    )
    # Warehouse's account publishing view reads no query parameters: a pre-filled look would mislead.
    assert publisher_form_url("https://pypi.org", "sandbox-demo", claims, existing_project=False) == (
        "https://pypi.org/manage/account/publishing/"
    )
