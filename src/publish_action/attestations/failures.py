"""How Sigstore failures are retried and named: one retry loop, the service that failed, one line of detail."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from publish_action.attestations import _sigstore_compat as compat
from publish_action.http import Attempts, RetryPolicy, error_chain, transient_reason, with_retries
from publish_action.identity.provider import TransientOIDCError
from publish_action.redact import first_line, outside_text
from publish_action.stopping import pause

T = TypeVar("T")

UNREACHABLE_FIX = (
    "Sigstore's public services usually recover within minutes (https://status.sigstore.dev): re-run the job; "
    "attestations already written next to the distributions are reused. To publish without attestations, set "
    "`attestations: false`."
)


class OutOfAttempts(Exception):
    """A transient failure that outlasted the retry policy or its deadline."""

    def __init__(self, what: str, attempts: int, reason: str) -> None:
        super().__init__(what)
        self.what = what
        self.attempts = attempts
        self.reason = reason


def retrying(what: str, call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = pause) -> T:
    """``call`` through the run's one retry loop, with failures named by the Sigstore service they came from.

    A transient failure that outlasts the policy becomes :class:`OutOfAttempts` (chained to it); every other
    failure is raised as it is.
    """
    tries = Attempts()
    try:
        return with_retries(what, call, policy=policy, classify=_sigstore_reason, attempts=tries, sleep=sleep)
    except Exception as exc:
        if tries.reason is None:
            raise
        raise OutOfAttempts(what, tries.count, tries.reason) from exc


def _sigstore_reason(outcome: object) -> str | None:
    """:func:`~publish_action.http.transient_reason`, saying which Sigstore service failed."""
    reason = transient_reason(outcome)
    if reason is None or not isinstance(outcome, BaseException) or caused_by(outcome, TransientOIDCError):
        return reason
    return (
        f"{_service_name(outcome)} {reason}" if reason.startswith("answered") else f"{_service_name(outcome)}: {reason}"
    )


def _service_name(exc: BaseException) -> str:
    """Which Sigstore service a failure came from, for people."""
    from sigstore.errors import TUFError

    if isinstance(exc, compat.rekor_client_error()):
        return "the transparency log (Rekor)"
    if isinstance(exc, compat.fulcio_client_error()):
        return "the certificate authority (Fulcio)"
    if isinstance(exc, TUFError):
        return "Sigstore's trust root repository (TUF)"
    for link in error_chain(exc):
        request = getattr(link, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str):
            from urllib.parse import urlsplit

            return urlsplit(url).netloc or "a Sigstore service"
    return "a Sigstore service"


def describe_failure(exc: BaseException) -> str:
    """What went wrong, in one line: the service's own answer when there was one, else the error's text.

    sigstore-python drops Fulcio's error message for error statuses (it tests the response's truth value,
    which is false for them), so the answer is read back from the HTTP error in the chain.
    """
    import requests

    for link in error_chain(exc):
        if isinstance(link, requests.HTTPError) and link.response is not None:
            response = link.response
            try:
                message = response.json().get("message")
            except (ValueError, AttributeError):
                message = None
            text = first_line(str(message)) if message else outside_text(response.reason or "no message")
            return f"HTTP {response.status_code}: {text}"
    line = first_line_of(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``exc`` or anything in its chain is a ``kind``."""
    return any(isinstance(link, kind) for link in error_chain(exc))


def first_line_of(exc: BaseException) -> str:
    """The first line of an error's text, bounded: enough to say what happened, never a whole body."""
    return first_line(str(exc))
