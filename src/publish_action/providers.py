"""Which CI provider runs this job, and its OIDC token for an audience: one detector per provider.

Each detector answers with a value, never by raising: :class:`NotHere` (the provider does not run this
job), :class:`Token` (here, with a token for the audience) or :class:`Broken` (here, but no token: why and
the provider's own fix). :func:`detect` asks them in order and returns the first answer that is not
:class:`NotHere`. What differs between providers travels in :class:`Provider`, so callers need no branch
per provider.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from publish_action.http import transient_reason
from publish_action.oidc import GITHUB_PERMISSION_SNIPPET, Claims, TransientOIDCError
from publish_action.redact import outside_text

#: The audience of the OIDC token Sigstore's Fulcio takes for a signing certificate.
SIGSTORE_AUDIENCE = "sigstore"
#: Where google-auth (and ``id``) find the metadata server unless ``GCE_METADATA_HOST`` says otherwise.
GCE_METADATA_HOST = "metadata.google.internal"
_GCE_IDENTITY_PATH = "/computeMetadata/v1/instance/service-accounts/default/identity"


#: One field of a trusted publisher: the label on the index's form, the form's field name, the token's value.
PublisherField = tuple[str, str, str | None]


@dataclass(frozen=True)
class Provider:
    """What differs between CI providers: names, and the trusted-publisher fields a token's claims give."""

    name: str
    #: ``provider=`` in PyPI's trusted-publisher forms (Warehouse's ``manage_project_oidc_publishers_prefill``).
    form_name: str
    #: The publisher's fields from a token's claims, in the form's order; ``None`` where the token lacks it.
    fields: Callable[[Claims], list[PublisherField]]
    #: What an optional field being empty means, by form field name.
    optional: Mapping[str, str]
    #: The token's claims that decide a publisher match, shown (none is secret) when the index refuses it.
    diagnostic_claims: tuple[str, ...]
    #: How to read the publisher's fields, for the fix of a refused exchange.
    field_guide: str

    def claims_table(self, claims: Claims) -> list[str]:
        """``name: value`` lines for the claims that decide a publisher match; MISSING where absent."""
        return [f"{name}: {claims.get(name) or 'MISSING'}" for name in self.diagnostic_claims]

    def publisher_fields(self, claims: Claims) -> list[str]:
        """``label: value`` lines: what a trusted publisher on the index must say to match this token."""
        return [f"{label}: {value or self.optional.get(name, 'MISSING')}" for label, name, value in self.fields(claims)]

    def form_url(self, web_root: str, project: str, claims: Claims) -> str:
        """The project's trusted-publisher form on the index, pre-filled from the token's claims."""
        query = {"provider": self.form_name} | {name: value or "" for _, name, value in self.fields(claims)}
        return f"{web_root}/manage/project/{project}/settings/publishing/?{urlencode(query)}"


def _github_fields(claims: Claims) -> list[PublisherField]:
    repository = claims.get("repository") or ""
    owner, _, name = repository.partition("/")
    return [
        ("owner", "owner", claims.get("repository_owner") or owner or None),
        ("repository", "repository", name or None),
        ("workflow name", "workflow_filename", claims.workflow_file),
        ("environment", "environment", claims.get("environment")),
    ]


def gitlab_ci_file(ci_config_ref_uri: str | None) -> str | None:
    """``gitlab.com/group/project//ci/release.yml@refs/heads/main`` → ``ci/release.yml``."""
    if not ci_config_ref_uri or "//" not in ci_config_ref_uri:
        return None
    return ci_config_ref_uri.split("//", 1)[1].split("@", 1)[0] or None


def _gitlab_fields(claims: Claims) -> list[PublisherField]:
    project_path = claims.get("project_path") or ""
    namespace, _, project = project_path.rpartition("/")
    return [
        ("namespace", "namespace", claims.get("namespace_path") or namespace or None),
        ("project name", "project", project or None),
        ("top-level pipeline file path", "workflow_filepath", gitlab_ci_file(claims.get("ci_config_ref_uri"))),
        ("environment", "environment", claims.get("environment")),
    ]


def _google_fields(claims: Claims) -> list[PublisherField]:
    return [("email", "email", claims.get("email")), ("subject", "sub", claims.get("sub"))]


_ANY_ENVIRONMENT = {"environment": "(any) — the job has no environment"}

