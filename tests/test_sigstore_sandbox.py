"""The loopback Sigstore, judged by the real sigstore-python 4.5.1 and pypi-attestations 0.0.30.

Signing goes through sigstore-python unchanged (only the trust config is ours); verification through
pypi-attestations' own `Attestation.verify`, whose `Verifier.production()` is swapped for a sigstore-python
`Verifier` on our trusted root (tests/sandbox/sigstore/verify.py).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pypi_attestations import Attestation, AttestationError, Distribution, GitHubPublisher, VerificationError
from sigstore._internal.fulcio.client import ExpiredCertificate, FulcioClientError
from sigstore._internal.rekor import RekorClientError
from sigstore._internal.rekor.client import RekorClient
from sigstore._internal.sct import verify_sct
from sigstore._internal.timestamp import TimestampSource
from sigstore._internal.trust import KeyringPurpose
from sigstore.errors import VerificationError as SigstoreVerificationError
from sigstore.models import Bundle, ClientTrustConfig, TransparencyLogEntry
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from tests.sandbox.sigstore import LocalTokenIssuer, LoopbackSigstore, github_claims, verify_attestation
from tests.sandbox.sigstore.fixtures import MakeSigstoreSandbox

pytestmark = pytest.mark.sandbox

REPO_ROOT = Path(__file__).resolve().parent.parent
PUBLISHER = GitHubPublisher(repository="octo-org/sandbox-demo", workflow="release.yml", environment="pypi")
FULCIO = "1.3.6.1.4.1.57264.1"


# -- helpers -----------------------------------------------------------------------------------------


def _metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"


def make_wheel(directory: Path, name: str = "sandbox_demo", version: str = "1.0.0") -> Path:
    """A tiny but well-formed wheel (METADATA, WHEEL, RECORD)."""
    path = directory / f"{name}-{version}-py3-none-any.whl"
    dist_info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "VALUE = 1\n")
        archive.writestr(f"{dist_info}/METADATA", _metadata(name, version))
        archive.writestr(
            f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: sandbox\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{dist_info}/RECORD", "")
    return path


def make_sdist(directory: Path, name: str = "sandbox_demo", version: str = "1.0.0") -> Path:
    """A tiny sdist with PKG-INFO."""
    path = directory / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = _metadata(name, version).encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def signing_context(sandbox: LoopbackSigstore) -> SigningContext:
    """What the product does: load the trust config file, force Rekor v1, build the context."""
    config = ClientTrustConfig.from_json(sandbox.trust_config_path.read_text())
    config.force_tlog_version = 1
    return SigningContext.from_trust_config(config)


def sign_all(sandbox: LoopbackSigstore, token: str, paths: list[Path]) -> list[Attestation]:
    """One cached signer (one certificate) for every file, as the product signs."""
    with signing_context(sandbox).signer(IdentityToken(token), cache=True) as signer:
        return [Attestation.sign(signer, Distribution.from_file(path)) for path in paths]


def verify(
    sandbox: LoopbackSigstore, attestation: Attestation, path: Path, publisher: GitHubPublisher = PUBLISHER
) -> str:
    predicate_type, _ = verify_attestation(
        attestation, publisher, Distribution.from_file(path), verifier=sandbox.verifier()
    )
    return predicate_type


def leaf_of(attestation: Attestation) -> x509.Certificate:
    return x509.load_der_x509_certificate(attestation.verification_material.certificate)


def raw_extension(cert: x509.Certificate, arc: int) -> bytes:
    value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(f"{FULCIO}.{arc}")).value
    assert isinstance(value, x509.UnrecognizedExtension)
    return value.value


def csr_body(key: ec.EllipticCurvePrivateKey | None = None, *, corrupt: bool = False) -> str:
    """A v2 signingCert body with a CSR like sigstore-python's; `corrupt` breaks its self-signature."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    if corrupt:
        # The last bytes are the ECDSA signature's S integer: flipping one keeps the DER parseable.
        der[-2] ^= 0x01
    pem = (
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(bytes(der))
        + b"-----END CERTIFICATE REQUEST-----\n"
    )
    return json.dumps({"certificateSigningRequest": base64.b64encode(pem).decode()})


