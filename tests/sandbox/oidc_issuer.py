"""An offline stand-in for the GitHub Actions OIDC token endpoint.

It answers what a runner's ``ACTIONS_ID_TOKEN_REQUEST_URL`` answers: ``GET <url>&audience=<aud>`` with
``Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`` gives ``{"value": "<jwt>"}``. The JWTs are RS256,
carry GitHub's claim set (https://docs.github.com/en/actions/reference/security/oidc) and GitHub's real
issuer string, so verifiers must be handed this issuer's JWKS (``/.well-known/jwks``) directly: nothing in
the sandbox can fetch GitHub's.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric import rsa

from tests import canary
from tests.sandbox._http import LoopbackServer, Request, Response, json_response
from tests.sandbox._signer import IssuedToken, TokenSigner

__all__ = ["GITHUB_ISSUER", "GitHubClaims", "IssuedToken", "OIDCIssuer"]

#: The issuer GitHub puts in every Actions OIDC token (and the one Warehouse keys its GitHub service on).
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class GitHubClaims:
    """The workflow run an issuer pretends to be; every token it signs describes this run.

    Defaults match the sandbox's default Trusted Publisher: project ``sandbox-demo`` published from
    ``octo-org/sandbox-demo``, workflow ``release.yml``, environment ``pypi``. Change fields with
    :meth:`replace`; ``extra`` adds or overrides raw claims (a value of ``None`` removes the claim).
    """

    repository: str = "octo-org/sandbox-demo"
    repository_id: str = "700000001"
    repository_owner: str | None = None
    repository_owner_id: str = "900000001"
    repository_visibility: str = "public"
    workflow: str = "Release"
    workflow_file: str = "release.yml"
    ref: str = "refs/heads/main"
    ref_type: str = "branch"
    ref_protected: str = "true"
    sha: str = "9f2c3b7e8d1a4c5f6b0e7d8c9a1b2c3d4e5f6a7b"
    environment: str | None = "pypi"
    event_name: str = "push"
    head_ref: str = ""
    base_ref: str = ""
    run_id: str = "8123456789"
    run_number: str = "42"
    run_attempt: str = "1"
    actor: str = "octocat"
    actor_id: str = "583231"
    runner_environment: str = "github-hosted"
    #: For a reusable (called) workflow: the repository, file and ref of the workflow the job really runs.
    job_workflow_repository: str | None = None
    job_workflow_file: str | None = None
    job_workflow_git_ref: str | None = None
    job_workflow_sha_value: str | None = None
    #: Token lifetime in seconds (GitHub: 5 minutes) and clock offset applied to iat/nbf/exp.
    lifetime: int = 300
    clock_offset: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> GitHubClaims:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def reusable(
        self,
        repository: str = "octo-org/shared-workflows",
        workflow_file: str = "pypi-publish.yml",
        ref: str = "refs/heads/main",
    ) -> GitHubClaims:
        """The same run, but the job runs a reusable workflow from ``repository``/``workflow_file``@``ref``.

        ``workflow_ref`` keeps naming the caller; ``job_workflow_ref`` names the called file. Warehouse
        matches publishers on ``job_workflow_ref`` while Sigstore certificates carry ``workflow_ref``.
        """
        return self.replace(
            job_workflow_repository=repository, job_workflow_file=workflow_file, job_workflow_git_ref=ref
        )

    @property
    def owner(self) -> str:
        """``repository_owner``: given, or the part of ``repository`` before the slash."""
        return self.repository_owner or self.repository.split("/", 1)[0]

    @property
    def workflow_ref(self) -> str:
        """``owner/repo/.github/workflows/<file>@<ref>`` of the top-level workflow."""
        return f"{self.repository}/.github/workflows/{self.workflow_file}@{self.ref}"

    @property
    def job_workflow_ref(self) -> str:
        """The workflow the job runs: the top-level one unless :meth:`reusable` was used."""
        repo = self.job_workflow_repository or self.repository
        file = self.job_workflow_file or self.workflow_file
        ref = self.job_workflow_git_ref or self.ref
        return f"{repo}/.github/workflows/{file}@{ref}"

    @property
    def job_workflow_sha(self) -> str:
        """The commit of the job's workflow file."""
        return self.job_workflow_sha_value or self.sha

    @property
    def subject(self) -> str:
        """GitHub's default ``sub``: environment if the job has one, else the ref (or the PR)."""
        if self.environment:
            return f"repo:{self.repository}:environment:{self.environment}"
        if self.event_name in ("pull_request", "pull_request_target"):
            return f"repo:{self.repository}:pull_request"
        return f"repo:{self.repository}:ref:{self.ref}"

    @property
    def default_audience(self) -> str:
        """The audience GitHub uses when the request names none: the owner's URL."""
        return f"https://github.com/{self.owner}"

    def payload(self, audience: str | None, *, now: int | None = None) -> dict[str, Any]:
        """The claim set of one token (fresh ``jti``; times from ``now`` + ``clock_offset``)."""
        issued_at = int(time.time() if now is None else now) + self.clock_offset
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "sub": self.subject,
            "aud": audience if audience is not None else self.default_audience,
            "ref": self.ref,
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": self.owner,
            "repository_owner_id": self.repository_owner_id,
            "run_id": self.run_id,
            "run_number": self.run_number,
            "run_attempt": self.run_attempt,
            "repository_visibility": self.repository_visibility,
            "repository_id": self.repository_id,
            "actor_id": self.actor_id,
            "actor": self.actor,
            "workflow": self.workflow,
            "head_ref": self.head_ref,
            "base_ref": self.base_ref,
            "event_name": self.event_name,
            "ref_protected": self.ref_protected,
            "ref_type": self.ref_type,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.job_workflow_ref,
            "job_workflow_sha": self.job_workflow_sha,
            "runner_environment": self.runner_environment,
            "iss": GITHUB_ISSUER,
            "nbf": issued_at,
            "exp": issued_at + self.lifetime,
            "iat": issued_at,
        }
        if self.environment:
            claims["environment"] = self.environment
        for name, value in self.extra.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def event_payload(self, *, fork: bool = False) -> dict[str, Any]:
        """A minimal webhook payload for ``GITHUB_EVENT_PATH`` (the fields publishing code looks at).

        For ``pull_request``/``pull_request_target`` events, ``fork=True`` makes the head repository a fork.
        """
        repository = {"full_name": self.repository, "fork": False, "owner": {"login": self.owner}}
        payload: dict[str, Any] = {"repository": repository, "sender": {"login": self.actor}}
        if self.event_name in ("pull_request", "pull_request_target"):
            head_repo = f"{self.actor}/{self.repository.split('/', 1)[1]}" if fork else self.repository
            payload["pull_request"] = {
                "number": 1,
                "head": {"ref": self.head_ref or "feature", "repo": {"full_name": head_repo, "fork": fork}},
                "base": {"ref": self.base_ref or "main", "repo": {"full_name": self.repository, "fork": False}},
            }
        return payload

    def env(self) -> dict[str, str]:
        """The ``GITHUB_*`` variables a runner sets for this run (no OIDC request variables)."""
        owner = self.owner
        env = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_REPOSITORY_ID": self.repository_id,
            "GITHUB_REPOSITORY_OWNER": owner,
            "GITHUB_REPOSITORY_OWNER_ID": self.repository_owner_id,
            "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_WORKFLOW": self.workflow,
            "GITHUB_WORKFLOW_REF": self.workflow_ref,
            "GITHUB_WORKFLOW_SHA": self.sha,
            "GITHUB_REF": self.ref,
            "GITHUB_REF_NAME": self.ref.rsplit("/", 1)[-1],
            "GITHUB_REF_TYPE": self.ref_type,
            "GITHUB_SHA": self.sha,
            "GITHUB_RUN_ID": self.run_id,
            "GITHUB_RUN_NUMBER": self.run_number,
            "GITHUB_RUN_ATTEMPT": self.run_attempt,
            "GITHUB_ACTOR": self.actor,
            "GITHUB_ACTOR_ID": self.actor_id,
            "GITHUB_TRIGGERING_ACTOR": self.actor,
            "GITHUB_JOB": "publish",
            "GITHUB_HEAD_REF": self.head_ref,
            "GITHUB_BASE_REF": self.base_ref,
            "RUNNER_ENVIRONMENT": self.runner_environment,
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
        }
        return env


