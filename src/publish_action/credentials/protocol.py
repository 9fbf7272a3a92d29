"""What every credential is to the rest of the run: :class:`Credential`, the one protocol the orchestrator
and the uploader speak to (they never ask which kind they hold)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from publish_action.dists import Distribution
    from publish_action.identity.claims import Claims
    from publish_action.index import ProjectPage
from publish_action.identity.github import GitHubContext

CredentialKind = Literal["password", "token", "trusted-publishing"]
#: Why an index refused a credential: ``scope`` (not allowed to upload to this project) or ``credentials``.
Refusal = Literal["scope", "credentials"]


@dataclass(frozen=True)
class SigningIdentity:
    """Who attestations are signed as: the claims of the job's OIDC token, and its GitHub context."""

    claims: Claims
    context: GitHubContext


class Credential(Protocol):
    """Something that yields HTTP basic-auth values for one upload attempt, and says what it is.

    ``basic_auth`` is called right before each attempt so a short-lived credential can renew itself.
    """

    @property
    def kind(self) -> CredentialKind:
        """Which kind of credential this is, for the report."""
        ...

    @property
    def label(self) -> str:
        """What the report calls this credential, true to what happened to it so far."""
        ...

    @property
    def obtained_by(self) -> str | None:
        """How :meth:`prepare` obtains the credential from the index (its log group's title), or None when
        nothing is asked for."""
        ...

    @property
    def from_trusted_publisher(self) -> bool:
        """Whether the index sees uploads made by a trusted publisher (some index rules are theirs alone)."""
        ...

    @property
    def signing_identity(self) -> SigningIdentity | None:
        """The identity attestations are signed as; None where attestations cannot be made."""
        ...

    @property
    def remarks(self) -> list[str]:
        """Notices about the credential's end (a revocation that did not work); never errors."""
        ...

    def prepare(self, pages: Mapping[str, ProjectPage], *, dry_run: bool, attestations: bool) -> list[str]:
        """Get ready for the uploads, given the looked-up projects; return notices for the report."""
        ...

    def basic_auth(self) -> tuple[str, str]:
        """User name and secret for this attempt. The secret is revealed only for the request header."""
        ...

    def fix_for(self, refusal: Refusal) -> str:
        """What to change when the index refused this credential (``refusal`` says how)."""
        ...

    def refusal_hint(self, message: str, dist: Distribution) -> str | None:
        """What to do about an upload refusal that only this kind of credential meets, or None."""
        ...

    def close(self) -> None:
        """Release the credential when the uploads are over (for example, burn a minted token)."""
        ...


__all__ = ["Credential", "CredentialKind", "Refusal", "SigningIdentity"]
