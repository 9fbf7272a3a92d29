"""pytest fixtures for the offline GitHub OIDC issuer and the Warehouse stand-in.

Registered by ``tests/conftest.py`` (``pytest_plugins``). All function-scoped: every test gets fresh
servers on free loopback ports, and they are stopped afterwards.

* ``oidc_issuer``: an :class:`~tests.sandbox.oidc_issuer.OIDCIssuer` whose default claims describe a run
  of ``octo-org/sandbox-demo``'s ``release.yml`` in environment ``pypi``.
* ``warehouse``: a :class:`~tests.sandbox.warehouse.Warehouse` (plain http) verifying that issuer's tokens,
  with the matching Trusted Publisher registered for project ``sandbox-demo``.
* ``warehouse_tls``: the same over https (a ``trustme`` CA at ``warehouse_tls.ca_path``), for clients such
  as uv that reach the Trusted Publishing endpoints over https only.
* ``github_env``: sets the runner variables of ``oidc_issuer.env()`` (OIDC request URL and token,
  ``GITHUB_*``) in ``os.environ`` for the test; returns the dict.
* ``gitlab_issuer`` / ``google_metadata``: a started :class:`~tests.sandbox.gitlab_issuer.GitLabIssuer`
  / :class:`~tests.sandbox.google_metadata.GoogleMetadataServer` with default claims.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.gitlab_issuer import GitLabIssuer
from tests.sandbox.google_metadata import GoogleMetadataServer
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.warehouse import GitHubPublisher, Warehouse

__all__ = [
    "DEFAULT_PROJECT",
    "DEFAULT_PUBLISHER",
    "github_env",
    "gitlab_issuer",
    "google_metadata",
    "oidc_issuer",
    "start_sandbox",
    "warehouse",
    "warehouse_tls",
]

#: The project the default publisher may publish.
DEFAULT_PROJECT = "sandbox-demo"
#: The Trusted Publisher the default claims match.
DEFAULT_PUBLISHER = GitHubPublisher(repository="octo-org/sandbox-demo", workflow="release.yml", environment="pypi")


def start_sandbox(
    *,
    project: str = DEFAULT_PROJECT,
    publisher: GitHubPublisher | None = DEFAULT_PUBLISHER,
    pending: bool = False,
    claims: GitHubClaims | None = None,
    tls: bool = False,
    audience: str = "pypi",
    warehouse_port: int = 0,
    issuer_port: int = 0,
) -> tuple[OIDCIssuer, Warehouse]:
    """Start an issuer and a Warehouse wired to it; the caller stops both.

    ``publisher`` is registered for ``project`` (as a pending publisher with ``pending=True``, so the
    project does not exist until the first mint); ``None`` registers none.
    """
    issuer = OIDCIssuer(claims or GitHubClaims(), port=issuer_port)
    issuer.start()
    index = Warehouse(issuer, audience=audience, tls=tls, port=warehouse_port)
    if publisher is not None:
        if pending:
            index.add_pending_publisher(project, publisher)
        else:
            index.add_publisher(project, publisher)
    try:
        index.start()
    except BaseException:
        issuer.stop()
        raise
    return issuer, index


@pytest.fixture
def oidc_issuer() -> Iterator[OIDCIssuer]:
    """A running GitHub OIDC issuer with the default claims."""
    issuer = OIDCIssuer(GitHubClaims())
    issuer.start()
    try:
        yield issuer
    finally:
        issuer.stop()


def _warehouse(issuer: OIDCIssuer, *, tls: bool) -> Iterator[Warehouse]:
    index = Warehouse(issuer, tls=tls)
    index.add_publisher(DEFAULT_PROJECT, DEFAULT_PUBLISHER)
    index.start()
    try:
        yield index
    finally:
        index.stop()
        # A bug in a handler is answered 500 to the client; fail the test loudly here too.
        assert not index.errors, f"Warehouse stand-in raised: {index.errors!r}"


@pytest.fixture
def warehouse(oidc_issuer: OIDCIssuer) -> Iterator[Warehouse]:
    """A running Warehouse (http) trusting ``oidc_issuer``, publisher registered for ``sandbox-demo``."""
    yield from _warehouse(oidc_issuer, tls=False)


@pytest.fixture
def warehouse_tls(oidc_issuer: OIDCIssuer) -> Iterator[Warehouse]:
    """Like ``warehouse`` but served over https; trust ``warehouse_tls.ca_path``."""
    yield from _warehouse(oidc_issuer, tls=True)


@pytest.fixture
def github_env(oidc_issuer: OIDCIssuer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Put the runner's OIDC and ``GITHUB_*`` variables for ``oidc_issuer`` into ``os.environ``."""
    env = oidc_issuer.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def gitlab_issuer() -> Iterator[GitLabIssuer]:
    """A running GitLab ID-token issuer with the default claims (``octo-group/sandbox-demo``)."""
    with GitLabIssuer() as issuer:
        yield issuer


@pytest.fixture
def google_metadata() -> Iterator[GoogleMetadataServer]:
    """A running Google metadata server with the default service account."""
    with GoogleMetadataServer() as server:
        yield server
