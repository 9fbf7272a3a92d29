"""The front door: read the inputs, run the publish, render the report, exit with the run's code."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from publish_action.inputs import parser
from publish_action.workflows.cli import COMMANDS

if TYPE_CHECKING:
    from publish_action.report import Reporter, RunResult


def main(argv: Sequence[str] | None = None) -> int:
    """Run publish-action; return the process exit code (see the README's table)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        return _command(args[0], args[1:])
    # The command line first, with nothing heavy loaded: ``--help`` (and a flag typo) answers at once.
    parser().parse_args(argv)
    from publish_action.report import LogHandler, Reporter

    reporter = Reporter()
    logger = logging.getLogger("publish_action")
    handler = LogHandler(reporter)
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        return _run(argv, reporter, logger)
    finally:
        # Leave the logger as found, so an embedding program (or a test) keeps its own handlers.
        logger.handlers[:], logger.propagate, _level = saved
        logger.setLevel(_level)


def _command(command: str, argv: Sequence[str]) -> int:
    """``init`` or ``doctor``: their own command lines, the same reporter."""
    from publish_action.workflows.cli import run

    try:
        return run(command, argv)
    except KeyboardInterrupt:
        return 130


def _check_own_workflow(result: RunResult, logger: logging.Logger) -> None:
    """``doctor`` on the workflow running this step; its findings become warnings, never a failure."""
    try:
        from publish_action.workflows.selfcheck import own_workflow_findings

        result.annotations.extend(own_workflow_findings(os.environ))
    except Exception as exc:
        logger.debug("The check of this run's workflow was skipped: %s: %s", type(exc).__name__, exc)


def _run(argv: Sequence[str] | None, reporter: Reporter, logger: logging.Logger) -> int:
    from publish_action.errors import PublishError
    from publish_action.report import RunResult

    result = RunResult()
    debug = False
    try:
        from publish_action.settings import load_settings

        settings, notices = load_settings(argv)
        debug = settings.debug
        result.notices.extend(notices)
        reporter.use_files(settings.outputs_file, settings.summary_file)
        if settings.password.get_secret_value():
            reporter.mask(settings.password.get_secret_value())
        if not settings.verbose:
            logger.setLevel(logging.WARNING)
        if debug:
            logger.setLevel(logging.DEBUG)
        _check_own_workflow(result, logger)

        from publish_action.publish import publish

        publish(settings, reporter, result)
    except PublishError as exc:
        result.error = exc
    except KeyboardInterrupt:
        reporter.line("Interrupted.")
        return 130
    except Exception as exc:
        result.error = PublishError(
            "Unexpected error",
            f"{type(exc).__name__}: {exc}",
            "this is a bug in publish-action; please report it with the log (re-run with debug logging "
            "enabled to include the traceback).",
        )
        if debug:
            import traceback

            traceback.print_exc()
    reporter.report(result)
    return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(main())
