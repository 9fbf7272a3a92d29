"""Every use of a sigstore-python or pypi-attestations internal, each behind one small named function.

Neither library offers a public way to do these things; nothing else in ``src/`` may touch a private name of
theirs. ``tests/test_sigstore_compat.py`` checks each function against the installed versions and a real
signer on the loopback Sigstore, so a release that moves one of these internals fails the suite instead of
quietly degrading a run (a Fulcio or Rekor request without a deadline, a renewal that never happens).

The functions raise :class:`SigstoreInternalsChanged` when what they reach for is not where it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import requests
    from cryptography import x509
    from pypi_attestations import GitHubPublisher, GitLabPublisher, GooglePublisher
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.sign import Signer, SigningContext
    from sigstore.verify import Verifier
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


def publisher_policy(publisher: GitHubPublisher | GitLabPublisher | GooglePublisher) -> VerificationPolicy:
    """The certificate policy the index applies for ``publisher`` (``GitHubPublisher._as_policy``).

    pypi-attestations applies it only inside ``Attestation.verify``, which verifies against Sigstore's
    production or staging roots and cannot say which check refused; this run needs both.
    """
    method = getattr(publisher, "_as_policy", None)
    if not callable(method):
        raise SigstoreInternalsChanged("pypi-attestations' GitHubPublisher no longer has _as_policy()")
    return publisher._as_policy()


def certificate_once_verifier(trusted_root: TrustedRoot) -> Verifier:
    """A sigstore-python ``Verifier`` that checks each signing certificate once per policy, then only the rest.

    Every attestation of a run shares one Fulcio certificate. sigstore-python checks, for each bundle: (0) the
    bundle's verified times (TSA timestamps, the log's integrated time), (1) the certificate chain at each of
    those times, (2) the certificate's SCT, (3) its key usages and the identity policy, (4, 5) the log entry's
    inclusion proof, checkpoint and promise, (6) that each time lies in the certificate's validity, and then,
    in ``verify_dsse``, (7) the signature and (8) the log entry's agreement with the envelope.

    This verifier keeps (1) to (3) for a certificate it has accepted under a policy whose ``cache_key`` is the
    same, together with the window in which every certificate of the chain it built is valid; a later bundle
    with that certificate still goes through (0) and (4) to (8), and through the full check whenever one of its
    times falls outside that window. A policy without a ``cache_key`` always gets the full check. So it
    refuses exactly what the full check refuses (``Verifier._verify_common_signing_cert``,
    ``_verify_chain_at_time``, ``_establish_time``, ``LogEntry._verify``, ``VERIFIED_TIME_THRESHOLD``).
    """
    from cryptography.hazmat.primitives.serialization import Encoding
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import VerificationError
    from sigstore.verify import Verifier
    from sigstore.verify import verifier as verifier_module

    for name in ("_verify_common_signing_cert", "_verify_chain_at_time", "_establish_time"):
        if not callable(getattr(Verifier, name, None)):
            raise SigstoreInternalsChanged(f"sigstore-python's Verifier no longer has {name}()")
    threshold = getattr(verifier_module, "VERIFIED_TIME_THRESHOLD", None)
    if not isinstance(threshold, int):
        raise SigstoreInternalsChanged("sigstore-python no longer defines VERIFIED_TIME_THRESHOLD")
    minimum_times: int = threshold

    class _CertificateOnceVerifier(Verifier):
        def __init__(self) -> None:
            super().__init__(trusted_root=trusted_root)
            #: (certificate DER, policy key) → the window in which the certificate and its chain are valid.
            self._accepted: dict[tuple[bytes, Hashable], tuple[datetime, datetime]] = {}
            self._local = threading.local()

        def _verify_chain_at_time(
            self, certificate: x509.Certificate, timestamp_result: object
        ) -> list[x509.Certificate]:
            chain: list[x509.Certificate] = super()._verify_chain_at_time(certificate, timestamp_result)  # type: ignore[arg-type]
            self._local.chain = chain
            return chain

        def _verify_common_signing_cert(self, bundle: Bundle, policy: VerificationPolicy) -> None:
            key = getattr(policy, "cache_key", None)
            if key is None:
                super()._verify_common_signing_cert(bundle, policy)
                return
            certificate = bundle.signing_certificate
            accepted = (certificate.public_bytes(Encoding.DER), key)
            window = self._accepted.get(accepted)
            if window is not None:
                times = self._establish_time(bundle)
                if len(times) >= minimum_times and all(window[0] <= result.time <= window[1] for result in times):
                    try:
                        bundle.log_entry._verify(self._trusted_root.rekor_keyring(KeyringPurpose.VERIFY))
                    except VerificationError as exc:
                        raise VerificationError(f"invalid log entry: {exc}") from exc
                    return
            self._local.chain = None
            super()._verify_common_signing_cert(bundle, policy)
            chain: list[x509.Certificate] | None = self._local.chain
            if chain is None:
                return
            path = [certificate, *chain]
            self._accepted[accepted] = (
                max(item.not_valid_before_utc for item in path),
                min(item.not_valid_after_utc for item in path),
            )

    return _CertificateOnceVerifier()


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
