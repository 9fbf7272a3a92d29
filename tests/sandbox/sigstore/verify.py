"""Verify a PEP 740 attestation with pypi-attestations' own `Attestation.verify`, against a chosen trust root.

pypi-attestations 0.0.30's `Attestation.verify` builds its verifier itself (`Verifier.production()`, or
`Verifier.staging()`) and takes no trusted root; everything after that (sigstore-python's DSSE verification
under the publisher's own policy, then the statement checks: one subject whose name parses and equals the
distribution's, its sha256 digest, a known predicate type) is the library's code, which PyPI runs. Here only
that one construction is swapped: while :func:`production_verifier` is active, the `Verifier` name that
`pypi_attestations._impl` calls resolves to a stand-in whose `production()` returns the given verifier
(one built on the loopback Sigstore's trusted root). Nothing else of the library is replaced, so a tampered,
stale or other-publisher attestation is refused by the library's own checks.

The swap is process-wide (the Warehouse stand-in verifies in its server threads), so it is held under a lock
for the length of one verification; nested use with the same verifier is allowed.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pypi_attestations._impl as _impl
from pydantic import TypeAdapter
from pypi_attestations import Attestation, Distribution, Publisher, VerificationError
from sigstore.verify import Verifier

_LOCK = threading.RLock()
#: What Warehouse takes (``SUPPORTED_ATTESTATION_TYPES``): PyPI's publish attestation and SLSA Provenance v1.
SUPPORTED_PREDICATE_TYPES = frozenset(
    {"https://docs.pypi.org/attestations/publish/v1", "https://slsa.dev/provenance/v1"}
)


class _SandboxVerifier:
    """What `pypi_attestations._impl` sees as `Verifier` during :func:`production_verifier`."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier
        self.built = 0

    def production(self, *, offline: bool = False) -> Verifier:
        self.built += 1
        return self._verifier

    def staging(self, *, offline: bool = False) -> Verifier:
        raise AssertionError("the sandbox trust root stands in for production Sigstore, not staging")


@contextmanager
def production_verifier(verifier: Verifier) -> Iterator[_SandboxVerifier]:
    """Make pypi-attestations' `Verifier.production()` return ``verifier`` (thread-safe, restored on exit)."""
    with _LOCK:
        saved = _impl.Verifier
        shim = _SandboxVerifier(verifier)
        _impl.Verifier = shim  # type: ignore[assignment,misc]
        try:
            yield shim
        finally:
            _impl.Verifier = saved  # type: ignore[misc]


def verify_attestation(
    attestation: Attestation, publisher: Publisher, dist: Distribution, *, verifier: Verifier
) -> tuple[str, dict[str, Any] | None]:
    """`attestation.verify(publisher, dist, offline=True)` with ``verifier`` as Sigstore's production verifier.

    Raises pypi-attestations' `VerificationError` as the library does.
    """
    with production_verifier(verifier) as shim:
        result = attestation.verify(publisher, dist, offline=True)
    # If the library ever stops building its verifier through `Verifier.production()`, say so here instead of
    # silently verifying against something else.
    assert shim.built == 1, "pypi_attestations.Attestation.verify did not build its verifier via Verifier.production()"
    return result


class _IndexPublisher(Protocol):
    """What the Warehouse stand-in's publisher offers: the identity PyPI verifies attestations against."""

    def attestation_identity(self) -> Any:
        """A `pypi_attestations` publisher."""


def warehouse_attestation_verifier(verifier: Verifier) -> Callable[[str, bytes, str, Any], None]:
    """A Warehouse-stand-in `attestation_verifier` that verifies uploads against `verifier`'s trust root.

    Mirrors Warehouse's upload checks: every attestation verifies (`Attestation.verify`) for the upload's
    publisher and file, with at most one attestation per predicate type; the raised message follows
    Warehouse's wording.
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
            if predicate_type not in SUPPORTED_PREDICATE_TYPES:
                raise ValueError(f"Attestation with unsupported predicate type: {predicate_type}")
            if predicate_type in seen:
                # Warehouse's wording (warehouse/attestations/services.py).
                raise ValueError(
                    "Multiple attestations for the same file with the same predicate type "
                    f"({predicate_type}) are not supported"
                )
            seen.add(predicate_type)

    return check
