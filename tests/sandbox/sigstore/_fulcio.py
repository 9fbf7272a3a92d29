"""Fulcio (v2 `signingCert`) and its certificate transparency log, in process.

What Fulcio does for a GitHub Actions token, step by step, and what this module repeats:

1. authenticate the OIDC token: RS256 signature against the issuer's JWKS, `iss` is a configured issuer,
   `aud` contains `sigstore`, not expired; then build the GitHub workflow principal, which refuses a token
   missing any of the claims it embeds (sigstore/fulcio pkg/identity/github/principal.go);
2. parse the CSR, refuse weak keys and check the CSR's self-signature (the proof of possession);
3. issue a precertificate (poison extension), log it in CT, then issue the final certificate with the SCT
   embedded (pkg/ca/baseca/baseca.go). The certificate lives 10 minutes (pkg/ca/common.go), has no
   subject, a critical URI SAN `https://github.com/<job_workflow_ref>` and the extensions rendered by
   pkg/certificate/extensions.go from the templates in config/identity/config.yaml.
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.sandbox.sigstore import _der
from tests.sandbox.sigstore._pki import SIGNING_ONLY, Authority, key_id, random_serial

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
GOOGLE_ISSUER = "https://accounts.google.com"
SIGSTORE_AUDIENCE = "sigstore"
DEFAULT_CERT_LIFETIME = timedelta(minutes=10)
_NBF_SKEW = 300

# A JWKS document, or a function returning the current one (so key rotation and lazily started issuers work).
KeySource = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
# One key source for every trusted issuer, or a key source per issuer (`{iss: KeySource}`): a token's keys
# are then looked up by its `iss`, as Fulcio's verifier per configured issuer does.
TokenKeys = KeySource | Mapping[str, KeySource]

_FULCIO_ARC = "1.3.6.1.4.1.57264.1"
_CT_POISON_OID = "1.3.6.1.4.1.11129.2.4.3"
_CT_SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")

# The claims the GitHub principal requires, in Fulcio's order; `environment` is optional.
_REQUIRED_GITHUB_CLAIMS = (
    "job_workflow_ref",
    "sha",
    "event_name",
    "repository",
    "workflow",
    "ref",
    "job_workflow_sha",
    "runner_environment",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repository_visibility",
    "workflow_ref",
    "workflow_sha",
    "run_id",
    "run_attempt",
)

# The claims the GitLab template (config/identity/config.yaml, `gitlab-pipeline`) reads; a missing one
# fails the template (`missingkey=error`). `environment` has a default of "" and is optional.
_REQUIRED_GITLAB_CLAIMS = (
    "ci_config_ref_uri",
    "ci_config_sha",
    "runner_environment",
    "project_path",
    "sha",
    "ref_type",
    "ref",
    "project_id",
    "namespace_path",
    "namespace_id",
    "pipeline_source",
    "job_id",
    "project_visibility",
)

# Fulcio's user-facing messages (pkg/server/error.go).
_INVALID_TOKEN = "There was an error processing the identity token"
_INVALID_CSR = "The certificate signing request could not be parsed"
_INVALID_SIGNATURE = "The signature supplied in the request could not be verified"
_INSECURE_KEY = "The public key supplied in the request is insecure"


class FulcioError(Exception):
    """A refused request, carrying the HTTP status and the message Fulcio would send."""

    def __init__(self, status: int, message: str, detail: str) -> None:
        """Record the status, the public message and the internal reason (for test assertions)."""
        super().__init__(f"{message}: {detail}")
        self.status = status
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class CertificateExtension:
    """One non-critical extension of the leaf: dotted OID and the raw extnValue contents."""

    oid: str
    value: bytes


def github_extensions(issuer: str, claims: Mapping[str, Any]) -> tuple[str, list[CertificateExtension]]:
    """The SAN URI and the Fulcio extensions for a GitHub Actions token, in Fulcio's render order.

    OIDs .1 to .6 hold raw bytes (the deprecated, mis-encoded form); .8 onwards hold DER UTF8Strings.
    Build Signer URI and the SAN come from `job_workflow_ref` (the file the job runs, a reusable workflow
    included), Build Config URI from `workflow_ref` (the top-level workflow): PyPI's publisher check reads
    the latter, which is why a publish from a reusable workflow fails verification.
    """
    missing = [name for name in _REQUIRED_GITHUB_CLAIMS if not claims.get(name)]
    if missing:
        raise FulcioError(400, _INVALID_TOKEN, f"missing {missing[0]} claim in ID token")
    url = "https://github.com"
    c = {name: str(claims[name]) for name in _REQUIRED_GITHUB_CLAIMS}
    san = f"{url}/{c['job_workflow_ref']}"
    raw = [
        ("1", issuer),
        ("2", c["event_name"]),
        ("3", c["sha"]),
        ("4", c["workflow"]),
        ("5", c["repository"]),
        ("6", c["ref"]),
    ]
    utf8 = [
        ("8", issuer),
        ("9", san),
        ("10", c["job_workflow_sha"]),
        ("11", c["runner_environment"]),
        ("12", f"{url}/{c['repository']}"),
        ("13", c["sha"]),
        ("14", c["ref"]),
        ("15", c["repository_id"]),
        ("16", f"{url}/{c['repository_owner']}"),
        ("17", c["repository_owner_id"]),
        ("18", f"{url}/{c['workflow_ref']}"),
        ("19", c["workflow_sha"]),
        ("20", c["event_name"]),
        ("21", f"{url}/{c['repository']}/actions/runs/{c['run_id']}/attempts/{c['run_attempt']}"),
        ("22", c["repository_visibility"]),
        # Newer Fulcio adds the deployment environment (when the job has one) and the raw `sub`.
        ("23", str(claims.get("environment") or "")),
        ("24", str(claims.get("sub") or "")),
    ]
    extensions = [CertificateExtension(f"{_FULCIO_ARC}.{arc}", value.encode()) for arc, value in raw]
    extensions += [
        CertificateExtension(f"{_FULCIO_ARC}.{arc}", _der.utf8_string(value)) for arc, value in utf8 if value
    ]
    return san, extensions


class CTLog:
    """An RFC 6962 log that only hands out SCTs for precertificates (all Fulcio needs)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        """Sign SCTs with `key`; the log ID is the SHA-256 of its public key."""
        self._key = key
        self.log_id = key_id(key.public_key())

    def add_pre_chain(self, precert: x509.Certificate, issuer: x509.Certificate) -> bytes:
        """Log a precertificate; return the TLS-encoded SignedCertificateTimestamp (RFC 6962 3.2)."""
        issuer_key_hash = key_id(issuer.public_key())  # type: ignore[arg-type]
        tbs = _strip_poison(precert.tbs_certificate_bytes)
        timestamp_ms = int(time.time() * 1000)
        extensions = b""
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp_ms, 1)  # v1, certificate_timestamp, time, precert_entry
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", len(extensions))
            + extensions
        )
        signature = self._key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack("!B", 0)
            + self.log_id
            + struct.pack("!QH", timestamp_ms, len(extensions))
            + extensions
            + struct.pack("!BBH", 4, 3, len(signature))  # sha256, ecdsa
            + signature
        )


