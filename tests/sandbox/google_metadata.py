"""An offline stand-in for the Google Cloud metadata server's identity-token endpoint.

A workload on Compute Engine, Cloud Build, Cloud Run … asks
``GET http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity
?audience=<aud>&format=full`` with ``Metadata-Flavor: Google`` and gets a Google-signed ID token for its
service account as a plain-text body. The tokens here are RS256 with ``iss`` ``https://accounts.google.com``
(Google's exactly), so verifiers must be handed this server's JWKS. ``GCE_METADATA_HOST`` (google-auth's
override of the metadata host) points clients at it.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox._http import LoopbackServer, Request, Response
from tests.sandbox._signer import TokenSigner

__all__ = ["GOOGLE_ISSUER", "IDENTITY_PATH", "GoogleClaims", "GoogleMetadataServer"]

#: The issuer of Google's ID tokens (Warehouse keys its Google service on it).
GOOGLE_ISSUER = "https://accounts.google.com"
#: The identity endpoint of the default service account.
IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"


@dataclass(frozen=True)
class GoogleClaims:
    """The service account a metadata server speaks for; every token it signs describes it.

    ``sub`` is the account's numeric unique id (also sent as ``azp``). ``extra`` adds or overrides raw
    claims (``None`` removes one).
    """

    email: str = "sandbox-publisher@sandbox-demo.iam.gserviceaccount.com"
    sub: str = "104729036612345678901"
    email_verified: bool = True
    project_id: str = "sandbox-demo"
    project_number: str = "123456789012"
    zone: str = "us-central1-a"
    instance_id: str = "4242424242424242424"
    instance_name: str = "publisher-vm"
    #: Google's ID tokens live one hour.
    lifetime: int = 3600
    clock_offset: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> GoogleClaims:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def payload(self, audience: str, *, full: bool = True, now: int | None = None) -> dict[str, Any]:
        """One token's claims: ``format=standard`` has no ``email``/``email_verified``, ``full`` has them."""
        issued_at = int(time.time() if now is None else now) + self.clock_offset
        claims: dict[str, Any] = {
            "aud": audience,
            "azp": self.sub,
            "exp": issued_at + self.lifetime,
            "iat": issued_at,
            "iss": GOOGLE_ISSUER,
            "sub": self.sub,
        }
        if full:
            claims["email"] = self.email
            claims["email_verified"] = self.email_verified
            claims["google"] = {
                "compute_engine": {
                    "instance_creation_timestamp": issued_at - 86400,
                    "instance_id": self.instance_id,
                    "instance_name": self.instance_name,
                    "project_id": self.project_id,
                    "project_number": int(self.project_number),
                    "zone": self.zone,
                }
            }
        for name, value in self.extra.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims


class GoogleMetadataServer(TokenSigner, LoopbackServer):
    """The metadata server's identity endpoint on 127.0.0.1 (plain http, as the real one).

    Endpoint names (for :attr:`faults` and :attr:`requests`): ``identity``, ``unknown``.
    """

    def __init__(
        self,
        claims: GoogleClaims | None = None,
        *,
        key: rsa.RSAPrivateKey | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        LoopbackServer.__init__(self, self._route, host=host, port=port, tls=False)
        TokenSigner.__init__(self, origin="the Google metadata server", key=key, kid=secrets.token_hex(20))
        #: The service account the tokens describe; assign a new value to change later tokens.
        self.claims = claims or GoogleClaims()
        #: ``False``: the machine has no service account attached (``--no-service-account``), and the identity
        #: endpoint answers 404 after the header check and issues nothing; changeable any time.
        self.service_account = True

    @property
    def issuer(self) -> str:
        """The ``iss`` of the tokens (Google's)."""
        return GOOGLE_ISSUER

    @property
    def host_port(self) -> str:
        """``127.0.0.1:<port>``: the value of ``GCE_METADATA_HOST``."""
        return f"{self.host}:{self.port}"

    @property
    def identity_url(self) -> str:
        """The identity endpoint's URL (without query)."""
        return f"{self.url}{IDENTITY_PATH}"

    def env(self) -> dict[str, str]:
        """What points a client at this server: ``GCE_METADATA_HOST=127.0.0.1:<port>``."""
        return {"GCE_METADATA_HOST": self.host_port}

    def token(self, audience: str = "pypi", *, full: bool = True, claims: GoogleClaims | None = None) -> str:
        """One identity token for ``audience``, as the endpoint answers it; recorded."""
        return self.issue((claims or self.claims).payload(audience, full=full))

    def _route(self, request: Request) -> tuple[str, Any]:
        if request.path == IDENTITY_PATH:
            return "identity", lambda: self._identity(request)
        return "unknown", lambda: _text(404, "Not Found\n")

    def _identity(self, request: Request) -> Response:
        if request.method != "GET":
            return _text(405, "Method Not Allowed\n")
        # The real server refuses any request without the header (and any with X-Forwarded-For).
        if request.header("Metadata-Flavor") != "Google" or request.header("X-Forwarded-For") is not None:
            return _text(403, 'Missing required header "Metadata-Flavor": "Google"\n')
        if not self.service_account:
            return _text(404, "Not Found\n")
        audience = request.query_one("audience")
        if not audience:
            return _text(400, "non-empty audience parameter required\n")
        token_format = request.query_one("format") or "standard"
        if token_format not in ("standard", "full"):
            return _text(400, "invalid format parameter\n")
        return _text(200, self.token(audience, full=token_format == "full"))

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<GoogleMetadataServer {state} email={self.claims.email}>"


def _text(status: int, body: str) -> Response:
    return Response(status, body.encode(), content_type="application/text", headers={"Metadata-Flavor": "Google"})
