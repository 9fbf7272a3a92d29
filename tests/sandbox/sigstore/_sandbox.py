"""`LoopbackSigstore`: Fulcio, Rekor v1 and a TSA on 127.0.0.1, plus the client trust config naming them."""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.sandbox._http import FaultPlan
from tests.sandbox.sigstore._fulcio import (
    DEFAULT_CERT_LIFETIME,
    GITHUB_ISSUER,
    CTLog,
    Fulcio,
    FulcioError,
    TokenKeys,
    parse_signing_cert_request,
    signing_cert_response,
)
from tests.sandbox.sigstore._http import HttpResponse, LoopbackServer, ServiceControl
from tests.sandbox.sigstore._pki import SigstoreKeys, key_id
from tests.sandbox.sigstore._rekor import RekorError, RekorLog
from tests.sandbox.sigstore._tsa import TimestampAuthority, TimestampError

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig, TrustedRoot
    from sigstore.verify import Verifier

# Media types sigstore-python 4.5.1 accepts (sigstore/models.py).
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
OPERATOR = "sandbox.publish-action.invalid"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _der_cert(cert: x509.Certificate) -> dict[str, str]:
    return {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}


def _transparency_log(base_url: str, key: ec.EllipticCurvePublicKey, start: datetime) -> dict[str, Any]:
    return {
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": _b64(
                key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            ),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": _timestamp(start)},
        },
        "logId": {"keyId": _b64(key_id(key))},
    }


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


