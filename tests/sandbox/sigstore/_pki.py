"""Key material of the loopback Sigstore: certificate authorities and log keys, generated per instance.

The shapes follow the public-good instance, because sigstore-python's verifier (and pyca/cryptography's
web-PKI profile underneath it) checks them: a P-384 Fulcio root and intermediate (the intermediate carries
the code-signing EKU, like Fulcio's), P-256 keys for the CT log and Rekor, and a timestamp authority chain
whose leaf has the critical id-kp-timeStamping EKU that RFC 3161 and OpenSSL's purpose check demand.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Everything is valid from a little before "now": certificates encode whole seconds, and a root that
# starts in the same second as the first signature must not look "not yet valid" to a verifier.
_BACKDATE = timedelta(hours=1)

#: Key usage of a leaf that signs and does nothing else (Fulcio's code-signing leaves, the TSA's leaf).
SIGNING_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)

_CA_LIFETIME = timedelta(days=365 * 10)


def random_serial() -> int:
    """A positive serial number of at most 159 bits, as RFC 5280 4.1.2.2 allows."""
    return secrets.randbits(159) | 1


def key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """SHA-256 over the DER SubjectPublicKeyInfo: Sigstore's log ID and RFC 6962's issuer key hash."""
    return hashlib.sha256(
        public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).digest()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "publish-action sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Authority:
    """A CA or signing certificate together with its private key."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _ca(
    common_name: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: Authority | None,
    path_length: int,
    extended_key_usage: list[x509.ObjectIdentifier] | None,
    start: datetime,
) -> Authority:
    subject = _name(common_name)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(start)
        .not_valid_after(start + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usage), critical=False)
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    hash_algorithm = hashes.SHA384() if isinstance(signer_key.curve, ec.SECP384R1) else hashes.SHA256()
    return Authority(key=key, cert=builder.sign(signer_key, hash_algorithm))


def _tsa_leaf(issuer: Authority, start: datetime) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("sandbox-timestamp-authority"))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(start)
        .not_valid_after(start + _CA_LIFETIME)
        .add_extension(
            SIGNING_ONLY,
            critical=True,
        )
        # RFC 3161 2.3: the TSA's certificate has exactly this one EKU, marked critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Authority(key=key, cert=cert)


@dataclass(frozen=True)
class SigstoreKeys:
    """Every private key and CA certificate one loopback Sigstore instance uses."""

    created: datetime
    fulcio_root: Authority
    fulcio_intermediate: Authority
    ct_log_key: ec.EllipticCurvePrivateKey
    rekor_key: ec.EllipticCurvePrivateKey
    tsa_root: Authority
    tsa_leaf: Authority

    @classmethod
    def generate(cls) -> SigstoreKeys:
        """Fresh keys and certificates; nothing is shared between instances."""
        start = datetime.now(timezone.utc).replace(microsecond=0) - _BACKDATE
        fulcio_root = _ca(
            "sandbox-fulcio-root",
            ec.generate_private_key(ec.SECP384R1()),
            issuer=None,
            path_length=1,
            extended_key_usage=None,
            start=start,
        )
        fulcio_intermediate = _ca(
            "sandbox-fulcio-intermediate",
            ec.generate_private_key(ec.SECP384R1()),
            issuer=fulcio_root,
            path_length=0,
            extended_key_usage=[ExtendedKeyUsageOID.CODE_SIGNING],
            start=start,
        )
        tsa_root = _ca(
            "sandbox-tsa-root",
            ec.generate_private_key(ec.SECP384R1()),
            issuer=None,
            path_length=0,
            extended_key_usage=None,
            start=start,
        )
        return cls(
            created=start,
            fulcio_root=fulcio_root,
            fulcio_intermediate=fulcio_intermediate,
            ct_log_key=ec.generate_private_key(ec.SECP256R1()),
            rekor_key=ec.generate_private_key(ec.SECP256R1()),
            tsa_root=tsa_root,
            tsa_leaf=_tsa_leaf(tsa_root, start),
        )