def post_signing_cert(sandbox: LoopbackSigstore, token: str, body: str) -> httpx.Response:
    return httpx.post(
        f"{sandbox.fulcio_url}/api/v2/signingCert",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )


# -- trust config ------------------------------------------------------------------------------------


def test_trust_config_is_accepted_by_sigstore_python(sigstore_sandbox: LoopbackSigstore) -> None:
    config = ClientTrustConfig.from_json(sigstore_sandbox.trust_config_path.read_text())
    config.force_tlog_version = 1
    signing = config.signing_config
    tlogs = signing.get_tlogs()
    assert len(tlogs) == 1
    assert isinstance(tlogs[0], RekorClient)
    assert tlogs[0].url == f"{sigstore_sandbox.rekor_url}/api/v1"
    assert signing.get_fulcio().url == sigstore_sandbox.fulcio_url
    assert [tsa.url for tsa in signing.get_tsas()] == [sigstore_sandbox.tsa_url]
    root = config.trusted_root
    assert root.get_fulcio_certs() == sigstore_sandbox.ca.chain
    assert len(root.get_timestamp_authorities()) == 1
    root.rekor_keyring(KeyringPurpose.VERIFY)
    root.ct_keyring(KeyringPurpose.SIGN)
    # Rekor v2 is not offered at all: forcing it leaves no usable log.
    config.force_tlog_version = 2
    with pytest.raises(Exception, match="No valid Rekor"):
        _ = config.signing_config


# -- signing and verifying -----------------------------------------------------------------------------


def test_two_distributions_sign_and_verify(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    paths = [make_wheel(tmp_path), make_sdist(tmp_path)]
    attestations = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), paths)

    for attestation, path in zip(attestations, paths, strict=True):
        assert verify(sigstore_sandbox, attestation, path) == "https://docs.pypi.org/attestations/publish/v1"
        assert attestation.statement["subject"][0]["name"] == path.name
    # One certificate for both files (cached signer), one log entry and one timestamp per file.
    assert leaf_of(attestations[0]) == leaf_of(attestations[1])
    assert [r.status for r in sigstore_sandbox.fulcio.requests] == [201]
    assert [r.status for r in sigstore_sandbox.rekor.requests] == [201, 201]
    assert [r.status for r in sigstore_sandbox.tsa.requests] == [201, 201]
    indexes = [a.verification_material.transparency_entries[0]["logIndex"] for a in attestations]
    assert sorted(int(i) for i in indexes) == [0, 1]
    # The attestation for one file does not verify for the other.
    with pytest.raises(VerificationError, match="subject does not match"):
        verify(sigstore_sandbox, attestations[0], paths[1])


def test_attestations_survive_a_json_round_trip(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    path = make_wheel(tmp_path)
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), [path])
    stored = tmp_path / f"{path.name}.publish.attestation"
    stored.write_text(attestation.model_dump_json())
    reloaded = Attestation.model_validate_json(stored.read_text())
    assert verify(sigstore_sandbox, reloaded, path)


