"""An RFC 3161 timestamp authority in process (`POST /api/v1/timestamp`, Sigstore's TSA path).

The response is a granted TimeStampResp whose token is CMS SignedData (RFC 5652) over a TSTInfo, signed
with signed attributes (content type, signing time, message digest, ESS signingCertificateV2 per RFC 5816), exactly the
parts rfc3161-client parses and OpenSSL's PKCS7_verify checks when sigstore-python verifies a bundle.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from datetime import datetime, timezone

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from rfc3161_client._rust import parse_timestamp_request

from tests.sandbox.sigstore import _der
from tests.sandbox.sigstore._pki import Authority

# sigstore/timestamp-authority's default policy OID.
POLICY_OID = "1.3.6.1.4.1.57264.2"
_SHA256 = "2.16.840.1.101.3.4.2.1"
_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_ATTR_SIGNING_TIME = "1.2.840.113549.1.9.5"
_ATTR_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"


class TimestampError(Exception):
    """A request the TSA refuses (answered 400)."""


class TimestampAuthority:
    """Signs TSTInfo structures with a TSA leaf certificate."""

    def __init__(self, signer: Authority, chain: list[Authority]) -> None:
        """`signer` signs; `chain` (signer first, root last) is what the trusted root lists."""
        self._signer = signer
        self.chain = [a.cert for a in chain]
        self._serials = itertools.count(1)
        self._lock = threading.Lock()

    def timestamp(self, request_der: bytes) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp."""
        try:
            request = parse_timestamp_request(request_der)
        except Exception as exc:  # the Rust parser raises its own error types
            raise TimestampError(f"invalid timestamp request: {exc}") from exc
        imprint = request.message_imprint
        if imprint.hash_algorithm.dotted_string != _SHA256:
            raise TimestampError("unsupported hash algorithm in message imprint")
        if request.policy is not None and request.policy.dotted_string != POLICY_OID:
            raise TimestampError("unsupported policy")
        with self._lock:
            serial = next(self._serials)
        cert = self._signer.cert
        cert_der = cert.public_bytes(serialization.Encoding.DER)
        sha256_id = _der.sequence(_der.oid(_SHA256))
        now = datetime.now(timezone.utc)

        tst_info_fields = [
            _der.integer(1),
            _der.oid(POLICY_OID),
            _der.sequence(sha256_id, _der.octet_string(imprint.message)),
            _der.integer(serial),
            _der.generalized_time(now),
            _der.sequence(_der.integer(1)),  # accuracy: one second
        ]
        if request.nonce is not None:
            tst_info_fields.append(_der.integer(request.nonce))
        tst_info = _der.sequence(*tst_info_fields)

        issuer_and_serial = _der.sequence(cert.issuer.public_bytes(), _der.integer(cert.serial_number))
        ess_cert_id = _der.sequence(_der.octet_string(hashlib.sha256(cert_der).digest()))
        attributes = [
            _der.sequence(_der.oid(_ATTR_CONTENT_TYPE), _der.set_of(_der.oid(_TST_INFO))),
            _der.sequence(_der.oid(_ATTR_SIGNING_TIME), _der.set_of(_der.utc_time(now))),
            _der.sequence(
                _der.oid(_ATTR_MESSAGE_DIGEST), _der.set_of(_der.octet_string(hashlib.sha256(tst_info).digest()))
            ),
            _der.sequence(
                _der.oid(_ATTR_SIGNING_CERTIFICATE_V2),
                _der.set_of(_der.sequence(_der.sequence(ess_cert_id))),
            ),
        ]
        # The signature covers the DER SET OF the attributes (RFC 5652 5.4), not the [0] IMPLICIT form.
        signed_attributes = _der.set_of(*attributes)
        signature = self._signer.key.sign(signed_attributes, ec.ECDSA(hashes.SHA256()))
        signer_info = _der.sequence(
            _der.integer(1),
            issuer_and_serial,
            sha256_id,
            _der.implicit_constructed(0, signed_attributes),
            _der.sequence(_der.oid(_ECDSA_SHA256)),
            _der.octet_string(signature),
        )
        signed_data_fields = [
            _der.integer(3),
            _der.set_of(sha256_id),
            _der.sequence(_der.oid(_TST_INFO), _der.explicit(0, _der.octet_string(tst_info))),
        ]
        if request.cert_req:
            signed_data_fields.append(_der.implicit_constructed(0, _der.set_of(cert_der)))
        signed_data_fields.append(_der.set_of(signer_info))
        token = _der.sequence(_der.oid(_SIGNED_DATA), _der.explicit(0, _der.sequence(*signed_data_fields)))
        return _der.sequence(_der.sequence(_der.integer(0)), token)
