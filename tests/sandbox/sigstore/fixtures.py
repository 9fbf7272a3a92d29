"""pytest fixtures for the loopback Sigstore.

- `sigstore_token_issuer`: a `LocalTokenIssuer` (RSA key + GitHub-shaped JWTs) for self-contained tests.
- `make_sigstore_sandbox(token_keys=None, **options)`: start a `LoopbackSigstore` trusting `token_keys`
  (a JWKS dict, or a zero-argument callable returning one, e.g. the OIDC issuer stand-in's bound
  `jwks` method); without it, trusting `sigstore_token_issuer`. Every sandbox is stopped at teardown.
- `sigstore_sandbox`: one started sandbox trusting `sigstore_token_issuer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.sandbox.sigstore._fulcio import KeySource
from tests.sandbox.sigstore._sandbox import LoopbackSigstore
from tests.sandbox.sigstore._tokens import LocalTokenIssuer

MakeSigstoreSandbox = Callable[..., LoopbackSigstore]


@pytest.fixture(scope="session")
def sigstore_token_issuer() -> LocalTokenIssuer:
    """A token signer with GitHub's issuer string and claim set (RSA key generated once per session)."""
    return LocalTokenIssuer()


@pytest.fixture
def make_sigstore_sandbox(
    sigstore_token_issuer: LocalTokenIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakeSigstoreSandbox]:
    """Factory: `make_sigstore_sandbox(token_keys=None, **LoopbackSigstore options)` → started sandbox."""
    started: list[LoopbackSigstore] = []

    def make(token_keys: KeySource | None = None, **options: Any) -> LoopbackSigstore:
        options.setdefault("workdir", tmp_path_factory.mktemp("sigstore-sandbox"))
        sandbox = LoopbackSigstore(token_keys if token_keys is not None else sigstore_token_issuer.jwks(), **options)
        started.append(sandbox)
        return sandbox.start()

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sigstore_sandbox(make_sigstore_sandbox: MakeSigstoreSandbox) -> LoopbackSigstore:
    """A started loopback Sigstore trusting `sigstore_token_issuer`'s tokens."""
    return make_sigstore_sandbox()
