"""Credentials for the upload: a password or API token as given, or one obtained by Trusted Publishing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import SecretStr

CredentialKind = Literal["password", "token", "trusted-publishing"]


class Credential(Protocol):
    """Something that yields HTTP basic-auth values for one upload attempt.

    ``basic_auth`` is called right before each attempt so a short-lived credential can renew itself.
    """

    @property
    def kind(self) -> CredentialKind:
        """Which kind of credential this is, for the report."""
        ...

    def basic_auth(self) -> tuple[str, str]:
        """User name and secret for this attempt. The secret is revealed only for the request header."""
        ...

    def close(self) -> None:
        """Release the credential when the uploads are over (for example, burn a minted token)."""
        ...


@dataclass
class StaticCredential:
    """A user name and password or API token given as inputs."""

    user: str
    password: SecretStr

    @property
    def kind(self) -> CredentialKind:
        """``token`` for ``__token__`` users, ``password`` otherwise."""
        return "token" if self.user == "__token__" else "password"

    def basic_auth(self) -> tuple[str, str]:
        """The values as given."""
        return self.user, self.password.get_secret_value()

    def close(self) -> None:
        """Nothing to release: the user owns this secret."""
