"""``publish-action doctor``: a release workflow checked against what Trusted Publishing needs.

Each check looks at the parsed workflow (line numbers kept) and returns findings: where, what, why it breaks
or weakens publishing, and the fix. Errors break a publish (or hand the release to whoever holds a
secret); warnings weaken it. What zizmor and actionlint already report is left to them (see docs/workflows.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from publish_action.workflows._model import (
    PYPI_UPLOAD,
    TESTPYPI_UPLOAD,
    Job,
    NotAWorkflow,
    Publish,
    Workflow,
    index_key,
    load,
)
from publish_action.workflows._yaml import Node, YamlError

WORKFLOWS_DIR = Path(".github") / "workflows"

#: Which jobs a check holds to the stricter standard (those that can publish).
_JobPredicate = Callable[[Job], bool]


class Severity(str, Enum):
    """How bad a finding is: errors fail ``doctor``, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a workflow, where it is, why it matters and how to fix it."""

    check: str
    severity: Severity
    file: str
    line: int
    title: str
    why: str
    fix: str

    @property
    def location(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Expected:
    """Values of a trusted publisher registered on an index, to compare the workflows with.

    ``environments`` maps an index (``pypi``, ``testpypi``, an upload URL, or ``*`` for any) to the
    environment its publisher names.
    """

    workflow_name: str | None = None
    environments: tuple[tuple[str, str], ...] = ()

    def environment_for(self, publish: Publish) -> str | None:
        """The environment the publisher of ``publish``'s index names, if one was given."""
        fallback = None
        for index, environment in self.environments:
            if index == "*":
                fallback = environment
            elif publish.index is not None and index_key(_index_url(index)) == index_key(publish.index):
                return environment
        return fallback


def _index_url(name: str) -> str:
    return {"pypi": PYPI_UPLOAD, "testpypi": TESTPYPI_UPLOAD}.get(name.lower(), name)


def discover(root: Path) -> list[Path]:
    """The workflow files under ``root/.github/workflows`` (``.yml`` and ``.yaml``), sorted."""
    folder = root / WORKFLOWS_DIR
    return sorted(path for path in folder.iterdir() if path.suffix in (".yml", ".yaml") and path.is_file())


@dataclass
class Diagnosis:
    """What ``doctor`` found: every finding, and which of the files checked publish."""

    findings: list[Finding]
    checked: list[str]
    publishing: list[str]

    @property
    def errors(self) -> list[Finding]:
        """The findings that fail ``doctor``."""
        return [finding for finding in self.findings if finding.severity is Severity.ERROR]


def diagnose(
    paths: Sequence[Path],
    *,
    root: Path,
    expected: Expected | None = None,
    only_publishing: bool = False,
    this_action_local: bool = False,
    actions: Sequence[str] = (),
) -> Diagnosis:
    """Check ``paths`` (shown relative to ``root``). ``only_publishing``: leave out files that publish
    nothing (the no-argument form); ``this_action_local``: ``uses: ./`` is this action; ``actions``: other
    ``owner/repo`` names it goes by."""
    expected = expected or Expected()
    findings: list[Finding] = []
    workflows: list[Workflow] = []
    checked: list[str] = []
    for path in paths:
        display = _display(path, root)
        try:
            workflow = load(path, display, this_action_local=this_action_local, actions=actions)
        except YamlError as exc:
            findings.append(_unreadable(display, exc.line, f"it is not valid YAML: {exc}"))
            checked.append(display)
            continue
        except NotAWorkflow as exc:
            if not only_publishing:
                findings.append(_unreadable(display, exc.line, f"it is not a workflow: {exc}"))
                checked.append(display)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            findings.append(_unreadable(display, 1, f"it cannot be read: {reason}"))
            checked.append(display)
            continue
        workflows.append(workflow)
    callers = _local_callers(workflows)
    calling = {caller for caller, _job in callers}
    for workflow in workflows:
        if only_publishing and not workflow.publishes and workflow.display not in calling:
            continue
        checked.append(workflow.display)
        findings.extend(_check_workflow(workflow, expected, callers))
    findings.extend(_several_publishing_workflows(workflows))
    publishing = [workflow.display for workflow in workflows if workflow.publishes]
    findings.sort(key=lambda finding: (finding.file, finding.line, finding.check))
    return Diagnosis(findings, checked, publishing)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _unreadable(display: str, line: int, reason: str) -> Finding:
    return Finding(
        "workflow-unreadable",
        Severity.ERROR,
        display,
        line,
        "The workflow cannot be checked",
        f"{reason}; GitHub would not run it either.",
        "fix the file (actionlint shows GitHub's own reading of it), then run doctor again.",
    )


def _local_callers(workflows: Sequence[Workflow]) -> dict[tuple[str, str], str]:
    """(caller file, job) → called file, for jobs calling a workflow of the same repository."""
    calls: dict[tuple[str, str], str] = {}
    by_name = {workflow.path.name: workflow for workflow in workflows}
    for workflow in workflows:
        for job in workflow.jobs:
            uses = job.calls
            if uses is not None and uses.local:
                called = by_name.get(Path(uses.value).name)
                if called is not None and called.publishes:
                    calls[(workflow.display, job.id)] = called.display
    return calls


