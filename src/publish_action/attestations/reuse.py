"""Reusing the attestation files already next to the distributions, when each verifies for this publish."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from publish_action.attestations.model import AnyPublisherIdentity, AttestedFile, attestation_path
from publish_action.attestations.trust import SigstoreTrust
from publish_action.attestations.verification import (
    REUSE_FIX,
    Unfit,
    form_value,
    read_attestation,
    verify_attestation,
)
from publish_action.errors import AttestationError

if TYPE_CHECKING:
    from publish_action.dists import Distribution

logger = logging.getLogger("publish_action")


def reuse(
    dists: Sequence[Distribution], publisher: AnyPublisherIdentity, trust: SigstoreTrust
) -> dict[str, AttestedFile]:
    """Verify the existing attestation of each of ``dists``; all problems are raised together."""
    verifier = trust.verifier()
    reused: dict[str, AttestedFile] = {}
    problems: list[str] = []
    for dist in dists:
        path = attestation_path(dist.path)
        try:
            attestation = read_attestation(path)
            verify_attestation(
                attestation, filename=dist.filename, sha256=dist.hashes.sha256, publisher=publisher, verifier=verifier
            )
        except Unfit as exc:
            problems.append(f"{path}: {exc}")
            continue
        reused[dist.filename] = AttestedFile("reused", path, form_value(attestation))
        logger.info("%s: reusing %s (verified for %s)", dist.filename, path.name, publisher.describe())
    if problems:
        raise AttestationError(
            "Existing attestations do not fit this publish",
            f"{len(problems)} attestation file(s) next to the distributions would be refused by the index; "
            "nothing was signed or uploaded.",
            REUSE_FIX,
            problems=problems,
        )
    return reused
