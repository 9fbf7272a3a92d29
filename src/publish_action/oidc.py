"""Ambient OIDC tokens (through ``id``), their claims, and the GitHub context that explains a refusal.

Diagnostics are picked from the cause's type (a missing permission, a fork pull request, a refusal by the
index), never from an error's text. Tokens are :class:`~pydantic.SecretStr` from the moment they exist and
are masked before anything else is printed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from publish_action.errors import AuthenticationError
from publish_action.http import TransientError
from publish_action.redact import outside_text

#: Claims shown to the user when the index refuses the exchange. None of them is secret.
DIAGNOSTIC_CLAIMS = (
    "sub",
    "repository",
    "repository_owner",
    "repository_owner_id",
    "workflow_ref",
    "job_workflow_ref",
    "ref",
    "environment",
    "event_name",
)

PERMISSION_SNIPPET = """jobs:
  publish:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      id-token: write  # Trusted Publishing and attestations
    steps: ..."""

#: The issuer of github.com's Actions OIDC tokens; GitHub Enterprise Server instances have their own.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"

_FORK_EVENTS = frozenset({"pull_request", "pull_request_review", "pull_request_review_comment"})


@dataclass(frozen=True)
class Claims:
    """The non-secret claims of an OIDC token, read without verifying it (the index verifies)."""

    values: Mapping[str, object]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Claims:
        """What the runner's ``GITHUB_*`` variables say of the claims a token of this job would carry."""
        env = os.environ if environ is None else environ
        return cls(
            {
                "repository": env.get("GITHUB_REPOSITORY"),
                "repository_owner": env.get("GITHUB_REPOSITORY_OWNER"),
                "job_workflow_ref": env.get("GITHUB_WORKFLOW_REF"),
            }
        )

    @classmethod
    def from_token(cls, token: SecretStr) -> Claims:
        """Decode the payload of a JWT; an unreadable one gives no claims rather than an error."""
        try:
            payload = token.get_secret_value().split(".")[1]
            decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return cls({})
        return cls(decoded if isinstance(decoded, dict) else {})

    def get(self, name: str) -> str | None:
        """A claim as text, or ``None`` when absent."""
        value = self.values.get(name)
        return None if value is None else str(value)

    @property
    def expires_at(self) -> float | None:
        """The ``exp`` claim."""
        value = self.values.get("exp")
        return float(value) if isinstance(value, (int, float)) else None

    def table(self) -> list[str]:
        """``name: value`` lines for the claims that decide a publisher match; MISSING where absent."""
        return [f"{name}: {self.get(name) or 'MISSING'}" for name in DIAGNOSTIC_CLAIMS]

    @property
    def workflow_file(self) -> str | None:
        """The workflow file the job runs (from ``job_workflow_ref``), as a trusted publisher names it."""
        return workflow_file(self.get("job_workflow_ref"))

    @property
    def calling_workflow_file(self) -> str | None:
        """The top-level workflow (from ``workflow_ref``); the signing certificate names this one."""
        return workflow_file(self.get("workflow_ref"))

    def publisher_fields(self) -> list[str]:
        """What a trusted publisher on the index must say to match this token, one ``field: value`` each."""
        repository = self.get("repository") or "MISSING"
        environment = self.get("environment")
        return [
            f"owner: {self.get('repository_owner') or 'MISSING'}",
            f"repository: {repository.partition('/')[2] or repository}",
            f"workflow name: {self.workflow_file or 'MISSING'}",
            f"environment: {environment or '(any) — the job has no environment'}",
        ]

    def reusable_workflow_mismatch(self) -> str:
        """Why attestations made in a reusable workflow are refused: the one explanation of it."""
        return (
            f"this job runs the reusable workflow {self.get('job_workflow_ref')} called from "
            f"{self.get('workflow_ref')}. The index checks the token and the attestations against the trusted "
            f"publisher's workflow ({self.workflow_file}), the reusable one, but Sigstore certificates name the "
            f"calling workflow ({self.calling_workflow_file}), so the index would refuse every attestation made here"
        )

    @property
    def reusable_workflow(self) -> bool:
        """True when the job runs a called (reusable) workflow other than the top-level one."""
        job_ref = _strip_ref(self.get("job_workflow_ref"))
        top_ref = _strip_ref(self.get("workflow_ref"))
        return bool(job_ref and top_ref and job_ref != top_ref)


def workflow_file(ref: str | None) -> str | None:
    """``owner/repo/.github/workflows/release.yml@refs/heads/main`` → ``release.yml``."""
    path = _strip_ref(ref)
    return path.rsplit("/", 1)[-1] if path else None


def _strip_ref(ref: str | None) -> str | None:
    return ref.split("@", 1)[0] if ref else None


@dataclass(frozen=True)
class GitHubContext:
    """What the runner tells about the event that started the job."""

    event_name: str | None
    repository: str | None
    fork_pull_request: bool
    on_github: bool
    #: ``https://github.com``, or a GitHub Enterprise Server's address (``GITHUB_SERVER_URL``).
    server_url: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> GitHubContext:
        """Read ``GITHUB_*`` variables and the event JSON."""
        env = os.environ if environ is None else environ
        event_name = env.get("GITHUB_EVENT_NAME") or None
        fork = False
        event_path = env.get("GITHUB_EVENT_PATH")
        if event_name in _FORK_EVENTS and event_path:
            try:
                with open(event_path, encoding="utf-8") as handle:
                    event = json.load(handle)
                fork = bool(event["pull_request"]["head"]["repo"]["fork"])
            except (OSError, ValueError, KeyError, TypeError):
                fork = False
        return cls(
            event_name=event_name,
            repository=env.get("GITHUB_REPOSITORY") or None,
            server_url=env.get("GITHUB_SERVER_URL") or None,
            fork_pull_request=fork,
            on_github=env.get("GITHUB_ACTIONS") == "true",
        )