class LoopbackSigstore:
    """A private Sigstore instance for tests: real protocols, fresh keys, faults on demand.

    `token_keys` verifies the OIDC tokens Fulcio is handed: a JWKS dict or a zero-argument callable
    returning one, or a mapping `{issuer: JWKS or callable}` (a token's keys chosen by its `iss`). `issuers`
    are the `iss` values Fulcio accepts; GitLab (`https://gitlab.com`) and Google
    (`https://accounts.google.com`) tokens get Fulcio's GitLab and e-mail certificates. After `start()` (or entering the context manager) the services listen on 127.0.0.1
    and `trust_config_path` names a client trust config for `sigstore.models.ClientTrustConfig.from_json`.
    Fault hooks: `fulcio`, `rekor` and `tsa` are `ServiceControl`s (`latency`, `fail_next`, `drop_next`,
    `requests`); `faults` is the `FaultPlan` the three share, with the service names as endpoint names:
    `sigstore.faults.add("rekor", Fault(kind="reset", times=1))`, as for the Warehouse stand-in.
    """

    def __init__(
        self,
        token_keys: TokenKeys,
        *,
        workdir: Path | None = None,
        cert_lifetime: timedelta = DEFAULT_CERT_LIFETIME,
        issuers: tuple[str, ...] = (GITHUB_ISSUER,),
        oidc_url: str | None = None,
    ) -> None:
        """Generate keys and bind the three servers; nothing is served before `start()`."""
        self.keys = SigstoreKeys.generate()
        self.ct_log = CTLog(self.keys.ct_log_key)
        self.ca = Fulcio(
            root=self.keys.fulcio_root,
            intermediate=self.keys.fulcio_intermediate,
            ct_log=self.ct_log,
            token_keys=token_keys,
            issuers=issuers,
            cert_lifetime=cert_lifetime,
        )
        self.log = RekorLog(self.keys.rekor_key)
        self.timestamp_authority = TimestampAuthority(self.keys.tsa_leaf, [self.keys.tsa_leaf, self.keys.tsa_root])
        #: Faults of all three services, by endpoint name `fulcio`, `rekor`, `tsa` (see tests/sandbox/_http.py).
        self.faults = FaultPlan()
        self.fulcio = ServiceControl("fulcio", faults=self.faults)
        self.rekor = ServiceControl("rekor", faults=self.faults)
        self.tsa = ServiceControl("tsa", faults=self.faults)
        self._servers = [
            LoopbackServer(self.fulcio, self._handle_fulcio),
            LoopbackServer(self.rekor, self._handle_rekor),
            LoopbackServer(self.tsa, self._handle_tsa),
        ]
        self._oidc_url = oidc_url
        self._own_workdir: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._own_workdir = tempfile.TemporaryDirectory(prefix="sigstore-sandbox-")
            workdir = Path(self._own_workdir.name)
        self.workdir = workdir
        self.trust_config_path = self.workdir / "trust_config.json"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LoopbackSigstore:
        """Serve and write the trust config file."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for server in self._servers:
            server.start()
        self.trust_config_path.write_text(json.dumps(self.trust_config(), indent=2))
        return self

    def stop(self) -> None:
        """Stop the servers and remove a temporary work directory."""
        for server in self._servers:
            server.stop()
        if self._own_workdir is not None:
            self._own_workdir.cleanup()

    def __enter__(self) -> LoopbackSigstore:
        """Start on entry."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop on exit."""
        self.stop()

    # -- addresses and configuration -----------------------------------------------------------------

    @property
    def fulcio_url(self) -> str:
        """Fulcio's base URL (sigstore-python appends /api/v2/signingCert)."""
        return self._servers[0].url

    @property
    def rekor_url(self) -> str:
        """Rekor's base URL (sigstore-python appends /api/v1/...)."""
        return self._servers[1].url

    @property
    def tsa_url(self) -> str:
        """The TSA's full timestamp endpoint, as signing configs list it."""
        return f"{self._servers[2].url}/api/v1/timestamp"

    def set_latency(self, *, fulcio: float | None = None, rekor: float | None = None, tsa: float | None = None) -> None:
        """Set per-service latency in seconds (None leaves a service unchanged)."""
        for control, value in ((self.fulcio, fulcio), (self.rekor, rekor), (self.tsa, tsa)):
            if value is not None:
                control.latency = value

    def trusted_root(self) -> dict[str, Any]:
        """The trusted root document (protobuf-specs JSON) for this instance's keys."""
        start = self.keys.created
        return {
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [_transparency_log(self.rekor_url, self.keys.rekor_key.public_key(), start)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "publish-action sandbox", "commonName": "sandbox-fulcio"},
                    "uri": self.fulcio_url,
                    "certChain": {"certificates": [_der_cert(c) for c in self.ca.chain]},
                    "validFor": {"start": _timestamp(start)},
                }
            ],
            "ctlogs": [_transparency_log(f"{self.fulcio_url}/ct", self.keys.ct_log_key.public_key(), start)],
            "timestampAuthorities": [
                {
                    "subject": {"organization": "publish-action sandbox", "commonName": "sandbox-tsa"},
                    "uri": self.tsa_url,
                    "certChain": {"certificates": [_der_cert(c) for c in self.timestamp_authority.chain]},
                    "validFor": {"start": _timestamp(start)},
                }
            ],
        }

    def signing_config(self) -> dict[str, Any]:
        """The signing config (v0.2): this Fulcio, Rekor v1 only (PEP 740 needs v1), this TSA."""

        def service(url: str) -> dict[str, Any]:
            return {
                "url": url,
                "majorApiVersion": 1,
                "validFor": {"start": _timestamp(self.keys.created)},
                "operator": OPERATOR,
            }

        return {
            "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
            "caUrls": [service(self.fulcio_url)],
            "oidcUrls": [service(self._oidc_url)] if self._oidc_url else [],
            "rekorTlogUrls": [service(self.rekor_url)],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": [service(self.tsa_url)],
            "tsaConfig": {"selector": "ANY"},
        }

    def trust_config(self) -> dict[str, Any]:
        """The client trust config document written to `trust_config_path`."""
        return {
            "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        }

    def client_trust_config(self) -> ClientTrustConfig:
        """sigstore-python's view of the trust config, with Rekor v1 forced as PEP 740 requires."""
        from sigstore.models import ClientTrustConfig

        config = ClientTrustConfig.from_json(self.trust_config_path.read_text())
        config.force_tlog_version = 1
        return config

    def sigstore_trusted_root(self) -> TrustedRoot:
        """sigstore-python's `TrustedRoot` for this instance."""
        return self.client_trust_config().trusted_root

    def verifier(self) -> Verifier:
        """A sigstore-python `Verifier` trusting only this instance."""
        from sigstore.verify import Verifier

        return Verifier(trusted_root=self.sigstore_trusted_root())

    def attestation_verifier(self) -> Callable[[str, bytes, str, Any], None]:
        """An `attestation_verifier` for the Warehouse stand-in that trusts only this instance."""
        from tests.sandbox.sigstore.verify import warehouse_attestation_verifier

        return warehouse_attestation_verifier(self.verifier())

    # -- request handlers ----------------------------------------------------------------------------

    def _handle_fulcio(self, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        route = urlsplit(path).path
        if method == "POST" and route == "/api/v2/signingCert":
            document = _json_body(body)
            if not isinstance(document, dict):
                return HttpResponse.json(400, {"code": 3, "message": "invalid JSON body", "details": []})
            try:
                token, csr = parse_signing_cert_request(document, headers.get("authorization"))
                chain = self.ca.sign_csr(token, csr)
            except FulcioError as exc:
                # grpc-gateway's error shape; code 3 = InvalidArgument, 16 = Unauthenticated.
                code = 16 if exc.status == 401 else 3
                return HttpResponse.json(exc.status, {"code": code, "message": exc.message, "details": []})
            return HttpResponse.json(201, signing_cert_response(chain))
        if method == "GET" and route == "/api/v2/trustBundle":
            pem = [c.public_bytes(serialization.Encoding.PEM).decode() for c in self.ca.chain]
            return HttpResponse.json(200, {"chains": [{"certificates": pem}]})
        return HttpResponse.json(404, {"code": 5, "message": "Not Found", "details": []})

    def _handle_rekor(self, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        parts = urlsplit(path)
        route = parts.path.rstrip("/")
        try:
            if method == "POST" and route == "/api/v1/log/entries":
                return HttpResponse.json(201, self.log.add(_json_body(body)))
            if method == "GET" and route == "/api/v1/log":
                return HttpResponse.json(200, self.log.info())
            if method == "GET" and route == "/api/v1/log/publicKey":
                return HttpResponse(200, self.log.public_key_pem(), "application/x-pem-file")
            if method == "GET" and route == "/api/v1/log/entries":
                index = parse_qs(parts.query).get("logIndex", [""])[0]
                if not index.isdigit():
                    raise RekorError(400, "logIndex is required")
                return HttpResponse.json(200, self.log.get(log_index=int(index)))
            if method == "GET" and route.startswith("/api/v1/log/entries/"):
                return HttpResponse.json(200, self.log.get(uuid=route.rsplit("/", 1)[1]))
        except RekorError as exc:
            return HttpResponse.json(exc.status, {"code": exc.status, "message": exc.message})
        return HttpResponse.json(404, {"code": 404, "message": "path not found"})

    def _handle_tsa(self, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        if method != "POST" or urlsplit(path).path != "/api/v1/timestamp":
            return HttpResponse(404, b"not found\n", "text/plain")
        if headers.get("content-type", "").split(";")[0].strip() != "application/timestamp-query":
            return HttpResponse(400, b"unsupported content type\n", "text/plain")
        try:
            return HttpResponse(201, self.timestamp_authority.timestamp(body), "application/timestamp-reply")
        except TimestampError as exc:
            return HttpResponse(400, f"{exc}\n".encode(), "text/plain")
