"""A user name and password, or an API token, given as inputs: used as they are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from publish_action.credentials.protocol import CredentialKind, Refusal, SigningIdentity

if TYPE_CHECKING:
    from publish_action.dists import Distribution
    from publish_action.index import ProjectPage


@dataclass
class StaticCredential:
    """A :class:`~publish_action.credentials.Credential` given as inputs."""

    user: str
    password: SecretStr

    @property
    def kind(self) -> CredentialKind:
        """``token`` for ``__token__`` users, ``password`` otherwise."""
        return "token" if self.user == "__token__" else "password"

    @property
    def label(self) -> str:
        """``API token`` or ``user name and password``."""
        return "API token" if self.kind == "token" else "user name and password"

    @property
    def obtained_by(self) -> str | None:
        """None: the user gave it."""
        return None

    @property
    def from_trusted_publisher(self) -> bool:
        """Never."""
        return False

    @property
    def signing_identity(self) -> SigningIdentity | None:
        """None: indexes take attestations from trusted publishers only."""
        return None

    @property
    def remarks(self) -> list[str]:
        """None: nothing happens to a given credential."""
        return []

    def prepare(self, pages: Mapping[str, ProjectPage], *, dry_run: bool, attestations: bool) -> list[str]:
        """Nothing to get: the credential is ready as given."""
        return []

    def basic_auth(self) -> tuple[str, str]:
        """The values as given."""
        return self.user, self.password.get_secret_value()

    def fix_for(self, refusal: Refusal) -> str:
        """Owner or scope advice for the project; otherwise check what was given."""
        if refusal == "scope":
            return (
                "make the account behind the token an owner or maintainer of the project, or create an API token "
                "scoped to this project and pass it as `password`."
            )
        if self.kind == "token":
            return (
                "check the API token in the secret passed as `password`: it must be current and scoped to this "
                "project (or the whole account)."
            )
        return "check the `user` and `password` inputs against the account on the index."

    def refusal_hint(self, message: str, dist: Distribution) -> str | None:
        """None: the index's own words say it all."""
        return None

    def close(self) -> None:
        """Nothing to release: the user owns this secret."""


__all__ = ["StaticCredential"]
