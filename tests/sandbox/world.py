"""The whole offline world at once: GitHub OIDC issuer, Warehouse stand-in and loopback Sigstore, wired.

The Warehouse verifies uploaded attestations against the loopback Sigstore's trust root and the publisher
that minted the upload token, as PyPI does with production Sigstore. ``World.action_env()`` is everything
a GitHub runner plus the action's inputs would put in the environment of ``python -m publish_action``.
Used by the README's demo, the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.sandbox.fixtures import start_sandbox
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.sigstore import LoopbackSigstore
from tests.sandbox.warehouse import GitHubPublisher, Warehouse

SIGSTORE_TRUST_CONFIG_ENV = "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG"


@dataclass
class World:
    """The three stand-ins of one offline run."""

    issuer: OIDCIssuer
    warehouse: Warehouse
    sigstore: LoopbackSigstore

    def action_env(self, **inputs: str) -> dict[str, str]:
        """Runner variables, the sandbox's Sigstore trust config, and ``INPUT_*`` for the given inputs.

        Input names are given in snake_case here and passed kebab-case, as GitHub does
        (``repository_url="…"`` → ``INPUT_REPOSITORY-URL``). ``repository-url`` defaults to the stand-in.
        """
        env = dict(self.issuer.env())
        env[SIGSTORE_TRUST_CONFIG_ENV] = str(self.sigstore.trust_config_path)
        env["INPUT_REPOSITORY-URL"] = self.warehouse.upload_url
        for name, value in inputs.items():
            env["INPUT_" + name.replace("_", "-").upper()] = value
        return env


@contextmanager
def offline_world(
    workdir: Path,
    *,
    project: str = "sandbox-demo",
    claims: GitHubClaims | None = None,
    publisher: GitHubPublisher | None = None,
    verify_attestations: bool = True,
) -> Iterator[World]:
    """Start issuer, Warehouse and Sigstore on loopback; stop them on exit."""
    if publisher is not None:
        issuer, warehouse = start_sandbox(project=project, claims=claims, publisher=publisher)
    else:
        issuer, warehouse = start_sandbox(project=project, claims=claims)
    try:
        sigstore = LoopbackSigstore(issuer.jwks, workdir=workdir / "sigstore").start()
        try:
            if verify_attestations:
                warehouse.attestation_verifier = sigstore.attestation_verifier()
            yield World(issuer, warehouse, sigstore)
        finally:
            sigstore.stop()
    finally:
        warehouse.stop()
        issuer.stop()
