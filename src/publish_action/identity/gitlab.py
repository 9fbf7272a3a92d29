"""GitLab CI/CD: how a job there is recognized, its ID tokens (``id_tokens:``), the claims its ``CI_*``
variables promise, and the trusted-publisher fields. Every ``GITLAB_*`` and ``CI_*`` variable is read here."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import httpx
from pydantic import SecretStr

from publish_action.identity.claims import Claims
from publish_action.identity.provider import (
    ANY_ENVIRONMENT,
    SIGSTORE_AUDIENCE,
    Broken,
    Detection,
    NotHere,
    Provider,
    PublisherField,
    Token,
)


def runs_the_job(environ: Mapping[str, str]) -> bool:
    """True in a GitLab CI job (``GITLAB_CI=true``)."""
    return environ.get("GITLAB_CI") == "true"


def ci_file(ci_config_ref_uri: str | None) -> str | None:
    """``gitlab.com/group/project//ci/release.yml@refs/heads/main`` → ``ci/release.yml``."""
    if not ci_config_ref_uri or "//" not in ci_config_ref_uri:
        return None
    return ci_config_ref_uri.split("//", 1)[1].split("@", 1)[0] or None


def _fields(claims: Claims) -> list[PublisherField]:
    project_path = claims.get("project_path") or ""
    namespace, _, project = project_path.rpartition("/")
    return [
        ("namespace", "namespace", claims.get("namespace_path") or namespace or None),
        ("project name", "project", project or None),
        ("top-level pipeline file path", "workflow_filepath", ci_file(claims.get("ci_config_ref_uri"))),
        ("environment", "environment", claims.get("environment")),
    ]


def environ_claims(environ: Mapping[str, str]) -> Claims | None:
    """What a GitLab job's ``CI_*`` variables say of the claims its ID token would carry."""
    if not runs_the_job(environ) or not environ.get("CI_PROJECT_PATH"):
        return None
    host = environ.get("CI_SERVER_HOST") or "gitlab.com"
    tag = environ.get("CI_COMMIT_TAG")
    ref = f"refs/tags/{tag}" if tag else f"refs/heads/{environ.get('CI_COMMIT_REF_NAME', '')}"
    config = environ.get("CI_CONFIG_PATH") or ".gitlab-ci.yml"
    return Claims(
        {
            "namespace_path": environ.get("CI_PROJECT_NAMESPACE"),
            "project_path": environ["CI_PROJECT_PATH"],
            "ci_config_ref_uri": f"{host}/{environ['CI_PROJECT_PATH']}//{config}@{ref}",
            "environment": environ.get("CI_ENVIRONMENT_NAME"),
        }
    )


def env_variable(audience: str) -> str:
    """``pypi`` → ``PYPI_ID_TOKEN``: the audience upper-cased, every non-alphanumeric an underscore (as ``id``)."""
    return re.sub(r"[^A-Z0-9]", "_", audience.upper()) + "_ID_TOKEN"


def id_tokens_snippet(audiences: Sequence[str]) -> str:
    """The ``id_tokens:`` block a GitLab job needs for ``audiences``."""
    lines = ["publish:", "  id_tokens:"]
    lines += [f"    {env_variable(audience)}:\n      aud: {audience}" for audience in audiences]
    return "\n".join(lines)


def detect(audience: str, environ: Mapping[str, str], client: httpx.Client) -> Detection:
    """The ``<AUDIENCE>_ID_TOKEN`` variable a job declares under ``id_tokens:`` (no request is sent)."""
    if not runs_the_job(environ):
        return NotHere()
    name = env_variable(audience)
    value = environ.get(name)
    if not value:
        # The same detector serves the index's audience and Sigstore's (the attestations' certificate).
        sigstore = audience == SIGSTORE_AUDIENCE
        return Broken(
            GITLAB,
            f"The GitLab CI job has no ID token for {'Sigstore' if sigstore else 'the index'}",
            f"this GitLab CI job has no {name} variable: GitLab gives a job an ID token only for the "
            "audiences its `id_tokens:` block names"
            + (", and signing the attestations needs one for Sigstore." if sigstore else "."),
            f"declare the token in the job of .gitlab-ci.yml (audience {audience!r}, "
            + (
                "which Sigstore requires; or set `attestations: false` to publish without attestations"
                if sigstore
                else "as the index names it"
            )
            + "):\n"
            + id_tokens_snippet([audience]),
        )
    return Token(GITLAB, SecretStr(value))


GITLAB = Provider(
    "GitLab CI/CD",
    "gitlab",
    _fields,
    ANY_ENVIRONMENT,
    ("iss", "sub", "namespace_path", "project_path", "ci_config_ref_uri", "ref_path", "environment", "pipeline_source"),
    "the namespace and project name are the project's path on GitLab, the top-level pipeline file path is the "
    "CI file the pipeline runs, `.gitlab-ci.yml` unless the project's CI/CD settings name another, and the "
    "environment must match the job's `environment:` when the publisher names one",
    detect,
    environ_claims,
    offline=True,
)

__all__ = ["GITLAB", "ci_file", "detect", "env_variable", "environ_claims", "id_tokens_snippet", "runs_the_job"]
