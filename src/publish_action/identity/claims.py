"""An OIDC token's claims, read without verifying the token (the index verifies it)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class Claims:
    """The non-secret claims of an OIDC token, or what a job's variables say a token would carry."""

    values: Mapping[str, object]

    @classmethod
    def from_token(cls, token: SecretStr) -> Claims:
        """Decode the payload of a JWT; an unreadable one gives no claims rather than an error."""
        try:
            payload = token.get_secret_value().split(".")[1]
            decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return cls({})
        return cls(decoded if isinstance(decoded, dict) else {})

    def get(self, name: str) -> str | None:
        """A claim as text, or ``None`` when absent."""
        value = self.values.get(name)
        return None if value is None else str(value)

    @property
    def expires_at(self) -> float | None:
        """The ``exp`` claim."""
        value = self.values.get("exp")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def workflow_file(self) -> str | None:
        """The workflow file the job runs (from ``job_workflow_ref``), as a trusted publisher names it."""
        return workflow_file(self.get("job_workflow_ref"))

    @property
    def calling_workflow_file(self) -> str | None:
        """The top-level workflow (from ``workflow_ref``); the signing certificate names this one."""
        return workflow_file(self.get("workflow_ref"))

    def reusable_workflow_mismatch(self) -> str:
        """Why attestations made in a reusable workflow are refused: the one explanation of it."""
        return (
            f"this job runs the reusable workflow {self.get('job_workflow_ref')} called from "
            f"{self.get('workflow_ref')}. The index checks the token and the attestations against the trusted "
            f"publisher's workflow ({self.workflow_file}), the reusable one, but Sigstore certificates name the "
            f"calling workflow ({self.calling_workflow_file}), so the index would refuse every attestation made here"
        )

    @property
    def reusable_workflow(self) -> bool:
        """True when the job runs a called (reusable) workflow other than the top-level one."""
        job_ref = _strip_ref(self.get("job_workflow_ref"))
        top_ref = _strip_ref(self.get("workflow_ref"))
        return bool(job_ref and top_ref and job_ref != top_ref)


def workflow_file(ref: str | None) -> str | None:
    """``owner/repo/.github/workflows/release.yml@refs/heads/main`` → ``release.yml``."""
    path = _strip_ref(ref)
    return path.rsplit("/", 1)[-1] if path else None


def _strip_ref(ref: str | None) -> str | None:
    return ref.split("@", 1)[0] if ref else None


__all__ = ["Claims", "workflow_file"]
