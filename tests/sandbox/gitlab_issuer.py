"""An offline stand-in for gitlab.com's CI/CD ID tokens.

A GitLab job that declares ``id_tokens:`` gets one JWT per declared token in an environment variable; nothing
is fetched at run time. The tokens are RS256, carry GitLab's ID token claim set
(https://docs.gitlab.com/ci/secrets/id_token_authentication/) and gitlab.com's real issuer string, so
verifiers must be handed this issuer's JWKS directly. Discovery (``/.well-known/openid-configuration``) and
the key set (``/oauth/discovery/keys``, where gitlab.com serves it) are served on loopback.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox._http import LoopbackServer, Request, Response, json_response
from tests.sandbox._signer import TokenSigner

__all__ = ["GITLAB_ISSUER", "GitLabClaims", "GitLabIssuer", "id_token_variable"]

#: The issuer of gitlab.com's ID tokens (Warehouse keys its GitLab service on it).
GITLAB_ISSUER = "https://gitlab.com"

# id's detect_gitlab: the audience upper-cased, every character outside [A-Z0-9_] replaced by "_".
_NOT_ENV_CHAR = re.compile(r"[^A-Z0-9_]|^[^A-Z_]")


def id_token_variable(audience: str) -> str:
    """The variable a job's ``id_tokens:`` entry must be named for ``id`` to find the token of ``audience``."""
    return f"{_NOT_ENV_CHAR.sub('_', audience.upper())}_ID_TOKEN"


@dataclass(frozen=True)
class GitLabClaims:
    """The pipeline job an issuer pretends to be; every token it signs describes this job.

    Defaults match the sandbox's default GitLab Trusted Publisher: project ``sandbox-demo`` published from
    ``octo-group/sandbox-demo``, CI file ``.gitlab-ci.yml``, environment ``pypi``, branch ``main``.
    ``extra`` adds or overrides raw claims (a value of ``None`` removes the claim).
    """

    namespace_path: str = "octo-group"
    project_name: str = "sandbox-demo"
    namespace_id: str = "71000001"
    project_id: str = "52000001"
    user_id: str = "1300001"
    user_login: str = "octo-maintainer"
    user_email: str = "octo-maintainer@example.com"
    pipeline_id: str = "1500000001"
    pipeline_source: str = "push"
    job_id: str = "8800000001"
    ref_path: str = "refs/heads/main"
    ref_protected: str = "true"
    ci_config_path: str = ".gitlab-ci.yml"
    environment: str | None = "pypi"
    environment_protected: str = "false"
    deployment_tier: str = "production"
    runner_id: int = 12270807
    runner_environment: str = "gitlab-hosted"
    sha: str = "4b7d2c9e1f3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c"
    project_visibility: str = "public"
    #: GitLab's ID tokens live as long as the job may run; the default job timeout is one hour.
    lifetime: int = 3600
    clock_offset: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> GitLabClaims:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def project_path(self) -> str:
        """``namespace/project``."""
        return f"{self.namespace_path}/{self.project_name}"

    @property
    def ref_type(self) -> str:
        """``tag`` for ``refs/tags/…``, else ``branch``."""
        return "tag" if self.ref_path.startswith("refs/tags/") else "branch"

    @property
    def ref(self) -> str:
        """The branch or tag name (``ref_path`` without ``refs/heads/`` / ``refs/tags/``)."""
        for prefix in ("refs/heads/", "refs/tags/"):
            if self.ref_path.startswith(prefix):
                return self.ref_path[len(prefix) :]
        return self.ref_path

    @property
    def ci_config_ref_uri(self) -> str:
        """``gitlab.com/<project_path>//<ci_config_path>@<ref_path>``, as GitLab forms it."""
        return f"gitlab.com/{self.project_path}//{self.ci_config_path}@{self.ref_path}"

    @property
    def subject(self) -> str:
        """GitLab's ``sub``: ``project_path:{group}/{project}:ref_type:{type}:ref:{ref}``."""
        return f"project_path:{self.project_path}:ref_type:{self.ref_type}:ref:{self.ref}"

    def payload(self, audience: str, *, now: int | None = None) -> dict[str, Any]:
        """The claim set of one token (fresh ``jti``; times from ``now`` + ``clock_offset``)."""
        issued_at = int(time.time() if now is None else now) + self.clock_offset
        claims: dict[str, Any] = {
            "namespace_id": self.namespace_id,
            "namespace_path": self.namespace_path,
            "project_id": self.project_id,
            "project_path": self.project_path,
            "user_id": self.user_id,
            "user_login": self.user_login,
            "user_email": self.user_email,
            "user_access_level": "maintainer",
            "pipeline_id": self.pipeline_id,
            "pipeline_source": self.pipeline_source,
            "job_id": self.job_id,
            "ref": self.ref,
            "ref_type": self.ref_type,
            "ref_path": self.ref_path,
            "ref_protected": self.ref_protected,
            "runner_id": self.runner_id,
            "runner_environment": self.runner_environment,
            "sha": self.sha,
            "project_visibility": self.project_visibility,
            "ci_config_ref_uri": self.ci_config_ref_uri,
            "ci_config_sha": self.sha,
            "jti": str(uuid.uuid4()),
            "iat": issued_at,
            "nbf": issued_at - 5,
            "exp": issued_at + self.lifetime,
            "iss": GITLAB_ISSUER,
            "sub": self.subject,
            "aud": audience,
        }
        if self.environment:
            claims["environment"] = self.environment
            claims["environment_protected"] = self.environment_protected
            claims["deployment_tier"] = self.deployment_tier
            claims["environment_action"] = "start"
        for name, value in self.extra.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def env(self) -> dict[str, str]:
        """The predefined CI/CD variables of this job (no ID tokens)."""
        env = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_SERVER": "yes",
            "CI_SERVER_URL": "https://gitlab.com",
            "CI_SERVER_HOST": "gitlab.com",
            "CI_SERVER_PROTOCOL": "https",
            "CI_API_V4_URL": "https://gitlab.com/api/v4",
            "CI_PROJECT_PATH": self.project_path,
            "CI_PROJECT_NAMESPACE": self.namespace_path,
            "CI_PROJECT_NAME": self.project_name,
            "CI_PROJECT_ID": self.project_id,
            "CI_PROJECT_URL": f"https://gitlab.com/{self.project_path}",
            "CI_PROJECT_VISIBILITY": self.project_visibility,
            "CI_COMMIT_REF_NAME": self.ref,
            "CI_COMMIT_REF_PROTECTED": self.ref_protected,
            "CI_COMMIT_SHA": self.sha,
            "CI_CONFIG_PATH": self.ci_config_path,
            "CI_JOB_ID": self.job_id,
            "CI_JOB_NAME": "publish",
            "CI_JOB_URL": f"https://gitlab.com/{self.project_path}/-/jobs/{self.job_id}",
            "CI_PIPELINE_ID": self.pipeline_id,
            "CI_PIPELINE_SOURCE": self.pipeline_source,
            "CI_PIPELINE_URL": f"https://gitlab.com/{self.project_path}/-/pipelines/{self.pipeline_id}",
            "CI_RUNNER_ID": str(self.runner_id),
            "GITLAB_USER_LOGIN": self.user_login,
            "GITLAB_USER_ID": self.user_id,
        }
        env["CI_COMMIT_TAG" if self.ref_type == "tag" else "CI_COMMIT_BRANCH"] = self.ref
        if self.environment:
            env["CI_ENVIRONMENT_NAME"] = self.environment
            env["CI_ENVIRONMENT_TIER"] = self.deployment_tier
        return env


