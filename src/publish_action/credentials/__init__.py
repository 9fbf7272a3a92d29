"""Credentials for the upload: a password or API token as given, or one obtained by Trusted Publishing.

:func:`choose_credential` picks one from the inputs, refuses the combinations an index would refuse, and
returns the nudges a maintainer should see (an API token where Trusted Publishing would do). The rest of the
run speaks to the :class:`Credential` protocol (``protocol.py``) alone; ``static.py`` and ``trusted.py`` are
its two kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from publish_action.credentials.protocol import Credential, CredentialKind, Refusal, SigningIdentity
from publish_action.credentials.static import StaticCredential
from publish_action.credentials.trusted import TrustedPublishing
from publish_action.errors import AuthenticationError
from publish_action.identity import claims_from_environ, publisher_form_url

if TYPE_CHECKING:
    import httpx

    from publish_action.index import Index
    from publish_action.settings import Settings


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
        claims = claims_from_environ()
        web_root = index.web_url or index.origin
        links = ", ".join(publisher_form_url(web_root, project, claims, existing_project=True) for project in projects)
        notices.append(
            f"Publishing to {index.display_name} with an API token. Trusted Publishing needs no stored secret "
            f"and adds attestations: add a trusted publisher ({links}), give the job `id-token: write`, and drop "
            "`password`."
        )
    return StaticCredential(settings.user, settings.password), notices


__all__ = [
    "Credential",
    "CredentialKind",
    "Refusal",
    "SigningIdentity",
    "StaticCredential",
    "TrustedPublishing",
    "choose_credential",
]
