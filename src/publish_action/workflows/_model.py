"""A GitHub Actions workflow as the checks need it: triggers, permissions, jobs, steps, and the steps that
publish to a Python package index (this action, pypa/gh-action-pypi-publish, ``twine upload``, ``uv publish``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from publish_action.workflows._scripts import (
    PYPI_UPLOAD,
    TESTPYPI_UPLOAD,
    TWINE_UPLOAD,
    UV_PUBLISH,
    only_dry_runs,
    twine_index,
    uv_index,
)
from publish_action.workflows._yaml import Node, parse

#: ``owner/repo@ref`` or ``owner/repo/path@ref`` of a remote action (or a reusable workflow).
_REMOTE_USES = re.compile(r"^(?P<repo>[^/@\s]+/[^/@\s]+)(?P<path>/[^@\s]*)?@(?P<ref>\S+)$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
#: Variables through which twine and uv read an index credential.
CREDENTIAL_VARIABLES = frozenset(
    {"TWINE_PASSWORD", "UV_PUBLISH_TOKEN", "UV_PUBLISH_PASSWORD", "PYPI_API_TOKEN", "PYPI_TOKEN", "PYPI_PASSWORD"}
)
_SECRET_REFERENCE = re.compile(r"secrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|secrets\s*\[\s*'([^']+)'\s*\]")
_CREDENTIAL_NAME = re.compile(r"PYPI|TOKEN|PASSWORD|TWINE", re.IGNORECASE)


@dataclass(frozen=True)
class Uses:
    """A ``uses:`` value split into repository, path and ref (local ``./`` and ``docker://`` have none)."""

    value: str
    repo: str | None
    path: str
    ref: str | None

    @classmethod
    def of(cls, node: Node | None) -> Uses | None:
        """The ``uses:`` a step or a job names, parsed; ``None`` when it names none."""
        return cls.parse(node.text) if node is not None and node.text is not None else None

    @classmethod
    def parse(cls, value: str) -> Uses:
        """Split ``value``; anything not shaped like ``owner/repo[/path]@ref`` keeps only its value."""
        match = _REMOTE_USES.match(value.strip())
        if match is None:
            return cls(value.strip(), None, "", None)
        return cls(value.strip(), match["repo"], match["path"] or "", match["ref"])

    @property
    def local(self) -> bool:
        """``./…``: an action or reusable workflow of the repository itself."""
        return self.value.startswith("./")

    @property
    def docker(self) -> bool:
        """``docker://…``: a container image, pinned by digest rather than by commit."""
        return self.value.startswith("docker://")

    @property
    def pinned(self) -> bool:
        """True when the ref is a full commit SHA."""
        return self.ref is not None and bool(_FULL_SHA.match(self.ref))

    @property
    def name(self) -> str:
        """``owner/repo`` in lower case ('' when not remote)."""
        return (self.repo or "").lower()


@dataclass(frozen=True)
class Step:
    """One step of a job."""

    node: Node
    index: int

    @property
    def line(self) -> int:
        """The line the step starts on."""
        return self.node.line

    @property
    def label(self) -> str:
        """The step's name, id, action or the start of its script, for messages."""
        for key in ("name", "id", "uses"):
            value = self.node.get(key)
            if value is not None and value.text:
                return value.text
        run = self.run
        return (run.text or "").strip().splitlines()[0][:40] if run is not None and run.text else f"#{self.index + 1}"

    @property
    def uses(self) -> Uses | None:
        """The step's ``uses:``, parsed."""
        return Uses.of(self.node.get("uses"))

    @property
    def uses_line(self) -> int:
        """The line of ``uses:`` (the step's line without one)."""
        value = self.node.get("uses")
        return value.line if value is not None else self.line

    @property
    def run(self) -> Node | None:
        """The ``run:`` script node."""
        return self.node.get("run")

    def with_value(self, *names: str) -> Node | None:
        """The first of ``names`` given under ``with:``."""
        inputs = self.node.get("with")
        if inputs is None:
            return None
        for name in names:
            value = inputs.get(name)
            if value is not None:
                return value
        return None


@dataclass
class Publish:
    """A step that uploads distributions, and what it says about the index and the credentials."""

    step: Step
    #: ``this-action``, ``pypa-action``, ``twine`` or ``uv``.
    tool: str
    #: The upload URL as written, or None when an expression decides it.
    index: str | None
    #: Lines where a long-lived credential is given to this step (input, variable or secret).
    credential_lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def loopback(self) -> bool:
        """Whether the upload goes to this machine (``127.0.0.1``, ``::1``, ``localhost``): a job's own test
        index, which nothing outside the job can reach."""
        if self.index is None:
            return False
        from publish_action.hosts import url_is_loopback

        return url_is_loopback(self.index)

    @property
    def index_name(self) -> str:
        """PyPI, TestPyPI, the URL, or "an index chosen by an expression"."""
        if self.index is None:
            return "an index chosen by an expression"
        key = index_key(self.index)
        return {index_key(PYPI_UPLOAD): "PyPI", index_key(TESTPYPI_UPLOAD): "TestPyPI"}.get(key, self.index)

    @property
    def makes_attestations(self) -> bool:
        """This action and pypa's make attestations unless told ``attestations: false``."""
        if self.tool not in ("this-action", "pypa-action"):
            return False
        value = self.step.with_value("attestations")
        return value is None or (value.text or "").strip().lower() not in ("false", "no", "0")


def index_key(url: str) -> str:
    """An upload URL compared loosely: scheme and host in lower case, no trailing slash."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text.rstrip("/").lower()
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


@dataclass
class Job:
    """One job of the workflow."""

    id: str
    node: Node
    line: int
    steps: list[Step]
    publishes: list[Publish] = field(default_factory=list)

    @property
    def permissions(self) -> Node | None:
        """The job's own ``permissions:``."""
        return self.node.get("permissions")

    @property
    def environment(self) -> tuple[str | None, int] | None:
        """(environment name, line) or None without one; the name is None for a non-scalar name."""
        node = self.node.get("environment")
        if node is None:
            return None
        if node.is_mapping:
            name = node.get("name")
            return (name.text if name is not None else None), (name.line if name is not None else node.line)
        return node.text, node.line

    @property
    def condition(self) -> str:
        """The job's ``if:`` text ('' without one)."""
        node = self.node.get("if")
        return (node.text or "") if node is not None else ""

    @property
    def needs(self) -> list[str]:
        """The jobs this one waits for."""
        node = self.node.get("needs")
        if node is None:
            return []
        if node.text is not None:
            return [node.text]
        return [item.text for item in node.items() if item.text]

    @property
    def calls(self) -> Uses | None:
        """The reusable workflow this job calls (job-level ``uses:``)."""
        return Uses.of(self.node.get("uses"))


@dataclass
class Workflow:
    """A parsed workflow file."""

    path: Path
    display: str
    root: Node
    jobs: list[Job]
    #: Trigger name → line.
    triggers: dict[str, int]

    @property
    def permissions(self) -> Node | None:
        """The workflow-level ``permissions:``."""
        return self.root.get("permissions")

    @property
    def publishes(self) -> bool:
        """True when a job of this workflow uploads distributions."""
        return any(job.publishes for job in self.jobs)

    def job(self, job_id: str) -> Job | None:
        """The job named ``job_id``."""
        return next((job for job in self.jobs if job.id == job_id), None)


class NotAWorkflow(ValueError):
    """The file parses but is not a workflow (no ``jobs:`` mapping); ``line`` is where to look."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


#: The comment ``init`` writes on the line above each step that runs this action, whatever the action is
#: called (a fork, a wrapper): ``doctor`` takes the step below it as this action's.
STEP_MARKER = "# publish-action: the step below runs publish-action"


def load(path: Path, display: str, *, this_action_local: bool = False, actions: Sequence[str] = ()) -> Workflow:
    """Parse one workflow file. ``this_action_local``: ``uses: ./`` is this action (its own repository);
    ``actions``: other ``owner/repo`` names this action goes by (``doctor --action``).

    A step is this action's when its ``uses:`` names ``…/publish-action`` or one of ``actions``, or when the
    line above it is :data:`STEP_MARKER`.

    Raises :class:`~publish_action.workflows._yaml.YamlError`, :class:`NotAWorkflow` or :class:`OSError`.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    names = frozenset(name.strip().lower().split("@", 1)[0] for name in actions if name.strip())

    def this_action(step: Step, uses: Uses) -> bool:
        if uses.local:
            return this_action_local and uses.value.rstrip("/") in (".", "./", "")
        if uses.path:
            return False
        above = lines[step.line - 2].strip() if step.line >= 2 else ""
        return uses.name.endswith("/publish-action") or uses.name in names or above == STEP_MARKER

    root = parse(text)
    if root is None or not root.is_mapping:
        raise NotAWorkflow("the file is empty or not a mapping", root.line if root is not None else 1)
    jobs_node = root.get("jobs")
    if jobs_node is None or not jobs_node.is_mapping:
        raise NotAWorkflow("it has no `jobs:` mapping", root.key_line("jobs") or 1)
    triggers = _triggers(root)
    jobs: list[Job] = []
    workflow_env = root.get("env")
    for job_id, job_node, line in jobs_node.entries():
        steps_node = job_node.get("steps")
        steps = [Step(node, index) for index, node in enumerate(steps_node.items() if steps_node else [])]
        job = Job(job_id, job_node, line, steps)
        for step in steps:
            publish = _publish_step(step, this_action)
            if publish is not None:
                publish.credential_lines = _credentials(publish, job, workflow_env)
                job.publishes.append(publish)
        jobs.append(job)
    return Workflow(path, display, root, jobs, triggers)


def _triggers(root: Node) -> dict[str, int]:
    node = root.get("on")
    if node is None:
        # PyYAML's composer keeps `on` as text; a document written with `true:` (YAML 1.1 tooling) is odd
        # enough to leave alone.
        return {}
    if node.text is not None:
        return {node.text: node.line}
    if node.is_sequence:
        return {item.text: item.line for item in node.items() if item.text}
    return {name: line for name, _value, line in node.entries()}


def _publish_step(step: Step, this_action: Callable[[Step, Uses], bool]) -> Publish | None:
    uses = step.uses
    if uses is not None:
        if this_action(step, uses) or uses.name == "pypa/gh-action-pypi-publish":
            check_only = step.with_value("check-only")
            if this_action(step, uses) and check_only is not None and (check_only.text or "").strip() == "true":
                return None  # the pre-flight alone (a build job's check): it publishes nothing
            tool = "pypa-action" if uses.name == "pypa/gh-action-pypi-publish" else "this-action"
            url = step.with_value("repository-url", "repository_url")
            index = PYPI_UPLOAD if url is None or not (url.text or "").strip() else url.text or ""
            return Publish(step, tool, None if "${{" in index else index.strip())
        return None
    run = step.run
    script = run.text if run is not None else None
    if not script:
        return None
    if TWINE_UPLOAD.search(script):
        return Publish(step, "twine", twine_index(script, step))
    if UV_PUBLISH.search(script) and not only_dry_runs(script):
        return Publish(step, "uv", uv_index(script, step))
    return None


def _credentials(publish: Publish, job: Job, workflow_env: Node | None) -> list[tuple[int, str]]:
    """Where a long-lived credential reaches the publishing step: ``password:``, a credential variable in
    the step's, job's or workflow's ``env:``, or a ``secrets.*`` reference that looks like one."""
    found: list[tuple[int, str]] = []
    step = publish.step
    if publish.tool in ("this-action", "pypa-action"):
        password = step.with_value("password")
        if password is not None and (password.text or "").strip():
            found.append((password.line, "the `password` input"))
    for scope in (step.node.get("env"), job.node.get("env"), workflow_env):
        for name, value, line in scope.entries() if scope is not None else ():
            if name.upper() in CREDENTIAL_VARIABLES and (value.text or "").strip():
                found.append((line, f"the variable {name}"))
    for scope in (step.node.get("with"), step.node.get("env"), step.node.get("run")):
        for scalar in scope.scalars() if scope is not None else ():
            for match in _SECRET_REFERENCE.finditer(scalar.text or ""):
                name = match.group(1) or match.group(2)
                if name.upper() != "GITHUB_TOKEN" and _CREDENTIAL_NAME.search(name):
                    entry = (scalar.line_of(match.start()), f"the secret {name}")
                    if not any(line == entry[0] for line, _what in found):
                        found.append(entry)
    return sorted(found)


__all__ = [
    "PYPI_UPLOAD",
    "TESTPYPI_UPLOAD",
    "Job",
    "NotAWorkflow",
    "Publish",
    "Step",
    "Uses",
    "Workflow",
    "index_key",
    "load",
]
