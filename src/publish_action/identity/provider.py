"""What every CI provider has: its names, the trusted-publisher fields its tokens give, how to tell from the
job's variables what its token would carry, and a detector that answers with a value, never by raising.

A detector's answer is :class:`NotHere` (the provider does not run this job), :class:`Token` (here, with a
token for the audience) or :class:`Broken` (here, but no token: why, and the provider's own fix).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from publish_action.http import TransientError, transient_reason
from publish_action.identity.claims import Claims
from publish_action.redact import outside_text

#: The audience of the OIDC token Sigstore's Fulcio takes for a signing certificate.
SIGSTORE_AUDIENCE = "sigstore"

#: One field of a trusted publisher: the label on the index's form, the form's field name, the token's value.
PublisherField = tuple[str, str, str | None]


@dataclass(frozen=True)
class NotHere:
    """The provider does not run this job."""


@dataclass(frozen=True)
class Token:
    """The provider runs this job and gave a token for the audience."""

    provider: Provider
    token: SecretStr


@dataclass(frozen=True)
class Broken:
    """The provider runs this job but gives no token: what, why, and the provider's own fix."""

    provider: Provider
    title: str
    cause: str
    fix: str


Detection = NotHere | Token | Broken
#: ``(audience, the job's variables, the run's HTTP client)`` → the provider's answer.
Detector = Callable[[str, Mapping[str, str], httpx.Client], Detection]


@dataclass(frozen=True)
class Provider:
    """What differs between CI providers, so that callers need no branch per provider."""

    name: str
    #: ``provider=`` in PyPI's trusted-publisher forms (Warehouse's ``manage_project_oidc_publishers_prefill``).
    form_name: str
    #: The publisher's fields from a token's claims, in the form's order; ``None`` where the token lacks it.
    fields: Callable[[Claims], list[PublisherField]]
    #: What an optional field being empty means, by form field name.
    optional: Mapping[str, str]
    #: The token's claims that decide a publisher match, shown (none is secret) when the index refuses it.
    diagnostic_claims: tuple[str, ...]
    #: How to read the publisher's fields, for the fix of a refused exchange.
    field_guide: str
    #: Its token for an audience, asked of the job's environment (and the network where it must be).
    detect: Detector
    #: What the job's variables say its token would carry, or ``None`` when this provider does not run the job.
    environ_claims: Callable[[Mapping[str, str]], Claims | None]
    #: True when the detector reads only the job's variables (no request), so it can be asked ahead.
    offline: bool = False

    def claims_table(self, claims: Claims) -> list[str]:
        """``name: value`` lines for the claims that decide a publisher match; MISSING where absent."""
        return [f"{name}: {claims.get(name) or 'MISSING'}" for name in self.diagnostic_claims]

    def publisher_fields(self, claims: Claims) -> list[str]:
        """``label: value`` lines: what a trusted publisher on the index must say to match this token."""
        return [f"{label}: {value or self.optional.get(name, 'MISSING')}" for label, name, value in self.fields(claims)]

    def form_url(self, web_root: str, project: str, claims: Claims) -> str:
        """The project's trusted-publisher form on the index, pre-filled from the token's claims."""
        query = {"provider": self.form_name} | {name: value or "" for _, name, value in self.fields(claims)}
        return f"{web_root}/manage/project/{project}/settings/publishing/?{urlencode(query)}"


#: What an empty environment field means on GitHub's and GitLab's forms.
ANY_ENVIRONMENT = {"environment": "(any) — the job has no environment"}


class TransientOIDCError(TransientError):
    """The CI provider's token endpoint failed in a way worth retrying; ``response`` is its answer, if any."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response

    def __str__(self) -> str:
        return f"the CI provider's token endpoint failed ({super().__str__()})"


class TransientTokenError(TransientOIDCError):
    """A provider's token endpoint failed in a way worth retrying."""


def get_token_answer(client: httpx.Client, url: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    """GET a provider's token endpoint; transport failures and retryable statuses raise
    :class:`TransientTokenError` (the caller's retries apply), any other answer is returned."""
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.TransportError as exc:
        raise TransientTokenError(f"{type(exc).__name__}: {outside_text(str(exc), 200)}") from exc
    if transient_reason(response) is not None:
        raise TransientTokenError(f"HTTP {response.status_code}", response=response)
    return response


__all__ = [
    "ANY_ENVIRONMENT",
    "SIGSTORE_AUDIENCE",
    "Broken",
    "Detection",
    "Detector",
    "NotHere",
    "Provider",
    "PublisherField",
    "Token",
    "TransientOIDCError",
    "TransientTokenError",
    "get_token_answer",
]
