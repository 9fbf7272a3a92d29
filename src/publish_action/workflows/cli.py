"""The ``init`` and ``doctor`` command lines: parse, run, render through the reporter, return the exit code.

Only argparse is loaded before the arguments are parsed, so ``--help`` answers at once; the YAML parser and
the checks load after.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publish_action.report import Reporter
    from publish_action.workflows.doctor import Diagnosis, Expected

COMMANDS = ("init", "doctor")


def init_parser() -> argparse.ArgumentParser:
    """``publish-action init``."""
    parser = argparse.ArgumentParser(
        prog="publish-action init",
        description=(
            "Write .github/workflows/publish.yml (build once; TestPyPI; PyPI on version tags; Trusted "
            "Publishing and attestations, no secrets) and PUBLISHING.md (the one-time set-up on PyPI, TestPyPI "
            "and GitHub, with the trusted publisher's values for this repository)."
        ),
    )
    parser.add_argument("--directory", default=".", help="the repository's root folder (default: here)")
    parser.add_argument(
        "--build-tool", choices=("uv", "build"), default="uv", help="`uv build` (default) or `python -m build`"
    )
    parser.add_argument("--testpypi-environment", default="testpypi", help="GitHub environment of the TestPyPI job")
    parser.add_argument("--pypi-environment", default="pypi", help="GitHub environment of the PyPI job")
    parser.add_argument("--tag-pattern", default="v*", help="tags that publish to PyPI (default: 'v*')")
    parser.add_argument("--project", help="the project's name on the index (default: pyproject.toml's)")
    parser.add_argument(
        "--repository", metavar="OWNER/NAME", help="the GitHub repository (default: read from the git remote)"
    )
    parser.add_argument("--remote", default="origin", help="the git remote naming the GitHub repository")
    parser.add_argument(
        "--action",
        metavar="OWNER/REPO@VERSION",
        help="how the workflow names this action (default: the README's org/publish-action@v1)",
    )
    parser.add_argument(
        "--action-sha", metavar="SHA", help="the commit VERSION points at (default: looked up with git ls-remote)"
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--force", action="store_true", help="replace existing files")
    what.add_argument(
        "--check", action="store_true", help="write nothing; show what would change and exit 8 if anything would"
    )
    return parser


def doctor_parser() -> argparse.ArgumentParser:
    """``publish-action doctor``."""
    parser = argparse.ArgumentParser(
        prog="publish-action doctor",
        description=(
            "Check release workflows against what Trusted Publishing needs. Without WORKFLOW, every workflow in "
            ".github/workflows that publishes (this action, pypa/gh-action-pypi-publish, twine upload, "
            "uv publish). Exits 8 when a finding is an error; warnings do not fail."
        ),
    )
    parser.add_argument("workflows", nargs="*", metavar="WORKFLOW", help="workflow files to check")
    parser.add_argument("--root", default=".", help="the repository's root folder (default: here)")
    parser.add_argument(
        "--workflow-name", metavar="FILE", help="the workflow file name the trusted publisher names (publish.yml)"
    )
    parser.add_argument(
        "--environment",
        action="append",
        default=[],
        metavar="[INDEX=]NAME",
        help="the environment the trusted publisher names; INDEX (pypi, testpypi or an upload URL) limits it to "
        "the jobs publishing there. Repeatable.",
    )
    parser.add_argument(
        "--local-action", action="store_true", help="`uses: ./` is publish-action (this repository is the action)"
    )
    parser.add_argument(
        "--action",
        action="append",
        default=[],
        dest="actions",
        metavar="OWNER/REPO",
        help="another name publish-action goes by in these workflows (a fork or a wrapper). Repeatable. "
        "Steps `init` wrote are recognised without it.",
    )
    return parser


def run(command: str, argv: Sequence[str], reporter: Reporter | None = None) -> int:
    """Run ``command`` with its arguments; argparse exits 2 on a malformed command line. The reporter
    (by default one for this process's environment) is made after parsing, so ``--help`` loads nothing."""
    args = (init_parser() if command == "init" else doctor_parser()).parse_args(list(argv))
    from publish_action.errors import PublishError
    from publish_action.report import Reporter

    reporter = reporter or Reporter()
    try:
        return _init(args, reporter) if command == "init" else _doctor(args, reporter)
    except PublishError as exc:
        reporter.annotate("error", exc.title, exc.body())
        return int(exc.exit_code)


def _init(args: argparse.Namespace, reporter: Reporter) -> int:
    from publish_action.errors import ExitCode
    from publish_action.workflows import init

    options = init.Options(
        root=Path(args.directory),
        build_tool=args.build_tool,
        testpypi_environment=args.testpypi_environment,
        pypi_environment=args.pypi_environment,
        tag_pattern=args.tag_pattern,
        project=args.project,
        repository=args.repository,
        remote=args.remote,
        action=args.action or init.DEFAULT_ACTION,
        action_sha=args.action_sha,
    )
    planned = init.plan(options)
    if args.check:
        changing = [file for file in planned.files if file.changes]
        for file in changing:
            for line in file.diff().splitlines():
                reporter.line(line)
        for file in planned.files:
            state = "would be created" if file.current is None else "would change" if file.changes else "up to date"
            reporter.line(f"{file.relative}: {state}")
        return int(ExitCode.WORKFLOW) if changing else int(ExitCode.OK)
    if not args.force:
        init.refuse_overwrite(planned)
    written = init.write(planned)
    for file in planned.files:
        reporter.line(f"{'wrote' if file in written else 'unchanged'} {file.relative}")
    publisher = planned.publisher
    reporter.line(
        f"Trusted publisher for {planned.project}: owner {publisher.owner}, repository {publisher.repository}, "
        f"workflow {planned.workflow_file}, environment {options.pypi_environment} (PyPI) / "
        f"{options.testpypi_environment} (TestPyPI)."
    )
    reporter.line("Next: follow PUBLISHING.md to register it on both indexes and create the environments.")
    return int(ExitCode.OK)


def _expected(args: argparse.Namespace) -> Expected:
    from publish_action.errors import SettingsError
    from publish_action.workflows.doctor import Expected

    environments = []
    for value in args.environment:
        index, sep, name = str(value).rpartition("=")
        if not name.strip() or (sep and not index.strip()):
            raise SettingsError(
                "--environment is not [INDEX=]NAME",
                f"{value!r}: give the environment name, or the index and the name.",
                "use for example --environment pypi or --environment testpypi=testpypi.",
            )
        environments.append((index.strip() if sep else "*", name.strip()))
    name = args.workflow_name
    if name is not None and ("/" in name or not name.endswith((".yml", ".yaml"))):
        raise SettingsError(
            "--workflow-name is not a workflow file name",
            f"{name!r}: a trusted publisher names the file in .github/workflows, for example publish.yml.",
            "give the file name only, with its .yml or .yaml suffix.",
        )
    return Expected(workflow_name=name, environments=tuple(environments))


def _doctor(args: argparse.Namespace, reporter: Reporter) -> int:
    from publish_action.errors import ExitCode, SettingsError
    from publish_action.workflows.doctor import WORKFLOWS_DIR, diagnose, discover

    root = Path(args.root)
    expected = _expected(args)
    if args.workflows:
        paths = [Path(path) for path in args.workflows]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise SettingsError(
                "No such workflow file",
                f"{', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist.",
                "give paths to workflow files, or no path to check every workflow in .github/workflows.",
            )
    else:
        if not (root / WORKFLOWS_DIR).is_dir():
            raise SettingsError(
                "No workflows to check",
                f"{root / WORKFLOWS_DIR} does not exist.",
                "run doctor in the repository's root folder (or give --root), name the files to check, or "
                "write a release workflow with `publish-action init`.",
            )
        paths = discover(root)
    diagnosis = diagnose(
        paths,
        root=root,
        expected=expected,
        only_publishing=not args.workflows,
        this_action_local=args.local_action,
        actions=args.actions,
    )
    render(diagnosis, reporter)
    return int(ExitCode.WORKFLOW) if diagnosis.errors else int(ExitCode.OK)


def render(diagnosis: Diagnosis, reporter: Reporter) -> None:
    """Each finding as an annotation at its file and line, then one line of totals."""
    for finding in diagnosis.findings:
        reporter.annotate(
            finding.severity.value,
            f"{finding.title} [{finding.check}]",
            f"Why: {finding.why}\nFix: {finding.fix}",
            file=finding.file,
            line=finding.line,
        )
    errors = len(diagnosis.errors)
    warnings = len(diagnosis.findings) - errors
    if not diagnosis.checked:
        reporter.line("doctor: no workflow here publishes to a package index.")
        return
    files = ", ".join(diagnosis.checked)
    if not diagnosis.findings:
        reporter.line(f"doctor: no findings in {files}.")
    else:
        reporter.line(f"doctor: {errors} error(s), {warnings} warning(s) in {files}.")


__all__ = ["COMMANDS", "doctor_parser", "init_parser", "render", "run"]
