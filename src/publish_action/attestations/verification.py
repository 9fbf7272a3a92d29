"""Verifying an attestation as the index will: Sigstore signature and log entry, publisher, file and digest."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from publish_action.attestations import _sigstore_compat as compat
from publish_action.attestations.failures import first_line_of
from publish_action.attestations.model import PUBLISH_PREDICATE, AnyPublisherIdentity
from publish_action.attestations.trust import SigstoreTrust
from publish_action.errors import AttestationError
from publish_action.redact import first_line

if TYPE_CHECKING:
    from cryptography import x509
    from pypi_attestations import Attestation
    from sigstore.verify import Verifier
    from sigstore.verify.policy import VerificationPolicy

#: Fulcio extensions shown when an attestation names another publisher (Fulcio's OID registry).
_OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
_OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"

#: The payload type of a DSSE envelope holding an in-toto statement.
_IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

REUSE_FIX = (
    "delete the attestation files named above so they are signed again in this run; if a distribution was "
    "rebuilt after it was signed, either delete its attestation or publish exactly the file that was signed."
)


class Unfit(Exception):
    """An attestation that the index would refuse for this file and publisher; the text says why."""


def check_attestation(
    path: Path,
    *,
    filename: str,
    sha256: str,
    publisher: AnyPublisherIdentity,
    trust: SigstoreTrust,
) -> str:
    """Verify the attestation file at ``path`` for one distribution; return the upload's form value.

    Raises :class:`AttestationError` naming the file, why it does not fit and what to do.
    """
    try:
        attestation = read_attestation(path)
        verify_attestation(
            attestation, filename=filename, sha256=sha256, publisher=publisher, verifier=trust.verifier()
        )
    except Unfit as exc:
        raise AttestationError(f"{path.name} cannot be used", str(exc), REUSE_FIX) from exc
    return form_value(attestation)


def read_attestation(path: Path) -> Attestation:
    """Parse an attestation file; :class:`Unfit` when it is not one."""
    from pydantic import ValidationError
    from pypi_attestations import Attestation

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unfit(f"the file cannot be read ({type(exc).__name__}: {first_line_of(exc)})") from exc
    try:
        return Attestation.model_validate_json(text)
    except ValidationError as exc:
        problem = exc.errors()[0] if exc.errors() else {"msg": str(exc), "loc": ()}
        where = ".".join(str(part) for part in problem.get("loc", ())) or "the document"
        raise Unfit(f"the file is not a readable PEP 740 attestation ({where}: {problem['msg']})") from exc


def verify_attestation(
    attestation: Attestation,
    *,
    filename: str,
    sha256: str,
    publisher: AnyPublisherIdentity,
    verifier: Verifier,
    predicate: str = PUBLISH_PREDICATE,
) -> None:
    """Check ``attestation`` as the index will: Sigstore signature and log entry, publisher, file and digest;
    and that it is of the ``predicate`` type expected (a publish attestation, or SLSA provenance).

    The cryptographic checks come first: until the signature verifies, the statement inside says nothing.
    """
    watched = _WatchedPolicy(compat.publisher_policy(publisher.library_publisher()), cache_key=publisher)
    # The file is untrusted input: whatever a malformed certificate, entry or signature makes the libraries
    # raise, the answer is "refused", never a crash.
    try:
        bundle = attestation.to_bundle()
    except Exception as exc:
        raise Unfit(f"the file is not a usable attestation ({first_line_of(exc) or type(exc).__name__})") from exc
    try:
        payload_type, payload = verifier.verify_dsse(bundle, watched)
    except Exception as exc:
        if watched.refusal is not None:
            raise Unfit(
                f"it was signed by {_signer_of(attestation)}, but this publish is for {publisher.describe()}: "
                f"the index would refuse it ({_policy_detail(watched.refusal)})"
            ) from exc
        raise Unfit(
            "its signature or transparency log entry does not verify: it was altered, or made with another "
            f"Sigstore instance than this run trusts ({first_line_of(exc)})"
        ) from exc

    if payload_type != _IN_TOTO_PAYLOAD_TYPE:
        raise Unfit(f"its envelope holds {payload_type}, not an in-toto statement")
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        predicate_type = statement["predicateType"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unfit("its statement is not a valid in-toto statement") from exc
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise Unfit("its statement must name exactly one file")
    subject_name = subjects[0].get("name")
    digests = subjects[0].get("digest")
    if not isinstance(subject_name, str) or _dist_identity(subject_name) is None:
        raise Unfit(f"its statement names {subject_name!r}, which is not a distribution file name")
    if _dist_identity(subject_name) != _dist_identity(filename):
        raise Unfit(f"it was made for another file ({subject_name}), not for {filename}")
    signed_digest = digests.get("sha256") if isinstance(digests, dict) else None
    if signed_digest != sha256:
        raise Unfit(
            f"it was made for other contents of {filename} (signed sha256 {str(signed_digest)[:16]}…, the file "
            f"has {sha256[:16]}…): the distribution changed after it was signed"
        )
    if predicate_type != predicate:
        wanted = "a publish attestation" if predicate == PUBLISH_PREDICATE else f"a {predicate} attestation"
        raise Unfit(f"it is a {predicate_type} attestation, not {wanted}")


class _WatchedPolicy:
    """Wraps the publisher's certificate policy and remembers whether *it* refused the certificate.

    sigstore-python runs the policy after the chain and timestamp checks and before the log entry and
    signature checks, raising the same error type for all; knowing which step refused lets the message say
    "another publisher" rather than "tampered". Its ``cache_key`` is the publisher: the policy of a publisher
    says the same of a certificate every time.
    """

    def __init__(self, inner: VerificationPolicy, *, cache_key: AnyPublisherIdentity) -> None:
        self._inner = inner
        self.refusal: Exception | None = None
        #: What the policy checks, for the run's verifier: a certificate it accepted under an equal key is
        #: not checked against the policy again.
        self.cache_key = cache_key

    def verify(self, cert: x509.Certificate) -> None:
        """Apply the publisher policy; remember and re-raise its refusal as a verification error."""
        import sigstore.errors

        try:
            self._inner.verify(cert)
        except Exception as exc:
            # Certificates without the GitHub extensions (a person's e-mail identity) make the policy raise
            # x509.ExtensionNotFound; report them like any other refusal.
            self.refusal = exc
            raise sigstore.errors.VerificationError(first_line_of(exc) or type(exc).__name__) from exc


#: A certificate extension as Python prints it, which some policies put in their refusals.
_EXTENSION_REPR = re.compile(r" ?\(<Extension\(.*\)>\)")


def _policy_detail(refusal: BaseException) -> str:
    """The policy's own words, without the certificate extension's repr that some put in them."""
    return first_line(_EXTENSION_REPR.sub("", str(refusal)))


def _signer_of(attestation: Attestation) -> str:
    """Who made an attestation, as far as its certificate tells: the workflow (GitHub) or pipeline file
    (GitLab, whose build config URI names the project and the file apart, ``project//file``), else the SAN."""
    try:
        claims = attestation.certificate_claims
    except Exception:
        claims = {}
    workflow = claims.get(_OID_BUILD_CONFIG_URI)
    if workflow:
        return f"the {'pipeline file' if '//' in workflow.partition('://')[2] else 'workflow'} {workflow}"
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


def form_value(attestation: Attestation) -> str:
    """The ``attestations`` form field: a JSON array holding this one attestation."""
    return f"[{attestation.model_dump_json()}]"


def with_another(value: str, attestation: Attestation) -> str:
    """A form value (:func:`form_value`) with ``attestation`` added after the ones it holds."""
    return f"{value.removesuffix(']')},{attestation.model_dump_json()}]"