class OIDCIssuer(TokenSigner, LoopbackServer):
    """GitHub's OIDC token endpoint, its JWKS and OpenID configuration, on 127.0.0.1.

    Endpoints (names used by :attr:`faults` and :attr:`requests`):

    * ``token``: ``GET /_apis/.../idtoken?api-version=2.0&audience=<aud>`` (:attr:`request_url`).
    * ``jwks``: ``GET /.well-known/jwks``.
    * ``openid-configuration``: ``GET /.well-known/openid-configuration``.
    """

    def __init__(
        self,
        claims: GitHubClaims | None = None,
        *,
        key: rsa.RSAPrivateKey | None = None,
        request_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
    ) -> None:
        LoopbackServer.__init__(self, self._route, host=host, port=port, tls=tls)
        TokenSigner.__init__(self, origin="the OIDC issuer", key=key, kid=secrets.token_hex(8))
        #: The run the tokens describe; assign a new value to change later tokens.
        self.claims = claims or GitHubClaims()
        #: Claims for the tokens of one audience instead of :attr:`claims`: a run whose jobs publish to two
        #: indexes from two environments, under act, which hands every job the same runner variables.
        self.claims_by_audience: dict[str, GitHubClaims] = {}
        #: The value of ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` (a runner-issued bearer).
        self.request_token = request_token or f"sandbox-runtime-{secrets.token_urlsafe(24)}"
        canary.register(self.request_token, "OIDC request token (ACTIONS_ID_TOKEN_REQUEST_TOKEN)", "the OIDC issuer")
        self._plan = str(uuid.uuid4())
        self._job = str(uuid.uuid4())

    # -- what clients and tests read -------------------------------------------------------------

    @property
    def token_path(self) -> str:
        """The path of the token endpoint (shaped like GitHub's pipelines URL)."""
        return f"/_apis/distributedtask/hubs/Actions/plans/{self._plan}/jobs/{self._job}/idtoken"

    @property
    def request_url(self) -> str:
        """``ACTIONS_ID_TOKEN_REQUEST_URL``: already carries a query string; clients append ``&audience=``."""
        return f"{self.url}{self.token_path}?api-version=2.0"

    @property
    def jwks_url(self) -> str:
        """Where the JWKS is served."""
        return f"{self.url}/.well-known/jwks"

    def openid_configuration(self) -> dict[str, Any]:
        """An OpenID discovery document like GitHub's (issuer is GitHub's; jwks_uri is ours)."""
        return self.discovery(
            GITHUB_ISSUER,
            self.jwks_url,
            subject_types_supported=["public", "pairwise"],
            response_types_supported=["id_token"],
            claims_supported=["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository"],
            scopes_supported=["openid"],
        )

    def env(self, *, id_token: bool = True, event_path: Path | None = None, **overrides: str) -> dict[str, str]:
        """The variables a GitHub runner sets for this job, pointing at this issuer.

        ``id_token=False`` leaves out ``ACTIONS_ID_TOKEN_REQUEST_*``, as the runner does for a job without
        ``permissions: id-token: write`` and for pull requests from forks. ``event_path`` writes
        :meth:`GitHubClaims.event_payload` there and sets ``GITHUB_EVENT_PATH``.
        """
        env = self.claims.env()
        if id_token:
            env["ACTIONS_ID_TOKEN_REQUEST_URL"] = self.request_url
            env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = self.request_token
        if event_path is not None:
            event_path.write_text(json.dumps(self.claims.event_payload()))
            env["GITHUB_EVENT_PATH"] = str(event_path)
        env.update(overrides)
        return env

    # -- issuing ---------------------------------------------------------------------------------

    def mint(self, audience: str | None = "pypi", claims: GitHubClaims | None = None) -> str:
        """Issue a token without HTTP, exactly as the endpoint would; recorded in :attr:`issued`."""
        chosen = claims or self.claims_by_audience.get(audience or "", self.claims)
        return self.issue(chosen.payload(audience))

    # -- HTTP ------------------------------------------------------------------------------------

    def _route(self, request: Request) -> tuple[str, Any]:
        if request.path == self.token_path:
            return "token", lambda: self._token(request)
        if request.path == "/.well-known/jwks":
            return "jwks", lambda: json_response(200, self.jwks())
        if request.path == "/.well-known/openid-configuration":
            return "openid-configuration", lambda: json_response(200, self.openid_configuration())
        return "unknown", lambda: json_response(404, {"message": "Not Found"})

    def _token(self, request: Request) -> Response:
        if request.method != "GET":
            return json_response(405, {"message": "Method Not Allowed"})
        authorization = request.header("Authorization") or ""
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return json_response(401, {"message": "Bearer token required"})
        if not secrets.compare_digest(credential.strip(), self.request_token):
            return json_response(403, {"message": "Invalid bearer token"})
        audience = request.query_one("audience")
        token = self.mint(audience)
        # GitHub's documented answer shape (actions/toolkit reads only `value`).
        return json_response(200, {"value": token})

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<OIDCIssuer {state} repository={quote(self.claims.repository)}>"
