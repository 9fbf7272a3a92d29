"""PEP 740 attestations: sign, reuse, and verify every one locally before the first upload.

With Trusted Publishing the index accepts one *publish* attestation per file, made with Sigstore and checked
against the trusted publisher that minted the upload token. This stage makes sure every file has one that the
index will accept, before a single byte is uploaded:

* an existing ``<dist>.publish.attestation`` next to the file is reused when it verifies for this file and this
  publisher, and refused (with the file named and the reason) when it does not;
* the others are signed with one Sigstore signer (one ephemeral key, one Fulcio certificate) fed by a second
  OIDC token with audience ``sigstore``, in parallel, and written next to their distributions;
* every attestation, new or reused, is verified against the identity the index will check.

sigstore-python and pypi-attestations are imported inside the functions that need them: a run with an API
token, or ``--help``, never loads them.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from publish_action.errors import AttestationError, PublishError
from publish_action.http import Attempts, RetryPolicy, default_policy, time_left, transient_reason, with_retries
from publish_action.oidc import Claims, GitHubContext, TransientOIDCError, ambient_token
from publish_action.redact import first_line, outside_text
from publish_action.settings import SIGSTORE_TRUST_CONFIG_ENV

if TYPE_CHECKING:
    from cryptography import x509
    from pypi_attestations import Attestation
    from pypi_attestations import Distribution as SignedFile
    from pypi_attestations import GitHubPublisher as LibraryPublisher
    from sigstore.models import ClientTrustConfig
    from sigstore.sign import Signer, SigningContext
    from sigstore.verify import Verifier
    from sigstore.verify.policy import VerificationPolicy

    from publish_action.dists import Distribution

logger = logging.getLogger("publish_action")

#: The name twine, uv and the reference action give an attestation file: ``<dist filename>`` + this.
ATTESTATION_SUFFIX = ".publish.attestation"

#: The only predicate a ``.publish.attestation`` may carry (PEP 740's publish attestation, as PyPI names it).
PUBLISH_PREDICATE = "https://docs.pypi.org/attestations/publish/v1"

#: The issuer of GitHub Actions OIDC tokens; attestations are made for GitHub trusted publishers only.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"

#: A signature must land in the transparency log while its certificate is valid, or it never verifies.
#: A new certificate is requested when less than this is left of the current one (capped by a share of its
#: lifetime, so short-lived certificates are not renewed before every file).
_RENEW_MARGIN_SECONDS = 60.0
_RENEW_MARGIN_SHARE = 0.25

#: Deadlines (connect, read) in seconds for each request to Fulcio and Rekor: sigstore-python sets none, and a
#: log that accepts the connection but never answers would otherwise hold the job until GitHub kills it.
SIGSTORE_TIMEOUT = (15.0, 60.0)

#: Fulcio extensions shown when an attestation names another publisher (Fulcio's OID registry).
_OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
_OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"

#: The payload type of a DSSE envelope holding an in-toto statement.
_IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

_REUSE_FIX = (
    "delete the attestation files named above so they are signed again in this run; if a distribution was "
    "rebuilt after it was signed, either delete its attestation or publish exactly the file that was signed."
)
_UNREACHABLE_FIX = (
    "Sigstore's public services usually recover within minutes (https://status.sigstore.dev): re-run the job; "
    "attestations already written next to the distributions are reused. To publish without attestations, set "
    "`attestations: false`."
)

T = TypeVar("T")


# -- public values -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublisherIdentity:
    """The trusted publisher the index will check every attestation against (GitHub Actions).

    ``workflow`` is the file name of the workflow the job runs (from ``job_workflow_ref``), as a trusted
    publisher names it. ``environment`` is carried as the index carries it; like the index's own check, the
    certificate policy does not compare it, so an attestation made in one environment fits the same workflow
    publishing from another.
    """

    repository: str
    workflow: str
    environment: str | None = None

    @classmethod
    def from_claims(cls, claims: Claims) -> PublisherIdentity:
        """The identity of the job whose OIDC token carried ``claims``; :class:`AttestationError` if unknown."""
        issuer = claims.get("iss")
        repository = claims.get("repository")
        workflow = claims.workflow_file
        if (issuer is not None and issuer != GITHUB_ISSUER) or not repository or not workflow:
            missing = [
                name for name, value in (("repository", repository), ("job_workflow_ref", workflow)) if not value
            ]
            why = f"the OIDC token was issued by {issuer or 'an unknown issuer'}"
            if missing:
                why += f" and lacks the {' and '.join(missing)} claim(s)"
            raise AttestationError(
                "Attestations need a GitHub Actions identity",
                f"publish-action makes attestations for GitHub Actions trusted publishers only, but {why}; "
                "the publisher the index will check cannot be known.",
                "publish from GitHub Actions with `id-token: write`, or set `attestations: false` to publish "
                "without attestations.",
            )
        return cls(repository=repository, workflow=workflow, environment=claims.get("environment") or None)

    def describe(self) -> str:
        """``owner/repo, workflow release.yml, environment pypi`` for messages."""
        text = f"{self.repository}, workflow {self.workflow}"
        return f"{text}, environment {self.environment}" if self.environment else text

    def library_publisher(self) -> LibraryPublisher:
        """The same identity as pypi-attestations spells it (and as the index verifies with it)."""
        from pypi_attestations import GitHubPublisher

        return GitHubPublisher(repository=self.repository, workflow=self.workflow, environment=self.environment)


@dataclass(frozen=True)
class AttestedFile:
    """The attestation stage's outcome for one distribution."""

    state: Literal["signed", "reused", "would sign"]
    #: The ``.publish.attestation`` file (``None`` for "would sign", or when it could not be written).
    path: Path | None
    #: The JSON array for the upload's ``attestations`` form field (``None`` for "would sign").
    form_value: str | None