# -- the checks ------------------------------------------------------------------------------------------


def _check_workflow(workflow: Workflow, expected: Expected, callers: dict[tuple[str, str], str]) -> list[Finding]:
    findings: list[Finding] = []
    findings += _expressions_in_run(workflow)
    findings += _checkout_credentials(workflow)
    if not workflow.publishes:
        findings += _callers_permissions(workflow, callers)
        findings += _unpinned(workflow, lambda job: _grants_id_token(workflow, job))
        return findings
    findings += _workflow_level_id_token(workflow)
    findings += _unpinned(workflow, lambda job: bool(job.publishes) or _grants_id_token(workflow, job))
    findings += _pull_request_triggers(workflow)
    reusable = "workflow_call" in workflow.triggers
    for job in workflow.jobs:
        if not job.publishes or all(publish.loopback for publish in job.publishes):
            # A job that uploads only to an index on the runner itself (a smoke test) releases nothing.
            continue
        findings += _job_credentials(workflow, job, reusable=reusable)
        findings += _job_environment(workflow, job, expected)
        if reusable:
            findings += _reusable(workflow, job)
        else:
            findings += _attestations_off(workflow, job)
    if expected.workflow_name is not None and workflow.path.name != expected.workflow_name:
        findings.append(
            Finding(
                "workflow-name-mismatch",
                Severity.ERROR,
                workflow.display,
                _first_publish_line(workflow),
                f"The trusted publisher names `{expected.workflow_name}`, this workflow is `{workflow.path.name}`",
                "the index matches the workflow's file name exactly (renaming the file after registering the "
                "publisher is enough to break it), so it refuses to mint a token for this one.",
                f"rename the file to {expected.workflow_name}, or add a trusted publisher on the index naming "
                f"{workflow.path.name} (and remove the old one).",
            )
        )
    return findings


def _first_publish_line(workflow: Workflow) -> int:
    return min(publish.step.line for job in workflow.jobs for publish in job.publishes)


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


def _grants_id_token(workflow: Workflow, job: Job) -> bool:
    """Whether the job's OIDC token is available: its own permissions, else the workflow's."""
    scope = job.permissions if job.node.get("permissions") is not None else workflow.permissions
    return _permission_grants_id_token(scope)[0]


def _workflow_level_id_token(workflow: Workflow) -> list[Finding]:
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


def _job_credentials(workflow: Workflow, job: Job, *, reusable: bool) -> list[Finding]:
    findings: list[Finding] = []
    trusted = _grants_id_token(workflow, job)
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


def _job_environment(workflow: Workflow, job: Job, expected: Expected) -> list[Finding]:
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


def _pull_request_triggers(workflow: Workflow) -> list[Finding]:
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


def _unpinned(workflow: Workflow, sensitive: _JobPredicate) -> list[Finding]:
    findings: list[Finding] = []
    for job in workflow.jobs:
        strict = sensitive(job)
        if _grants_id_token(workflow, job):
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


def _checkout_credentials(workflow: Workflow) -> list[Finding]:
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


def _expressions_in_run(workflow: Workflow) -> list[Finding]:
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


def _reusable(workflow: Workflow, job: Job) -> list[Finding]:
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


def _attestations_off(workflow: Workflow, job: Job) -> list[Finding]:
    findings: list[Finding] = []
    for publish in job.publishes:
        if publish.tool not in ("this-action", "pypa-action") or publish.makes_attestations:
            continue
        if publish.credential_lines or not _grants_id_token(workflow, job):
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


def _callers_permissions(workflow: Workflow, callers: dict[tuple[str, str], str]) -> list[Finding]:
    findings: list[Finding] = []
    for job in workflow.jobs:
        called = callers.get((workflow.display, job.id))
        if called is None or _grants_id_token(workflow, job):
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


def _several_publishing_workflows(workflows: Iterable[Workflow]) -> list[Finding]:
    by_index: dict[str, list[tuple[Workflow, Publish]]] = {}
    names: dict[str, str] = {}
    for workflow in workflows:
        for job in workflow.jobs:
            for publish in job.publishes:
                if publish.index is None:
                    continue
                key = index_key(publish.index)
                names[key] = publish.index_name
                by_index.setdefault(key, []).append((workflow, publish))
    findings: list[Finding] = []
    for key, entries in by_index.items():
        files = list(dict.fromkeys(workflow.display for workflow, _publish in entries))
        if len(files) < 2:
            continue
        first = files[0]
        for workflow, publish in entries:
            if workflow.display == first:
                continue
            findings.append(
                Finding(
                    "several-publishing-workflows",
                    Severity.ERROR,
                    workflow.display,
                    publish.step.uses_line,
                    f"{len(files)} workflows publish to {names[key]}: {', '.join(files)}",
                    "a trusted publisher names one workflow file, so the others are refused or need publishers of "
                    "their own, each one more way to publish; two of them racing on one tag can also leave a "
                    "release half uploaded.",
                    f"publish to {names[key]} from one workflow: remove the publish step here, or turn this workflow "
                    f"into a caller of {first} (`workflow_call`).",
                )
            )
    return findings


__all__ = ["WORKFLOWS_DIR", "Diagnosis", "Expected", "Finding", "Severity", "diagnose", "discover"]