GITHUB = Provider(
    "GitHub Actions",
    "github",
    _github_fields,
    _ANY_ENVIRONMENT,
    (
        "sub",
        "repository",
        "repository_owner",
        "repository_owner_id",
        "workflow_ref",
        "job_workflow_ref",
        "ref",
        "environment",
        "event_name",
    ),
    "the workflow name is the file name of the workflow that runs this job, and the environment must match "
    "the job's `environment:` when the publisher names one",
)
GITLAB = Provider(
    "GitLab CI/CD",
    "gitlab",
    _gitlab_fields,
    _ANY_ENVIRONMENT,
    ("iss", "sub", "namespace_path", "project_path", "ci_config_ref_uri", "ref_path", "environment", "pipeline_source"),
    "the namespace and project name are the project's path on GitLab, the top-level pipeline file path is the "
    "CI file the pipeline runs, `.gitlab-ci.yml` unless the project's CI/CD settings name another, and the "
    "environment must match the job's `environment:` when the publisher names one",
)
GOOGLE = Provider(
    "Google Cloud",
    "google",
    _google_fields,
    {"sub": "(optional) — leave empty to accept any subject"},
    ("iss", "email", "email_verified", "sub"),
    "the email is the service account attached to the job, and a subject, when the publisher names one, is "
    "that account's unique ID",
)

#: The issuer of Google Cloud identity tokens.
GOOGLE_ISSUER = "https://accounts.google.com"


def provider_of(claims: Claims) -> Provider:
    """The provider whose token carried ``claims``: GitLab by its claims (any instance), Google by its
    issuer, GitHub otherwise (its claims, or what a job's ``GITHUB_*`` variables say of them)."""
    if claims.get("project_path") and claims.get("ci_config_ref_uri"):
        return GITLAB
    if claims.get("iss") == GOOGLE_ISSUER:
        return GOOGLE
    return GITHUB


def publisher_form_url(web_root: str, project: str, claims: Claims, *, existing_project: bool) -> str:
    """A link to the index's trusted-publisher form: the project's, pre-filled from the token's claims.

    The form for a new project (a pending publisher, in the account's settings) is not filled from its
    address on PyPI, so its link carries no values; the message around it lists them.
    """
    if existing_project:
        return provider_of(claims).form_url(web_root, project, claims)
    return f"{web_root}/manage/account/publishing/"


@dataclass(frozen=True)
class NotHere:
    """The provider does not run this job."""


@dataclass(frozen=True)
class Token:
    """The provider runs this job and gave a token for the audience."""

    provider: Provider
    token: SecretStr


@dataclass(frozen=True)
class Broken:
    """The provider runs this job but gives no token: what, why, and the provider's own fix."""

    provider: Provider
    title: str
    cause: str
    fix: str


Detection = NotHere | Token | Broken


class TransientTokenError(TransientOIDCError):
    """A provider's token endpoint failed in a way worth retrying."""


def env_variable(audience: str) -> str:
    """``pypi`` → ``PYPI_ID_TOKEN``: the audience upper-cased, every non-alphanumeric an underscore (as ``id``)."""
    return re.sub(r"[^A-Z0-9]", "_", audience.upper()) + "_ID_TOKEN"


def gitlab_id_tokens_snippet(audiences: Sequence[str]) -> str:
    """The ``id_tokens:`` block a GitLab job needs for ``audiences``."""
    lines = ["publish:", "  id_tokens:"]
    lines += [f"    {env_variable(audience)}:\n      aud: {audience}" for audience in audiences]
    return "\n".join(lines)


def github_without_permission() -> Broken:
    """A GitHub job without ``id-token: write``: the runner gives it no token endpoint."""
    return Broken(
        GITHUB,
        "The job may not request an OIDC token",
        "Trusted Publishing needs an OIDC token, but the ACTIONS_ID_TOKEN_REQUEST_* variables are not set: "
        "the job lacks the `id-token: write` permission.",
        "add the permission at job level (not workflow level, so other jobs do not get it):\n"
        + GITHUB_PERMISSION_SNIPPET,
    )


def detect_github(audience: str, environ: Mapping[str, str], client: httpx.Client) -> Detection:
    """GitHub Actions: the runner's token endpoint (``ACTIONS_ID_TOKEN_REQUEST_*``).

    The request goes through the run's own HTTP stack, so it obeys the operation's deadline and the
    caller's retries (with Retry-After).
    """
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if environ.get("GITHUB_ACTIONS") != "true" and not (url and request_token):
        return NotHere()
    if not (url and request_token):
        return github_without_permission()
    response = _get(
        client, url, {"audience": audience}, {"Authorization": f"bearer {request_token}", "Accept": "application/json"}
    )
    if response.status_code != 200:
        return Broken(
            GITHUB,
            "GitHub refused the OIDC token request",
            f"the Actions token endpoint answered HTTP {response.status_code}.",
            "re-run the job; if it persists, check that the job has `permissions: id-token: write` and "
            "GitHub's status page (https://www.githubstatus.com/).",
        )
    try:
        value = response.json()["value"]
        if not isinstance(value, str) or not value:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise TransientTokenError('the answer is not {"value": <token>}', response=response) from None
    return Token(GITHUB, SecretStr(value))