@dataclass(frozen=True)
class SigstoreTrust:
    """The Sigstore instance this run signs with and verifies against."""

    config: ClientTrustConfig
    #: True when the trust config came from ``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG`` (not Sigstore production).
    custom: bool

    def verifier(self) -> Verifier:
        """A verifier trusting exactly this instance's roots."""
        from sigstore.verify import Verifier

        return Verifier(trusted_root=self.config.trusted_root)


def attestation_path(dist_path: Path) -> Path:
    """Where the attestation of ``dist_path`` lives: next to it, named ``<dist filename>.publish.attestation``."""
    return dist_path.with_name(dist_path.name + ATTESTATION_SUFFIX)


# -- the stage ------------------------------------------------------------------------------------------------------


def attest(
    dists: Sequence[Distribution],
    *,
    publisher: PublisherIdentity,
    claims: Claims,
    context: GitHubContext,
    mask: Callable[[str], None],
    trust_config: Path | None,
    max_parallel: int,
    dry_run: bool,
    detect: Callable[[str], str | None] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, AttestedFile]:
    """Give every distribution an attestation the index will accept, keyed by file name, in ``dists`` order.

    Existing attestations are verified and reused; the rest are signed (one certificate for all, up to
    ``max_parallel`` at a time) and written next to their files; with ``dry_run`` nothing is signed and those
    files are reported as "would sign". Raises :class:`AttestationError` before anything is signed when an
    existing attestation does not fit or the job runs in a reusable workflow, and when signing fails;
    :class:`~publish_action.errors.AuthenticationError` when no ``sigstore`` token can be had.
    """
    policy = policy or default_policy()
    if claims.reusable_workflow:
        # Checked from the claims before anything is signed: signing would only write log entries for
        # attestations the index is bound to refuse.
        raise reusable_workflow_error(claims)

    results: dict[str, AttestedFile] = {}
    trust: SigstoreTrust | None = None
    existing = [dist for dist in dists if attestation_path(dist.path).exists()]
    if existing:
        trust = load_trust(trust_config, policy=policy)
        results.update(_reuse(existing, publisher, trust))

    missing = [dist for dist in dists if dist.filename not in results]
    if missing and dry_run:
        for dist in missing:
            logger.info("%s: would be signed (dry run: nothing is signed)", dist.filename)
            results[dist.filename] = AttestedFile("would sign", None, None)
    elif missing:
        trust = trust or load_trust(trust_config, policy=policy)
        session = _SigningSession(
            trust=trust,
            publisher=publisher,
            context=context,
            mask=mask,
            detect=detect,
            policy=policy,
        )
        results.update(session.sign_all(missing, max_parallel=max_parallel))
    return {dist.filename: results[dist.filename] for dist in dists}


