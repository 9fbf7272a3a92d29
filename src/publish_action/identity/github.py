"""GitHub Actions: how a job there is recognized, its OIDC token, the claims its variables promise, the
trusted-publisher fields and form text, the event context that explains a refusal, and the runner's files.

Every ``GITHUB_*``, ``RUNNER_*`` and ``ACTIONS_*`` variable the program reads is read here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from publish_action.errors import AuthenticationError
from publish_action.identity.claims import Claims
from publish_action.identity.provider import (
    ANY_ENVIRONMENT,
    Broken,
    Detection,
    NotHere,
    Provider,
    PublisherField,
    Token,
    TransientTokenError,
    get_token_answer,
)

PERMISSION_SNIPPET = """jobs:
  publish:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      id-token: write  # Trusted Publishing and attestations
    steps: ..."""

#: The issuer of github.com's Actions OIDC tokens; GitHub Enterprise Server instances have their own.
ISSUER = "https://token.actions.githubusercontent.com"

_FORK_EVENTS = frozenset({"pull_request", "pull_request_review", "pull_request_review_comment"})


def runs_the_job(environ: Mapping[str, str]) -> bool:
    """True in a GitHub Actions job (``GITHUB_ACTIONS=true``)."""
    return environ.get("GITHUB_ACTIONS") == "true"


def debug_requested(environ: Mapping[str, str]) -> bool:
    """True when the run was re-run with debug logging (``RUNNER_DEBUG=1``)."""
    return environ.get("RUNNER_DEBUG") == "1"


@dataclass(frozen=True)
class GitHubContext:
    """What the runner tells about the job: the event that started it, and where its files are."""

    event_name: str | None
    repository: str | None
    fork_pull_request: bool
    on_github: bool
    #: ``https://github.com``, or a GitHub Enterprise Server's address (``GITHUB_SERVER_URL``).
    server_url: str | None = None
    #: The running workflow (``owner/repo/.github/workflows/file.yml@ref``) and the checked-out workspace.
    workflow_ref: str | None = None
    workspace: str | None = None
    #: Where the running action's files are, and the repository the runner says it comes from.
    action_path: str | None = None
    action_repository: str | None = None
    #: The step's outputs file and its job summary file.
    output_file: str | None = None
    summary_file: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> GitHubContext:
        """Read ``GITHUB_*`` variables (the process's unless ``environ`` is given) and the event JSON."""
        environ = os.environ if environ is None else environ
        event_name = environ.get("GITHUB_EVENT_NAME") or None
        fork = False
        event_path = environ.get("GITHUB_EVENT_PATH")
        if event_name in _FORK_EVENTS and event_path:
            try:
                with open(event_path, encoding="utf-8") as handle:
                    event = json.load(handle)
                fork = bool(event["pull_request"]["head"]["repo"]["fork"])
            except (OSError, ValueError, KeyError, TypeError):
                fork = False
        return cls(
            event_name=event_name,
            repository=environ.get("GITHUB_REPOSITORY") or None,
            server_url=environ.get("GITHUB_SERVER_URL") or None,
            fork_pull_request=fork,
            on_github=runs_the_job(environ),
            workflow_ref=environ.get("GITHUB_WORKFLOW_REF") or None,
            workspace=environ.get("GITHUB_WORKSPACE") or None,
            action_path=environ.get("GITHUB_ACTION_PATH") or None,
            action_repository=environ.get("GITHUB_ACTION_REPOSITORY") or None,
            output_file=environ.get("GITHUB_OUTPUT") or None,
            summary_file=environ.get("GITHUB_STEP_SUMMARY") or None,
        )


def fork_error(context: GitHubContext) -> AuthenticationError:
    """GitHub gives no token to jobs started from forks, whatever their permissions say."""
    return AuthenticationError(
        "Trusted Publishing is not available in pull requests from forks",
        f"this job runs for a '{context.event_name}' event from a fork; GitHub never gives OIDC tokens to "
        "workflows started from forks, whatever `permissions:` says, so untrusted code cannot publish.",
        "publish from a workflow triggered by a `push` of a tag, a `release: published` event or "
        "`workflow_dispatch` in the main repository — not from pull requests.",
    )


def _fields(claims: Claims) -> list[PublisherField]:
    repository = claims.get("repository") or ""
    owner, _, name = repository.partition("/")
    return [
        ("owner", "owner", claims.get("repository_owner") or owner or None),
        ("repository", "repository", name or None),
        ("workflow name", "workflow_filename", claims.workflow_file),
        ("environment", "environment", claims.get("environment")),
    ]


def environ_claims(environ: Mapping[str, str]) -> Claims | None:
    """What the runner's ``GITHUB_*`` variables say of the claims the job's token would carry."""
    if not environ.get("GITHUB_REPOSITORY") and not runs_the_job(environ):
        return None
    return Claims(
        {
            "repository": environ.get("GITHUB_REPOSITORY"),
            "repository_owner": environ.get("GITHUB_REPOSITORY_OWNER"),
            "job_workflow_ref": environ.get("GITHUB_WORKFLOW_REF"),
        }
    )


def without_permission() -> Broken:
    """A GitHub job without ``id-token: write``: the runner gives it no token endpoint."""
    return Broken(
        GITHUB,
        "The job may not request an OIDC token",
        "Trusted Publishing needs an OIDC token, but the ACTIONS_ID_TOKEN_REQUEST_* variables are not set: "
        "the job lacks the `id-token: write` permission.",
        "add the permission at job level (not workflow level, so other jobs do not get it):\n" + PERMISSION_SNIPPET,
    )


def detect(audience: str, environ: Mapping[str, str], client: httpx.Client) -> Detection:
    """The runner's token endpoint (``ACTIONS_ID_TOKEN_REQUEST_*``).

    The request goes through the run's own HTTP stack, so it obeys the operation's deadline and the
    caller's retries (with Retry-After).
    """
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not runs_the_job(environ) and not (url and request_token):
        return NotHere()
    if not (url and request_token):
        return without_permission()
    response = get_token_answer(
        client, url, {"audience": audience}, {"Authorization": f"bearer {request_token}", "Accept": "application/json"}
    )
    if response.status_code != 200:
        return Broken(
            GITHUB,
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
        raise TransientTokenError('the answer is not {"value": <token>}', response=response) from None
    return Token(GITHUB, SecretStr(value))


GITHUB = Provider(
    "GitHub Actions",
    "github",
    _fields,
    ANY_ENVIRONMENT,
    (
        "sub",
        "repository",
        "repository_owner",
        "repository_owner_id",
        "workflow_ref",
        "job_workflow_ref",
        "ref",
        "environment",
        "event_name",
    ),
    "the workflow name is the file name of the workflow that runs this job, and the environment must match "
    "the job's `environment:` when the publisher names one",
    detect,
    environ_claims,
)

__all__ = [
    "GITHUB",
    "ISSUER",
    "PERMISSION_SNIPPET",
    "GitHubContext",
    "debug_requested",
    "detect",
    "environ_claims",
    "fork_error",
    "runs_the_job",
    "without_permission",
]