def detect_gitlab(audience: str, environ: Mapping[str, str], client: httpx.Client) -> Detection:
    """GitLab CI/CD: the ``<AUDIENCE>_ID_TOKEN`` variable a job declares under ``id_tokens:``."""
    if environ.get("GITLAB_CI") != "true":
        return NotHere()
    name = env_variable(audience)
    value = environ.get(name)
    if not value:
        # The same detector serves the index's audience and Sigstore's (the attestations' certificate).
        sigstore = audience == SIGSTORE_AUDIENCE
        return Broken(
            GITLAB,
            f"The GitLab CI job has no ID token for {'Sigstore' if sigstore else 'the index'}",
            f"this GitLab CI job has no {name} variable: GitLab gives a job an ID token only for the "
            "audiences its `id_tokens:` block names"
            + (", and signing the attestations needs one for Sigstore." if sigstore else "."),
            f"declare the token in the job of .gitlab-ci.yml (audience {audience!r}, "
            + (
                "which Sigstore requires; or set `attestations: false` to publish without attestations"
                if sigstore
                else "as the index names it"
            )
            + "):\n"
            + gitlab_id_tokens_snippet([audience]),
        )
    return Token(GITLAB, SecretStr(value))


def detect_google(audience: str, environ: Mapping[str, str], client: httpx.Client) -> Detection:
    """Google Cloud: the metadata server's identity token for the service account attached to the machine.

    The metadata server is asked only where Google Cloud says it runs the job (``GCE_METADATA_HOST`` set,
    the machine's product name is Google's, or the metadata host resolves), with the run's own deadlines.
    With ``GOOGLE_SERVICE_ACCOUNT_NAME`` the job asks for another account's token by impersonation, which
    ``id`` does: this detector then steps aside.
    """
    if environ.get("GOOGLE_SERVICE_ACCOUNT_NAME"):
        return NotHere()
    host = environ.get("GCE_METADATA_HOST") or GCE_METADATA_HOST
    if not environ.get("GCE_METADATA_HOST") and not (_google_product() or _resolves(host)):
        return NotHere()
    url = f"http://{host}{_GCE_IDENTITY_PATH}"
    try:
        response = _get(client, url, {"audience": audience, "format": "full"}, {"Metadata-Flavor": "Google"})
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


Detector = Callable[[str, Mapping[str, str], httpx.Client], Detection]

#: In the order they are asked, like ``id``'s: the cheap environment checks before the network one.
DETECTORS: tuple[Detector, ...] = (detect_github, detect_gitlab, detect_google)


#: The detectors that read only the job's environment (no request): asked before the exchange for the
#: tokens needed after it, so that a job missing one stops before a token is minted.
PRECHECKS: tuple[Detector, ...] = (detect_gitlab,)


def precheck(audience: str, *, environ: Mapping[str, str] | None = None) -> Broken | None:
    """What :func:`detect` would find wrong for ``audience`` without asking anything over the network."""

    def no_request(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a precheck sent a request to {request.url.host}")

    with httpx.Client(transport=httpx.MockTransport(no_request)) as offline:
        outcome = detect(audience, environ=environ, client=offline, detectors=PRECHECKS)
    return outcome if isinstance(outcome, Broken) else None


def detect(
    audience: str,
    *,
    environ: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
    detectors: Sequence[Detector] = DETECTORS,
) -> Detection:
    """The first provider that runs this job, with its token or what is wrong; :class:`NotHere` if none."""
    from publish_action.http import make_client

    env = os.environ if environ is None else environ
    own = client is None
    active = make_client(max_connections=1) if client is None else client
    try:
        for detector in detectors:
            outcome = detector(audience, env, active)
            if not isinstance(outcome, NotHere):
                return outcome
    finally:
        if own:
            active.close()
    return NotHere()


def _get(client: httpx.Client, url: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.TransportError as exc:
        raise TransientTokenError(f"{type(exc).__name__}: {outside_text(str(exc), 200)}") from exc
    if transient_reason(response) is not None:
        raise TransientTokenError(f"HTTP {response.status_code}", response=response)
    return response


#: Where a Google Compute Engine machine (and Cloud Build's and Cloud Run's) names its maker, as ``id`` reads it.
_PRODUCT_NAME_FILE = "/sys/class/dmi/id/product_name"


def _google_product() -> bool:
    try:
        with open(_PRODUCT_NAME_FILE, encoding="utf-8") as handle:
            return handle.read().strip() in {"Google", "Google Compute Engine"}
    except OSError:
        return False


def _resolves(host: str) -> bool:
    import socket

    try:
        socket.getaddrinfo(host, 80)
    except OSError:
        return False
    return True
