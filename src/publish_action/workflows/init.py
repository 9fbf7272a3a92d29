"""``publish-action init``: a release workflow that satisfies Trusted Publishing, and its set-up steps.

:func:`plan` renders ``.github/workflows/publish.yml`` and ``PUBLISHING.md`` for a repository and compares
them with what is on disk; :func:`write` writes a plan. Nothing here prints or exits: the front door does.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import quote, urlencode

from publish_action.errors import SettingsError
from publish_action.workflows import _pins
from publish_action.workflows.repository import (
    DEFAULT_ACTION,
    FULL_SHA,
    Publisher,
    action_line,
    parse_remote,
    publisher_from_flag,
    publisher_from_remote,
)

WORKFLOW_PATH = Path(".github") / "workflows" / "publish.yml"
GUIDE_PATH = Path("PUBLISHING.md")

_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_PROJECT = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


class _Text(Template):
    """``string.Template`` with ``%%name`` placeholders: ``$`` is everywhere in workflows and shell."""

    delimiter = "%%"


@dataclass(frozen=True)
class Options:
    """What ``init`` was asked for."""

    root: Path
    build_tool: str = "uv"
    testpypi_environment: str = "testpypi"
    pypi_environment: str = "pypi"
    tag_pattern: str = "v*"
    project: str | None = None
    repository: str | None = None
    remote: str = "origin"
    action: str = DEFAULT_ACTION
    action_sha: str | None = None


@dataclass(frozen=True)
class PlannedFile:
    """One file ``init`` writes: where, the new text, and the text on disk (None when absent)."""

    path: Path
    relative: str
    text: str
    current: str | None

    @property
    def changes(self) -> bool:
        """True when writing would create or change the file."""
        return self.current != self.text

    def diff(self) -> str:
        """A unified diff from the file on disk (or nothing) to the new text."""
        before = (self.current or "").splitlines(keepends=True)
        after = self.text.splitlines(keepends=True)
        label = "/dev/null" if self.current is None else f"a/{self.relative}"
        return "".join(difflib.unified_diff(before, after, label, f"b/{self.relative}"))


@dataclass(frozen=True)
class Plan:
    """The files of one ``init``, and the values they were made from."""

    files: tuple[PlannedFile, ...]
    publisher: Publisher
    project: str
    workflow_file: str


def plan(options: Options) -> Plan:
    """Render both files for ``options``; every bad value is a :class:`SettingsError` naming its flag."""
    _check_options(options)
    root = options.root
    publisher = (
        publisher_from_flag(options.repository) if options.repository else publisher_from_remote(root, options.remote)
    )
    project = options.project or _project_name(root)
    action = action_line(options.action, options.action_sha)
    workflow_file = WORKFLOW_PATH.name
    values = {
        "project": project,
        "owner": publisher.owner,
        "repository": publisher.repository,
        "workflow_file": workflow_file,
        "workflow_path": WORKFLOW_PATH.as_posix(),
        "tag_pattern": options.tag_pattern,
        "tag_pattern_yaml": _yaml_string(options.tag_pattern),
        "testpypi_environment": options.testpypi_environment,
        "pypi_environment": options.pypi_environment,
        "checkout": _pins.CHECKOUT.uses(),
        "upload_artifact": _pins.UPLOAD_ARTIFACT.uses(),
        "download_artifact": _pins.DOWNLOAD_ARTIFACT.uses(),
        "action": action,
        "build_steps": _build_steps(options.build_tool),
        "pypi_existing_url": existing_project_url("https://pypi.org", project, publisher, options.pypi_environment),
        "pypi_pending_url": pending_publisher_url("https://pypi.org"),
        "testpypi_existing_url": existing_project_url(
            "https://test.pypi.org", project, publisher, options.testpypi_environment
        ),
        "testpypi_pending_url": pending_publisher_url("https://test.pypi.org"),
    }
    files = []
    for relative, template in ((WORKFLOW_PATH, "publish.yml"), (GUIDE_PATH, "PUBLISHING.md")):
        text = _Text(_template(template)).substitute(values)
        path = root / relative
        files.append(PlannedFile(path, relative.as_posix(), text, _read(path)))
    return Plan(tuple(files), publisher, project, workflow_file)


def refuse_overwrite(planned: Plan) -> None:
    """Raise when a file exists with other content (``--force`` not given)."""
    clashes = [file for file in planned.files if file.current is not None and file.changes]
    if clashes:
        names = ", ".join(file.relative for file in clashes)
        raise SettingsError(
            "init would overwrite existing files",
            f"{names} already exist{'s' if len(clashes) == 1 else ''} with other content, and init replaces a "
            "file only when asked, so that no hand-made workflow or notes are lost.",
            "see the difference with `publish-action init --check`, then run `publish-action init --force` to "
            "replace them, or move them away first.",
        )


def write(planned: Plan) -> list[PlannedFile]:
    """Write the files that change; return them."""
    written = []
    for file in planned.files:
        if not file.changes:
            continue
        file.path.parent.mkdir(parents=True, exist_ok=True)
        file.path.write_text(file.text, encoding="utf-8")
        written.append(file)
    return written


def existing_project_url(site: str, project: str, publisher: Publisher, environment: str) -> str:
    """The project's publishing page with its GitHub form filled in (Warehouse reads ``provider`` and the
    form's field names from the query)."""
    query = urlencode(
        {
            "provider": "github",
            "owner": publisher.owner,
            "repository": publisher.repository,
            "workflow_filename": WORKFLOW_PATH.name,
            "environment": environment,
        }
    )
    return f"{site}/manage/project/{quote(project, safe='')}/settings/publishing/?{query}"


