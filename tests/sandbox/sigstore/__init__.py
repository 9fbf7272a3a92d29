"""A loopback Sigstore (Fulcio, Rekor v1, RFC 3161 TSA) that sigstore-python signs against unchanged.

Start one with `LoopbackSigstore(jwks).start()` (or the `sigstore_sandbox` / `make_sigstore_sandbox`
fixtures, or `python -m tests.sandbox.sigstore`); point sigstore-python at `trust_config_path`.
"""

from __future__ import annotations

from tests.sandbox.sigstore._fulcio import (
    GITHUB_ISSUER,
    GITLAB_ISSUER,
    GOOGLE_ISSUER,
    SIGSTORE_AUDIENCE,
    FulcioError,
    KeySource,
    TokenKeys,
    github_extensions,
    gitlab_extensions,
    google_extensions,
)
from tests.sandbox.sigstore._http import RecordedRequest, ServiceControl
from tests.sandbox.sigstore._sandbox import LoopbackSigstore
from tests.sandbox.sigstore._tokens import LocalTokenIssuer, github_claims
from tests.sandbox.sigstore.verify import verify_attestation, warehouse_attestation_verifier

__all__ = [
    "GITHUB_ISSUER",
    "GITLAB_ISSUER",
    "GOOGLE_ISSUER",
    "SIGSTORE_AUDIENCE",
    "FulcioError",
    "KeySource",
    "LocalTokenIssuer",
    "LoopbackSigstore",
    "RecordedRequest",
    "ServiceControl",
    "TokenKeys",
    "github_claims",
    "github_extensions",
    "gitlab_extensions",
    "google_extensions",
    "verify_attestation",
    "warehouse_attestation_verifier",
]