def ambient_token(
    audience: str,
    context: GitHubContext,
    *,
    detect: Callable[[str], str | None] | None = None,
) -> SecretStr:
    """Fetch a fresh OIDC token for ``audience`` from the CI provider (GitHub, GitLab, Google Cloud, …).

    Raises :class:`AuthenticationError` with the cause-specific fix; transient fetch failures raise
    :class:`TransientOIDCError` so the caller can retry. On GitHub Actions the token is fetched through the
    run's own HTTP stack, so the request obeys the operation's deadline and the caller's retries (with
    Retry-After); other providers are detected by ``id``.
    """
    if detect is None:
        request_url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        request_token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        if request_url and request_token:
            return SecretStr(_github_token(audience, request_url, request_token))

    import id as oidc_id  # imported late: only Trusted Publishing needs it

    detector = detect or oidc_id.detect_credential
    try:
        token = detector(audience)
    except oidc_id.GitHubOidcPermissionCredentialError:
        raise no_permission_error(context) from None
    except oidc_id.AmbientCredentialError as exc:
        # Network failures and 5xx from the token endpoint land here; the message holds no secret but
        # may hold a response body, so only its first line is kept.
        raise TransientOIDCError(str(exc).splitlines()[0][:200]) from None
    if token is None:
        raise AuthenticationError(
            "No OIDC identity available for Trusted Publishing",
            "no password was given, so publish-action tried Trusted Publishing, but this is not a CI job "
            "that provides OIDC tokens (GitHub Actions, GitLab CI/CD, Google Cloud, Buildkite, CircleCI).",
            "run the publish in a CI job with OIDC enabled (GitHub: `permissions: id-token: write`), or pass "
            "an API token as `password` (for local runs: --password / INPUT_PASSWORD).",
        )
    return SecretStr(token)


class TransientOIDCError(TransientError):
    """The CI provider's token endpoint failed in a way worth retrying; ``response`` is its answer, if any."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response

    def __str__(self) -> str:
        return f"the CI provider's token endpoint failed ({super().__str__()})"


def _github_token(audience: str, request_url: str, request_token: str) -> str:
    """One request to GitHub's token endpoint (``ACTIONS_ID_TOKEN_REQUEST_URL``) for ``audience``."""
    from publish_action.http import make_client, transient_reason

    with make_client(max_connections=1) as client:
        try:
            response = client.get(
                request_url,
                params={"audience": audience},
                headers={"Authorization": f"bearer {request_token}", "Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise TransientOIDCError(f"{type(exc).__name__}: {outside_text(str(exc), 200)}") from exc
    if transient_reason(response) is not None:
        raise TransientOIDCError(f"HTTP {response.status_code}", response=response)
    if response.status_code != 200:
        raise AuthenticationError(
            "GitHub refused the OIDC token request",
            f"the Actions token endpoint answered HTTP {response.status_code}.",
            "re-run the job; if it persists, check that the job has `permissions: id-token: write` and "
            "GitHub's status page (https://www.githubstatus.com/).",
        )
    try:
        value = response.json()["value"]
        if not isinstance(value, str) or not value:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise TransientOIDCError('the answer is not {"value": <token>}', response=response) from None
    return value


def no_permission_error(context: GitHubContext) -> AuthenticationError:
    """GitHub gave no token: explain the fork case or show the permission snippet."""
    if context.fork_pull_request:
        return AuthenticationError(
            "Trusted Publishing is not available in pull requests from forks",
            f"this job runs for a '{context.event_name}' event from a fork; GitHub never gives OIDC tokens to "
            "workflows started from forks, whatever `permissions:` says, so untrusted code cannot publish.",
            "publish from a workflow triggered by a `push` of a tag, a `release: published` event or "
            "`workflow_dispatch` in the main repository — not from pull requests.",
        )
    return AuthenticationError(
        "The job may not request an OIDC token",
        "Trusted Publishing needs an OIDC token, but the ACTIONS_ID_TOKEN_REQUEST_* variables are not set: "
        "the job lacks the `id-token: write` permission.",
        "add the permission at job level (not workflow level, so other jobs do not get it):\n" + PERMISSION_SNIPPET,
    )


def publisher_form_url(web_root: str, project: str, claims: Claims, *, existing_project: bool) -> str:
    """A link to the index's trusted-publisher form: the project's, pre-filled from the token's claims.

    The form for a new project (a pending publisher, in the account's settings) is not filled from its
    address on PyPI, so its link carries no values; the message around it lists them.
    """
    repository = claims.get("repository") or ""
    owner, _, name = repository.partition("/")
    fields = {
        "provider": "github",
        "owner": claims.get("repository_owner") or owner,
        "repository": name,
        "workflow_filename": claims.workflow_file or "",
        "environment": claims.get("environment") or "",
    }
    if existing_project:
        return f"{web_root}/manage/project/{project}/settings/publishing/?{urlencode(fields)}"
    return f"{web_root}/manage/account/publishing/"
