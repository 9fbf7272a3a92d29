"""The whole offline world at once: an identity provider's stand-in, Warehouse and loopback Sigstore, wired.

``provider`` picks the identity the run has: ``"github"`` (GitHub Actions' OIDC issuer, the default),
``"gitlab"`` (a GitLab CI/CD job's ``id_tokens:``) or ``"google"`` (the Google Cloud metadata server). The
Warehouse trusts that provider's tokens and has its publisher registered for the project; Sigstore issues
certificates for it; the Warehouse verifies uploaded attestations against the loopback Sigstore's trust root
and the publisher that minted the upload token, as PyPI does with production Sigstore.
``World.action_env()`` is everything that job plus the action's inputs would put in the environment of
``python -m publish_action``. Used by the README's demo, the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.sandbox.fixtures import start_sandbox
from tests.sandbox.gitlab_issuer import GITLAB_ISSUER, GitLabClaims, GitLabIssuer
from tests.sandbox.google_metadata import GOOGLE_ISSUER, GoogleClaims, GoogleMetadataServer
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.sigstore import LoopbackSigstore
from tests.sandbox.warehouse import GitLabPublisher, GooglePublisher, Publisher, Warehouse

SIGSTORE_TRUST_CONFIG_ENV = "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG"

Provider = Literal["github", "gitlab", "google"]
#: The GitLab publisher the default ``GitLabClaims`` match.
DEFAULT_GITLAB_PUBLISHER = GitLabPublisher("octo-group", "sandbox-demo", ".gitlab-ci.yml", "pypi")
#: The Google publisher the default ``GoogleClaims`` match.
DEFAULT_GOOGLE_PUBLISHER = GooglePublisher(GoogleClaims().email)

Issuer = OIDCIssuer | GitLabIssuer | GoogleMetadataServer


@dataclass
class World:
    """The three stand-ins of one offline run."""

    issuer: Issuer
    warehouse: Warehouse
    sigstore: LoopbackSigstore
    provider: Provider = "github"

    def job_env(self) -> dict[str, str]:
        """The provider's job environment alone (GitLab: fresh ``PYPI_ID_TOKEN``/``SIGSTORE_ID_TOKEN``)."""
        return job_env(self.issuer, self.warehouse.audience)

    def action_env(self, **inputs: str) -> dict[str, str]:
        """The job's variables, the sandbox's Sigstore trust config, and ``INPUT_*`` for the given inputs.

        Input names are given in snake_case here and passed kebab-case, as GitHub does
        (``repository_url="…"`` → ``INPUT_REPOSITORY-URL``). ``repository-url`` defaults to the stand-in.
        GitLab and Google runs get no ``GITHUB_*`` variables.
        """
        return action_env(self.job_env(), self.sigstore, self.warehouse.upload_url, inputs)


def job_env(issuer: Issuer, audience: str) -> dict[str, str]:
    """What the provider's job puts in the environment (GitLab: fresh ``id_tokens:`` for ``audience`` and
    Sigstore)."""
    if isinstance(issuer, GitLabIssuer):
        return issuer.env(audiences=(audience, "sigstore"))
    return dict(issuer.env())


def action_env(
    job: Mapping[str, str], sigstore: LoopbackSigstore, repository_url: str, inputs: Mapping[str, str]
) -> dict[str, str]:
    """A job's variables, the loopback Sigstore's trust config, and ``INPUT_*`` for the inputs (snake_case
    names, passed kebab-case as GitHub does), ``repository-url`` first so the inputs may override it."""
    env = dict(job)
    env[SIGSTORE_TRUST_CONFIG_ENV] = str(sigstore.trust_config_path)
    env["INPUT_REPOSITORY-URL"] = repository_url
    for name, value in inputs.items():
        env["INPUT_" + name.replace("_", "-").upper()] = value
    return env


@contextmanager
def offline_world(
    workdir: Path,
    *,
    provider: Provider = "github",
    project: str = "sandbox-demo",
    claims: GitHubClaims | GitLabClaims | GoogleClaims | None = None,
    publisher: Publisher | None = None,
    verify_attestations: bool = True,
) -> Iterator[World]:
    """Start the provider's issuer, Warehouse and Sigstore on loopback; stop them on exit."""
    if provider == "github":
        if claims is not None and not isinstance(claims, GitHubClaims):
            raise TypeError("provider 'github' takes GitHubClaims")
        if publisher is not None:
            issuer, warehouse = start_sandbox(project=project, claims=claims, publisher=publisher)  # type: ignore[arg-type]
        else:
            issuer, warehouse = start_sandbox(project=project, claims=claims)
        try:
            sigstore = LoopbackSigstore(issuer.jwks, workdir=workdir / "sigstore").start()
        except BaseException:
            warehouse.stop()
            issuer.stop()
            raise
        yield from _run(World(issuer, warehouse, sigstore, "github"), verify_attestations)
        return

    other: GitLabIssuer | GoogleMetadataServer
    if provider == "gitlab":
        if claims is not None and not isinstance(claims, GitLabClaims):
            raise TypeError("provider 'gitlab' takes GitLabClaims")
        other, iss = GitLabIssuer(claims), GITLAB_ISSUER
        warehouse = Warehouse(gitlab_issuer=other)
        default: Publisher = DEFAULT_GITLAB_PUBLISHER
    elif provider == "google":
        if claims is not None and not isinstance(claims, GoogleClaims):
            raise TypeError("provider 'google' takes GoogleClaims")
        other, iss = GoogleMetadataServer(claims), GOOGLE_ISSUER
        warehouse = Warehouse(google_issuer=other)
        default = DEFAULT_GOOGLE_PUBLISHER
    else:
        raise ValueError(f"unknown provider {provider!r}")
    warehouse.add_publisher(project, publisher or default)
    other.start()
    try:
        warehouse.start()
        try:
            sigstore = LoopbackSigstore({iss: other.jwks}, workdir=workdir / "sigstore", issuers=(iss,)).start()
        except BaseException:
            warehouse.stop()
            raise
    except BaseException:
        other.stop()
        raise
    yield from _run(World(other, warehouse, sigstore, provider), verify_attestations)


def _run(world: World, verify_attestations: bool) -> Iterator[World]:
    try:
        if verify_attestations:
            world.warehouse.attestation_verifier = world.sigstore.attestation_verifier()
        yield world
    finally:
        try:
            world.sigstore.stop()
        finally:
            world.warehouse.stop()
            world.issuer.stop()


@pytest.fixture
def world_options() -> dict[str, Any]:
    """What :func:`world` starts the offline world with (``offline_world``'s keywords); a module overrides
    this fixture to start another project's or provider's world."""
    return {}


@pytest.fixture
def world(tmp_path: Path, world_options: dict[str, Any]) -> Iterator[World]:
    """The whole offline world on loopback (issuer, Warehouse stand-in, Sigstore), stopped after the test."""
    with offline_world(tmp_path / "world", **world_options) as started:
        yield started
