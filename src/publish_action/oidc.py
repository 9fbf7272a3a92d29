"""OIDC tokens' claims, and the GitHub context that explains a refusal.

Tokens come from the provider that runs the job (:mod:`publish_action.ambient` asks
:mod:`publish_action.providers`: GitHub Actions, GitLab CI/CD, Google Cloud; ``id`` for the others).
Diagnostics are picked from the cause's type (a missing permission or ``id_tokens:`` block, a fork pull
request, a refusal by the index), never from an error's text. Tokens are :class:`~pydantic.SecretStr` from
the moment they exist and are masked before anything else is printed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from publish_action.errors import AuthenticationError
from publish_action.http import TransientError

GITHUB_PERMISSION_SNIPPET = """jobs:
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
        """What the job's variables say of the claims its token would carry (GitLab's ``CI_*`` in a GitLab
        job, the runner's ``GITHUB_*`` elsewhere), for advice given without a token."""
        env = os.environ if environ is None else environ
        if env.get("GITLAB_CI") == "true" and env.get("CI_PROJECT_PATH"):
            host = env.get("CI_SERVER_HOST") or "gitlab.com"
            ref = f"refs/tags/{env['CI_COMMIT_TAG']}" if env.get("CI_COMMIT_TAG") else ""
            ref = ref or f"refs/heads/{env.get('CI_COMMIT_REF_NAME', '')}"
            config = env.get("CI_CONFIG_PATH") or ".gitlab-ci.yml"
            return cls(
                {
                    "namespace_path": env.get("CI_PROJECT_NAMESPACE"),
                    "project_path": env["CI_PROJECT_PATH"],
                    "ci_config_ref_uri": f"{host}/{env['CI_PROJECT_PATH']}//{config}@{ref}",
                    "environment": env.get("CI_ENVIRONMENT_NAME"),
                }
            )
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

    @property
    def workflow_file(self) -> str | None:
        """The workflow file the job runs (from ``job_workflow_ref``), as a trusted publisher names it."""
        return workflow_file(self.get("job_workflow_ref"))

    @property
    def calling_workflow_file(self) -> str | None:
        """The top-level workflow (from ``workflow_ref``); the signing certificate names this one."""
        return workflow_file(self.get("workflow_ref"))

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


class TransientOIDCError(TransientError):
    """The CI provider's token endpoint failed in a way worth retrying; ``response`` is its answer, if any."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response

    def __str__(self) -> str:
        return f"the CI provider's token endpoint failed ({super().__str__()})"


def fork_error(context: GitHubContext) -> AuthenticationError:
    """GitHub gives no token to jobs started from forks, whatever their permissions say."""
    return AuthenticationError(
        "Trusted Publishing is not available in pull requests from forks",
        f"this job runs for a '{context.event_name}' event from a fork; GitHub never gives OIDC tokens to "
        "workflows started from forks, whatever `permissions:` says, so untrusted code cannot publish.",
        "publish from a workflow triggered by a `push` of a tag, a `release: published` event or "
        "`workflow_dispatch` in the main repository — not from pull requests.",
    )