def test_certificate_carries_fulcio_github_extensions(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    claims = github_claims(event_name="release", sha="a" * 40)
    claims["workflow_sha"] = "b" * 40
    claims["job_workflow_sha"] = "c" * 40
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(claims), [make_wheel(tmp_path)])
    cert = leaf_of(attestation)
    workflow = "https://github.com/octo-org/sandbox-demo/.github/workflows/release.yml@refs/tags/v1.0.0"
    assert attestation.certificate_claims == {
        f"{FULCIO}.8": "https://token.actions.githubusercontent.com",
        f"{FULCIO}.9": workflow,
        f"{FULCIO}.10": "c" * 40,
        f"{FULCIO}.11": "github-hosted",
        f"{FULCIO}.12": "https://github.com/octo-org/sandbox-demo",
        f"{FULCIO}.13": "a" * 40,
        f"{FULCIO}.14": "refs/tags/v1.0.0",
        f"{FULCIO}.15": "700000001",
        f"{FULCIO}.16": "https://github.com/octo-org",
        f"{FULCIO}.17": "100000001",
        f"{FULCIO}.18": workflow,
        f"{FULCIO}.19": "b" * 40,
        f"{FULCIO}.20": "release",
        f"{FULCIO}.21": "https://github.com/octo-org/sandbox-demo/actions/runs/9000000001/attempts/1",
        f"{FULCIO}.22": "public",
    }
    # The deprecated extensions hold raw bytes, not DER.
    assert raw_extension(cert, 1) == b"https://token.actions.githubusercontent.com"
    assert raw_extension(cert, 2) == b"release"
    assert raw_extension(cert, 3) == b"a" * 40
    assert raw_extension(cert, 4) == b"Release"
    assert raw_extension(cert, 5) == b"octo-org/sandbox-demo"
    assert raw_extension(cert, 6) == b"refs/tags/v1.0.0"
    # Newer Fulcio: deployment environment and the raw subject, DER UTF8Strings.
    assert raw_extension(cert, 23) == b"\x0c\x04pypi"
    assert raw_extension(cert, 24)[2:] == b"repo:octo-org/sandbox-demo:environment:pypi"

    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [workflow]
    assert cert.subject == x509.Name([])
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(minutes=10)
    assert cert.issuer == sigstore_sandbox.keys.fulcio_intermediate.cert.subject
    # The embedded SCT verifies against the CT log key in the trusted root (sigstore-python's own check).
    verify_sct(
        cert, sigstore_sandbox.ca.chain, sigstore_sandbox.sigstore_trusted_root().ct_keyring(KeyringPurpose.VERIFY)
    )


def test_certificate_lifetime_is_configurable(
    make_sigstore_sandbox: MakeSigstoreSandbox, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    sandbox = make_sigstore_sandbox(cert_lifetime=timedelta(minutes=3))
    path = make_wheel(tmp_path)
    (attestation,) = sign_all(sandbox, sigstore_token_issuer.token(), [path])
    cert = leaf_of(attestation)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(minutes=3)
    assert verify(sandbox, attestation, path)


def test_full_bundle_with_rfc3161_timestamp_verifies(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    """pypi-attestations drops the TSA timestamp; a plain Sigstore bundle keeps and verifies it."""
    artifact = b"sandbox artifact\n"
    with signing_context(sigstore_sandbox).signer(IdentityToken(sigstore_token_issuer.token())) as signer:
        bundle = signer.sign_artifact(artifact)
    bundle = Bundle.from_json(bundle.to_json())
    verifier = sigstore_sandbox.verifier()
    timestamps = verifier._verify_timestamp_authority(bundle)
    assert [t.source for t in timestamps] == [TimestampSource.TIMESTAMP_AUTHORITY]
    identity = Identity(
        identity="https://github.com/octo-org/sandbox-demo/.github/workflows/release.yml@refs/tags/v1.0.0",
        issuer="https://token.actions.githubusercontent.com",
    )
    verifier.verify_artifact(artifact, bundle, identity)
    with pytest.raises(SigstoreVerificationError, match="digest mismatch"):
        verifier.verify_artifact(b"another artifact\n", bundle, identity)


# -- negative verification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("publisher", "reason"),
    [
        (
            GitHubPublisher(repository="octo-org/sandbox-demo", workflow="other.yml", environment="pypi"),
            "Build Config URI",
        ),
        (
            GitHubPublisher(repository="octo-org/elsewhere", workflow="release.yml", environment="pypi"),
            "OIDCSourceRepositoryURI does not match",
        ),
    ],
    ids=["wrong-workflow", "wrong-repository"],
)
def test_attestation_refused_for_another_publisher(
    sigstore_sandbox: LoopbackSigstore,
    sigstore_token_issuer: LocalTokenIssuer,
    tmp_path: Path,
    publisher: GitHubPublisher,
    reason: str,
) -> None:
    path = make_wheel(tmp_path)
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), [path])
    with pytest.raises(VerificationError, match=reason):
        verify(sigstore_sandbox, attestation, path, publisher)


