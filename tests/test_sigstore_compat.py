"""Every sigstore-python / pypi-attestations internal the action relies on, checked against the installed versions.

`publish_action.attestations._sigstore_compat` is the only place in `src/` that touches a private name of
either library. Each of its functions is tested here on real objects built against the loopback Sigstore, so
a release that moves an internal fails these tests by name rather than quietly degrading a run (requests to
Fulcio or Rekor without a deadline, a certificate that is never renewed, a refusal reported as a crash).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography import x509

from publish_action.attestations import PublisherIdentity, attest, attestation_path, load_trust, signing
from publish_action.attestations import _sigstore_compat as compat
from publish_action.attestations.failures import caused_by
from publish_action.dists import Distribution, plan
from publish_action.errors import AttestationError
from publish_action.http import RetryPolicy
from publish_action.identity.claims import Claims
from publish_action.identity.github import GitHubContext
from tests.fixtures.dists import make_wheels
from tests.sandbox.sigstore import GITHUB_ISSUER, LocalTokenIssuer, LoopbackSigstore, github_claims
from tests.sandbox.sigstore.fixtures import MakeSigstoreSandbox

pytestmark = pytest.mark.sandbox

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, budget=5.0)
CONTEXT = GitHubContext(event_name="push", repository="octo-org/sandbox-demo", fork_pull_request=False, on_github=True)
PUBLISHER = PublisherIdentity(repository="octo-org/sandbox-demo", workflow="release.yml", environment="pypi")


def _context(sandbox: LoopbackSigstore) -> Any:
    from sigstore.sign import SigningContext

    return SigningContext.from_trust_config(load_trust(sandbox.trust_config_path).config)


@contextmanager
def _signer(sandbox: LoopbackSigstore, issuer: LocalTokenIssuer, context: Any = None) -> Iterator[Any]:
    """A real cached signer (one key, one Fulcio certificate) against the loopback Sigstore."""
    from sigstore.oidc import IdentityToken

    context = context or _context(sandbox)
    token = IdentityToken(issuer.token(github_claims(), audience="sigstore"))
    with context.signer(token, cache=True) as signer:
        yield signer


def _subject(tmp_path: Path) -> Any:
    from pypi_attestations import Distribution as LibraryDistribution

    (tmp_path / "dist").mkdir()
    make_wheels(tmp_path / "dist", 1)
    (dist,) = _dists(tmp_path / "dist")
    return LibraryDistribution(name=dist.filename, digest=dist.hashes.sha256)


def _dists(folder: Path) -> list[Distribution]:
    return list(plan(folder, verify_metadata=False).distributions)


# -- signing certificates --------------------------------------------------------------------------------------


def test_signing_certificate_is_the_signers_cached_certificate(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    from sigstore.sign import Signer

    assert callable(getattr(Signer, "_signing_cert", None)), "sigstore-python's Signer._signing_cert() moved"
    with _signer(sigstore_sandbox, sigstore_token_issuer) as signer:
        certificate = compat.signing_certificate(signer)
        again = compat.signing_certificate(signer)

    assert isinstance(certificate, x509.Certificate)
    assert again is certificate  # the cached one: no second request
    assert [r.status for r in sigstore_sandbox.fulcio.requests] == [201]
    assert certificate.not_valid_after_utc > certificate.not_valid_before_utc


def test_an_expired_cached_certificate_raises_expired_certificate(
    make_sigstore_sandbox: MakeSigstoreSandbox, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    sandbox = make_sigstore_sandbox(cert_lifetime=timedelta(seconds=2))
    kind = compat.expired_certificate()
    assert issubclass(kind, Exception)
    with _signer(sandbox, sigstore_token_issuer) as signer:
        certificate = compat.signing_certificate(signer)
        time.sleep(max(0.0, (certificate.not_valid_after_utc.timestamp() - time.time())) + 0.2)
        with pytest.raises(kind):
            compat.signing_certificate(signer)


def test_signing_with_a_signer_whose_certificate_expired_is_told_by_the_chain(
    make_sigstore_sandbox: MakeSigstoreSandbox, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    """pypi-attestations re-raises the expiry with an empty message: the action finds it in the chain."""
    from pypi_attestations import Attestation

    sandbox = make_sigstore_sandbox(cert_lifetime=timedelta(seconds=2))
    subject = _subject(tmp_path)
    with _signer(sandbox, sigstore_token_issuer) as signer:
        certificate = compat.signing_certificate(signer)
        time.sleep(max(0.0, (certificate.not_valid_after_utc.timestamp() - time.time())) + 0.2)
        with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever wraps it, the chain must tell
            Attestation.sign(signer, subject)
    assert caused_by(raised.value, compat.expired_certificate())


# -- service errors --------------------------------------------------------------------------------------------


def test_a_fulcio_refusal_is_a_fulcio_client_error(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    kind = compat.fulcio_client_error()
    assert issubclass(kind, Exception)
    sigstore_sandbox.fulcio.fail_next(400, message="There was an error processing the identity token")
    with pytest.raises(kind), _signer(sigstore_sandbox, sigstore_token_issuer):
        pass


def test_a_rekor_refusal_is_a_rekor_client_error(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    from pypi_attestations import Attestation

    kind = compat.rekor_client_error()
    assert issubclass(kind, Exception)
    subject = _subject(tmp_path)
    with _signer(sigstore_sandbox, sigstore_token_issuer) as signer:
        sigstore_sandbox.rekor.fail_next(400)
        with pytest.raises(Exception) as raised:  # noqa: PT011 - pypi-attestations wraps it; the chain must tell
            Attestation.sign(signer, subject)
    assert caused_by(raised.value, kind)


# -- verification ----------------------------------------------------------------------------------------------


def test_publisher_policy_accepts_the_publishers_certificate_and_refuses_another(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    from pypi_attestations import GitHubPublisher

    assert callable(getattr(GitHubPublisher, "_as_policy", None)), "pypi-attestations' _as_policy() moved"
    with _signer(sigstore_sandbox, sigstore_token_issuer) as signer:
        certificate = compat.signing_certificate(signer)

    compat.publisher_policy(PUBLISHER.library_publisher()).verify(certificate)
    other = PublisherIdentity(repository="octo-org/sandbox-demo", workflow="other.yml")
    with pytest.raises(Exception):  # noqa: PT011, B017 - the policy's own error type is not ours to pin
        compat.publisher_policy(other.library_publisher()).verify(certificate)


# -- request sessions and their deadline -----------------------------------------------------------------------


def test_fulcio_session_is_the_session_fulcio_requests_go_through(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    context = _context(sigstore_sandbox)
    session = compat.fulcio_session(context)
    assert isinstance(session, requests.Session)
    assert compat.fulcio_session(context) is session

    used: list[str] = []
    original = session.request

    def spy(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        used.append(url)
        return original(method, url, *args, **kwargs)

    session.request = spy  # type: ignore[method-assign]
    with _signer(sigstore_sandbox, sigstore_token_issuer, context):
        pass
    assert used, "the Fulcio request did not go through SigningContext._fulcio.session"


def test_rekor_session_is_this_threads_session_rekor_requests_go_through(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    from pypi_attestations import Attestation

    context = _context(sigstore_sandbox)
    session = compat.rekor_session(context)
    assert isinstance(session, requests.Session)
    assert compat.rekor_session(context) is session
    elsewhere: list[requests.Session] = []
    thread = threading.Thread(target=lambda: elsewhere.append(compat.rekor_session(context)))
    thread.start()
    thread.join()
    assert isinstance(elsewhere[0], requests.Session)
    assert elsewhere[0] is not session  # made per thread: each signing thread must bound its own

    used: list[str] = []
    original = session.request

    def spy(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        used.append(url)
        return original(method, url, *args, **kwargs)

    session.request = spy  # type: ignore[method-assign]
    subject = _subject(tmp_path)
    with _signer(sigstore_sandbox, sigstore_token_issuer, context) as signer:
        Attestation.sign(signer, subject)
    assert used, "the Rekor request did not go through SigningContext._rekor._session"


def test_impose_deadline_installs_its_adapter_once(sigstore_sandbox: LoopbackSigstore) -> None:
    session = compat.fulcio_session(_context(sigstore_sandbox))
    seen: list[object] = []

    def timeout_for(timeout: compat.Timeout) -> compat.Timeout:
        seen.append(timeout)
        return (5.0, 5.0)

    assert not compat.has_deadline(session)
    compat.impose_deadline(session, timeout_for)
    assert compat.has_deadline(session)
    adapter = session.get_adapter("https://fulcio.example/")
    assert session.get_adapter("http://127.0.0.1/") is adapter
    assert type(adapter).__name__ == "_DeadlineAdapter"
    compat.impose_deadline(session, timeout_for)
    assert session.get_adapter("https://fulcio.example/") is adapter  # not mounted twice

    session.get(sigstore_sandbox.fulcio_url)
    assert seen == [None]  # the request named no timeout (as sigstore-python's do); the adapter was asked


def test_the_compat_layer_fails_loudly_when_a_session_is_not_there() -> None:
    class Moved:
        _fulcio = object()
        _rekor = object()

    with pytest.raises(compat.SigstoreInternalsChanged, match=r"_fulcio\.session"):
        compat.fulcio_session(Moved())  # type: ignore[arg-type]
    with pytest.raises(compat.SigstoreInternalsChanged, match=r"_rekor\._session"):
        compat.rekor_session(Moved())  # type: ignore[arg-type]
    with pytest.raises(compat.SigstoreInternalsChanged):
        compat.impose_deadline(object(), lambda timeout: timeout)  # type: ignore[arg-type]
    with pytest.raises(compat.SigstoreInternalsChanged, match="_signing_cert"):
        compat.signing_certificate(object())  # type: ignore[arg-type]
    with pytest.raises(compat.SigstoreInternalsChanged, match="_as_policy"):
        compat.publisher_policy(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["_verify_common_signing_cert", "_verify_chain_at_time", "_establish_time"])
def test_the_once_verifier_fails_loudly_when_a_verifier_step_moved(
    sigstore_sandbox: LoopbackSigstore, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from sigstore.verify import Verifier

    monkeypatch.delattr(Verifier, name)
    with pytest.raises(compat.SigstoreInternalsChanged, match=name):
        compat.certificate_once_verifier(load_trust(sigstore_sandbox.trust_config_path).config.trusted_root)


def test_the_once_verifier_fails_loudly_without_the_time_threshold(
    sigstore_sandbox: LoopbackSigstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sigstore.verify.verifier

    monkeypatch.delattr(sigstore.verify.verifier, "VERIFIED_TIME_THRESHOLD")
    with pytest.raises(compat.SigstoreInternalsChanged, match="VERIFIED_TIME_THRESHOLD"):
        compat.certificate_once_verifier(load_trust(sigstore_sandbox.trust_config_path).config.trusted_root)


def test_the_tsa_timeout_the_fault_matrix_shortens_is_still_there() -> None:
    """tests/test_fault_matrix.py shortens sigstore-python's own TSA timeout (a test's internal, not ours)."""
    import sigstore._internal.timestamp as sigstore_tsa

    assert isinstance(sigstore_tsa.CLIENT_TIMEOUT, int | float)


# -- the deadlines, end to end ---------------------------------------------------------------------------------


def _attest(sandbox: LoopbackSigstore, issuer: LocalTokenIssuer, dists: list[Distribution]) -> None:
    claims = Claims({**github_claims(), "iss": GITHUB_ISSUER, "aud": "pypi"})
    attest(
        dists,
        publisher=PublisherIdentity.from_claims(claims),
        claims=claims,
        context=CONTEXT,
        mask=lambda secret: None,
        trust_config=sandbox.trust_config_path,
        max_parallel=4,
        dry_run=False,
        detect=lambda audience: issuer.token(github_claims(), audience=audience),
        policy=FAST,
    )


def test_a_certificate_authority_that_never_answers_meets_a_deadline(
    sigstore_sandbox: LoopbackSigstore,
    sigstore_token_issuer: LocalTokenIssuer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sigstore-python sets no timeout on Fulcio; ours does, so a silent certificate authority ends cleanly.

    Fulcio answers after 1.5 s: without the deadline the run would sign; with a 0.3 s read deadline it fails.
    """
    monkeypatch.setattr(signing, "SIGSTORE_TIMEOUT", (5.0, 0.3))
    (tmp_path / "dist").mkdir()
    make_wheels(tmp_path / "dist", 1)
    dists = _dists(tmp_path / "dist")
    sigstore_sandbox.set_latency(fulcio=1.5)

    with pytest.raises(AttestationError) as raised:
        _attest(sigstore_sandbox, sigstore_token_issuer, dists)

    assert raised.value.title == "Sigstore could not be reached"
    # The last failure is Fulcio's (the loopback Rekor listens on another port).
    assert f"the last failure: {urlsplit(sigstore_sandbox.fulcio_url).netloc}: " in raised.value.cause
    assert "network error (ReadTimeout)" in raised.value.cause
    assert len(sigstore_sandbox.log) == 0
    assert not attestation_path(dists[0].path).exists()
