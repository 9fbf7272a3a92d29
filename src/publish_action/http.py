"""The shared HTTP client and the one retry policy every request to an index goes through.

What counts as transient is decided in one function, :func:`transient_reason`, each case with its reason:
connection failures, timeouts, 5xx, 408 and 429 are retried; TLS verification failures, other 4xx and
redirects are not (retrying cannot fix them). Every retry is logged with the file and attempt number.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from publish_action import __version__

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
    #: Total time one operation may spend waiting between attempts.
    budget: float = 180.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            # The index said when to come back; honour it, bounded by our own ceiling.
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


DEFAULT_POLICY = RetryPolicy()


def default_policy() -> RetryPolicy:
    """The policy in force, read at call time so a test can shorten the waits for a whole run."""
    return DEFAULT_POLICY


def make_client(*, max_connections: int = 8) -> httpx.Client:
    """The one client of a run: shared connection pool, deadlines on every request, no redirects.

    Redirects are refused rather than followed: a redirected POST would drop the upload body or the
    credentials would travel to another host. The caller turns a 3xx into an error naming the new URL.
    """
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )


def transient_reason(outcome: httpx.Response | Exception) -> str | None:
    """Why ``outcome`` is worth another attempt, or ``None`` when retrying cannot help."""
    if isinstance(outcome, httpx.Response):
        status = outcome.status_code
        if status == 429:
            return "HTTP 429 Too Many Requests"
        if status == 408:
            return "HTTP 408 Request Timeout"
        if status >= 500:
            return f"HTTP {status} {outcome.reason_phrase or 'server error'}".strip()
        return None
    if isinstance(outcome, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(outcome):
        # A certificate problem does not go away by itself.
        return None
    if isinstance(outcome, httpx.TimeoutException):
        return f"timed out ({type(outcome).__name__})"
    if isinstance(outcome, httpx.TransportError):
        # Connection refused or reset, EOF mid-answer, DNS hiccup: the usual transient network failures.
        return f"network error ({type(outcome).__name__}: {outcome or 'connection lost'})"
    return None


def retry_after(response: httpx.Response | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), when present."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def with_retries(
    what: str,
    call: Callable[[], httpx.Response],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Run ``call`` until it gives a non-transient answer; raise the last transport error when out of tries.

    Used for the small requests (simple API, audience, mint). Uploads have their own loop in
    :mod:`publish_action.upload` because they look at the index before trying again.
    """
    policy = policy or default_policy()
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        outcome: httpx.Response | Exception
        try:
            outcome = call()
        except httpx.TransportError as exc:
            outcome = exc
        reason = transient_reason(outcome)
        if reason is None:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        response = outcome if isinstance(outcome, httpx.Response) else None
        delay = policy.delay(attempt, retry_after(response))
        if attempt >= policy.attempts or waited + delay > policy.budget:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        logger.warning("%s: attempt %d failed (%s); retrying in %.1fs", what, attempt, reason, delay)
        sleep(delay)
        waited += delay
