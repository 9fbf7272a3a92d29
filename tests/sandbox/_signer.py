"""What every token issuer stand-in shares: an RS256 key with its key id, the JWKS and discovery documents,
signing (each token registered with the secret canary) and the record of the tokens issued.

GitHub's issuer, GitLab's, Google's metadata server and the Sigstore sandbox's own minter all build on
:class:`TokenSigner`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests import canary

# One RSA key per process is enough for honesty (every issuer still gets its own kid and can be given its
# own key) and keeps fixture set-up fast: key generation is the slowest part of starting an issuer.
_KEY_LOCK = threading.Lock()
_SHARED_KEY: rsa.RSAPrivateKey | None = None


def shared_key() -> rsa.RSAPrivateKey:
    """The process's one 2048-bit RSA signing key, made on first use."""
    global _SHARED_KEY
    with _KEY_LOCK:
        if _SHARED_KEY is None:
            _SHARED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _SHARED_KEY


@dataclass(frozen=True)
class IssuedToken:
    """One JWT the issuer handed out, with its claims (for assertions and secret canaries)."""

    token: str
    claims: Mapping[str, Any]

    @property
    def audience(self) -> Any:
        """The ``aud`` claim."""
        return self.claims.get("aud")


class TokenSigner:
    """An RS256 signer with a key id, the record of what it issued, and its key set."""

    def __init__(self, *, origin: str, key: rsa.RSAPrivateKey | None = None, kid: str | None = None) -> None:
        self.key = key or shared_key()
        self.kid = kid or secrets.token_hex(16)
        #: How the canary names this issuer when one of its tokens shows up.
        self.origin = origin
        self._issued_lock = threading.Lock()
        self._issued: list[IssuedToken] = []

    @property
    def issued(self) -> list[IssuedToken]:
        """Every token issued so far, oldest first."""
        with self._issued_lock:
            return list(self._issued)

    @property
    def issued_tokens(self) -> list[str]:
        """The raw JWTs issued so far (use them as secret canaries in logs and outputs)."""
        return [t.token for t in self.issued]

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set with this issuer's public key."""
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def discovery(self, issuer: str, jwks_uri: str, **fields: Any) -> dict[str, Any]:
        """An OpenID discovery document naming ``issuer`` and this signer's key set at ``jwks_uri``."""
        return {"issuer": issuer, "jwks_uri": jwks_uri, "id_token_signing_alg_values_supported": ["RS256"], **fields}

    def sign(self, payload: Mapping[str, Any], *, kid: str | None = None) -> str:
        """Sign any claim set with this issuer's key (forged-token tests); not recorded in :attr:`issued`."""
        token = jwt.encode(dict(payload), self.key, algorithm="RS256", headers={"kid": kid or self.kid})
        canary.register(token, canary.OIDC_JWT, self.origin)
        return token

    def issue(self, payload: Mapping[str, Any]) -> str:
        """Sign ``payload`` and record it in :attr:`issued`, as the issuer's endpoint does."""
        token = self.sign(payload)
        with self._issued_lock:
            self._issued.append(IssuedToken(token=token, claims=payload))
        return token


__all__ = ["IssuedToken", "TokenSigner", "shared_key"]