def reusable_workflow_error(claims: Claims) -> AttestationError:
    """The reusable-workflow mismatch: minting works, but the index would refuse the attestations."""
    return AttestationError(
        "Attestations cannot be made from a reusable workflow",
        f"this job runs the reusable workflow {claims.get('job_workflow_ref')} called from "
        f"{claims.get('workflow_ref')}. The index checks attestations against the trusted publisher's workflow "
        f"({claims.workflow_file}), but Sigstore certificates name the calling workflow "
        f"({claims.calling_workflow_file}), so every attestation would be refused. Nothing was signed or uploaded.",
        f"publish from a job defined in the top-level workflow ({claims.calling_workflow_file}) and register that "
        "workflow as the trusted publisher, or set `attestations: false` for this publish step.",
    )


# -- trust ----------------------------------------------------------------------------------------------------------


def load_trust(path: Path | None, *, offline: bool = False, policy: RetryPolicy | None = None) -> SigstoreTrust:
    """Sigstore production (refreshed through TUF unless ``offline``), or the trust config file at ``path``.

    Rekor v1 is forced: PEP 740 attestations carry v1 log entries only. A custom file is announced: it exists
    for private Sigstore deployments and tests, and the public indexes refuse what it signs.
    """
    from sigstore.models import ClientTrustConfig

    if path is None:
        try:
            config = _retrying(
                "updating Sigstore's trust root",
                lambda: ClientTrustConfig.production(offline=offline),
                policy or default_policy(),
            )
        except _OutOfAttempts as exc:
            raise AttestationError(
                "Sigstore could not be reached",
                f"{exc.what} failed {exc.attempts} time(s); the last failure: {exc.reason}. Nothing was uploaded.",
                _UNREACHABLE_FIX,
            ) from exc
        except Exception as exc:
            raise AttestationError(
                "Sigstore's trust root cannot be loaded",
                f"the production trust root could not be updated through TUF ({_describe_failure(exc)}). "
                "Nothing was uploaded.",
                "re-run the job; if it persists, set `attestations: false` and report it with this message.",
            ) from exc
        config.force_tlog_version = 1
        return SigstoreTrust(config=config, custom=False)

    try:
        config = ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))
        config.force_tlog_version = 1
        _ = config.signing_config  # refuses a config without a Rekor v1 log now, not half-way through
    except Exception as exc:
        raise AttestationError(
            "The Sigstore trust config cannot be used",
            f"{SIGSTORE_TRUST_CONFIG_ENV} names '{path}', which could not be read as a Sigstore client trust "
            f"config offering a Rekor v1 log ({type(exc).__name__}: {_first_line(exc)}).",
            f"unset {SIGSTORE_TRUST_CONFIG_ENV} to use Sigstore's production instance, or point it at a valid "
            "client trust config file.",
        ) from exc
    logger.warning(
        "Using the Sigstore instance described by %s (%s). Custom trust configs are for private Sigstore "
        "deployments and tests: PyPI and TestPyPI only accept attestations made with Sigstore's production "
        "instance and will refuse these.",
        SIGSTORE_TRUST_CONFIG_ENV,
        path,
    )
    return SigstoreTrust(config=config, custom=True)


# -- verification ---------------------------------------------------------------------------------------------------


class _Unfit(Exception):
    """An attestation that the index would refuse for this file and publisher; the text says why."""


def check_attestation(
    path: Path,
    *,
    filename: str,
    sha256: str,
    publisher: PublisherIdentity,
    trust: SigstoreTrust,
) -> str:
    """Verify the attestation file at ``path`` for one distribution; return the upload's form value.

    Raises :class:`AttestationError` naming the file, why it does not fit and what to do.
    """
    try:
        attestation = _read(path)
        _verify(attestation, filename=filename, sha256=sha256, publisher=publisher, verifier=trust.verifier())
    except _Unfit as exc:
        raise AttestationError(f"{path.name} cannot be used", str(exc), _REUSE_FIX) from exc
    return _form_value(attestation)


