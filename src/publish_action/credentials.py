"""Credentials for the upload: a password or API token as given, or one obtained by Trusted Publishing.

:func:`choose_credential` picks one from the inputs, refuses the combinations an index would refuse, and
returns the nudges a maintainer should see (an API token where Trusted Publishing would do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import SecretStr

from publish_action.errors import AuthenticationError

if TYPE_CHECKING:
    import httpx

    from publish_action.index import Index
    from publish_action.settings import Settings

CredentialKind = Literal["password", "token", "trusted-publishing"]


class Credential(Protocol):
    """Something that yields HTTP basic-auth values for one upload attempt.

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

    @property
    def label(self) -> str:
        """``API token`` or ``user name and password``."""
        return "API token" if self.kind == "token" else "user name and password"

    def basic_auth(self) -> tuple[str, str]:
        """The values as given."""
        return self.user, self.password.get_secret_value()

    def close(self) -> None:
        """Nothing to release: the user owns this secret."""


def choose_credential(
    settings: Settings,
    client: httpx.Client,
    index: Index,
    *,
    mask: Callable[[str], None],
    projects: Sequence[str],
) -> tuple[Credential, list[str]]:
    """Trusted Publishing when no password is given (and the user is ``__token__``), else the inputs.

    Nothing is requested yet: wrong combinations are refused before any request. Returns the credential
    and the notices for the report.
    """
    from publish_action.oidc import Claims
    from publish_action.providers import publisher_form_url
    from publish_action.trusted import TrustedPublishing

    if settings.trusted_publishing:
        trusted = TrustedPublishing(client=client, index=index, mask=mask, projects=list(projects))
        trusted.check()
        return trusted, []
    on_pypi = index.kind in ("pypi", "testpypi")
    if settings.user != "__token__":
        if on_pypi:
            raise AuthenticationError(
                f"{index.display_name} does not accept passwords for uploads",
                f"`user` is '{settings.user}' with a password; {index.display_name} disabled password uploads "
                "and takes only API tokens or Trusted Publishing.",
                "remove `user` and `password` to use Trusted Publishing (recommended), or set `password` to an "
                "API token from a secret and leave `user` at its default `__token__`.",
            )
        return StaticCredential(settings.user, settings.password), []
    notices = []
    if not settings.password.get_secret_value().startswith("pypi-"):
        notices.append(
            "The password does not look like a PyPI API token (they start with 'pypi-'); with `user: __token__` "
            "indexes expect an API token."
        )
    if on_pypi:
        claims = Claims.from_environ()
        web_root = index.web_url or index.origin
        links = ", ".join(publisher_form_url(web_root, project, claims, existing_project=True) for project in projects)
        notices.append(
            f"Publishing to {index.display_name} with an API token. Trusted Publishing needs no stored secret "
            f"and adds attestations: add a trusted publisher ({links}), give the job `id-token: write`, and drop "
            "`password`."
        )
    return StaticCredential(settings.user, settings.password), notices
