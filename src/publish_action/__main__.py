"""The front door: read the inputs, run the publish, render the report, exit with the run's code."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from publish_action.inputs import parser
from publish_action.workflows.cli import COMMANDS

if TYPE_CHECKING:
    from publish_action.outcomes import RunResult
    from publish_action.report import Reporter


def main(argv: Sequence[str] | None = None) -> int:
    """Run publish-action; return the process exit code (see the README's exit codes)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in (*COMMANDS, "check"):
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
        with _signals_stop_the_run() as armed:
            return _run(argv, reporter, logger, armed)
    finally:
        # Leave the logger as found, so an embedding program (or a test) keeps its own handlers.
        logger.handlers[:], logger.propagate, _level = saved
        logger.setLevel(_level)


def _command(command: str, argv: Sequence[str]) -> int:
    """``init``, ``doctor`` or ``check``: their own command lines, the same reporter."""
    try:
        if command == "check":
            from publish_action.check import run as check

            return check(argv)
        from publish_action.workflows.cli import run

        return run(command, argv)
    except KeyboardInterrupt:
        return 130


def _check_own_workflow(result: RunResult, logger: logging.Logger) -> None:
    """``doctor`` on the workflow running this step; its findings become warnings, never a failure."""
    try:
        from publish_action.identity.github import GitHubContext
        from publish_action.workflows.selfcheck import own_workflow_findings

        result.annotations.extend(own_workflow_findings(GitHubContext.from_environ()))
    except Exception as exc:
        logger.debug("The check of this run's workflow was skipped: %s: %s", type(exc).__name__, exc)


@contextmanager
def _signals_stop_the_run() -> Iterator[list[bool]]:
    """SIGINT and SIGTERM stop the run: the first one raises :class:`~publish_action.errors.Interrupted` in
    the main thread (while ``armed[0]`` is true) and tells every other thread to start nothing new; the run
    then winds down and reports. A later one, or one while the report is written, changes nothing.

    Runners cancel a job (or end it at its timeout) with SIGINT, then SIGTERM 7.5 s later, then a kill.
    """
    from publish_action import stopping
    from publish_action.errors import Interrupted

    armed = [True]
    stopping.reset_stop()
    if threading.current_thread() is not threading.main_thread():
        yield armed
        return

    def stop(signum: int, _frame: object) -> None:
        # Nothing here may take a lock the interrupted code could hold (the log's): set, record, raise.
        first = not stopping.RUN_STOPPING.is_set()
        stopping.stop_run()
        if first and armed[0]:
            raise Interrupted(signal.Signals(signum).name)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield armed
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _run(argv: Sequence[str] | None, reporter: Reporter, logger: logging.Logger, armed: list[bool]) -> int:
    from publish_action.errors import CancelledError, Interrupted, PublishError
    from publish_action.outcomes import RunResult

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
    except (Interrupted, KeyboardInterrupt) as exc:
        name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
        result.error = CancelledError(
            "The run was cancelled",
            f"{name} arrived (the job was cancelled, or reached its timeout): nothing new was started, uploads "
            "in flight had a few seconds to finish, and the table says what each file became.",
            "re-run the job with `skip-existing: true`: files already uploaded are skipped, the others are sent.",
        )
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
    armed[0] = False
    reporter.report(result)
    return int(result.exit_code)


def _exit(code: int) -> None:
    """Leave with ``code``. A cancelled run leaves at once, report written: upload threads still sending
    would otherwise hold the process open until the runner kills it."""
    from publish_action import stopping

    if stopping.RUN_STOPPING.is_set():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


#: The exit code of a command whose output pipe was closed before it finished (``… | head -1``), as a shell
#: reports a program that SIGPIPE ended.
CLOSED_PIPE = 141


def cli() -> None:
    """The ``publish-action`` command (``python -m publish_action`` does the same)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Whoever read the output has seen enough: end quietly, with nothing more written to the closed pipe
        # (Python would otherwise complain about it once more at exit).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = CLOSED_PIPE
    _exit(code)


if __name__ == "__main__":
    cli()