def _tamper_statement(data: dict[str, Any]) -> None:
    statement = json.loads(base64.b64decode(data["envelope"]["statement"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    data["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _tamper_signature(data: dict[str, Any]) -> None:
    signature = bytearray(base64.b64decode(data["envelope"]["signature"]))
    signature[-1] ^= 0x01
    data["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()


def _tamper_integrated_time(data: dict[str, Any]) -> None:
    entry = data["verification_material"]["transparency_entries"][0]
    # One second later is still inside the certificate's validity: only the signed entry timestamp breaks.
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)


def _tamper_inclusion_proof(data: dict[str, Any]) -> None:
    proof = data["verification_material"]["transparency_entries"][0]["inclusionProof"]
    root = bytearray(base64.b64decode(proof["rootHash"]))
    root[0] ^= 0x01
    proof["rootHash"] = base64.b64encode(bytes(root)).decode()


def _tamper_certificate(data: dict[str, Any]) -> None:
    # A self-made certificate claiming the same identity is not chained to the sandbox's Fulcio.
    key = ec.generate_private_key(ec.SECP256R1())
    original = x509.load_der_x509_certificate(base64.b64decode(data["verification_material"]["certificate"]))
    builder = (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(original.issuer)
        .public_key(key.public_key())
        .serial_number(original.serial_number)
        .not_valid_before(original.not_valid_before_utc)
        .not_valid_after(original.not_valid_after_utc)
    )
    for extension in original.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    forged = builder.sign(key, hashes.SHA256())
    data["verification_material"]["certificate"] = base64.b64encode(
        forged.public_bytes(serialization.Encoding.DER)
    ).decode()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_tamper_statement, "DSSE: invalid signature"),
        (_tamper_signature, "DSSE: invalid signature"),
        (_tamper_integrated_time, "SET: invalid inclusion promise"),
        (_tamper_inclusion_proof, "inclusion proof contains invalid root hash"),
        (_tamper_certificate, "failed to build timestamp certificate chain"),
    ],
    ids=["statement", "signature", "integrated-time", "inclusion-proof", "certificate"],
)
def test_tampered_attestation_fails(
    sigstore_sandbox: LoopbackSigstore,
    sigstore_token_issuer: LocalTokenIssuer,
    tmp_path: Path,
    tamper: Any,
    reason: str,
) -> None:
    path = make_wheel(tmp_path)
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), [path])
    data = json.loads(attestation.model_dump_json())
    tamper(data)
    tampered = Attestation.model_validate(data)
    with pytest.raises(VerificationError, match=reason):
        verify(sigstore_sandbox, tampered, path)


