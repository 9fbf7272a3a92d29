"""SLSA Provenance v1 of the publishing workflow run, one statement per file (``build-provenance``).

PyPI takes a second attestation per file beside the publish attestation, of predicate type
``https://slsa.dev/provenance/v1``, signed by the same trusted publisher, with exactly one subject
(Warehouse: one attestation per predicate type, at most two; pypi-attestations: one subject whose name and
sha256 are the file's). The predicate follows GitHub's build type for workflow runs
(``https://actions.github.io/buildtypes/workflow/v1``): the workflow file, its repository and ref as external
parameters, the event, repository and owner ids and the runner environment as internal ones, the commit as
the one resolved dependency, the workflow at its ref as the builder and the run's attempt as the invocation.

Every field comes from the job's OIDC token, the identity the statement is signed with, so the certificate
and the statement cannot tell different stories. What it proves: this workflow run, at this commit, held
these exact bytes when it published them. What it does not: that the run built them in isolation (the
files may come from an earlier job, or from anywhere the workflow fetched them), so it is not SLSA Build
L3 provenance of the build itself.
"""

from __future__ import annotations

import json
from typing import Any

from publish_action.errors import AttestationError
from publish_action.identity.claims import Claims

SLSA_PREDICATE = "https://slsa.dev/provenance/v1"
GITHUB_WORKFLOW_BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
_IN_TOTO_STATEMENT = "https://in-toto.io/Statement/v1"
#: What a GitHub token must carry for the statement, by claim.
_NEEDED = (
    "repository",
    "workflow_ref",
    "job_workflow_ref",
    "ref",
    "sha",
    "run_id",
    "run_attempt",
    "event_name",
    "repository_id",
    "repository_owner_id",
    "runner_environment",
)


def unsupported(claims: Claims) -> AttestationError | None:
    """Why these claims cannot describe a run for the statement (not a GitHub Actions token, or one missing
    a claim it needs); ``None`` when they can."""
    missing = [name for name in _NEEDED if not claims.get(name)]
    if not missing:
        return None
    return AttestationError(
        "build-provenance needs a GitHub Actions workflow run",
        "the SLSA provenance describes a GitHub Actions workflow run from its OIDC token, and this job's token "
        f"has no {', '.join(missing)}. Nothing was signed or uploaded.",
        "publish from GitHub Actions with Trusted Publishing for build provenance, or leave `build-provenance` "
        "off here (the publish attestations do not need it).",
    )


def predicate(claims: Claims, server_url: str = "https://github.com") -> dict[str, Any]:
    """The SLSA Provenance v1 predicate of the run the claims describe."""
    server = server_url.rstrip("/")
    repository = str(claims.get("repository"))
    workflow_ref = str(claims.get("workflow_ref"))
    path = workflow_ref.removeprefix(f"{repository}/").partition("@")[0]
    ref = str(claims.get("ref"))
    return {
        "buildDefinition": {
            "buildType": GITHUB_WORKFLOW_BUILD_TYPE,
            "externalParameters": {
                "workflow": {"ref": ref, "repository": f"{server}/{repository}", "path": path},
            },
            "internalParameters": {
                "github": {
                    "event_name": claims.get("event_name"),
                    "repository_id": claims.get("repository_id"),
                    "repository_owner_id": claims.get("repository_owner_id"),
                    "runner_environment": claims.get("runner_environment"),
                }
            },
            "resolvedDependencies": [
                {"uri": f"git+{server}/{repository}@{ref}", "digest": {"gitCommit": claims.get("sha")}}
            ],
        },
        "runDetails": {
            "builder": {"id": f"{server}/{claims.get('job_workflow_ref')}"},
            "metadata": {
                "invocationId": (
                    f"{server}/{repository}/actions/runs/{claims.get('run_id')}/attempts/{claims.get('run_attempt')}"
                )
            },
        },
    }


def statement(filename: str, sha256: str, claims: Claims, server_url: str = "https://github.com") -> bytes:
    """The in-toto statement for one file: its name and sha256 as the one subject, the run's predicate."""
    document = {
        "_type": _IN_TOTO_STATEMENT,
        "subject": [{"name": filename, "digest": {"sha256": sha256}}],
        "predicateType": SLSA_PREDICATE,
        "predicate": predicate(claims, server_url),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


__all__ = ["GITHUB_WORKFLOW_BUILD_TYPE", "SLSA_PREDICATE", "predicate", "statement", "unsupported"]
