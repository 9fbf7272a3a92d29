"""Stopping a run: what a signal sets, what every thread checks before it starts a request.

SIGINT and SIGTERM (a runner cancelling the job, or ending it at its timeout) call :func:`stop_run` from
the main thread's handler. From then on no new request starts (:func:`stop_requested`, checked by the one
retry loop and by the HTTP client before each request), waits end early (:func:`pause`), the uploads in
flight get :data:`STOP_GRACE`, and only the last steps run, inside :func:`winding_down`: one look at what
landed, the token's revocation, the report. Work nobody waits for any more (signing prepared ahead of an
exchange that failed) is stopped the same way, alone, with :func:`abandoned_when`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Set when the run is asked to stop (SIGINT, SIGTERM): no new request starts, except those of the winding
#: down (:func:`winding_down`: the last look at what landed, revoking the token).
RUN_STOPPING = threading.Event()
#: Set per context: a piece of work nobody waits for any more (signing prepared ahead, then abandoned).
_ABANDONED: ContextVar[threading.Event | None] = ContextVar("publish_action_abandoned", default=None)
_WINDING_DOWN: ContextVar[bool] = ContextVar("publish_action_winding_down", default=False)


#: Seconds a stopping run gives the uploads already in flight, counted from the signal: with the last look
#: and the token's revocation after it, the report is written well within the 7.5 s a runner leaves between
#: SIGINT and SIGTERM (and the 10 s before it kills the job).
STOP_GRACE = 4.0
#: Seconds for each of a stopping run's last requests (the look at what landed, the revocation).
STOP_LAST_REQUESTS = 1.5
_stopped_at: list[float] = []


def block_stop_signals() -> None:
    """Keep SIGINT and SIGTERM away from the calling (worker) thread, so that the kernel hands them to the
    main thread, the one whose handler stops the run: a signal taken by a worker would leave the main
    thread asleep in its wait. The initializer of every thread pool, and the first call of every thread."""
    if hasattr(signal, "pthread_sigmask"):  # not on Windows, where only the main thread gets them anyway
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def stop_run() -> None:
    """Ask the whole run to stop (from a signal handler: sets an event and records the time, nothing else)."""
    if not RUN_STOPPING.is_set():
        _stopped_at.append(time.monotonic())
        RUN_STOPPING.set()


def grace_left() -> float:
    """Seconds of :data:`STOP_GRACE` left since the run was asked to stop (the whole grace if it was not)."""
    if not _stopped_at:
        return STOP_GRACE
    return max(0.0, _stopped_at[-1] + STOP_GRACE - time.monotonic())


def reset_stop() -> None:
    """A new run: not stopping."""
    RUN_STOPPING.clear()
    _stopped_at.clear()


class Stopped(Exception):
    """No new request was started: the run is stopping, or the work was abandoned."""


@contextmanager
def abandoned_when(event: threading.Event) -> Iterator[None]:
    """Everything inside stops starting requests once ``event`` is set."""
    token = _ABANDONED.set(event)
    try:
        yield
    finally:
        _ABANDONED.reset(token)


@contextmanager
def winding_down() -> Iterator[None]:
    """The requests of a stopping run's last steps: allowed while the run stops."""
    token = _WINDING_DOWN.set(True)
    try:
        yield
    finally:
        _WINDING_DOWN.reset(token)


def stop_requested() -> bool:
    """True when work in this context must start no new request."""
    event = _ABANDONED.get()
    if event is not None and event.is_set():
        return True
    return RUN_STOPPING.is_set() and not _WINDING_DOWN.get()


def pause(seconds: float) -> None:
    """Wait ``seconds``, or less when the run is asked to stop meanwhile."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0 and not stop_requested():
        time.sleep(min(left, 0.05))