def test_attestation_not_trusted_by_another_instance(
    make_sigstore_sandbox: MakeSigstoreSandbox, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    signing, other = make_sigstore_sandbox(), make_sigstore_sandbox()
    path = make_wheel(tmp_path)
    (attestation,) = sign_all(signing, sigstore_token_issuer.token(), [path])
    assert verify(signing, attestation, path)
    with pytest.raises(VerificationError, match="certificate chain"):
        verify(other, attestation, path)


def test_verification_is_pypi_attestations_own(
    sigstore_sandbox: LoopbackSigstore,
    sigstore_token_issuer: LocalTokenIssuer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sandbox's verifier is `Attestation.verify` itself; only its production `Verifier` is swapped."""
    import pypi_attestations._impl as impl

    calls: list[dict[str, Any]] = []
    library_verify = Attestation.verify

    def spy(self: Attestation, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        assert impl.Verifier is not Verifier, "swapped while the library verifies"
        return library_verify(self, *args, **kwargs)

    monkeypatch.setattr(Attestation, "verify", spy)
    path = make_wheel(tmp_path)
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), [path])
    assert verify(sigstore_sandbox, attestation, path) == "https://docs.pypi.org/attestations/publish/v1"
    assert calls == [{"offline": True}]
    assert impl.Verifier is Verifier, "the production verifier is restored after each verification"
    check = sigstore_sandbox.attestation_verifier()
    with pytest.raises(ValueError, match="subject does not match distribution digest"):
        check(path.name, path.read_bytes() + b"x", f"[{attestation.model_dump_json()}]", _index_publisher())
    assert len(calls) == 2


def _index_publisher() -> Any:
    from tests.sandbox.warehouse import GitHubPublisher as IndexPublisher

    return IndexPublisher("octo-org/sandbox-demo", "release.yml", "pypi")


def test_reusable_workflow_certificate_names_the_caller(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    """workflow_ref (caller, release.yml) → Build Config URI; job_workflow_ref (called file) → SAN.

    PyPI mints for the publisher matching job_workflow_ref (pypi-publish.yml), but the attestation only
    verifies for the caller's release.yml: the mismatch the product must catch before uploading.
    """
    called = "octo-org/sandbox-demo/.github/workflows/pypi-publish.yml@refs/tags/v1.0.0"
    path = make_wheel(tmp_path)
    token = sigstore_token_issuer.token(github_claims(job_workflow_ref=called))
    (attestation,) = sign_all(sigstore_sandbox, token, [path])
    cert = leaf_of(attestation)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"https://github.com/{called}"]
    assert attestation.certificate_claims[f"{FULCIO}.9"] == f"https://github.com/{called}"
    assert attestation.certificate_claims[f"{FULCIO}.18"].endswith("/release.yml@refs/tags/v1.0.0")

    assert verify(sigstore_sandbox, attestation, path, PUBLISHER)
    called_publisher = GitHubPublisher(
        repository="octo-org/sandbox-demo", workflow="pypi-publish.yml", environment="pypi"
    )
    with pytest.raises(VerificationError, match="Build Config URI"):
        verify(sigstore_sandbox, attestation, path, called_publisher)


# -- Fulcio's checks -------------------------------------------------------------------------------------


def test_fulcio_refuses_token_signed_by_another_key(sigstore_sandbox: LoopbackSigstore, tmp_path: Path) -> None:
    impostor = LocalTokenIssuer()  # same issuer string, same claims, different key
    with pytest.raises(FulcioClientError):
        sign_all(sigstore_sandbox, impostor.token(), [make_wheel(tmp_path)])
    assert [r.status for r in sigstore_sandbox.fulcio.requests] == [400]
    assert sigstore_sandbox.rekor.requests == []


def test_fulcio_refuses_same_kid_with_another_key(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    impostor = LocalTokenIssuer(kid=sigstore_token_issuer.kid)
    response = post_signing_cert(sigstore_sandbox, impostor.token(), csr_body())
    assert response.status_code == 400
    assert response.json()["message"] == "There was an error processing the identity token"


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        ({"audience": "pypi"}, 400),
        ({"lifetime": -60}, 400),
        ({"drop": "job_workflow_ref"}, 400),
        ({"drop": "repository_visibility"}, 400),
    ],
    ids=["wrong-audience", "expired", "no-job-workflow-ref", "no-visibility"],
)
def test_fulcio_refuses_bad_tokens(
    sigstore_sandbox: LoopbackSigstore,
    sigstore_token_issuer: LocalTokenIssuer,
    change: dict[str, Any],
    expected_status: int,
) -> None:
    claims = github_claims()
    if "drop" in change:
        del claims[change["drop"]]
    token = sigstore_token_issuer.token(
        claims, audience=change.get("audience", "sigstore"), lifetime=change.get("lifetime", 300)
    )
    response = post_signing_cert(sigstore_sandbox, token, csr_body())
    assert response.status_code == expected_status
    assert response.json()["code"] == 3