def _read(path: Path) -> Attestation:
    """Parse an attestation file; :class:`_Unfit` when it is not one."""
    from pydantic import ValidationError
    from pypi_attestations import Attestation

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unfit(f"the file cannot be read ({type(exc).__name__}: {_first_line(exc)})") from exc
    try:
        return Attestation.model_validate_json(text)
    except ValidationError as exc:
        problem = exc.errors()[0] if exc.errors() else {"msg": str(exc), "loc": ()}
        where = ".".join(str(part) for part in problem.get("loc", ())) or "the document"
        raise _Unfit(f"the file is not a readable PEP 740 attestation ({where}: {problem['msg']})") from exc


def _verify(
    attestation: Attestation,
    *,
    filename: str,
    sha256: str,
    publisher: PublisherIdentity,
    verifier: Verifier,
) -> None:
    """Check ``attestation`` as the index will: Sigstore signature and log entry, publisher, file and digest.

    The cryptographic checks come first: until the signature verifies, the statement inside says nothing.
    """
    watched = _WatchedPolicy(publisher.library_publisher()._as_policy())
    # The file is untrusted input: whatever a malformed certificate, entry or signature makes the libraries
    # raise, the answer is "refused", never a crash.
    try:
        bundle = attestation.to_bundle()
    except Exception as exc:
        raise _Unfit(f"the file is not a usable attestation ({_first_line(exc) or type(exc).__name__})") from exc
    try:
        payload_type, payload = verifier.verify_dsse(bundle, watched)
    except Exception as exc:
        if watched.refusal is not None:
            raise _Unfit(
                f"it was signed by {_signer_of(attestation)}, but this publish is for {publisher.describe()}: "
                f"the index would refuse it ({_first_line(watched.refusal)})"
            ) from exc
        raise _Unfit(
            "its signature or transparency log entry does not verify: it was altered, or made with another "
            f"Sigstore instance than this run trusts ({_first_line(exc)})"
        ) from exc

    if payload_type != _IN_TOTO_PAYLOAD_TYPE:
        raise _Unfit(f"its envelope holds {payload_type}, not an in-toto statement")
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        predicate_type = statement["predicateType"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _Unfit("its statement is not a valid in-toto statement") from exc
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise _Unfit("its statement must name exactly one file")
    subject_name = subjects[0].get("name")
    digests = subjects[0].get("digest")
    if not isinstance(subject_name, str) or _dist_identity(subject_name) is None:
        raise _Unfit(f"its statement names {subject_name!r}, which is not a distribution file name")
    if _dist_identity(subject_name) != _dist_identity(filename):
        raise _Unfit(f"it was made for another file ({subject_name}), not for {filename}")
    signed_digest = digests.get("sha256") if isinstance(digests, dict) else None
    if signed_digest != sha256:
        raise _Unfit(
            f"it was made for other contents of {filename} (signed sha256 {str(signed_digest)[:16]}…, the file "
            f"has {sha256[:16]}…): the distribution changed after it was signed"
        )
    if predicate_type != PUBLISH_PREDICATE:
        raise _Unfit(f"it is a {predicate_type} attestation, not a publish attestation")


class _WatchedPolicy:
    """Wraps the publisher's certificate policy and remembers whether *it* refused the certificate.

    sigstore-python runs the policy after the chain and timestamp checks and before the log entry and
    signature checks, raising the same error type for all; knowing which step refused lets the message say
    "another publisher" rather than "tampered".
    """

    def __init__(self, inner: VerificationPolicy) -> None:
        self._inner = inner
        self.refusal: Exception | None = None

    def verify(self, cert: x509.Certificate) -> None:
        """Apply the publisher policy; remember and re-raise its refusal as a verification error."""
        import sigstore.errors

        try:
            self._inner.verify(cert)
        except Exception as exc:
            # Certificates without the GitHub extensions (a person's e-mail identity) make the policy raise
            # x509.ExtensionNotFound; report them like any other refusal.
            self.refusal = exc
            raise sigstore.errors.VerificationError(_first_line(exc) or type(exc).__name__) from exc


def _signer_of(attestation: Attestation) -> str:
    """Who made an attestation, as far as its certificate tells: the workflow, else the SAN."""
    try:
        claims = attestation.certificate_claims
    except Exception:
        claims = {}
    workflow = claims.get(_OID_BUILD_CONFIG_URI)
    if workflow:
        return f"the workflow {workflow}"
    repository = claims.get(_OID_SOURCE_REPOSITORY_URI)
    if repository:
        return f"a workflow of {repository}"
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(attestation.verification_material.certificate)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        values = [str(value) for value in names.get_values_for_type(x509.RFC822Name)]
        values += [str(value) for value in names.get_values_for_type(x509.UniformResourceIdentifier)]
    except Exception:
        values = []
    return f"the identity {values[0]}" if values else "an unknown identity"


def _dist_identity(name: str) -> tuple[object, ...] | None:
    """What a distribution file name means (project, version, tags), so spellings of one name compare equal.

    The index compares the attested name and the uploaded name this way; ``None`` for a name that is not a
    wheel or sdist file name.
    """
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion

    try:
        if name.endswith(".whl"):
            return tuple(parse_wheel_filename(name))
        if name.endswith((".tar.gz", ".zip")):
            return tuple(parse_sdist_filename(name))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def _form_value(attestation: Attestation) -> str:
    """The ``attestations`` form field: a JSON array holding this one attestation."""
    return f"[{attestation.model_dump_json()}]"


def _reuse(
    dists: Sequence[Distribution], publisher: PublisherIdentity, trust: SigstoreTrust
) -> dict[str, AttestedFile]:
    """Verify the existing attestation of each of ``dists``; all problems are raised together."""
    verifier = trust.verifier()
    reused: dict[str, AttestedFile] = {}
    problems: list[str] = []
    for dist in dists:
        path = attestation_path(dist.path)
        try:
            attestation = _read(path)
            _verify(
                attestation, filename=dist.filename, sha256=dist.hashes.sha256, publisher=publisher, verifier=verifier
            )
        except _Unfit as exc:
            problems.append(f"{path}: {exc}")
            continue
        reused[dist.filename] = AttestedFile("reused", path, _form_value(attestation))
        logger.info("%s: reusing %s (verified for %s)", dist.filename, path.name, publisher.describe())
    if problems:
        raise AttestationError(
            "Existing attestations do not fit this publish",
            f"{len(problems)} attestation file(s) next to the distributions would be refused by the index; "
            "nothing was signed or uploaded.",
            _REUSE_FIX,
            problems=problems,
        )
    return reused


# -- signing --------------------------------------------------------------------------------------------------------


@dataclass
class _SigningSession:
    """One signer at a time for the whole run, shared by the signing threads.

    sigstore-python's cached signer holds one ephemeral key and one Fulcio certificate; when the certificate
    nears its end a new signer is started with a fresh ``sigstore`` token (the first one may have expired).
    """

    trust: SigstoreTrust
    publisher: PublisherIdentity
    context: GitHubContext
    mask: Callable[[str], None]
    detect: Callable[[str], str | None] | None
    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    _signing_context: SigningContext | None = field(default=None, init=False)
    _signer: Signer | None = field(default=None, init=False)
    _signer_failure: PublishError | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stack: ExitStack = field(default_factory=ExitStack, init=False)
    #: Every raw token handed out, so no message built from a library's error can carry one.
    _secrets: list[str] = field(default_factory=list, init=False, repr=False)

    def sign_all(self, dists: Sequence[Distribution], *, max_parallel: int) -> dict[str, AttestedFile]:
        """Sign ``dists`` in parallel; stop starting new signatures after the first failure."""
        from sigstore.sign import SigningContext

        try:
            self._signing_context = SigningContext.from_trust_config(self.trust.config)
        except Exception as exc:
            raise AttestationError(
                "Sigstore signing cannot start",
                f"the signing configuration offers no usable services ({type(exc).__name__}: {_first_line(exc)}).",
                "re-run the job; if it persists, set `attestations: false` and report it.",
            ) from exc
        _impose_deadline(getattr(self._signing_context._fulcio, "session", None))
        workers = max(1, min(max_parallel, len(dists)))
        logger.info(
            "Signing %d distribution(s) with Sigstore for %s (one certificate for all, %d at a time)",
            len(dists),
            self.publisher.describe(),
            workers,
        )
        verifier = self.trust.verifier()
        stop = threading.Event()

        def one(dist: Distribution) -> AttestedFile | None:
            if stop.is_set():
                return None
            try:
                return self._sign_one(dist, verifier)
            except BaseException:
                stop.set()
                raise

        with self._stack, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="attest") as pool:
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

    def _sign_one(self, dist: Distribution, verifier: Verifier) -> AttestedFile:
        """Sign one file (retrying what Sigstore may recover from), verify the result, write it next to the file."""
        from pypi_attestations import Distribution as LibraryDistribution

        subject = LibraryDistribution(name=dist.filename, digest=dist.hashes.sha256)
        attestation = self._run(f"{dist.filename}: signing", lambda: self._sign_with_current(subject), dist.filename)
        try:
            _verify(
                attestation,
                filename=dist.filename,
                sha256=dist.hashes.sha256,
                publisher=self.publisher,
                verifier=verifier,
            )
        except _Unfit as exc:
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
        return AttestedFile("signed", path, _form_value(attestation))

    def _sign_with_current(self, subject: SignedFile) -> Attestation:
        """Sign with the current signer; if its certificate ran out meanwhile, once more with a new one."""
        from pypi_attestations import Attestation
        from sigstore._internal.fulcio import ExpiredCertificate

        assert self._signing_context is not None
        # Rekor sessions are made per thread on first use: bound this thread's before it signs.
        _impose_deadline(getattr(self._signing_context._rekor, "_session", None))
        signer = self._current_signer()
        try:
            return Attestation.sign(signer, subject)
        except Exception as exc:
            # pypi-attestations re-raises the expiry with an empty message: only the chain tells.
            if not _caused_by(exc, ExpiredCertificate):
                raise
        logger.info("The signing certificate expired during signing; requesting a new one")
        return Attestation.sign(self._current_signer(stale=signer), subject)

    def _write(self, dist: Distribution, attestation: Attestation) -> Path | None:
        """Write the attestation next to its file, atomically (a half-written file would block the next run)."""
        path = attestation_path(dist.path)
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
            if self._signer is None or self._signer is stale or _ending_soon(_certificate_of(self._signer)):
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
        token = ambient_token("sigstore", self.context, detect=self.detect)
        raw = token.get_secret_value()
        self._secrets.append(raw)
        self.mask(raw)
        signer = self._stack.enter_context(self._signing_context.signer(IdentityToken(raw), cache=True))
        certificate = _certificate_of(signer)
        logger.info(
            "Sigstore issued a signing certificate for %s, valid until %s",
            _certificate_identity(certificate),
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
            return _retrying(what, call, self.policy, self.sleep)
        except PublishError:
            raise
        except _OutOfAttempts as exc:
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
                _UNREACHABLE_FIX,
            ) from None
        except Exception as exc:
            raise self._refused(what, exc, filename) from None

    def _refused(self, what: str, exc: Exception, filename: str | None) -> AttestationError:
        """A failure retrying cannot fix, named by its type."""
        from sigstore._internal.fulcio.client import FulcioClientError
        from sigstore._internal.rekor import RekorClientError
        from sigstore.oidc import ExpiredIdentity, IdentityError

        detail = self._scrub(_describe_failure(exc))
        if isinstance(exc, IdentityError | ExpiredIdentity):
            return AttestationError(
                "The signing identity was refused",
                f"the OIDC token for audience `sigstore` cannot be used for signing ({detail}).",
                "re-run the job; if it persists, set `attestations: false` and report it.",
            )
        if isinstance(exc, FulcioClientError):
            return AttestationError(
                "Sigstore refused a signing certificate",
                f"the certificate authority (Fulcio) refused the request ({detail}). Nothing was uploaded.",
                "re-run the job; if it persists, set `attestations: false` and report it with this message.",
            )
        if isinstance(exc, RekorClientError):
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


