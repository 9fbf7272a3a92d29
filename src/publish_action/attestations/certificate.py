"""What the run reads of its signing certificate: whether it is about to end, and whom it was issued to."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

#: A signature must land in the transparency log while its certificate is valid, or it never verifies.
#: A new certificate is requested when less than this is left of the current one (capped by a share of its
#: lifetime, so short-lived certificates are not renewed before every file).
_RENEW_MARGIN_SECONDS = 60.0
_RENEW_MARGIN_SHARE = 0.25


def ending_soon(certificate: x509.Certificate) -> bool:
    """True when too little of the certificate's validity is left to sign one more file."""
    lifetime = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).total_seconds()
    margin = min(_RENEW_MARGIN_SECONDS, lifetime * _RENEW_MARGIN_SHARE)
    remaining = (certificate.not_valid_after_utc - datetime.now(timezone.utc)).total_seconds()
    return remaining < margin


def certificate_identity(certificate: x509.Certificate) -> str:
    """The workflow (or other identity) a certificate was issued to, from its SAN."""
    from cryptography import x509

    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "an unnamed identity"
    values = names.get_values_for_type(x509.UniformResourceIdentifier) + names.get_values_for_type(x509.RFC822Name)
    return str(values[0]) if values else "an unnamed identity"


__all__ = ["certificate_identity", "ending_soon"]