class GitLabIssuer(TokenSigner, LoopbackServer):
    """gitlab.com's ID token signer, its OpenID discovery document and key set, on 127.0.0.1.

    Endpoints (names used by :attr:`faults` and :attr:`requests`): ``openid-configuration``
    (``/.well-known/openid-configuration``), ``jwks`` (``/oauth/discovery/keys``). Tokens are not fetched
    over HTTP in GitLab: :meth:`env` puts them in the job's variables, :meth:`token` makes one.
    """

    def __init__(
        self,
        claims: GitLabClaims | None = None,
        *,
        key: rsa.RSAPrivateKey | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
    ) -> None:
        LoopbackServer.__init__(self, self._route, host=host, port=port, tls=tls)
        TokenSigner.__init__(self, origin="the GitLab issuer", key=key, kid=secrets.token_urlsafe(32))
        #: The job the tokens describe; assign a new value to change later tokens.
        self.claims = claims or GitLabClaims()

    @property
    def issuer(self) -> str:
        """The ``iss`` of the tokens (gitlab.com's)."""
        return GITLAB_ISSUER

    @property
    def jwks_url(self) -> str:
        """Where the key set is served."""
        return f"{self.url}/oauth/discovery/keys"

    def openid_configuration(self) -> dict[str, Any]:
        """A discovery document shaped like gitlab.com's (issuer gitlab.com's; ``jwks_uri`` ours)."""
        return self.discovery(
            GITLAB_ISSUER,
            self.jwks_url,
            response_types_supported=["code"],
            subject_types_supported=["public"],
            scopes_supported=["openid", "profile", "email"],
            claims_supported=["iss", "sub", "aud", "exp", "iat", "sub_legacy", "name", "nickname", "email"],
        )

    def token(self, audience: str = "pypi", claims: GitLabClaims | None = None) -> str:
        """One ID token for ``audience``, as ``id_tokens: {NAME: {aud: audience}}`` gives; recorded."""
        return self.issue((claims or self.claims).payload(audience))

    def env(self, audiences: Iterable[str] = ("pypi", "sigstore"), **overrides: str) -> dict[str, str]:
        """The job's variables with one ``<AUDIENCE>_ID_TOKEN`` per audience (fresh tokens)."""
        env = self.claims.env()
        for audience in audiences:
            env[id_token_variable(audience)] = self.token(audience)
        env.update(overrides)
        return env

    def _route(self, request: Request) -> tuple[str, Any]:
        if request.path == "/oauth/discovery/keys":
            return "jwks", lambda: json_response(200, self.jwks())
        if request.path == "/.well-known/openid-configuration":
            return "openid-configuration", lambda: json_response(200, self.openid_configuration())
        return "unknown", lambda: Response(404, b"404 Not Found")

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<GitLabIssuer {state} project={self.claims.project_path}>"
