"""The offline world: loopback stand-ins for GitHub's OIDC issuer and PyPI (Warehouse).

Importable (``from tests.sandbox import OIDCIssuer, Warehouse``), usable as pytest fixtures
(``tests/sandbox/fixtures.py``) and runnable as a process (``python -m tests.sandbox``). The Sigstore
stand-in lives in ``tests/sandbox/sigstore``. See ``tests/sandbox/README.md``.
"""

from __future__ import annotations

from tests.sandbox._http import Fault, FaultPlan, RequestLog, RequestRecord
from tests.sandbox.oidc_issuer import GITHUB_ISSUER, GitHubClaims, IssuedToken, OIDCIssuer
from tests.sandbox.warehouse import (
    ApiToken,
    AttestationRejected,
    AttestationVerifier,
    GitHubPublisher,
    StoredFile,
    Warehouse,
)

__all__ = [
    "GITHUB_ISSUER",
    "ApiToken",
    "AttestationRejected",
    "AttestationVerifier",
    "Fault",
    "FaultPlan",
    "GitHubClaims",
    "GitHubPublisher",
    "IssuedToken",
    "OIDCIssuer",
    "RequestLog",
    "RequestRecord",
    "StoredFile",
    "Warehouse",
]
