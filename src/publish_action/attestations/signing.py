"""Signing with Sigstore: one key and one Fulcio certificate at a time for the run, shared by the signing threads."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from publish_action.attestations import _sigstore_compat as compat
from publish_action.attestations.certificate import certificate_identity, ending_soon
from publish_action.attestations.failures import (
    UNREACHABLE_FIX,
    OutOfAttempts,
    caused_by,
    describe_failure,
    first_line_of,
    retrying,
)
from publish_action.attestations.model import AnyPublisherIdentity, AttestedFile, attestation_path, slsa_path
from publish_action.attestations.slsa import SLSA_PREDICATE
from publish_action.attestations.trust import SigstoreTrust
from publish_action.attestations.verification import Unfit, form_value, verify_attestation, with_another
from publish_action.errors import AttestationError, PublishError
from publish_action.http import RetryPolicy, time_left
from publish_action.identity.ambient import ambient_token
from publish_action.identity.github import GitHubContext
from publish_action.identity.provider import SIGSTORE_AUDIENCE, TransientOIDCError
from publish_action.stopping import block_stop_signals, pause

if TYPE_CHECKING:
    import requests
    from pypi_attestations import Attestation
    from pypi_attestations import Distribution as SignedFile
    from sigstore.sign import Signer, SigningContext
    from sigstore.verify import Verifier

    from publish_action.dists import Distribution

logger = logging.getLogger("publish_action")

#: Deadlines (connect, read) in seconds for each request to Fulcio and Rekor: sigstore-python sets none, and a
#: log that accepts the connection but never answers would otherwise hold the job until GitHub kills it.
SIGSTORE_TIMEOUT = (15.0, 60.0)

T = TypeVar("T")


@dataclass
class SigningSession:
    """One signer at a time for the whole run, shared by the signing threads.

    sigstore-python's cached signer holds one ephemeral key and one Fulcio certificate; when the certificate
    nears its end a new signer is started with a fresh ``sigstore`` token (the first one may have expired).
    """

    trust: SigstoreTrust
    context: GitHubContext
    mask: Callable[[str], None]
    detect: Callable[[str], str | None] | None
    policy: RetryPolicy
    sleep: Callable[[float], None] = pause
    _signing_context: SigningContext | None = field(default=None, init=False)
    _verifier: Verifier | None = field(default=None, init=False)
    _signer: Signer | None = field(default=None, init=False)
    _signer_failure: PublishError | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stack: ExitStack = field(default_factory=ExitStack, init=False)
    #: Every raw token handed out, so no message built from a library's error can carry one.
    _secrets: list[str] = field(default_factory=list, init=False, repr=False)

    def prepare(self) -> None:
        """Everything signing needs before the first file: the signing context, the verifier, one key and one
        certificate (from a fresh ``sigstore`` token). Nothing is signed; safe to run ahead, in another thread.
        """
        if self._signing_context is not None:
            return
        from sigstore.sign import SigningContext

        try:
            signing_context = SigningContext.from_trust_config(self.trust.config)
        except Exception as exc:
            raise AttestationError(
                "Sigstore signing cannot start",
                f"the signing configuration offers no usable services ({type(exc).__name__}: {first_line_of(exc)}).",
                "re-run the job; if it persists, set `attestations: false` and report it.",
            ) from exc
        # Fulcio's session is made with the context (Rekor's per thread, bound in each signing thread).
        _impose_deadline(compat.fulcio_session(signing_context))
        self._signing_context = signing_context
        self._verifier = self.trust.verifier()
        self._current_signer()

    def close(self) -> None:
        """Let go of the signer (its key and certificate)."""
        self._stack.close()

    def sign_all(
        self,
        dists: Sequence[Distribution],
        *,
        publisher: AnyPublisherIdentity,
        max_parallel: int,
        provenance_of: Callable[[Distribution], bytes] | None = None,
        reused: Mapping[str, AttestedFile] | None = None,
    ) -> dict[str, AttestedFile]:
        """Sign ``dists`` in parallel; stop starting new signatures after the first failure.

        A file in ``reused`` keeps that publish attestation; with ``provenance_of`` (the SLSA statement of a
        file), each file also gets its build provenance, signed and verified the same way.
        """
        kept = reused or {}
        workers = max(1, min(max_parallel, len(dists)))
        logger.info(
            "Signing %d distribution(s) with Sigstore for %s (one certificate for all, %d at a time)",
            len(dists),
            publisher.describe(),
            workers,
        )
        self.prepare()
        verifier = self._verifier
        assert verifier is not None
        stop = threading.Event()

        def one(dist: Distribution) -> AttestedFile | None:
            if stop.is_set():
                return None
            try:
                published = kept.get(dist.filename) or self._sign_one(dist, publisher, verifier)
                if provenance_of is None:
                    return published
                return self._add_provenance(dist, published, provenance_of(dist), publisher, verifier)
            except BaseException:
                stop.set()
                raise

        with (
            self._stack,
            ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="attest", initializer=block_stop_signals
            ) as pool,
        ):
            futures = [(dist, pool.submit(one, dist)) for dist in dists]
            outcomes = [(dist, future.exception(), future) for dist, future in futures]
        signed: dict[str, AttestedFile] = {}
        failure: BaseException | None = None
        for dist, error, future in outcomes:
            if error is not None:
                failure = failure or error
            elif (result := future.result()) is not None:
                signed[dist.filename] = result
        if failure is not None:
            if signed and isinstance(failure, PublishError):
                failure.problems.append(
                    f"{len(signed)} of {len(dists)} distribution(s) were signed before the failure; their "
                    "attestation files are kept and will be reused by the next run"
                )
            raise failure
        return signed

    # -- one file -----------------------------------------------------------------------------------------------

    def _sign_one(self, dist: Distribution, publisher: AnyPublisherIdentity, verifier: Verifier) -> AttestedFile:
        """Sign one file (retrying what Sigstore may recover from), verify the result, write it next to the file."""
        from pypi_attestations import Distribution as LibraryDistribution

        subject = LibraryDistribution(name=dist.filename, digest=dist.hashes.sha256)
        attestation = self._run(f"{dist.filename}: signing", lambda: self._sign_with_current(subject), dist.filename)
        try:
            verify_attestation(
                attestation,
                filename=dist.filename,
                sha256=dist.hashes.sha256,
                publisher=publisher,
                verifier=verifier,
            )
        except Unfit as exc:
            raise AttestationError(
                f"The new attestation of {dist.filename} does not verify",
                f"Sigstore signed {dist.filename}, but the result would be refused by the index: {exc}. Nothing "
                "was uploaded.",
                "check that the trusted publisher on the index is this repository and workflow; if this repeats, "
                "set `attestations: false` and report it.",
            ) from exc
        entries = attestation.verification_material.transparency_entries
        log_index = entries[0].get("logIndex") if entries else None
        path = self._write(dist, attestation)
        logger.info("%s: signed (transparency log index %s)", dist.filename, log_index)
        return AttestedFile("signed", path, form_value(attestation))

    def _add_provenance(
        self,
        dist: Distribution,
        published: AttestedFile,
        statement: bytes,
        publisher: AnyPublisherIdentity,
        verifier: Verifier,
    ) -> AttestedFile:
        """Sign the file's SLSA statement, verify it as the index will, and add it to the upload's form value."""
        from pypi_attestations import Attestation
        from sigstore.dsse import Statement

        def sign(signer: Signer) -> Attestation:
            return Attestation.from_bundle(signer.sign_dsse(Statement(statement)))

        what = f"{dist.filename}: signing its build provenance"
        attestation = self._run(what, lambda: self._with_current(sign), dist.filename)
        try:
            verify_attestation(
                attestation,
                filename=dist.filename,
                sha256=dist.hashes.sha256,
                publisher=publisher,
                verifier=verifier,
                predicate=SLSA_PREDICATE,
            )
        except Unfit as exc:
            raise AttestationError(
                f"The build provenance of {dist.filename} does not verify",
                f"Sigstore signed the SLSA provenance of {dist.filename}, but the index would refuse it: {exc}. "
                "Nothing was uploaded.",
                "if this repeats, set `build-provenance: false` and report it.",
            ) from exc
        self._write(dist, attestation, slsa_path(dist.path))
        entries = attestation.verification_material.transparency_entries
        logger.info(
            "%s: build provenance signed (transparency log index %s)",
            dist.filename,
            entries[0].get("logIndex") if entries else None,
        )
        assert published.form_value is not None
        return replace(published, form_value=with_another(published.form_value, attestation), build_provenance=True)

    def _sign_with_current(self, subject: SignedFile) -> Attestation:
        """The publish attestation of ``subject``, made with the current signer."""
        from pypi_attestations import Attestation

        return self._with_current(lambda signer: Attestation.sign(signer, subject))

    def _with_current(self, sign: Callable[[Signer], Attestation]) -> Attestation:
        """Sign with the current signer; if its certificate ran out meanwhile, once more with a new one."""
        assert self._signing_context is not None
        # Rekor sessions are made per thread on first use: bound this thread's before it signs.
        _impose_deadline(compat.rekor_session(self._signing_context))
        signer = self._current_signer()
        try:
            return sign(signer)
        except Exception as exc:
            # pypi-attestations re-raises the expiry with an empty message: only the chain tells.
            if not caused_by(exc, compat.expired_certificate()):
                raise
        logger.info("The signing certificate expired during signing; requesting a new one")
        return sign(self._current_signer(stale=signer))

    def _write(self, dist: Distribution, attestation: Attestation, path: Path | None = None) -> Path | None:
        """Write the attestation next to its file, atomically (a half-written file would block the next run)."""
        path = path or attestation_path(dist.path)
        try:
            # A dot-named temporary file: the distribution scan ignores it should the run die before the rename.
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(attestation.model_dump_json())
            os.replace(temporary, path)
        except OSError as exc:
            logger.warning(
                "%s: could not write %s (%s); the attestation is uploaded anyway but not kept for reuse",
                dist.filename,
                path.name,
                exc.strerror or type(exc).__name__,
            )
            return None
        return path

    # -- the signer ---------------------------------------------------------------------------------------------

    def _current_signer(self, stale: Signer | None = None) -> Signer:
        """The shared signer, replaced first when it is ``stale`` or its certificate is about to end."""
        with self._lock:
            if self._signer_failure is not None:
                # Another thread already failed to get a certificate (with retries): do not ask again.
                raise self._signer_failure
            if self._signer is None or self._signer is stale or ending_soon(compat.signing_certificate(self._signer)):
                try:
                    self._signer = self._run("requesting a signing certificate", self._new_signer, None)
                except PublishError as exc:
                    self._signer_failure = exc
                    raise
            return self._signer

    def _new_signer(self) -> Signer:
        """A fresh ``sigstore`` token (masked at once), then one key and one certificate for the files."""
        from sigstore.oidc import IdentityToken

        assert self._signing_context is not None
        token = ambient_token(SIGSTORE_AUDIENCE, self.context, detect=self.detect)
        raw = token.get_secret_value()
        self._secrets.append(raw)
        self.mask(raw)
        signer = self._stack.enter_context(self._signing_context.signer(IdentityToken(raw), cache=True))
        certificate = compat.signing_certificate(signer)
        logger.info(
            "Sigstore issued a signing certificate for %s, valid until %s",
            certificate_identity(certificate),
            certificate.not_valid_after_utc.strftime("%H:%M:%S UTC"),
        )
        return signer

    # -- failures -----------------------------------------------------------------------------------------------

    def _run(self, what: str, call: Callable[[], T], filename: str | None) -> T:
        """``call`` with retries on transient Sigstore failures; every other failure becomes a clean error.

        The library's exception is not chained (``from None``): its text is whatever a server answered, which
        this run cannot vouch for (a token echoed back would reach a debug traceback). Its type and its
        scrubbed first line are in the message instead.
        """
        try:
            return retrying(what, call, self.policy, self.sleep)
        except PublishError:
            raise
        except OutOfAttempts as exc:
            unreachable = (
                "The CI provider's OIDC token endpoint could not be reached"
                if isinstance(exc.__cause__, TransientOIDCError)
                else "Sigstore could not be reached"
            )
            raise AttestationError(
                unreachable,
                self._scrub(
                    f"{exc.what} failed {exc.attempts} time(s); the last failure: {exc.reason}. Nothing was uploaded."
                ),
                UNREACHABLE_FIX,
            ) from None
        except Exception as exc:
            raise self._refused(what, exc, filename) from None

    def _refused(self, what: str, exc: Exception, filename: str | None) -> AttestationError:
        """A failure retrying cannot fix, named by its type."""
        from sigstore.oidc import ExpiredIdentity, IdentityError

        detail = self._scrub(describe_failure(exc))
        if isinstance(exc, IdentityError | ExpiredIdentity):
            return AttestationError(
                "The signing identity was refused",
                f"the OIDC token for audience `sigstore` cannot be used for signing ({detail}).",
                "re-run the job; if it persists, set `attestations: false` and report it.",
            )
        if isinstance(exc, compat.fulcio_client_error()):
            return AttestationError(
                "Sigstore refused a signing certificate",
                f"the certificate authority (Fulcio) refused the request ({detail}). Nothing was uploaded.",
                "re-run the job; if it persists, set `attestations: false` and report it with this message.",
            )
        if isinstance(exc, compat.rekor_client_error()):
            return AttestationError(
                f"Sigstore's transparency log refused the signature of {filename}",
                f"Rekor answered: {detail}. Nothing was uploaded.",
                "re-run the job; if it persists, set `attestations: false` and report it with this message.",
            )
        return AttestationError(
            f"Signing failed{f' for {filename}' if filename else ''}",
            f"{what} failed ({detail}). Nothing was uploaded.",
            "re-run the job; if it persists, set `attestations: false` and report it with this message.",
        )

    def _scrub(self, text: str) -> str:
        """``text`` with every token of this run replaced, whatever a library put into its messages."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _impose_deadline(session: requests.Session) -> None:
    """Give a requests session of sigstore-python a deadline on every request that names none.

    A request's own timeout (and :data:`SIGSTORE_TIMEOUT` for those without one) is shortened to what is
    left of the operation's deadline.
    """
    compat.impose_deadline(session, lambda timeout: _within_deadline(SIGSTORE_TIMEOUT if timeout is None else timeout))


def _within_deadline(
    timeout: float | tuple[float | None, float | None] | None,
) -> float | tuple[float | None, float | None] | None:
    """``timeout`` shortened to what is left of the operation's deadline (the same one httpx calls obey)."""
    left = time_left()
    if left is None:
        return timeout
    left = max(left, 0.001)
    if isinstance(timeout, tuple):
        return tuple(left if part is None else min(part, left) for part in timeout)  # type: ignore[return-value]
    return left if timeout is None else min(timeout, left)
