"""``publish-action doctor``: a release workflow checked against what Trusted Publishing needs.

Each check looks at the parsed workflow (line numbers kept) and returns findings: where, what, why it breaks
or weakens publishing, and the fix. Errors break a publish (or hand the release to whoever holds a
secret); warnings weaken it. What zizmor and actionlint already report is left to them (see docs/workflows.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from publish_action.workflows._model import (
    NotAWorkflow,
    Publish,
    Workflow,
    index_key,
    load,
)
from publish_action.workflows._yaml import YamlError
from publish_action.workflows.findings import Diagnosis, Expected, Finding, Severity
from publish_action.workflows.hardening import (
    checkout_credentials,
    expressions_in_run,
    pull_request_triggers,
    unpinned,
)
from publish_action.workflows.permissions import (
    attestations_off,
    callers_permissions,
    grants_id_token,
    in_reusable_workflow,
    job_credentials,
    job_environment,
    workflow_level_id_token,
)

WORKFLOWS_DIR = Path(".github") / "workflows"


def discover(root: Path) -> list[Path]:
    """The workflow files under ``root/.github/workflows`` (``.yml`` and ``.yaml``), sorted."""
    folder = root / WORKFLOWS_DIR
    return sorted(path for path in folder.iterdir() if path.suffix in (".yml", ".yaml") and path.is_file())


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
    findings += expressions_in_run(workflow)
    findings += checkout_credentials(workflow)
    if not workflow.publishes:
        findings += callers_permissions(workflow, callers)
        findings += unpinned(workflow, lambda job: grants_id_token(workflow, job))
        return findings
    findings += workflow_level_id_token(workflow)
    findings += unpinned(workflow, lambda job: bool(job.publishes) or grants_id_token(workflow, job))
    findings += pull_request_triggers(workflow)
    reusable = "workflow_call" in workflow.triggers
    for job in workflow.jobs:
        if not job.publishes or all(publish.loopback for publish in job.publishes):
            # A job that uploads only to an index on the runner itself (a smoke test) releases nothing.
            continue
        findings += job_credentials(workflow, job, reusable=reusable)
        findings += job_environment(workflow, job, expected)
        if reusable:
            findings += in_reusable_workflow(workflow, job)
        else:
            findings += attestations_off(workflow, job)
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