def _impose_deadline(session: object) -> None:
    """Give a requests session of sigstore-python a deadline on every request that names none (best effort).

    The sessions are internals of sigstore-python; when a release moves them, requests go without the
    deadline rather than failing.
    """
    import requests
    from requests.adapters import HTTPAdapter

    if not isinstance(session, requests.Session) or getattr(session, "_publish_action_deadline", False):
        return

    class _DeadlineAdapter(HTTPAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> requests.Response:
            return super().send(
                request,
                stream=stream,
                timeout=_within_deadline(SIGSTORE_TIMEOUT if timeout is None else timeout),
                verify=verify,
                cert=cert,
                proxies=proxies,
            )

    adapter = _DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session._publish_action_deadline = True  # type: ignore[attr-defined]


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


def _certificate_of(signer: Signer) -> x509.Certificate:
    """The signer's cached certificate (sigstore-python hands it out without a network call)."""
    return signer._signing_cert()


def _ending_soon(certificate: x509.Certificate) -> bool:
    """True when too little of the certificate's validity is left to sign one more file."""
    lifetime = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).total_seconds()
    margin = min(_RENEW_MARGIN_SECONDS, lifetime * _RENEW_MARGIN_SHARE)
    remaining = (certificate.not_valid_after_utc - datetime.now(timezone.utc)).total_seconds()
    return remaining < margin


