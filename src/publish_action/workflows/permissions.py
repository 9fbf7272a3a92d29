"""The checks of what a publishing job is given: the OIDC permission, credentials, the environment,
attestations, reusable workflows and their callers' permissions."""

from __future__ import annotations

import re

from publish_action.workflows._model import (
    Job,
    Workflow,
)
from publish_action.workflows._yaml import Node
from publish_action.workflows.findings import Expected, Finding, Severity

_GRANT = re.compile(r"^\s*write-all\s*$")


def _permission_grants_id_token(node: Node | None) -> tuple[bool, int | None]:
    """(grants ``id-token: write``, line of the grant) for a ``permissions:`` node."""
    if node is None:
        return False, None
    if node.text is not None:
        return bool(_GRANT.match(node.text)), node.line
    value = node.get("id-token")
    if value is not None and (value.text or "").strip() == "write":
        return True, node.key_line("id-token")
    return False, None


def grants_id_token(workflow: Workflow, job: Job) -> bool:
    """Whether the job's OIDC token is available: its own permissions, else the workflow's."""
    scope = job.permissions if job.node.get("permissions") is not None else workflow.permissions
    return _permission_grants_id_token(scope)[0]


def workflow_level_id_token(workflow: Workflow) -> list[Finding]:
    grants, line = _permission_grants_id_token(workflow.permissions)
    if not grants or line is None:
        return []
    what = (
        "all permissions, `id-token: write` among them,"
        if workflow.permissions and workflow.permissions.text
        else ("`id-token: write`")
    )
    return [
        Finding(
            "id-token-workflow-level",
            Severity.ERROR,
            workflow.display,
            line,
            "`id-token: write` is granted to the whole workflow",
            f"the workflow-level `permissions:` gives {what} to every job that does not set its own, so the "
            "build and test jobs (and every action and script they run) can ask for an OIDC token that the index "
            "accepts as this project's publisher.",
            "set `permissions: {}` at the top of the workflow and `permissions: id-token: write` in the publish "
            "job only.",
        )
    ]


def job_credentials(workflow: Workflow, job: Job, *, reusable: bool) -> list[Finding]:
    findings: list[Finding] = []
    trusted = grants_id_token(workflow, job)
    for publish in job.publishes:
        if publish.credential_lines:
            for line, what in publish.credential_lines:
                if trusted:
                    findings.append(
                        Finding(
                            "token-beside-trusted-publishing",
                            Severity.ERROR,
                            workflow.display,
                            line,
                            f"A long-lived credential ({what}) is given next to Trusted Publishing",
                            "the job may ask for an OIDC token, but a publisher given a password or token uses it "
                            "and never tries Trusted Publishing, so the release still rests on a stored secret that "
                            "anyone who reads it can publish with.",
                            "remove it from the workflow, delete the repository secret and revoke the token on the "
                            "index; Trusted Publishing needs no secret.",
                        )
                    )
                else:
                    findings.append(
                        Finding(
                            "api-token",
                            Severity.WARNING,
                            workflow.display,
                            line,
                            f"The release is published with a long-lived credential ({what})",
                            "a stored token publishes from anywhere until it is revoked, and it leaves no record of "
                            "which workflow run made a release; attestations need Trusted Publishing.",
                            "register a trusted publisher on the index, give the publish job `permissions: "
                            "id-token: write`, and remove the credential (`publish-action init` writes such a "
                            "workflow and the set-up steps).",
                        )
                    )
            continue
        if not trusted and not reusable:
            findings.append(_missing_id_token(workflow, job))
        elif not trusted and (job.permissions is not None or workflow.permissions is not None):
            # A called workflow's job without permissions of its own (here or at the top) gets the caller's.
            findings.append(_missing_id_token(workflow, job))
    return findings


def _missing_id_token(workflow: Workflow, job: Job) -> Finding:
    line = job.node.key_line("permissions") or job.line
    return Finding(
        "id-token-missing",
        Severity.ERROR,
        workflow.display,
        line,
        f"Job `{job.id}` publishes with Trusted Publishing but cannot get an OIDC token",
        "without `id-token: write` the runner hands the job no OIDC token to exchange, so the publish stops "
        "before the first upload (GitHub's default permissions do not include it).",
        f"add to job `{job.id}`:\n    permissions:\n      id-token: write",
    )