def pending_publisher_url(site: str) -> str:
    """The account page where a pending publisher is added (its form is not filled from the query)."""
    return f"{site}/manage/account/publishing/"


# -- helpers --------------------------------------------------------------------------------------------


def _check_options(options: Options) -> None:
    if options.build_tool not in ("uv", "build"):
        raise SettingsError(
            "Unknown build tool",
            f"--build-tool is {options.build_tool!r}; the workflow can build with `uv build` or `python -m build`.",
            "use --build-tool uv or --build-tool build.",
        )
    for flag, value in (
        ("--testpypi-environment", options.testpypi_environment),
        ("--pypi-environment", options.pypi_environment),
    ):
        if not _ENVIRONMENT.match(value):
            raise SettingsError(
                f"{flag} is not a usable environment name",
                f"{value!r}: the workflow and the trusted publisher must spell it the same, so init takes "
                "letters, digits, '.', '_' and '-' (up to 255).",
                f"choose another name for {flag}.",
            )
    if options.testpypi_environment.lower() == options.pypi_environment.lower():
        raise SettingsError(
            "TestPyPI and PyPI would share one environment",
            f"both are {options.pypi_environment!r}; the PyPI environment is the one protected by reviewers and "
            "allowed tags, and a TestPyPI run should not need that approval.",
            "give --testpypi-environment and --pypi-environment different names.",
        )
    pattern = options.tag_pattern
    if not pattern.strip() or any(char in pattern for char in "\n\r'\"") or pattern != pattern.strip():
        raise SettingsError(
            "--tag-pattern is not a usable tag filter",
            f"{pattern!r}: it goes into `on.push.tags` and into the environment's tag rule, so it must be one "
            "glob without quotes, spaces around it or line breaks.",
            "use a pattern such as 'v*' or 'v[0-9]*'.",
        )
    if options.project is not None and not _PROJECT.match(options.project):
        raise SettingsError(
            "--project is not a valid project name",
            f"{options.project!r} is not a name the index accepts (letters, digits, '.', '_', '-').",
            "give the name from pyproject.toml's [project] table.",
        )
    if options.action_sha is not None and not FULL_SHA.match(options.action_sha):
        raise SettingsError(
            "--action-sha is not a commit SHA",
            f"{options.action_sha!r}: the workflow pins the action by its full 40-character commit SHA.",
            "give the commit the version's tag points at (`git ls-remote https://github.com/OWNER/REPO TAG`).",
        )


def _project_name(root: Path) -> str:
    pyproject = root / "pyproject.toml"
    fix = "give it with --project NAME."
    if not pyproject.is_file():
        raise SettingsError(
            "The project's name is not known",
            f"there is no {pyproject} to read it from.",
            f"run init in the project's root folder, or {fix}",
        )
    name = _pyproject_name(pyproject, fix)
    if not isinstance(name, str) or not _PROJECT.match(name):
        raise SettingsError(
            "The project's name is not known",
            f"{pyproject} has no valid `name` in its [project] table.",
            fix,
        )
    return name


if sys.version_info >= (3, 11):

    def _pyproject_name(pyproject: Path, fix: str) -> object:
        import tomllib

        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError("The project's name is not known", f"{pyproject} cannot be read: {exc}.", fix) from exc
        project = data.get("project")
        return project.get("name") if isinstance(project, dict) else None

else:

    def _pyproject_name(pyproject: Path, fix: str) -> object:
        raise SettingsError(
            "The project's name is not known",
            f"reading {pyproject} needs Python 3.11 or newer (tomllib).",
            fix,
        )


def _build_steps(tool: str) -> str:
    if tool == "uv":
        return (
            f"      - uses: {_pins.SETUP_UV.uses()}\n"
            "        with:\n"
            "          # A release builds from nothing another workflow could have put in a cache.\n"
            "          enable-cache: false\n"
            "      - name: Build\n"
            "        run: uv build"
        )
    return (
        f"      - uses: {_pins.SETUP_PYTHON.uses()}\n"
        "        with:\n"
        '          python-version: "3.x"\n'
        "      - name: Build\n"
        "        run: |\n"
        "          python -m pip install --upgrade build\n"
        "          python -m build"
    )


def _yaml_string(value: str) -> str:
    # Single-quoted YAML: a pattern starting with '*' or holding ': ' stays a string (quotes were refused).
    return f"'{value}'"


def _template(name: str) -> str:
    return (resources.files("publish_action.workflows") / "templates" / name).read_text(encoding="utf-8")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"{path} cannot be read",
            f"init compares it with what it would write: {exc}.",
            "fix its permissions, or move it away.",
        ) from exc


__all__ = [
    "DEFAULT_ACTION",
    "GUIDE_PATH",
    "WORKFLOW_PATH",
    "Options",
    "Plan",
    "PlannedFile",
    "Publisher",
    "existing_project_url",
    "parse_remote",
    "pending_publisher_url",
    "plan",
    "refuse_overwrite",
    "write",
]
