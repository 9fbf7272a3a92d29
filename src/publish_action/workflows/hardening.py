"""The checks of what can reach a publishing job: pull-request triggers, unpinned actions, checkout
credentials left behind and expressions expanded inside run scripts."""

from __future__ import annotations

import re

from publish_action.workflows._model import (
    Job,
    Workflow,
)
from publish_action.workflows.findings import Finding, JobPredicate, Severity
from publish_action.workflows.permissions import (
    grants_id_token,
)

_EVENT_GUARD = re.compile(r"github\s*\.\s*(event_name|ref|ref_type|ref_name|head_ref|base_ref)\b")


_ALWAYS = re.compile(r"\b(always|failure|cancelled)\s*\(")


def _guarded(workflow: Workflow, job: Job, seen: frozenset[str] = frozenset()) -> bool:
    """True when the job's ``if:`` (or a job it needs, without ``always()``) looks at the event or ref."""
    if _EVENT_GUARD.search(job.condition):
        return True
    if _ALWAYS.search(job.condition):
        return False
    for name in job.needs:
        needed = workflow.job(name)
        if needed is not None and name not in seen and _guarded(workflow, needed, seen | {job.id}):
            return True
    return False


def pull_request_triggers(workflow: Workflow) -> list[Finding]:
    findings: list[Finding] = []
    for trigger in ("pull_request_target", "pull_request"):
        line = workflow.triggers.get(trigger)
        if line is None:
            continue
        # A job publishing only to an index on the runner itself (a smoke test) publishes nothing anyone gets.
        reached = [
            job.id
            for job in workflow.jobs
            if job.publishes and not all(publish.loopback for publish in job.publishes) and not _guarded(workflow, job)
        ]
        if not reached:
            continue
        names = ", ".join(f"`{name}`" for name in reached)
        if trigger == "pull_request_target":
            why = (
                f"{names} also runs for pull requests, in the base repository's context with its secrets and "
                "OIDC token, on code a pull request can influence; PyPI refuses tokens of `pull_request_target` "
                "runs, so the job fails there at best and publishes someone else's change at worst."
            )
        else:
            why = (
                f"{names} also runs for pull requests: one from a branch of this repository can publish "
                "whatever the branch holds, and one from a fork gets no OIDC token, so the job fails."
            )
        findings.append(
            Finding(
                f"{trigger.replace('_', '-')}-trigger",
                Severity.ERROR,
                workflow.display,
                line,
                f"A `{trigger}` trigger reaches the publish job",
                why,
                "publish from a workflow triggered by `push` of tags (or `release`, `workflow_dispatch`); build "
                "and test pull requests in another workflow, or guard the publish job with "
                "`if: github.event_name == 'push' && github.ref_type == 'tag'`.",
            )
        )
    return findings


def unpinned(workflow: Workflow, sensitive: JobPredicate) -> list[Finding]:
    findings: list[Finding] = []
    for job in workflow.jobs:
        strict = sensitive(job)
        if grants_id_token(workflow, job):
            risk = "; in a job that can get an OIDC token, that code can publish to the index as this project."
        elif job.publishes:
            risk = "; in a job that publishes, that code runs beside the upload and can change what is sent."
        else:
            risk = "; this job then runs code nobody reviewed."
        targets = [(step.uses, step.uses_line) for step in job.steps]
        calls, call_node = job.calls, job.node.get("uses")
        if calls is not None and call_node is not None:
            targets.append((calls, call_node.line))
        for uses, line in targets:
            if uses is None or uses.local or uses.docker or uses.pinned:
                continue
            if uses.repo is None:
                continue
            findings.append(
                Finding(
                    "unpinned-action",
                    Severity.ERROR if strict else Severity.WARNING,
                    workflow.display,
                    line,
                    f"`{uses.value}` is not pinned by a full commit SHA",
                    "a tag or branch can be moved to other code at any time" + risk,
                    f"pin it: `uses: {uses.repo}{uses.path}@<40-character commit SHA> # {uses.ref}` "
                    "(the commit the tag points at), and let Dependabot or Renovate update the pin.",
                )
            )
    return findings