def _certificate_identity(certificate: x509.Certificate) -> str:
    """The workflow (or other identity) a certificate was issued to, from its SAN."""
    from cryptography import x509

    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "an unnamed identity"
    values = names.get_values_for_type(x509.UniformResourceIdentifier) + names.get_values_for_type(x509.RFC822Name)
    return str(values[0]) if values else "an unnamed identity"


# -- retries --------------------------------------------------------------------------------------------------------


class _OutOfAttempts(Exception):
    """A transient failure that outlasted the retry policy or its deadline."""

    def __init__(self, what: str, attempts: int, reason: str) -> None:
        super().__init__(what)
        self.what = what
        self.attempts = attempts
        self.reason = reason


def _retrying(what: str, call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """``call`` through the run's one retry loop, with failures named by the Sigstore service they came from.

    A transient failure that outlasts the policy becomes :class:`_OutOfAttempts` (chained to it); every other
    failure is raised as it is.
    """
    tries = Attempts()
    try:
        return with_retries(what, call, policy=policy, classify=_sigstore_reason, attempts=tries, sleep=sleep)
    except Exception as exc:
        if tries.reason is None:
            raise
        raise _OutOfAttempts(what, tries.count, tries.reason) from exc


def _sigstore_reason(outcome: object) -> str | None:
    """:func:`~publish_action.http.transient_reason`, saying which Sigstore service failed."""
    reason = transient_reason(outcome)
    if reason is None or not isinstance(outcome, BaseException) or _caused_by(outcome, TransientOIDCError):
        return reason
    return (
        f"{_service_name(outcome)} {reason}" if reason.startswith("answered") else f"{_service_name(outcome)}: {reason}"
    )


def _service_name(exc: BaseException) -> str:
    """Which Sigstore service a failure came from, for people."""
    from sigstore._internal.fulcio.client import FulcioClientError
    from sigstore._internal.rekor import RekorClientError
    from sigstore.errors import TUFError

    if isinstance(exc, RekorClientError):
        return "the transparency log (Rekor)"
    if isinstance(exc, FulcioClientError):
        return "the certificate authority (Fulcio)"
    if isinstance(exc, TUFError):
        return "Sigstore's trust root repository (TUF)"
    for link in _chain(exc):
        request = getattr(link, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str):
            from urllib.parse import urlsplit

            return urlsplit(url).netloc or "a Sigstore service"
    return "a Sigstore service"


def _describe_failure(exc: BaseException) -> str:
    """What went wrong, in one line: the service's own answer when there was one, else the error's text.

    sigstore-python drops Fulcio's error message for error statuses (it tests the response's truth value,
    which is false for them), so the answer is read back from the HTTP error in the chain.
    """
    import requests

    for link in _chain(exc):
        if isinstance(link, requests.HTTPError) and link.response is not None:
            response = link.response
            try:
                message = response.json().get("message")
            except (ValueError, AttributeError):
                message = None
            text = first_line(str(message)) if message else outside_text(response.reason or "no message")
            return f"HTTP {response.status_code}: {text}"
    line = _first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(link, kind) for link in _chain(exc))


def _first_line(exc: BaseException) -> str:
    """The first line of an error's text, bounded: enough to say what happened, never a whole body."""
    return first_line(str(exc))


__all__ = [
    "ATTESTATION_SUFFIX",
    "PUBLISH_PREDICATE",
    "AttestedFile",
    "PublisherIdentity",
    "SigstoreTrust",
    "attest",
    "attestation_path",
    "check_attestation",
    "load_trust",
    "reusable_workflow_error",
]
