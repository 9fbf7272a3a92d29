"""Verify a PEP 740 attestation against a chosen Sigstore trusted root.

pypi-attestations 0.0.30's `Attestation.verify` always builds `Verifier.production()` (or staging): it
takes no trusted root. This function is its body with the verifier passed in: sigstore-python's DSSE
verification under the publisher's own policy (the identity PyPI checks), then the same statement checks
(one subject whose name parses and equals the distribution's, sha256 digest, known predicate type).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

import sigstore.errors
from pydantic import TypeAdapter, ValidationError
from pypi_attestations import Attestation, AttestationType, Distribution, Publisher, VerificationError
from sigstore.dsse import Envelope, _Statement
from sigstore.verify import Verifier


def verify_attestation(
    attestation: Attestation, publisher: Publisher, dist: Distribution, *, verifier: Verifier
) -> tuple[str, dict[str, Any] | None]:
    """Verify as `Attestation.verify(publisher, dist)` does, but with `verifier`; raise `VerificationError`."""
    from pypi_attestations._impl import _check_dist_filename

    policy = publisher._as_policy()
    try:
        payload_type, payload = verifier.verify_dsse(attestation.to_bundle(), policy)
    except sigstore.errors.VerificationError as err:
        raise VerificationError(str(err)) from err
    if payload_type != Envelope._TYPE:
        raise VerificationError(f"expected JSON envelope, got {payload_type}")
    try:
        statement = _Statement.model_validate_json(payload)
    except ValidationError as err:
        raise VerificationError(f"invalid statement: {err}") from err
    if len(statement.subjects) != 1:
        raise VerificationError("too many subjects in statement (must be exactly one)")
    subject = statement.subjects[0]
    if not subject.name:
        raise VerificationError("invalid subject: missing name")
    try:
        subject_name = _check_dist_filename(subject.name)
    except ValueError as err:
        raise VerificationError(f"invalid subject: {err}") from err
    if subject_name != _check_dist_filename(dist.name):
        raise VerificationError(f"subject does not match distribution name: {subject.name} != {dist.name}")
    if subject.digest.root.get("sha256") != dist.digest:
        raise VerificationError("subject does not match distribution digest")
    try:
        AttestationType(statement.predicate_type)
    except ValueError as err:
        raise VerificationError(f"unknown attestation type: {statement.predicate_type}") from err
    return statement.predicate_type, statement.predicate


class _IndexPublisher(Protocol):
    """What the Warehouse stand-in's publisher offers: the identity PyPI verifies attestations against."""

    def attestation_identity(self) -> Any:
        """A `pypi_attestations` publisher."""


def warehouse_attestation_verifier(verifier: Verifier) -> Callable[[str, bytes, str, Any], None]:
    """A Warehouse-stand-in `attestation_verifier` that verifies uploads against `verifier`'s trust root.

    Mirrors Warehouse's upload checks: every attestation verifies for the upload's publisher and file,
    with at most one attestation per predicate type; the raised message follows Warehouse's wording.
    """

    def check(filename: str, content: bytes, attestations_json: str, publisher: _IndexPublisher) -> None:
        attestations = TypeAdapter(list[Attestation]).validate_json(attestations_json)
        dist = Distribution(name=filename, digest=hashlib.sha256(content).hexdigest())
        seen: set[str] = set()
        for attestation in attestations:
            try:
                predicate_type, _ = verify_attestation(
                    attestation, publisher.attestation_identity(), dist, verifier=verifier
                )
            except VerificationError as err:
                raise ValueError(
                    f"Could not verify the uploaded artifact using the included attestation: {err}"
                ) from err
            if predicate_type in seen:
                raise ValueError(f"Multiple attestations for the same predicate type found: {predicate_type}")
            seen.add(predicate_type)

    return check
