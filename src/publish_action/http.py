"""The shared HTTP client, and the one retry and deadline mechanism every outside call goes through.

What counts as transient is decided in one function, :func:`transient_reason`, each case with its reason:
connection failures, timeouts, 5xx, 408 and 429 are retried; TLS verification failures, other 4xx and
redirects are not (retrying cannot fix them). :func:`with_retries` is the one loop, for the index (simple
API, audience, mint, burn, uploads), the CI provider's OIDC tokens and Sigstore (Fulcio, Rekor, TSA); every
retry is logged with what failed and the attempt number. Every operation has a deadline that the calls nested
in it share (:func:`deadline`), so no answer that never comes can hold a run for longer than its budget.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

import httpx

from publish_action import __version__
from publish_action.redact import redact_url
from publish_action.stopping import Stopped, pause, stop_requested

logger = logging.getLogger("publish_action")

USER_AGENT = f"publish-action/{__version__} (+https://github.com/features/actions)"

#: Every request has a deadline. Connecting is quick or broken; reading the answer to a large upload can
#: take a while because the index checks the whole file before it answers.
TIMEOUT = httpx.Timeout(connect=15.0, read=120.0, write=120.0, pool=60.0)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    #: Total time one operation may take, its attempts and the waits between them together. It is also the
    #: operation's deadline, which every call nested in it (a look-up inside an upload's retry) shares.
    budget: float = 180.0
    #: The deadline of one file's upload: at least this, plus the time the file takes at the rate below.
    upload_floor: float = 300.0
    #: A slow but working link (bytes per second) to size an upload's deadline by.
    upload_rate: float = 256 * 1024

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            # The index said when to come back; honour it, bounded by our own ceiling.
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

    def upload_deadline(self, size: int) -> float:
        """How long the upload of a file of ``size`` bytes may take in all, every attempt and look-up included."""
        return self.upload_floor + size / self.upload_rate


DEFAULT_POLICY = RetryPolicy()


def default_policy() -> RetryPolicy:
    """The policy in force, read at call time so a test can shorten the waits for a whole run."""
    return DEFAULT_POLICY


# -- deadlines ------------------------------------------------------------------------------------------

#: The monotonic time the current operation must end by, for this thread; nested operations share it.
_DEADLINE: ContextVar[float | None] = ContextVar("publish_action_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Everything inside must end within ``seconds``; an enclosing deadline that ends sooner still wins."""
    now = time.monotonic()
    current = _DEADLINE.get()
    token = _DEADLINE.set(now + seconds if current is None else min(current, now + seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds until the current deadline (negative once it passed), or ``None`` outside any."""
    current = _DEADLINE.get()
    return None if current is None else current - time.monotonic()


def _clamp_to_deadline(request: httpx.Request) -> None:
    """An httpx request hook: no wait of this request may outlast the operation's deadline, and no request
    starts once the run stops."""
    if stop_requested():
        raise Stopped(f"{request.method} {redact_url(request.url)}: not sent, the run is stopping")
    left = time_left()
    if left is None:
        return
    if left <= 0:
        raise httpx.PoolTimeout("the operation's deadline passed before this request", request=request)
    timeouts = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {
        name: left if value is None else min(float(value), left) for name, value in timeouts.items()
    }


def _log_answer(response: httpx.Response) -> None:
    """An httpx response hook: every request and its answer, for debug logging (URLs without credentials)."""
    if logger.isEnabledFor(logging.DEBUG):
        request = response.request
        logger.debug("%s %s → HTTP %d", request.method, redact_url(request.url), response.status_code)


def make_client(*, max_connections: int = 8) -> httpx.Client:
    """The one client of a run: shared connection pool, deadlines on every request, no redirects.

    Every request is held to :data:`TIMEOUT` and to the deadline of the operation it belongs to. Redirects
    are refused rather than followed: a redirected POST would drop the upload body or the credentials would
    travel to another host. The caller turns a 3xx into an error naming the new URL.
    """
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        event_hooks={"request": [_clamp_to_deadline], "response": [_log_answer]},
    )


# -- what is transient ------------------------------------------------------------------------------------


class TransientError(Exception):
    """An outside service failed in a way worth another attempt; the message says how."""


def transient_reason(outcome: object) -> str | None:
    """Why ``outcome`` (an answer or an error) is worth another attempt, or ``None`` when retrying cannot help.

    The one place that decides it, for every outside call: the index's and Sigstore's HTTP answers, httpx's
    and requests' network errors (sigstore-python and TUF use requests), and errors marked transient by the
    caller. 5xx, 408 and 429 answers, connection failures, resets and timeouts are transient; TLS
    verification failures, other answers and everything else are not.
    """
    if isinstance(outcome, httpx.Response):
        return _status_reason(outcome.status_code, outcome.reason_phrase)
    if not isinstance(outcome, BaseException):
        return None
    for link in error_chain(outcome):
        reason = _link_reason(link)
        if reason is not None:
            return reason or None
    return None


def _status_reason(status: int, phrase: str | None = None) -> str | None:
    if status == 429:
        return "HTTP 429 Too Many Requests"
    if status == 408:
        return "HTTP 408 Request Timeout"
    if status >= 500:
        return f"HTTP {status} {phrase or 'server error'}".strip()
    return None


def _link_reason(link: BaseException) -> str | None:
    """The verdict on one error of a chain: a reason, ``""`` for "decided: not transient", ``None`` to go on."""
    if isinstance(link, TransientError):
        return str(link) or type(link).__name__
    if isinstance(link, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(link):
        # A certificate problem does not go away by itself.
        return ""
    if isinstance(link, httpx.TimeoutException):
        return f"timed out ({type(link).__name__})"
    if isinstance(link, httpx.TransportError):
        # Connection refused or reset, EOF mid-answer, DNS hiccup: the usual transient network failures.
        return f"network error ({type(link).__name__}: {link or 'connection lost'})"
    if type(link).__module__.split(".")[0] in ("requests", "urllib3", "tuf"):
        return _requests_reason(link)
    return None


def _requests_reason(link: BaseException) -> str | None:
    """The verdict on an error of requests, urllib3 or TUF (imported only when one is seen)."""
    import requests
    import urllib3.exceptions
    from tuf.api.exceptions import DownloadError, DownloadHTTPError

    if isinstance(link, requests.HTTPError) and link.response is not None:
        status = link.response.status_code
        return f"answered HTTP {status}" if _status_reason(status) else ""
    if isinstance(link, requests.exceptions.SSLError | urllib3.exceptions.SSLError):
        return ""
    if isinstance(link, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError):
        return f"network error ({type(link).__name__})"
    if isinstance(link, DownloadHTTPError):
        return f"answered HTTP {link.status_code}" if link.status_code >= 500 else ""
    if isinstance(link, DownloadError | urllib3.exceptions.HTTPError):
        return f"network error ({type(link).__name__})"
    return None


def error_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from, each once, as a traceback shows them: the cause (``raise … from
    error``), else the context the error was raised in, unless ``from None`` suppressed it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__


#: Set on an error a retry loop gave up on: retrying it is over, for every loop around that one too.
_SPENT = "_publish_action_retries_spent"


def retries_spent(exc: BaseException) -> bool:
    """True when a retry loop already gave up on ``exc``, or on an error it was raised from."""
    return any(getattr(link, _SPENT, False) for link in error_chain(exc))


def retry_after(outcome: object) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), when present: on an answer, or on
    the answer an error carries (httpx and requests errors, and ours, keep it as ``response``)."""
    response: object = outcome
    if isinstance(outcome, BaseException):
        carried = (getattr(link, "response", None) for link in error_chain(outcome))
        response = next((answer for answer in carried if answer is not None), None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


# -- the retry loop ----------------------------------------------------------------------------------------


@dataclass
class Attempts:
    """What a :func:`with_retries` call went through, for callers that explain a give-up."""

    count: int = 0
    #: Why the last attempt failed, when it was transient.
    reason: str | None = None
    #: The operation's deadline passed (rather than its attempts running out).
    deadline_passed: bool = False


def with_retries(
    what: str,
    call: Callable[[], T],
    *,
    policy: RetryPolicy | None = None,
    budget: float | None = None,
    classify: Callable[[object], str | None] = transient_reason,
    before_retry: Callable[[str], bool] | None = None,
    attempts: Attempts | None = None,
    sleep: Callable[[float], None] = pause,
) -> T:
    """Run ``call`` until its outcome is not transient; the one retry loop of every outside call.

    ``call`` returns an answer or raises. A transient outcome (``classify``) is retried after a jittered
    backoff that honours Retry-After, while attempts, the operation's deadline (``budget`` seconds, by
    default the policy's, shared by every call nested in this one) and ``before_retry`` allow: asked after
    the wait, it says ``False`` to stop, for example because an upload turned out to have landed. When
    retries stop, the last answer is returned or the last error raised, as they were; ``attempts`` tells the
    caller how it went.
    """
    policy = policy or default_policy()
    record = attempts if attempts is not None else Attempts()
    with deadline(policy.budget if budget is None else budget):
        while True:
            if stop_requested():
                raise Stopped(f"{what}: not started, the run is stopping")
            record.count += 1
            outcome: object
            try:
                outcome = call()
            except Exception as exc:  # classified below; whatever is not transient is raised again
                outcome = exc
            # An error another loop (nested in this call) already gave up on is final here too: one loop's
            # attempts per operation, never one loop's times another's.
            spent = isinstance(outcome, BaseException) and retries_spent(outcome)
            reason = None if spent else classify(outcome)
            record.reason = reason
            if reason is not None:
                delay = policy.delay(record.count, retry_after(outcome))
                left = time_left() or 0.0
                record.deadline_passed = left <= delay
                if record.count < policy.attempts and not record.deadline_passed:
                    logger.warning(
                        "%s: attempt %d of %d failed (%s); retrying in %.1fs",
                        what,
                        record.count,
                        policy.attempts,
                        reason,
                        delay,
                    )
                    sleep(delay)
                    # Asked after the wait, right before the next attempt: the world may have changed meanwhile.
                    if before_retry is None or before_retry(reason):
                        continue
            if isinstance(outcome, BaseException):
                if reason is not None:
                    setattr(outcome, _SPENT, True)
                raise outcome
            return outcome