def checkout_credentials(workflow: Workflow) -> list[Finding]:
    findings: list[Finding] = []
    for job in workflow.jobs:
        for step in job.steps:
            uses = step.uses
            if uses is None or uses.name != "actions/checkout":
                continue
            value = step.with_value("persist-credentials")
            if value is not None and (value.text or "").strip().lower() == "false":
                continue
            findings.append(
                Finding(
                    "checkout-persists-credentials",
                    Severity.WARNING,
                    workflow.display,
                    value.line if value is not None else step.uses_line,
                    "actions/checkout leaves the job's GitHub token in .git/config",
                    "every later step can read it, and a build that packs or uploads the work tree can ship it "
                    "(in an sdist or an artifact).",
                    "add to the checkout step:\n    with:\n      persist-credentials: false",
                )
            )
    return findings


def expressions_in_run(workflow: Workflow) -> list[Finding]:
    findings: list[Finding] = []
    for job in workflow.jobs:
        for step in job.steps:
            run = step.run
            text = run.text if run is not None else None
            if run is None or not text:
                continue
            found = _unsafe_expression(text, job)
            if found is None:
                continue
            start, expression = found
            findings.append(
                Finding(
                    "expression-in-run",
                    Severity.ERROR,
                    workflow.display,
                    run.line_of(start),
                    f"`{expression}` is expanded inside a `run:` script",
                    "GitHub pastes the value into the script before the shell reads it, so a branch name, tag, "
                    "title or input carrying shell syntax runs as code in a job of the release workflow.",
                    "pass the value through the step's `env:` (for example `env: VALUE: "
                    f'{expression}`) and use "$VALUE" in the script.',
                )
            )
    return findings


#: Contexts whose values GitHub fixes (numbers, commit ids, the runner's own paths and names): nobody can
#: put shell syntax in them, so expanding them in a script injects nothing (zizmor counts them safe too).
_FIXED_CONTEXTS = frozenset(
    {
        "github.sha",
        "github.run_id",
        "github.run_number",
        "github.run_attempt",
        "github.repository_id",
        "github.repository_owner_id",
        "github.actor_id",
        "github.event.number",
        "github.job",
        "github.workspace",
        "github.action_path",
        "github.event_name",
        "github.ref_type",
        "github.server_url",
        "github.api_url",
        "github.graphql_url",
        "github.retention_days",
        "runner.os",
        "runner.arch",
        "runner.temp",
        "runner.tool_cache",
        "runner.debug",
        "runner.environment",
        "job.status",
        "strategy.fail-fast",
        "strategy.job-index",
        "strategy.job-total",
        "strategy.max-parallel",
    }
)


_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


_REFERENCE = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w*-]+|\[[^\]]*\])*(?=\s*(\()?)")


_LITERAL_WORDS = frozenset({"true", "false", "null"})


def _unsafe_expression(text: str, job: Job) -> tuple[int, str] | None:
    """The first ``${{ }}`` of a script whose value someone outside the workflow could shape, with its
    offset; ``None`` when every expression only reads fixed values (see :data:`_FIXED_CONTEXTS`, and a
    job's ``matrix`` when the workflow spells out every value of it)."""
    end = 0
    for match in _EXPRESSION.finditer(text):
        if not _fixed_value(match.group(1), job):
            return match.start(), match.group(0)
        end = match.end()
    unclosed = text.find("${{", end)  # no `}}` after it: GitHub refuses it, and so do we
    return (unclosed, text[unclosed : unclosed + 40]) if unclosed >= 0 else None


def _fixed_value(body: str, job: Job) -> bool:
    body = _STRING_LITERAL.sub("''", body)
    for match in _REFERENCE.finditer(body):
        name = match.group(0)
        if match.group(1) is not None or name in _LITERAL_WORDS:
            continue  # a function's name, or a literal
        if name.lower() in _FIXED_CONTEXTS:
            continue
        if name.startswith("matrix.") and _literal_matrix(job):
            continue
        return False
    return True


def _literal_matrix(job: Job) -> bool:
    """Whether every value of the job's ``strategy.matrix`` is written in the workflow (no expression)."""
    strategy = job.node.get("strategy")
    matrix = strategy.get("matrix") if strategy is not None else None
    if matrix is None or not matrix.is_mapping:
        return False
    return all("${{" not in (scalar.text or "") for scalar in matrix.scalars())


__all__ = ["checkout_credentials", "expressions_in_run", "pull_request_triggers", "unpinned"]