def test_fulcio_refuses_other_issuers(make_sigstore_sandbox: MakeSigstoreSandbox) -> None:
    stranger = LocalTokenIssuer(issuer="https://issuer.example.invalid")
    sandbox = make_sigstore_sandbox(stranger.jwks())  # the key is trusted, its issuer is not configured
    response = post_signing_cert(sandbox, stranger.token(), csr_body())
    assert response.status_code == 400
    assert response.json()["message"] == "There was an error processing the identity token"


def test_fulcio_checks_proof_of_possession(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer
) -> None:
    good = post_signing_cert(sigstore_sandbox, sigstore_token_issuer.token(), csr_body())
    assert good.status_code == 201
    chain = good.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
    assert len(chain) == 3
    bad = post_signing_cert(sigstore_sandbox, sigstore_token_issuer.token(), csr_body(corrupt=True))
    assert bad.status_code == 400
    assert bad.json()["message"] == "The signature supplied in the request could not be verified"
    weak = post_signing_cert(
        sigstore_sandbox, sigstore_token_issuer.token(), csr_body(ec.generate_private_key(ec.SECP256K1()))
    )
    assert weak.status_code == 400
    assert weak.json()["message"] == "The public key supplied in the request is insecure"
    missing = httpx.post(f"{sigstore_sandbox.fulcio_url}/api/v2/signingCert", content=csr_body(), timeout=10)
    assert missing.status_code == 401


def test_leaf_binds_the_csr_key(sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    response = post_signing_cert(sigstore_sandbox, sigstore_token_issuer.token(), csr_body(key))
    leaf = x509.load_pem_x509_certificate(
        response.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0].encode()
    )
    assert leaf.public_key() == key.public_key()


# -- Rekor's checks ----------------------------------------------------------------------------------------


def test_rekor_refuses_bad_signatures_and_duplicates(sigstore_sandbox: LoopbackSigstore) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"payload")
    value = digest.finalize()
    from cryptography.hazmat.primitives.asymmetric import utils

    signature = key.sign(value, ec.ECDSA(utils.Prehashed(hashes.SHA256())))

    def entry(sig: bytes) -> dict[str, Any]:
        return {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": value.hex()}},
                "signature": {
                    "content": base64.b64encode(sig).decode(),
                    "publicKey": {"content": base64.b64encode(pem).decode()},
                },
            },
        }

    url = f"{sigstore_sandbox.rekor_url}/api/v1/log/entries"
    assert httpx.post(url, json=entry(signature), timeout=10).status_code == 201
    assert httpx.post(url, json=entry(signature), timeout=10).status_code == 409
    bad = bytearray(signature)
    bad[-1] ^= 1
    assert httpx.post(url, json=entry(bytes(bad)), timeout=10).status_code == 400
    info = httpx.get(f"{sigstore_sandbox.rekor_url}/api/v1/log", timeout=10).json()
    assert info["treeSize"] == 1