def _strip_poison(tbs: bytes) -> bytes:
    """The TBSCertificate without the CT poison extension: what an SCT for a precertificate signs."""
    fields = _der.children(_der.content_of(tbs))
    extensions_field = fields[-1]
    if extensions_field[0] != 0xA3:
        raise ValueError("precertificate has no extensions")
    kept = [
        extension
        for extension in _der.children(_der.content_of(_der.content_of(extensions_field)))
        if _der.children(_der.content_of(extension))[0] != _der.oid(_CT_POISON_OID)
    ]
    fields[-1] = _der.explicit(3, _der.sequence(*kept))
    return _der.sequence(*fields)


def _check_public_key(public_key: Any) -> None:
    """Fulcio's goodkey checks and default algorithm registry, reduced to the key types it permits."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1 | ec.SECP384R1 | ec.SECP521R1):
            raise FulcioError(400, _INSECURE_KEY, f"unsupported curve {public_key.curve.name}")
    elif isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < 2048:
            raise FulcioError(400, _INSECURE_KEY, f"RSA key of {public_key.key_size} bits")
    elif not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise FulcioError(400, _INSECURE_KEY, f"unsupported key type {type(public_key).__name__}")


def gitlab_extensions(issuer: str, claims: Mapping[str, Any]) -> tuple[str, list[CertificateExtension]]:
    """The SAN URI and the Fulcio extensions for a GitLab CI/CD ID token, in Fulcio's render order.

    Fulcio's `gitlab-pipeline` template: SAN, Build Signer URI and Build Config URI are
    `https://<ci_config_ref_uri>`; the source repository URI and owner URI are `https://gitlab.com/<path>`;
    the source ref is rebuilt as `refs/heads/<ref>` or `refs/tags/<ref>` from `ref_type`; the run
    invocation is the job's URL. Only the deprecated issuer (.1, raw bytes) comes before .8; the other
    GitHub-only deprecated extensions (.2 to .6) are not set.
    """
    missing = [name for name in _REQUIRED_GITLAB_CLAIMS if claims.get(name) is None]
    if missing:
        raise FulcioError(400, _INVALID_TOKEN, f"missing {missing[0]} claim in ID token")
    url = "https://gitlab.com"
    c = {name: str(claims[name]) for name in _REQUIRED_GITLAB_CLAIMS}
    san = f"https://{c['ci_config_ref_uri']}"
    ref_kind = "heads" if c["ref_type"] == "branch" else "tags"
    utf8 = [
        ("8", issuer),
        ("9", san),
        ("10", c["ci_config_sha"]),
        ("11", c["runner_environment"]),
        ("12", f"{url}/{c['project_path']}"),
        ("13", c["sha"]),
        ("14", f"refs/{ref_kind}/{c['ref']}"),
        ("15", c["project_id"]),
        ("16", f"{url}/{c['namespace_path']}"),
        ("17", c["namespace_id"]),
        ("18", san),
        ("19", c["ci_config_sha"]),
        ("20", c["pipeline_source"]),
        ("21", f"{url}/{c['project_path']}/-/jobs/{c['job_id']}"),
        ("22", c["project_visibility"]),
        ("23", str(claims.get("environment") or "")),
        ("24", str(claims.get("sub") or "")),
    ]
    extensions = [CertificateExtension(f"{_FULCIO_ARC}.1", issuer.encode())]
    extensions += [
        CertificateExtension(f"{_FULCIO_ARC}.{arc}", _der.utf8_string(value)) for arc, value in utf8 if value
    ]
    return san, extensions


def google_extensions(issuer: str, claims: Mapping[str, Any]) -> tuple[str, list[CertificateExtension]]:
    """The e-mail SAN and extensions for a Google identity token (Fulcio's `email` principal).

    Fulcio requires `email`, `email_verified` true and a valid address; the certificate carries the
    address as an RFC 822 SAN, the issuer (.1 raw, .8 DER) and the token's `sub` (.24).
    """
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise FulcioError(400, _INVALID_TOKEN, "token missing email claim")
    if claims.get("email_verified") is not True:
        raise FulcioError(400, _INVALID_TOKEN, "email_verified claim was false")
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(ch.isspace() for ch in email):
        raise FulcioError(400, _INVALID_TOKEN, "email address is not valid")
    extensions = [
        CertificateExtension(f"{_FULCIO_ARC}.1", issuer.encode()),
        CertificateExtension(f"{_FULCIO_ARC}.8", _der.utf8_string(issuer)),
    ]
    if claims.get("sub"):
        extensions.append(CertificateExtension(f"{_FULCIO_ARC}.24", _der.utf8_string(str(claims["sub"]))))
    return email, extensions


class Fulcio:
    """The certificate authority: authenticates tokens, checks CSRs, issues short-lived certificates."""

    def __init__(
        self,
        *,
        root: Authority,
        intermediate: Authority,
        ct_log: CTLog,
        token_keys: TokenKeys,
        issuers: tuple[str, ...] = (GITHUB_ISSUER,),
        cert_lifetime: timedelta = DEFAULT_CERT_LIFETIME,
    ) -> None:
        """Issue under `intermediate`, log in `ct_log`, trust tokens signed by a key in `token_keys`."""
        self._root = root
        self._intermediate = intermediate
        self._ct_log = ct_log
        self._token_keys = token_keys
        self._issuers = issuers
        self.cert_lifetime = cert_lifetime

    @property
    def chain(self) -> list[x509.Certificate]:
        """The CA chain, intermediate first, as served after the leaf."""
        return [self._intermediate.cert, self._root.cert]

    def authenticate(self, token: str) -> dict[str, Any]:
        """Verify the OIDC token as Fulcio's go-oidc verifier does; return its claims."""
        try:
            header = jwt.get_unverified_header(token)
            jwks = self._keys_for(token)
            keys = jwt.PyJWKSet.from_dict(dict(jwks)).keys
            candidates = [k for k in keys if header.get("kid") in (None, k.key_id)]
            if not candidates:
                raise jwt.InvalidTokenError("no key in the issuer's JWKS matches the token's kid")
            last_error: Exception | None = None
            for candidate in candidates:
                try:
                    # go-oidc: expiry is strict, "not before" tolerates five minutes of clock skew.
                    claims: dict[str, Any] = jwt.decode(
                        token,
                        candidate.key,
                        algorithms=["RS256"],
                        audience=SIGSTORE_AUDIENCE,
                        options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_nbf": False},
                    )
                except jwt.InvalidSignatureError as exc:
                    last_error = exc
                    continue
                break
            else:
                raise last_error or jwt.InvalidSignatureError("signature verification failed")
        except jwt.PyJWTError as exc:
            raise FulcioError(400, _INVALID_TOKEN, str(exc)) from exc
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and not_before > time.time() + _NBF_SKEW:
            raise FulcioError(400, _INVALID_TOKEN, "token is not valid yet (nbf)")
        if claims["iss"] not in self._issuers:
            raise FulcioError(400, _INVALID_TOKEN, f"unknown issuer {claims['iss']!r}")
        return claims

    def _keys_for(self, token: str) -> Mapping[str, Any]:
        source: Any = self._token_keys
        if isinstance(source, Mapping) and "keys" not in source:
            # Per-issuer keys: pick by the (unverified) `iss`; an issuer without keys matches no key.
            unverified = jwt.decode(token, options={"verify_signature": False})
            source = source.get(unverified.get("iss"), {"keys": []})
        jwks: Mapping[str, Any] = source() if callable(source) else source
        return jwks

    def sign_csr(self, token: str, csr_bytes: bytes) -> list[x509.Certificate]:
        """The whole `signingCert` flow; returns [leaf, intermediate, root]."""
        claims = self.authenticate(token)
        san_name: x509.GeneralName
        if claims["iss"] == GITLAB_ISSUER:
            san, extensions = gitlab_extensions(claims["iss"], claims)
            san_name = x509.UniformResourceIdentifier(san)
        elif claims["iss"] == GOOGLE_ISSUER:
            san, extensions = google_extensions(claims["iss"], claims)
            san_name = x509.RFC822Name(san)
        else:
            san, extensions = github_extensions(claims["iss"], claims)
            san_name = x509.UniformResourceIdentifier(san)
        try:
            if csr_bytes.lstrip().startswith(b"-----BEGIN"):
                csr = x509.load_pem_x509_csr(csr_bytes)
            else:
                csr = x509.load_der_x509_csr(csr_bytes)
        except ValueError as exc:
            raise FulcioError(400, _INVALID_CSR, str(exc)) from exc
        public_key = csr.public_key()
        _check_public_key(public_key)
        try:
            valid = csr.is_signature_valid
        except (InvalidSignature, ValueError):
            valid = False
        if not valid:
            raise FulcioError(400, _INVALID_SIGNATURE, "CSR self-signature does not verify")

        not_before = datetime.now(timezone.utc).replace(microsecond=0)
        serial = random_serial()

        def build(last: x509.ExtensionType, critical: bool) -> x509.Certificate:
            builder = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self._intermediate.cert.subject)
                .public_key(public_key)
                .serial_number(serial)
                .not_valid_before(not_before)
                .not_valid_after(not_before + self.cert_lifetime)
                .add_extension(
                    SIGNING_ONLY,
                    critical=True,
                )
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(self._intermediate.key.public_key()),
                    critical=False,
                )
                # Go's x509 marks the SAN critical when the subject is empty (RFC 5280 4.2.1.6).
                .add_extension(x509.SubjectAlternativeName([san_name]), critical=True)
            )
            for extension in extensions:
                builder = builder.add_extension(
                    x509.UnrecognizedExtension(x509.ObjectIdentifier(extension.oid), extension.value),
                    critical=False,
                )
            builder = builder.add_extension(last, critical=critical)
            return builder.sign(self._intermediate.key, hashes.SHA384())

        precert = build(x509.PrecertPoison(), critical=True)
        sct = self._ct_log.add_pre_chain(precert, self._intermediate.cert)
        # The extension value is an OCTET STRING around the TLS SignedCertificateTimestampList.
        sct_list = struct.pack("!H", len(sct) + 2) + struct.pack("!H", len(sct)) + sct
        leaf = build(x509.UnrecognizedExtension(_CT_SCT_LIST_OID, _der.octet_string(sct_list)), critical=False)
        return [leaf, *self.chain]


def signing_cert_response(chain: list[x509.Certificate]) -> dict[str, Any]:
    """The v2 JSON body for a certificate with an embedded SCT."""
    return {
        "signedCertificateEmbeddedSct": {
            "chain": {"certificates": [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]}
        }
    }


def parse_signing_cert_request(body: Mapping[str, Any], authorization: str | None) -> tuple[str, bytes]:
    """Extract (token, CSR bytes) from a v2 request: bearer header or `credentials`, base64 CSR field."""
    token = ""
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    credentials = body.get("credentials")
    if not token and isinstance(credentials, Mapping):
        token = str(credentials.get("oidcIdentityToken") or "")
    if not token:
        raise FulcioError(401, _INVALID_TOKEN, "no identity token in request")
    raw_csr = body.get("certificateSigningRequest")
    if not isinstance(raw_csr, str):
        # The public-key + proof-of-possession variant is not offered: sigstore-python sends CSRs.
        raise FulcioError(400, _INVALID_CSR, "certificateSigningRequest missing")
    try:
        return token, base64.b64decode(raw_csr, validate=True)
    except ValueError as exc:
        raise FulcioError(400, _INVALID_CSR, "certificateSigningRequest is not base64") from exc