def job_environment(workflow: Workflow, job: Job, expected: Expected) -> list[Finding]:
    environment = job.environment
    findings: list[Finding] = []
    for publish in job.publishes[:1]:
        wanted = expected.environment_for(publish)
        if environment is None:
            if wanted is not None:
                findings.append(
                    Finding(
                        "environment-mismatch",
                        Severity.ERROR,
                        workflow.display,
                        job.line,
                        f"The trusted publisher names environment `{wanted}`; job `{job.id}` has none",
                        "a publisher with an environment accepts only tokens of jobs running in it, so the index "
                        "refuses this job's token.",
                        f"add `environment: {wanted}` to job `{job.id}`.",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "environment-missing",
                        Severity.WARNING,
                        workflow.display,
                        job.line,
                        f"Job `{job.id}` publishes outside a GitHub environment",
                        "without `environment:` any branch or tag of the repository can run this job and publish, "
                        "and the trusted publisher cannot be limited to an environment with required reviewers or "
                        "allowed tags.",
                        f"add `environment: pypi` (or `testpypi`) to job `{job.id}`, create and protect that "
                        "environment in the repository's settings, and name it in the trusted publisher.",
                    )
                )
            continue
        name, line = environment
        if wanted is not None and name is not None and "${{" not in name and name.lower() != wanted.lower():
            findings.append(
                Finding(
                    "environment-mismatch",
                    Severity.ERROR,
                    workflow.display,
                    line,
                    f"The trusted publisher names environment `{wanted}`; job `{job.id}` runs in `{name}`",
                    "the index compares the token's environment with the publisher's (ignoring case) and refuses "
                    "this one.",
                    f"use `environment: {wanted}` here, or register a publisher naming `{name}`.",
                )
            )
    return findings


def in_reusable_workflow(workflow: Workflow, job: Job) -> list[Finding]:
    findings = [
        Finding(
            "reusable-workflow",
            Severity.WARNING,
            workflow.display,
            workflow.triggers["workflow_call"],
            f"Job `{job.id}` publishes from a reusable workflow (`workflow_call`)",
            f"PyPI matches the trusted publisher against the workflow that defines the job ({workflow.path.name}), "
            "in the repository that runs it, at the caller's ref: it works only when a workflow of the same "
            f"repository calls it (`uses: ./.github/workflows/{workflow.path.name}`), and the publisher must name "
            f"{workflow.path.name}, "
            "not the caller. The caller's job must grant `id-token: write`; the environment is set here, in the "
            "called job.",
            f"register the publisher with workflow {workflow.path.name}, call it only from this repository, or move "
            "the publish job into the top-level workflow.",
        )
    ]
    for publish in job.publishes:
        if publish.makes_attestations:
            findings.append(
                Finding(
                    "reusable-workflow-attestations",
                    Severity.ERROR,
                    workflow.display,
                    publish.step.uses_line,
                    "Attestations cannot be made from a reusable workflow",
                    "the Sigstore certificate of a reusable workflow's job names the calling workflow, while the "
                    f"index checks attestations against the trusted publisher's workflow ({workflow.path.name}): "
                    "every attestation would be refused, so publish-action stops before signing.",
                    "publish from a job of the top-level workflow (and register that file), or set "
                    "`attestations: false` on this step.",
                )
            )
    return findings


def attestations_off(workflow: Workflow, job: Job) -> list[Finding]:
    findings: list[Finding] = []
    for publish in job.publishes:
        if publish.tool not in ("this-action", "pypa-action") or publish.makes_attestations:
            continue
        if publish.credential_lines or not grants_id_token(workflow, job):
            continue
        value = publish.step.with_value("attestations")
        findings.append(
            Finding(
                "attestations-off",
                Severity.WARNING,
                workflow.display,
                value.line if value is not None else publish.step.line,
                "Attestations are turned off",
                "without PEP 740 attestations the index cannot show which repository, workflow and commit "
                "produced each file, and installers that check provenance find none.",
                "remove `attestations: false`: with Trusted Publishing they cost no set-up.",
            )
        )
    return findings


def callers_permissions(workflow: Workflow, callers: dict[tuple[str, str], str]) -> list[Finding]:
    findings: list[Finding] = []
    for job in workflow.jobs:
        called = callers.get((workflow.display, job.id))
        if called is None or grants_id_token(workflow, job):
            continue
        findings.append(
            Finding(
                "reusable-caller-id-token",
                Severity.ERROR,
                workflow.display,
                job.node.key_line("permissions") or job.line,
                f"Job `{job.id}` calls the publishing workflow {called} without `id-token: write`",
                "a called workflow gets at most the permissions of the job calling it, so its publish job "
                "receives no OIDC token.",
                f"add to job `{job.id}`:\n    permissions:\n      id-token: write",
            )
        )
    return findings


__all__ = [
    "attestations_off",
    "callers_permissions",
    "grants_id_token",
    "in_reusable_workflow",
    "job_credentials",
    "job_environment",
    "workflow_level_id_token",
]