def test_rekor_entries_can_be_fetched_with_proofs(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    paths = [make_wheel(tmp_path, version=f"1.0.{i}") for i in range(5)]
    sign_all(sigstore_sandbox, sigstore_token_issuer.token(), paths)
    keyring = sigstore_sandbox.sigstore_trusted_root().rekor_keyring(KeyringPurpose.VERIFY)
    uuids = []
    for index in range(5):  # a tree of 5: proofs through both full and partial subtrees
        document = httpx.get(f"{sigstore_sandbox.rekor_url}/api/v1/log/entries?logIndex={index}", timeout=10).json()
        entry = TransparencyLogEntry._from_v1_response(document)
        assert entry._inner.inclusion_proof.tree_size == 5
        entry._verify(keyring)  # Merkle inclusion, checkpoint signature, SET
        uuids.append(next(iter(document)))
    by_uuid = RekorClient(sigstore_sandbox.rekor_url).log.entries.get(uuid=uuids[3])
    assert by_uuid._inner.log_index == 3
    info = RekorClient(sigstore_sandbox.rekor_url).log.get()
    assert info.tree_size == 5


def test_parallel_signing_with_one_signer(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    paths = [make_wheel(tmp_path, version=f"2.0.{i}") for i in range(8)]
    with (
        signing_context(sigstore_sandbox).signer(IdentityToken(sigstore_token_issuer.token())) as signer,
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        attestations = list(pool.map(lambda p: Attestation.sign(signer, Distribution.from_file(p)), paths))
    for attestation, path in zip(attestations, paths, strict=True):
        assert verify(sigstore_sandbox, attestation, path)
    assert len(sigstore_sandbox.log) == 8


# -- faults ----------------------------------------------------------------------------------------------------


def test_rekor_answers_503_once(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    path = make_wheel(tmp_path)
    sigstore_sandbox.rekor.fail_next(503)
    with signing_context(sigstore_sandbox).signer(IdentityToken(sigstore_token_issuer.token())) as signer:
        with pytest.raises(RekorClientError):
            Attestation.sign(signer, Distribution.from_file(path))
        attestation = Attestation.sign(signer, Distribution.from_file(path))
    assert verify(sigstore_sandbox, attestation, path)
    assert [(r.status, r.injected) for r in sigstore_sandbox.rekor.requests] == [(503, True), (201, False)]
    assert sigstore_sandbox.rekor.pending_failures == 0


def test_timestamp_authority_failure_only_warns(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    """sigstore-python logs a warning when the TSA fails and signs anyway (the Rekor time suffices)."""
    path = make_wheel(tmp_path)
    sigstore_sandbox.tsa.fail_next(500)
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), [path])
    assert verify(sigstore_sandbox, attestation, path)
    assert [(r.status, r.injected) for r in sigstore_sandbox.tsa.requests] == [(500, True)]


def test_short_lived_certificate_expires(
    make_sigstore_sandbox: MakeSigstoreSandbox, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    sandbox = make_sigstore_sandbox(cert_lifetime=timedelta(seconds=2))
    paths = [make_wheel(tmp_path, version="1.0.0"), make_wheel(tmp_path, version="1.0.1")]
    with signing_context(sandbox).signer(IdentityToken(sigstore_token_issuer.token())) as signer:
        first = Attestation.sign(signer, Distribution.from_file(paths[0]))
        expiry = leaf_of(first).not_valid_after_utc.timestamp()
        time.sleep(max(0.0, expiry - time.time()) + 0.2)
        with pytest.raises(AttestationError) as refused:
            Attestation.sign(signer, Distribution.from_file(paths[1]))
    # pypi-attestations re-raises with str() of the cause, which is empty: only the context names it.
    assert isinstance(refused.value.__context__, ExpiredCertificate)
    assert verify(sandbox, first, paths[0])


def test_dropped_connection(sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer) -> None:
    sigstore_sandbox.fulcio.drop_next()
    context = signing_context(sigstore_sandbox)
    with pytest.raises(requests.ConnectionError), context.signer(IdentityToken(sigstore_token_issuer.token())):
        pass
    assert [r.injected for r in sigstore_sandbox.fulcio.requests] == [True]


def test_latency_per_service(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    sigstore_sandbox.set_latency(fulcio=0.3, rekor=0.4)
    path = make_wheel(tmp_path)
    started = time.monotonic()
    with signing_context(sigstore_sandbox).signer(IdentityToken(sigstore_token_issuer.token())) as signer:
        after_certificate = time.monotonic()
        Attestation.sign(signer, Distribution.from_file(path))
    finished = time.monotonic()
    assert after_certificate - started >= 0.3
    assert finished - after_certificate >= 0.4
    assert finished - started < 5


# -- integration with the OIDC issuer stand-in and process mode ---------------------------------------------


def test_tokens_from_the_oidc_issuer_stand_in(make_sigstore_sandbox: MakeSigstoreSandbox, tmp_path: Path) -> None:
    from tests.sandbox.oidc_issuer import OIDCIssuer

    with OIDCIssuer() as issuer:
        sandbox = make_sigstore_sandbox(issuer.jwks)
        path = make_wheel(tmp_path)
        (attestation,) = sign_all(sandbox, issuer.mint(audience="sigstore"), [path])
        assert verify(sandbox, attestation, path)
        reusable = issuer.claims.reusable()
        (from_reusable,) = sign_all(sandbox, issuer.mint(audience="sigstore", claims=reusable), [path])
    assert verify(sandbox, from_reusable, path)  # the caller's release.yml, not the called file
    with pytest.raises(VerificationError):
        verify(
            sandbox,
            from_reusable,
            path,
            GitHubPublisher(repository="octo-org/sandbox-demo", workflow="pypi-publish.yml"),
        )


def test_attestation_verifier_for_the_warehouse_stand_in(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    from tests.sandbox.warehouse import GitHubPublisher as IndexPublisher

    path = make_wheel(tmp_path)
    (attestation,) = sign_all(sigstore_sandbox, sigstore_token_issuer.token(), [path])
    check = sigstore_sandbox.attestation_verifier()
    one = f"[{attestation.model_dump_json()}]"
    check(path.name, path.read_bytes(), one, IndexPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    with pytest.raises(ValueError, match=r"^Could not verify the uploaded artifact using the included attestation"):
        check(path.name, path.read_bytes(), one, IndexPublisher("octo-org/sandbox-demo", "other.yml"))
    with pytest.raises(ValueError, match="subject does not match distribution digest"):
        check(path.name, path.read_bytes() + b"x", one, IndexPublisher("octo-org/sandbox-demo", "release.yml"))
    two = f"[{attestation.model_dump_json()}, {attestation.model_dump_json()}]"
    with pytest.raises(
        ValueError,
        match=r"Multiple attestations for the same file with the same predicate type \(https://docs.pypi.org/attestations/publish/v1\) are not supported",
    ):
        check(path.name, path.read_bytes(), two, IndexPublisher("octo-org/sandbox-demo", "release.yml"))


@pytest.mark.parametrize("source", ["jwks-file", "jwks-url"])
def test_runs_as_a_process(sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path, source: str) -> None:
    from tests.sandbox.oidc_issuer import OIDCIssuer

    with OIDCIssuer() as issuer:
        if source == "jwks-file":
            jwks = tmp_path / "jwks.json"
            jwks.write_text(json.dumps(sigstore_token_issuer.jwks()))
            key_args = ["--jwks-file", str(jwks)]
            token = sigstore_token_issuer.token()
        else:
            key_args = ["--jwks-url", issuer.jwks_url]
            token = issuer.mint(audience="sigstore")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.sandbox.sigstore", *key_args, "--workdir", str(tmp_path / "w")],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            first = process.stdout.readline().strip()  # blocks until the sandbox serves (or exits)
            name, _, value = first.partition("=")
            assert name == "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG", process.stderr.read() if process.stderr else ""
            config = ClientTrustConfig.from_json(Path(value).read_text())
            config.force_tlog_version = 1
            path = make_wheel(tmp_path)
            with SigningContext.from_trust_config(config).signer(IdentityToken(token)) as signer:
                attestation = Attestation.sign(signer, Distribution.from_file(path))
            predicate, _ = verify_attestation(
                attestation,
                PUBLISHER,
                Distribution.from_file(path),
                verifier=Verifier(trusted_root=config.trusted_root),
            )
            assert predicate == "https://docs.pypi.org/attestations/publish/v1"
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0
