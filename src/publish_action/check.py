"""``publish-action check``: pre-flight alone, where the distributions are built.

Offline by default: the generic checks and (``--index-rules pypi``, this command's default) PyPI's upload
rules for each file. With ``--index URL`` it also looks the release up on that index and applies the
release-state rules (a file name the index holds with other content, one sdist per release, the release
window, the project's status). It never needs a credential and sends nothing but simple-API look-ups.

The verdicts are pre-flight's own: the same functions run in the publish step (and with the action's
``check-only`` input, in a build job). Problems print one line each, as the publish step prints them, and as
error annotations on GitHub. Exit codes: 0 every file passes; 3 a file (or the release) would be refused;
6 the index could not be looked up; 2 a malformed command line.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from publish_action.dists import Plan
    from publish_action.index import Index
    from publish_action.report import Reporter
    from publish_action.rules import IndexRules

logger = logging.getLogger("publish_action")


def parser() -> argparse.ArgumentParser:
    """``publish-action check``."""
    command = argparse.ArgumentParser(
        prog="publish-action check",
        description=(
            "Pre-flight alone: hold distributions to the index's upload rules before anything is tagged, "
            "approved or sent. Run it where you build (every pull request). It needs no credential; with "
            "--index it also looks the release up on that index."
        ),
    )
    command.add_argument(
        "dists", nargs="*", metavar="DIST", help="distribution files or folders holding them (default: dist)"
    )
    command.add_argument(
        "--index-rules",
        choices=("pypi", "none"),
        default="pypi",
        help="pypi (default): PyPI's upload rules; none: the generic checks only",
    )
    command.add_argument(
        "--index",
        metavar="URL",
        help="the index's upload URL (https://upload.pypi.org/legacy/, https://test.pypi.org/legacy/): also "
        "look the release up there and apply the rules about what the index already holds",
    )
    command.add_argument("--check-url", metavar="URL", help="the index's simple API, when it cannot be derived")
    command.add_argument(
        "--no-verify-metadata",
        dest="verify_metadata",
        action="store_false",
        help="skip `twine check`'s description check (with --index-rules none)",
    )
    command.add_argument(
        "--token",
        action="store_true",
        help="the publish will use an API token, not Trusted Publishing (a rule about new projects differs)",
    )
    return command


def run(argv: Sequence[str], reporter: Reporter | None = None) -> int:
    """Parse ``argv``, check, report; return the exit code. Only argparse loads before the parse."""
    args = parser().parse_args(list(argv))
    from publish_action.errors import PublishError
    from publish_action.report import Reporter

    reporter = reporter or Reporter()
    paths = [Path(value) for value in args.dists] or [Path("dist")]
    try:
        index = _index(args.index, args.check_url) if args.index else None
        plan = _plan(paths, verify_metadata=args.verify_metadata, index_rules=args.index_rules)
        for warning in plan.warnings:
            reporter.annotate("warning", "", warning)
        if index is None:
            _refusals_offline(plan)
        else:
            from publish_action.http import make_client

            with make_client(max_connections=4) as client:
                warnings = against_index(
                    client,
                    index,
                    plan,
                    index_rules=args.index_rules,
                    trusted_publishing=not args.token,
                    where=", ".join(str(path) for path in paths),
                )
            for warning in warnings:
                reporter.annotate("warning", "", warning)
    except PublishError as exc:
        reporter.annotate("error", exc.title, exc.body())
        return int(exc.exit_code)
    where = f" and what {index.display_name} holds" if index is not None else ""
    rules = "PyPI's upload rules" if args.index_rules == "pypi" else "the generic checks"
    for dist in plan.distributions:
        reporter.line(f"{dist.filename}: passes {rules}{where}")
    return 0


def against_index(
    client: httpx.Client,
    index: Index,
    plan: Plan,
    *,
    index_rules: IndexRules,
    trusted_publishing: bool,
    where: str,
    skip_existing: bool = False,
) -> list[str]:
    """Look the release up on ``index`` and raise every reason it would refuse a file; return the release
    rules' warnings. Files the index holds byte for byte are judged as duplicates, as at upload."""
    from publish_action.preflight import compare_with_index, stop_on_refusals

    comparison = compare_with_index(client, index, plan.distributions, skip_existing=skip_existing)
    return stop_on_refusals(
        plan.distributions,
        comparison,
        where=where,
        index_name=index.display_name,
        release_rules=index_rules == "pypi",
        trusted_publishing=trusted_publishing,
    )


def _refusals_offline(plan: Plan) -> None:
    """Every file's refusals, as for files the index does not hold (nothing is looked up)."""
    from publish_action.errors import PreflightError

    problems = [line for dist in plan.distributions for line in dist.refusals(held_identical=False)]
    if problems:
        raise PreflightError(
            "Distributions failed the pre-flight checks",
            f"{len(problems)} problem(s); an index holding PyPI's rules would refuse these files.",
            "fix or remove the files named above, rebuild, and run again.",
            problems=problems,
        )


def _plan(paths: Sequence[Path], *, verify_metadata: bool, index_rules: IndexRules) -> Plan:
    """One plan over the folders and files named (a folder's entries are checked as ``packages-dir``'s)."""
    from publish_action import dists
    from publish_action.errors import PreflightError

    folders = [path for path in paths if path.is_dir()]
    files = [path for path in paths if not path.is_dir()]
    if len(folders) == 1 and not files:
        return dists.plan(folders[0], verify_metadata=verify_metadata, index_rules=index_rules)
    for folder in folders:
        files.extend(
            entry
            for entry in sorted(folder.iterdir())
            if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith(".attestation")
        )
    if not files:
        raise PreflightError(
            "No distributions found",
            f"{', '.join(str(path) for path in paths)} holds no wheel (.whl) or sdist (.tar.gz, .zip).",
            "build the distributions first (for example `uv build`), or name the files to check.",
        )
    return dists.plan_files(files, verify_metadata=verify_metadata, index_rules=index_rules)


def _index(upload_url: str, check_url: str | None) -> Index:
    """The index named on the command line, refused in the inputs' words when the URL is malformed."""
    from publish_action.errors import SettingsError
    from publish_action.index import Index

    if not upload_url.startswith(("https://", "http://")):
        raise SettingsError(
            "--index is not an index's URL",
            f"'{upload_url}' is not an http(s) URL.",
            "pass the index's upload URL, for example --index https://upload.pypi.org/legacy/.",
        )
    return Index.from_urls(upload_url, check_url)


__all__ = ["against_index", "parser", "run"]
