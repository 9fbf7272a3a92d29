"""Google Cloud: the metadata server's identity token for the service account attached to the machine,
and the trusted-publisher fields (an e-mail, optionally a subject). ``GCE_METADATA_HOST`` and
``GOOGLE_SERVICE_ACCOUNT_NAME`` are read here."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import SecretStr

from publish_action.identity.claims import Claims
from publish_action.identity.provider import (
    Broken,
    Detection,
    NotHere,
    Provider,
    PublisherField,
    Token,
    TransientTokenError,
    get_token_answer,
)

#: The issuer of Google Cloud identity tokens.
ISSUER = "https://accounts.google.com"
#: Where google-auth (and ``id``) find the metadata server unless ``GCE_METADATA_HOST`` says otherwise.
METADATA_HOST = "metadata.google.internal"
_IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"
#: Where a Google Compute Engine machine (and Cloud Build's and Cloud Run's) names its maker, as ``id`` reads it.
_PRODUCT_NAME_FILE = "/sys/class/dmi/id/product_name"


def _fields(claims: Claims) -> list[PublisherField]:
    return [("email", "email", claims.get("email")), ("subject", "sub", claims.get("sub"))]


def environ_claims(environ: Mapping[str, str]) -> Claims | None:
    """A Google Cloud job's variables say nothing of its token's claims: only the token does."""
    return None


def detect(audience: str, environ: Mapping[str, str], client: httpx.Client) -> Detection:
    """The metadata server's identity token, asked only where Google Cloud says it runs the job
    (``GCE_METADATA_HOST`` set, the machine's product name is Google's, or the metadata host resolves),
    with the run's own deadlines. With ``GOOGLE_SERVICE_ACCOUNT_NAME`` the job asks for another account's
    token by impersonation, which ``id`` does: this detector then steps aside.
    """
    if environ.get("GOOGLE_SERVICE_ACCOUNT_NAME"):
        return NotHere()
    host = environ.get("GCE_METADATA_HOST") or METADATA_HOST
    if not environ.get("GCE_METADATA_HOST") and not (machine_is_google() or resolves(host)):
        return NotHere()
    url = f"http://{host}{_IDENTITY_PATH}"
    try:
        response = get_token_answer(
            client, url, {"audience": audience, "format": "full"}, {"Metadata-Flavor": "Google"}
        )
    except TransientTokenError:
        if environ.get("GCE_METADATA_HOST"):
            raise
        return NotHere()
    if response.status_code == 404:
        return Broken(
            GOOGLE,
            "No service account is attached to this Google Cloud job",
            "the metadata server has no identity for this machine: no service account is attached to it.",
            "attach a service account to the VM, Cloud Build trigger or Cloud Run job, and register that "
            "account's email as the trusted publisher.",
        )
    if response.status_code != 200 or response.headers.get("Metadata-Flavor") != "Google":
        return Broken(
            GOOGLE,
            "The Google Cloud metadata server gave no identity token",
            f"the metadata server at {host} answered HTTP {response.status_code}, not an identity token.",
            "check that the job runs on Google Cloud with a service account attached.",
        )
    token = response.text.strip()
    if not token:
        raise TransientTokenError("the metadata server answered an empty identity token")
    return Token(GOOGLE, SecretStr(token))


def machine_is_google() -> bool:
    """True when the machine's firmware names Google as its maker."""
    try:
        with open(_PRODUCT_NAME_FILE, encoding="utf-8") as handle:
            return handle.read().strip() in {"Google", "Google Compute Engine"}
    except OSError:
        return False


def resolves(host: str) -> bool:
    """True when ``host`` has an address (the metadata server's name resolves only on Google Cloud)."""
    import socket

    try:
        socket.getaddrinfo(host, 80)
    except OSError:
        return False
    return True


GOOGLE = Provider(
    "Google Cloud",
    "google",
    _fields,
    {"sub": "(optional) — leave empty to accept any subject"},
    ("iss", "email", "email_verified", "sub"),
    "the email is the service account attached to the job, and a subject, when the publisher names one, is "
    "that account's unique ID",
    detect,
    environ_claims,
)

__all__ = ["GOOGLE", "ISSUER", "METADATA_HOST", "detect", "environ_claims", "machine_is_google", "resolves"]
