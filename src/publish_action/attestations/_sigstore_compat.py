"""Every use of a sigstore-python or pypi-attestations internal, each behind one small named function.

Neither library offers a public way to do these things; nothing else in ``src/`` may touch a private name of
theirs. ``tests/test_sigstore_compat.py`` checks each function against the installed versions and a real
signer on the loopback Sigstore, so a release that moves one of these internals fails the suite instead of
quietly degrading a run (a Fulcio or Rekor request without a deadline, a renewal that never happens).

The functions raise :class:`SigstoreInternalsChanged` when what they reach for is not where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import requests
    from cryptography import x509
    from pypi_attestations import GitHubPublisher
    from sigstore.sign import Signer, SigningContext
    from sigstore.verify.policy import VerificationPolicy

#: A requests timeout: seconds, (connect, read), or none.
Timeout: TypeAlias = "float | tuple[float | None, float | None] | None"

#: Set on a requests session once :func:`impose_deadline` has mounted its adapter.
_DEADLINE_MARK = "_publish_action_deadline"


class SigstoreInternalsChanged(RuntimeError):
    """An internal of sigstore-python or pypi-attestations that publish-action relies on has moved."""


# -- signing certificates --------------------------------------------------------------------------------------


def signing_certificate(signer: Signer) -> x509.Certificate:
    """The signer's cached certificate, without a network call (``Signer._signing_cert``).

    sigstore-python raises :func:`expired_certificate` when the cached certificate has run out.
    """
    method = getattr(signer, "_signing_cert", None)
    if not callable(method):
        raise SigstoreInternalsChanged("sigstore-python's Signer no longer has _signing_cert()")
    return signer._signing_cert()


def expired_certificate() -> type[Exception]:
    """The error a cached signer raises once its certificate has expired (``ExpiredCertificate``)."""
    from sigstore._internal.fulcio import ExpiredCertificate

    return ExpiredCertificate


# -- service errors --------------------------------------------------------------------------------------------


def fulcio_client_error() -> type[Exception]:
    """The error sigstore-python raises for a failed Fulcio request (``FulcioClientError``)."""
    from sigstore._internal.fulcio.client import FulcioClientError

    return FulcioClientError


def rekor_client_error() -> type[Exception]:
    """The error sigstore-python raises for a failed Rekor request (``RekorClientError``)."""
    from sigstore._internal.rekor import RekorClientError

    return RekorClientError


# -- verification ----------------------------------------------------------------------------------------------


def publisher_policy(publisher: GitHubPublisher) -> VerificationPolicy:
    """The certificate policy the index applies for ``publisher`` (``GitHubPublisher._as_policy``).

    pypi-attestations applies it only inside ``Attestation.verify``, which verifies against Sigstore's
    production or staging roots and cannot say which check refused; this run needs both.
    """
    method = getattr(publisher, "_as_policy", None)
    if not callable(method):
        raise SigstoreInternalsChanged("pypi-attestations' GitHubPublisher no longer has _as_policy()")
    return publisher._as_policy()


# -- request deadlines -----------------------------------------------------------------------------------------


def fulcio_session(context: SigningContext) -> requests.Session:
    """The requests session every Fulcio request of ``context`` goes through (``SigningContext._fulcio.session``)."""
    return _session(getattr(getattr(context, "_fulcio", None), "session", None), "SigningContext._fulcio.session")


def rekor_session(context: SigningContext) -> requests.Session:
    """This thread's requests session for Rekor (``SigningContext._rekor._session``, made per thread on first use)."""
    return _session(getattr(getattr(context, "_rekor", None), "_session", None), "SigningContext._rekor._session")


def _session(candidate: object, where: str) -> requests.Session:
    import requests

    if not isinstance(candidate, requests.Session):
        raise SigstoreInternalsChanged(
            f"sigstore-python's {where} is no longer a requests session (found {type(candidate).__name__}), so "
            "its requests cannot be given a deadline"
        )
    return candidate


def impose_deadline(session: requests.Session, timeout_for: Callable[[Timeout], Timeout]) -> None:
    """Send every request of ``session`` with ``timeout_for(its own timeout)``; once per session.

    sigstore-python passes no timeout to Fulcio and Rekor; the adapter mounted here supplies one.
    """
    import requests
    from requests.adapters import HTTPAdapter

    if not isinstance(session, requests.Session):
        raise SigstoreInternalsChanged(f"expected a requests session, found {type(session).__name__}")
    if getattr(session, _DEADLINE_MARK, False):
        return

    class _DeadlineAdapter(HTTPAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: Timeout = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> requests.Response:
            return super().send(
                request, stream=stream, timeout=timeout_for(timeout), verify=verify, cert=cert, proxies=proxies
            )

    adapter = _DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    setattr(session, _DEADLINE_MARK, True)


def has_deadline(session: requests.Session) -> bool:
    """True when :func:`impose_deadline` has equipped ``session``."""
    return bool(getattr(session, _DEADLINE_MARK, False))
