"""An offline, Warehouse-compatible package index: Trusted Publishing, legacy upload, simple API.

It follows what pypi/warehouse does (``warehouse/oidc/views.py``, ``warehouse/oidc/models/github.py``,
``warehouse/oidc/services.py``, ``warehouse/forklift/legacy.py``, ``warehouse/packaging/utils.py``), down
to error codes, wording and response shapes, so that real clients (twine, uv, our action) run their real
code paths against it. PyPI's upload rules (form, core metadata, description rendering, file names, sizes,
the release window, archive framing, wheel contents) live in ``tests/sandbox/_forklift.py`` and are applied
here in forklift's order. What it leaves out: GitLab/Google/ActiveState publishers, organisations, web UI,
rate limits, upload scanning, project-name policy. Differences that a client could notice are listed in
``tests/sandbox/README.md``.

Endpoint names (for :attr:`Warehouse.faults` and :attr:`Warehouse.requests`): ``audience``, ``mint``,
``burn``, ``upload``, ``simple`` (index and project pages), ``files`` (downloads), ``provenance``,
``project`` (project pages), ``unknown``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import json
import re
import secrets
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING, Any, Literal, Protocol

import jwt
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import Version

from tests import canary
from tests.sandbox import _forklift as forklift
from tests.sandbox._forklift import HELP_URL
from tests.sandbox._forklift import Refusal as _Refusal
from tests.sandbox._http import LoopbackServer, Request, Response, json_response
from tests.sandbox.gitlab_issuer import GITLAB_ISSUER
from tests.sandbox.google_metadata import GOOGLE_ISSUER
from tests.sandbox.oidc_issuer import GITHUB_ISSUER

if TYPE_CHECKING:
    from tests.sandbox.oidc_issuer import OIDCIssuer


class _KeyHolder(Protocol):
    """An issuer stand-in: anything that publishes its JWKS."""

    def jwks(self) -> Mapping[str, Any]: ...


__all__ = [
    "Account",
    "ApiToken",
    "AttestationRejected",
    "AttestationVerifier",
    "BurnRecord",
    "GitHubPublisher",
    "GitLabPublisher",
    "GooglePublisher",
    "MintRecord",
    "Misserved",
    "Project",
    "Publisher",
    "Release",
    "StoredFile",
    "Warehouse",
]

# Values from Warehouse's sources; the comment names where each one lives there.
JWT_LEEWAY = 30  # warehouse/oidc/services.py _JWT_LEEWAY
MINTED_TOKEN_LIFETIME = 900  # warehouse/oidc/views.py: expires_at = not_before + 900
DEFAULT_FILE_SIZE_LIMIT = forklift.MAX_FILESIZE  # warehouse/constants.py MAX_FILESIZE
DEFAULT_PROJECT_SIZE_LIMIT = forklift.MAX_PROJECT_SIZE  # warehouse/constants.py MAX_PROJECT_SIZE
SIMPLE_API_VERSION = "1.4"  # warehouse/packaging/utils.py API_VERSION
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
#: PEP 792 project statuses (warehouse/packaging/models.py ProjectStatusMarker).
PROJECT_STATUSES = ("active", "archived", "quarantined", "deprecated")
# warehouse/oidc/models/github.py _WORKFLOW_FILENAME_RE: the file name before the "@".
_WORKFLOW_FILENAME_RE = re.compile(r"([^/]+\.(yml|yaml))(?=@)")
_GITHUB_REQUIRED_CLAIMS = (
    "repository",
    "repository_owner",
    "repository_owner_id",
    "job_workflow_ref",
    "jti",
    "event_name",
    "ref",
    "sha",
)

# warehouse/oidc/models/gitlab.py: the CI file path sits between the `//` ending the project and the `@`
# before the ref; it may contain slashes, must end in .yml/.yaml and have a non-empty base name.
_CI_CONFIG_FILEPATH_RE = re.compile(r"(?<=//)(.*[^/]\.(?:yml|yaml))(?=@)")
# Required claims (the verifiable ones, then the unverifiable), checked before the lookup.
_GITLAB_REQUIRED_CLAIMS = ("sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha")
_GOOGLE_REQUIRED_CLAIMS = ("email", "email_verified")
#: Warehouse's service name per issuer (warehouse/oidc/utils.py OIDC_ISSUER_SERVICE_NAMES).
ISSUER_SERVICE_NAMES = {GITHUB_ISSUER: "github", GITLAB_ISSUER: "gitlab", GOOGLE_ISSUER: "google"}

_REASONS = {
    200: ("OK", ""),
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    429: ("Too Many Requests", "The action could not be performed because there were too many requests."),
    500: (
        "Internal Server Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
}


class AttestationRejected(Exception):
    """Raised by an attestation verifier to refuse an upload (answered 400 with Warehouse's prefix)."""


@dataclass(frozen=True)
class GitHubPublisher:
    """A GitHub Trusted Publisher as registered on the index.

    ``environment`` "" accepts any environment (and none); Warehouse stores it lower-cased.
    """

    repository: str
    workflow: str
    environment: str = ""
    repository_owner_id: str = "900000001"

    def __post_init__(self) -> None:
        if "/" not in self.repository:
            raise ValueError("repository must be 'owner/name'")
        object.__setattr__(self, "environment", self.environment.lower())

    @property
    def owner(self) -> str:
        """The repository owner."""
        return self.repository.split("/", 1)[0]

    @property
    def repository_name(self) -> str:
        """The repository name without owner."""
        return self.repository.split("/", 1)[1]

    @property
    def job_workflow_ref(self) -> str:
        """``owner/repo/.github/workflows/<file>``: what ``job_workflow_ref`` must be, before ``@ref``."""
        return f"{self.repository}/.github/workflows/{self.workflow}"

    def attestation_identity(self) -> Any:
        """The ``pypi_attestations.GitHubPublisher`` PyPI verifies attestations against."""
        from pypi_attestations import GitHubPublisher as Identity

        return Identity(repository=self.repository, workflow=self.workflow, environment=self.environment or None)

    def __str__(self) -> str:
        env = f" (environment {self.environment})" if self.environment else ""
        return f"{self.repository} {self.workflow}{env}"


@dataclass(frozen=True)
class GitLabPublisher:
    """A GitLab CI/CD Trusted Publisher (warehouse/oidc/models/gitlab.py): ``namespace/project``, the CI
    file's path in the repository, and an optional environment (stored and compared as given)."""

    namespace: str
    project: str
    workflow_filepath: str = ".gitlab-ci.yml"
    environment: str = ""

    @property
    def project_path(self) -> str:
        """``namespace/project``."""
        return f"{self.namespace}/{self.project}"

    @property
    def sub(self) -> str:
        """What the ``sub`` claim must start with: ``project_path:<namespace>/<project>``."""
        return f"project_path:{self.project_path}"

    @property
    def ci_config_ref_uri(self) -> str:
        """``gitlab.com/<namespace>/<project>//<workflow_filepath>``: what ``ci_config_ref_uri`` must be,
        before ``@ref``."""
        return f"gitlab.com/{self.project_path}//{self.workflow_filepath}"

    def attestation_identity(self) -> Any:
        """The ``pypi_attestations.GitLabPublisher`` PyPI verifies attestations against."""
        from pypi_attestations import GitLabPublisher as Identity

        return Identity(
            repository=self.project_path,
            workflow_filepath=self.workflow_filepath,
            environment=self.environment or None,
        )

    def __str__(self) -> str:
        env = f" (environment {self.environment})" if self.environment else ""
        return f"{self.project_path} {self.workflow_filepath}{env}"


@dataclass(frozen=True)
class GooglePublisher:
    """A Google Cloud Trusted Publisher (warehouse/oidc/models/google.py): a service account's e-mail and,
    optionally, its numeric ``sub`` ("" accepts any)."""

    email: str
    sub: str = ""

    def attestation_identity(self) -> Any:
        """The ``pypi_attestations.GooglePublisher`` PyPI verifies attestations against."""
        from pypi_attestations import GooglePublisher as Identity

        return Identity(email=self.email)

    def __str__(self) -> str:
        return self.email + (f" (sub {self.sub})" if self.sub else "")


#: Any Trusted Publisher the stand-in knows.
Publisher = GitHubPublisher | GitLabPublisher | GooglePublisher

AttestationVerifier = Callable[[str, bytes, str, Publisher], None]
"""``verifier(filename, content, attestations_json, publisher)``: raise to refuse the upload.

Called only for uploads authenticated by a Trusted-Publishing token that carry an ``attestations`` field,
after Warehouse's structural checks (valid JSON list of 1-2 attestation objects). A raised
:class:`AttestationRejected` (or any exception) becomes 400 "Invalid attestations supplied during
upload: <message>".
"""


@dataclass
class Account:
    """A user account with a password (for indexes that still take username/password)."""

    username: str
    password: str
    projects: set[str] = field(default_factory=set)


@dataclass
class ApiToken:
    """An upload credential: minted by Trusted Publishing (``kind="oidc"``) or a user's API token."""

    token: str
    kind: Literal["oidc", "user"]
    projects: frozenset[str] | None
    username: str | None = None
    publisher: Publisher | None = None
    claims: Mapping[str, Any] | None = None
    not_before: int | None = None
    expires: int | None = None
    burnt: bool = False


@dataclass(frozen=True)
class MintRecord:
    """One successful mint: which publisher, which JWT (``jti``), which token."""

    publisher: Publisher
    jti: str
    token: str
    expires: int
    projects: frozenset[str]


@dataclass(frozen=True)
class BurnRecord:
    """One burn request. ``known`` is False when the token was not one the index issued."""

    token: str
    known: bool
    at: float


@dataclass(frozen=True)
class Misserved:
    """What the read APIs serve for one file instead of what is stored, as a broken mirror or CDN edge would.

    Only the simple API and the integrity API see it; the stored file, the upload checks and downloads do
    not change. ``sha256`` replaces the listed digest; ``drop_provenance`` lists the file without provenance
    (and its integrity URL answers 404); ``provenance_publisher`` serves provenance naming that publisher.
    """

    sha256: str | None = None
    drop_provenance: bool = False
    provenance_publisher: Publisher | None = None


@dataclass
class StoredFile:
    """An accepted upload, as stored."""

    filename: str
    project: str
    version: str
    filetype: str
    pyversion: str
    content: bytes
    sha256: str
    blake2_256: str
    md5: str
    form: dict[str, list[str]]
    attestations: str | None
    provenance: dict[str, Any] | None
    publisher: Publisher | None
    uploader: str
    upload_time: float
    requires_python: str | None = None
    metadata_sha256: str | None = None

    @property
    def path(self) -> str:
        """The storage path PyPI would use (blake2-addressed)."""
        b = self.blake2_256
        return f"{b[:2]}/{b[2:4]}/{b[4:]}/{self.filename}"


@dataclass
class Release:
    """A version of a project."""

    version: str
    canonical_version: str
    created: float
    files: list[StoredFile] = field(default_factory=list)


@dataclass
class Project:
    """A project on the index.

    ``status`` is its PEP 792 status (one of :data:`PROJECT_STATUSES`; assignable at any time): ``archived``
    takes upload permission from everyone, ``quarantined`` from its Trusted Publishers and hides its files
    from the simple API, ``deprecated`` is only reported. ``upload_limit`` / ``total_size_limit`` raise the
    file / project size limits for this project (Warehouse uses the larger of these and the index's).
    """

    name: str
    normalized_name: str
    owners: set[str] = field(default_factory=set)
    releases: dict[str, Release] = field(default_factory=dict)
    upload_limit: int | None = None
    total_size_limit: int | None = None
    created_via: str = "setup"
    status: str = "active"

    @property
    def total_size(self) -> int:
        """Bytes of every file the project holds now."""
        return sum(len(f.content) for r in self.releases.values() for f in r.files)


class Warehouse(LoopbackServer):
    """The index stand-in. Construct, register publishers/accounts, :meth:`start` (or use the fixture).

    ``issuer`` (or ``jwks``) supplies the keys JWTs are verified with. ``audience`` is what
    ``/_/oidc/audience`` answers and what tokens must carry. ``trusted_publishing`` is ``"enabled"``,
    ``"disabled"`` (audience 403, mint 422 ``not-enabled``, as PyPI with the admin flag set) or ``"absent"``
    (404, as an index without the feature).
    """

    def __init__(
        self,
        issuer: OIDCIssuer | None = None,
        *,
        jwks: Mapping[str, Any] | None = None,
        gitlab_issuer: _KeyHolder | Mapping[str, Any] | None = None,
        google_issuer: _KeyHolder | Mapping[str, Any] | None = None,
        audience: str = "pypi",
        token_lifetime: int = MINTED_TOKEN_LIFETIME,
        file_size_limit: int = DEFAULT_FILE_SIZE_LIMIT,
        project_size_limit: int = DEFAULT_PROJECT_SIZE_LIMIT,
        trusted_publishing: Literal["enabled", "disabled", "absent"] = "enabled",
        password_uploads: bool = True,
        attestation_verifier: AttestationVerifier | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
    ) -> None:
        super().__init__(self._route, host=host, port=port, tls=tls)
        self._issuer = issuer
        self._jwks = dict(jwks) if jwks is not None else None
        #: Keys of the GitLab and Google issuers: a stand-in (anything with ``jwks()``) or a JWKS dict.
        self.gitlab_issuer = gitlab_issuer
        self.google_issuer = google_issuer
        #: Warehouse service names (``github``, ``gitlab``, ``google``) whose admin flag disallows Trusted
        #: Publishing: their tokens are refused ``not-enabled`` while the others still mint.
        self.disabled_providers: set[str] = set()
        self.audience = audience
        self.token_lifetime = token_lifetime
        self.file_size_limit = file_size_limit
        self.project_size_limit = project_size_limit
        self.trusted_publishing = trusted_publishing
        #: False answers Basic auth with a password the way PyPI does today (403).
        self.password_uploads = password_uploads
        #: The PEP 740 verification hook; None accepts structurally valid attestations unverified.
        self.attestation_verifier = attestation_verifier
        self._lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.publishers: dict[Publisher, set[str]] = {}
        self.pending_publishers: dict[Publisher, str] = {}
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, ApiToken] = {}
        self.used_jtis: set[str] = set()
        self.mints: list[MintRecord] = []
        self.burns: list[BurnRecord] = []
        self.deleted_filenames: set[str] = set()
        #: Seconds a new file stays out of the simple API and the integrity API after its upload, as behind
        #: a CDN whose edges still serve the pages cached before it (0: visible at once, as the origin).
        self.listing_lag: float = 0.0
        #: Files the read APIs serve wrongly, by file name (:meth:`misserve`).
        self.misserved: dict[str, Misserved] = {}

    # -- configuration -----------------------------------------------------------------------------

    def add_project(self, name: str, *, owners: tuple[str, ...] = (), status: str | None = None) -> Project:
        """Create an (empty) project, as if registered earlier; ``status`` sets its PEP 792 status
        (default ``active`` for a new project, unchanged for an existing one)."""
        if status is not None and status not in PROJECT_STATUSES:
            raise ValueError(f"status must be one of {PROJECT_STATUSES}, not {status!r}")
        with self._lock:
            normalized = canonicalize_name(name)
            project = self.projects.get(normalized)
            if project is None:
                project = Project(name=name, normalized_name=normalized, created_via="test")
                self.projects[normalized] = project
            if status is not None:
                project.status = status
            project.owners.update(owners)
            for owner in owners:
                if owner in self.accounts:
                    self.accounts[owner].projects.add(normalized)
            return project

    def add_publisher(self, project: str, publisher: Publisher) -> Publisher:
        """Register a Trusted Publisher for an existing project (created if missing)."""
        with self._lock:
            normalized = self.add_project(project).normalized_name
            self.publishers.setdefault(publisher, set()).add(normalized)
            return publisher

    def add_pending_publisher(self, project_name: str, publisher: Publisher) -> Publisher:
        """Register a pending publisher: the project does not exist yet and is created on first mint."""
        with self._lock:
            if canonicalize_name(project_name) in self.projects:
                raise ValueError(f"project {project_name!r} already exists; use add_publisher")
            self.pending_publishers[publisher] = project_name
            return publisher

    def add_account(self, username: str, password: str, *, projects: tuple[str, ...] = ()) -> Account:
        """A user with a password who owns ``projects`` (created if missing); users may create projects."""
        with self._lock:
            canary.register_basic(username, password, "account password", "the Warehouse stand-in")
            account = Account(username=username, password=password)
            self.accounts[username] = account
            for name in projects:
                self.add_project(name, owners=(username,))
            return account

    def add_api_token(self, username: str, *, projects: tuple[str, ...] | None = None) -> str:
        """A user's API token (``pypi-…``), scoped to ``projects`` or account-wide (None).

        The account is created (with a random password) if missing.
        """
        with self._lock:
            if username not in self.accounts:
                self.add_account(username, secrets.token_urlsafe(16))
            scope = frozenset(canonicalize_name(p) for p in projects) if projects is not None else None
            token = _new_token()
            canary.register_basic("__token__", token, "API token", "the Warehouse stand-in")
            self.tokens[token] = ApiToken(token=token, kind="user", projects=scope, username=username)
            return token

    def age_release(self, project: str, version: str, *, days: float) -> Release:
        """Move a release's creation time and its files' upload times ``days`` days into the past."""
        with self._lock:
            release = self.projects[canonicalize_name(project)].releases[canonicalize_version(version)]
            shift = days * 86400
            release.created -= shift
            for stored in release.files:
                stored.upload_time -= shift
            return release

    def misserve(
        self,
        filename: str,
        *,
        sha256: str | None = None,
        drop_provenance: bool = False,
        provenance_publisher: Publisher | None = None,
    ) -> None:
        """Serve ``filename`` wrongly from now on in the simple and integrity APIs (see :class:`Misserved`)."""
        with self._lock:
            self.misserved[filename] = Misserved(sha256, drop_provenance, provenance_publisher)

    def delete_file(self, filename: str) -> None:
        """Delete an uploaded file; its name can never be used again (as on PyPI)."""
        with self._lock:
            for project in self.projects.values():
                for release in project.releases.values():
                    release.files = [f for f in release.files if f.filename != filename]
            self.deleted_filenames.add(filename)

    # -- what tests read ---------------------------------------------------------------------------

    @property
    def upload_url(self) -> str:
        """The legacy upload endpoint (``repository-url``), with trailing slash."""
        return f"{self.url}/legacy/"

    @property
    def simple_url(self) -> str:
        """The simple index root, with trailing slash."""
        return f"{self.url}/simple/"

    @property
    def files(self) -> list[StoredFile]:
        """Every stored file, in upload order."""
        with self._lock:
            stored = [f for p in self.projects.values() for r in p.releases.values() for f in r.files]
        return sorted(stored, key=lambda f: f.upload_time)

    def file(self, filename: str) -> StoredFile:
        """The stored file with this name (KeyError if absent)."""
        for stored in self.files:
            if stored.filename == filename:
                return stored
        raise KeyError(filename)

    @property
    def minted_tokens(self) -> list[str]:
        """Every token minted via Trusted Publishing (secret canaries)."""
        with self._lock:
            return [m.token for m in self.mints]

    def token_is_live(self, token: str) -> bool:
        """True if ``token`` would still authenticate an upload right now."""
        with self._lock:
            record = self.tokens.get(token)
            return record is not None and not record.burnt and _time_ok(record)

    def mint_direct(self, jwt_token: str) -> dict[str, Any]:
        """Run the mint-token logic without HTTP; returns the JSON body (success or error)."""
        status, body = self._mint(json.dumps({"token": jwt_token}).encode())
        return {"status": status, **body}

    # -- routing -----------------------------------------------------------------------------------

    def _route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        path = request.path
        if path == "/_/oidc/audience":
            return "audience", lambda: self._audience(request)
        if path in ("/_/oidc/mint-token", "/_/oidc/github/mint-token"):
            return "mint", lambda: self._mint_view(request)
        if path == "/_/oidc/burn-token":
            return "burn", lambda: self._burn_view(request)
        if path in ("/legacy/", "/legacy"):
            return "upload", lambda: self._upload_view(request)
        if path == "/simple" or path.startswith("/simple/"):
            return "simple", lambda: self._simple_view(request)
        if path.startswith("/packages/"):
            return "files", lambda: self._file_view(request)
        if path.startswith("/integrity/") and path.endswith("/provenance"):
            return "provenance", lambda: self._provenance_view(request)
        if path.startswith("/project/"):
            return "project", lambda: self._project_view(request)
        return "unknown", lambda: Response(404, b"404 Not Found")

    # -- trusted publishing ------------------------------------------------------------------------

    def _audience(self, request: Request) -> Response:
        if self.trusted_publishing == "absent":
            return Response(404, b"404 Not Found")
        if request.method != "GET":
            return Response(405, b"405 Method Not Allowed")
        if self.trusted_publishing == "disabled":
            return json_response(403, {"message": "Trusted publishing functionality not enabled"})
        return json_response(200, {"audience": self.audience})

    def _mint_view(self, request: Request) -> Response:
        if self.trusted_publishing == "absent":
            return Response(404, b"404 Not Found")
        if request.method != "POST":
            return Response(405, b"405 Method Not Allowed")
        status, body = self._mint(request.body)
        return json_response(status, body)

    def _keyset(self, issuer: str = GITHUB_ISSUER) -> dict[str, Any]:
        jwks: Mapping[str, Any]
        if issuer != GITHUB_ISSUER:
            source = self.gitlab_issuer if issuer == GITLAB_ISSUER else self.google_issuer
            if source is None:
                jwks = {"keys": []}
            elif isinstance(source, Mapping):
                jwks = source
            else:
                jwks = source.jwks()
        elif self._jwks is not None:
            jwks = self._jwks
        elif self._issuer is not None:
            jwks = self._issuer.jwks()
        else:
            jwks = {"keys": []}
        return {key["kid"]: key for key in jwks.get("keys", []) if "kid" in key}

    def _mint(self, body: bytes) -> tuple[int, dict[str, Any]]:
        from pydantic import BaseModel, StrictStr, ValidationError

        class TokenPayload(BaseModel):
            token: StrictStr

        def invalid(code: str, description: str) -> tuple[int, dict[str, Any]]:
            return 422, {"message": "Token request failed", "errors": [{"code": code, "description": description}]}

        try:
            unverified = TokenPayload.model_validate_json(body).token
        except ValidationError as exc:
            return invalid("invalid-payload", str(exc))

        try:
            unverified_claims = jwt.decode(unverified, options={"verify_signature": False})
            issuer = unverified_claims["iss"]
        except (jwt.PyJWTError, KeyError, TypeError):
            return invalid("invalid-payload", "malformed JWT")
        service_name = ISSUER_SERVICE_NAMES.get(issuer) if isinstance(issuer, str) else None
        if service_name is None:
            return invalid("invalid-payload", "unknown trusted publishing issuer")
        if self.trusted_publishing == "disabled" or service_name in self.disabled_providers:
            return invalid("not-enabled", f"{service_name} trusted publishing functionality not enabled")

        claims = self._verify_jwt(unverified, issuer)
        if claims is None:
            return invalid("invalid-token", "malformed or invalid token")

        with self._lock:
            # Pending publishers first: a match creates the project now and turns the pending publisher
            # into a normal one (warehouse/oidc/views.py mint_token), then minting proceeds as usual.
            try:
                pending = self._find_publisher(claims, pending=True)
            except _InvalidPublisher:
                pending = None
            except _ReusedToken:
                return invalid("invalid-reuse-token", "invalid token: already used")
            if pending is not None:
                project_name = self.pending_publishers[pending]
                if canonicalize_name(project_name) in self.projects:
                    del self.pending_publishers[pending]
                    return invalid("invalid-pending-publisher", "valid token, but project already exists")
                del self.pending_publishers[pending]
                project = self.add_project(project_name)
                project.created_via = "pending-publisher"
                self.publishers.setdefault(pending, set()).add(project.normalized_name)

            try:
                publisher = self._find_publisher(claims, pending=False)
            except _ReusedToken:
                return invalid("invalid-reuse-token", "invalid token: already used")
            except _InvalidPublisher as exc:
                return invalid("invalid-publisher", f"valid token, but no corresponding publisher ({exc})")

            # Warehouse claims the jti only when the token has one (Google's identity tokens have none).
            jti = str(claims["jti"]) if claims.get("jti") else ""
            if jti:
                if jti in self.used_jtis:
                    return invalid("invalid-reuse-token", "invalid token: already used")
                self.used_jtis.add(jti)

            not_before = int(time.time())
            expires = not_before + self.token_lifetime
            projects = frozenset(self.publishers.get(publisher, set()))
            token = _new_token()
            canary.register_basic("__token__", token, canary.MINTED_TOKEN, "the Warehouse stand-in")
            self.tokens[token] = ApiToken(
                token=token,
                kind="oidc",
                projects=projects,
                publisher=publisher,
                claims=claims,
                not_before=not_before,
                expires=expires,
            )
            self.mints.append(MintRecord(publisher=publisher, jti=jti, token=token, expires=expires, projects=projects))
        return 200, {"success": True, "token": token, "expires": expires}

    def _verify_jwt(self, token: str, issuer: str = GITHUB_ISSUER) -> dict[str, Any] | None:
        """Warehouse's verify_jwt_signature: RS256, known kid of that issuer, iss/iat/exp/aud required,
        strict aud."""
        try:
            header = jwt.get_unverified_header(token)
            key_data = self._keyset(issuer).get(header.get("kid", ""))
            if key_data is None:
                return None
            claims: dict[str, Any] = jwt.decode(
                token,
                key=jwt.PyJWK(key_data),
                algorithms=["RS256"],
                options={
                    "verify_signature": True,
                    "require": ["iss", "iat", "exp", "aud"],
                    "verify_iss": True,
                    "verify_iat": True,
                    "verify_exp": True,
                    "verify_aud": True,
                    "verify_nbf": True,
                    "strict_aud": True,
                },
                issuer=issuer,
                audience=self.audience,
                leeway=JWT_LEEWAY,
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        return claims

    def _find_publisher(self, claims: Mapping[str, Any], *, pending: bool) -> Publisher:
        """The publisher of the token's issuer, found and checked as Warehouse does."""
        if claims.get("iss") == GITLAB_ISSUER:
            return self._find_gitlab_publisher(claims, pending=pending)
        if claims.get("iss") == GOOGLE_ISSUER:
            return self._find_google_publisher(claims, pending=pending)
        return self._find_github_publisher(claims, pending=pending)

    def _find_gitlab_publisher(self, claims: Mapping[str, Any], *, pending: bool) -> GitLabPublisher:
        """warehouse/oidc/models/gitlab.py: lookup_by_claims, then verify_claims, with its messages."""
        for name in _GITLAB_REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise _InvalidPublisher(f"Missing claim {name!r}")
        project_path = str(claims["project_path"])
        namespace, _, project = project_path.rpartition("/")
        environment = claims.get("environment")
        match = _CI_CONFIG_FILEPATH_RE.search(str(claims["ci_config_ref_uri"]))
        if match is None:
            raise _InvalidPublisher("Could not extract workflow filename from OIDC claims")
        workflow_filepath = match.group(0)

        registry = self.pending_publishers if pending else self.publishers
        # Namespace and project compare case-insensitively (GitLab paths are), the CI file path exactly.
        candidates = [
            p
            for p in registry
            if isinstance(p, GitLabPublisher)
            and p.namespace.lower() == namespace.lower()
            and p.project.lower() == project.lower()
            and p.workflow_filepath == workflow_filepath
        ]
        chosen = None
        if environment:
            chosen = next((p for p in candidates if p.environment == environment), None)
        if chosen is None:
            chosen = next((p for p in candidates if p.environment == ""), None)
        if chosen is None:
            raise _InvalidPublisher("Publisher with matching claims was not found")

        # verify_claims: sub, project_path, ci_config_ref_uri, jti; then the optional environment.
        sub_parts = str(claims["sub"] or "").split(":")
        if len(sub_parts) < 2 or not all(sub_parts[:2]) or ":".join(sub_parts[:2]).lower() != chosen.sub.lower():
            raise _InvalidPublisher("Check failed for required claim 'sub'")
        if not project_path or project_path.lower() != chosen.project_path.lower():
            raise _InvalidPublisher("Check failed for required claim 'project_path'")
        ci_config_ref_uri = str(claims["ci_config_ref_uri"])
        if not ci_config_ref_uri:
            raise _InvalidPublisher("The ci_config_ref_uri claim is empty")
        ref_path, sha = claims.get("ref_path"), claims.get("sha")
        if not (ref_path and sha):
            raise _InvalidPublisher("The ref_path and sha claims are empty")
        expected = {f"{chosen.ci_config_ref_uri}@{r}" for r in (ref_path, sha)}
        if ci_config_ref_uri not in expected:
            raise _InvalidPublisher(
                "The ci_config_ref_uri claim does not match, expecting one of "
                f"{sorted(expected)!r}, got {ci_config_ref_uri!r}"
            )
        if str(claims["jti"]) in self.used_jtis:
            raise _ReusedToken
        if chosen.environment and (not environment or environment != chosen.environment):
            raise _InvalidPublisher("Check failed for optional claim 'environment'")
        return chosen

    def _find_google_publisher(self, claims: Mapping[str, Any], *, pending: bool) -> GooglePublisher:
        """warehouse/oidc/models/google.py: lookup by e-mail (a publisher naming the token's ``sub`` wins,
        else one with none), then verify_claims."""
        for name in _GOOGLE_REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise _InvalidPublisher(f"Missing claim {name!r}")
        email = claims["email"]
        sub = claims.get("sub")
        registry = self.pending_publishers if pending else self.publishers
        candidates = [p for p in registry if isinstance(p, GooglePublisher) and p.email == email]
        chosen = None
        if sub:
            chosen = next((p for p in candidates if p.sub == sub), None)
        if chosen is None:
            chosen = next((p for p in candidates if p.sub == ""), None)
        if chosen is None:
            raise _InvalidPublisher("Publisher with matching claims was not found")
        if email != chosen.email:
            raise _InvalidPublisher("Check failed for required claim 'email'")
        if claims["email_verified"] is not True:
            raise _InvalidPublisher("Check failed for required claim 'email_verified'")
        if chosen.sub and sub != chosen.sub:
            raise _InvalidPublisher("Check failed for optional claim 'sub'")
        return chosen

    def _find_github_publisher(self, claims: Mapping[str, Any], *, pending: bool) -> GitHubPublisher:
        """GitHub publisher lookup and claim checks, in Warehouse's order and with its messages."""
        for name in _GITHUB_REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise _InvalidPublisher(f"Missing claim {name!r}")
        repository = str(claims["repository"])
        owner, _, repo_name = repository.partition("/")
        job_workflow_ref = str(claims["job_workflow_ref"])
        match = _WORKFLOW_FILENAME_RE.search(job_workflow_ref)
        if match is None:
            raise _InvalidPublisher("Could not job extract workflow filename from OIDC claims")
        workflow_file = match.group(1)
        environment = claims.get("environment")

        registry = self.pending_publishers if pending else self.publishers
        candidates = [
            p
            for p in registry
            if isinstance(p, GitHubPublisher)
            and p.owner.lower() == owner.lower()
            and p.repository_name.lower() == repo_name.lower()
            and p.repository_owner_id == str(claims["repository_owner_id"])
            and p.workflow == workflow_file
        ]
        # The most specific publisher wins: one naming this environment, else one accepting any.
        chosen = None
        if environment:
            chosen = next((p for p in candidates if p.environment == str(environment).lower()), None)
        if chosen is None:
            chosen = next((p for p in candidates if p.environment == ""), None)
        if chosen is None:
            raise _InvalidPublisher("Publisher with matching claims was not found")

        # verify_claims: required claims in declaration order, then the optional environment.
        if repository.lower() != chosen.repository.lower():
            raise _InvalidPublisher("Check failed for required claim 'repository'")
        if str(claims["repository_owner"]) != chosen.owner:
            raise _InvalidPublisher("Check failed for required claim 'repository_owner'")
        if str(claims["repository_owner_id"]) != chosen.repository_owner_id:
            raise _InvalidPublisher("Check failed for required claim 'repository_owner_id'")
        ref, sha = claims.get("ref"), claims.get("sha")
        if not (ref or sha):
            raise _InvalidPublisher("The ref and sha claims are empty")
        expected = {f"{chosen.job_workflow_ref}@{r}" for r in (ref, sha) if r}
        if job_workflow_ref not in expected:
            raise _InvalidPublisher(
                "The job_workflow_ref claim does not match, expecting one of "
                f"{sorted(expected)!r}, got {job_workflow_ref!r}"
            )
        if str(claims["jti"]) in self.used_jtis:
            raise _ReusedToken
        if claims["event_name"] == "pull_request_target":
            raise _InvalidPublisher("Publishing from a workflow invoked via 'pull_request_target' is not supported.")
        if chosen.environment and (not environment or str(environment).lower() != chosen.environment):
            raise _InvalidPublisher("Check failed for optional claim 'environment'")
        return chosen

    def _burn_view(self, request: Request) -> Response:
        # warehouse/oidc/views.py burn_oidc_issued_token (pypi/warehouse pull request 20197): whatever the
        # body, the answer is 202 {"message": "Accepted", "errors": []}; it acknowledges receipt and never
        # says whether a token was revoked. Only a token minted by Trusted Publishing is deleted.
        if self.trusted_publishing == "absent":
            return Response(404, b"404 Not Found")
        if request.method != "POST":
            return Response(405, b"405 Method Not Allowed")
        token: object = None
        try:
            payload = request.json()
            token = payload.get("token") if isinstance(payload, dict) else None
        except ValueError:
            token = None
        with self._lock:
            record = self.tokens.get(token) if isinstance(token, str) else None
            known = record is not None and record.kind == "oidc"
            if known and record is not None:
                record.burnt = True
            if isinstance(token, str):
                self.burns.append(BurnRecord(token=token, known=known, at=time.time()))
        return json_response(202, {"message": "Accepted", "errors": []})

    # -- legacy upload -----------------------------------------------------------------------------

    def _upload_view(self, request: Request) -> Response:
        accept = request.header("Accept", "") or ""
        if request.path == "/legacy":
            # Warehouse redirects POSTs missing the slash with an explanatory message in the status line.
            return _forklift_page(
                301,
                "Redirect to /legacy/ (Moved Permanently)",
                accept,
                title="Moved Permanently",
                headers={"Location": "/legacy/"},
            )
        if request.method != "POST":
            return _forklift_page(405, "Method Not Allowed", accept)
        try:
            message = self._upload(request)
        except _Refusal as refusal:
            return _forklift_page(refusal.status, refusal.message, accept)
        return _forklift_page(200, message, accept)

    def _authenticate(self, request: Request) -> ApiToken | Account | None:
        authorization = request.header("Authorization")
        if not authorization:
            return None
        method, _, credential = authorization.partition(" ")
        method = method.lower()
        if method == "basic":
            try:
                decoded = base64.b64decode(credential).decode()
            except (ValueError, UnicodeDecodeError):
                return None
            username, _, secret = decoded.partition(":")
            if username == "__token__":
                return self.tokens.get(secret.strip())
            account = self.accounts.get(username)
            if account is None or not hmac.compare_digest(account.password, secret):
                return None
            if not self.password_uploads:
                raise _Refusal(
                    403,
                    "Username/Password authentication is no longer supported. Migrate to API Tokens or "
                    f"Trusted Publishers instead. See {HELP_URL}#apitoken and {HELP_URL}#trusted-publishers",
                )
            return account
        if method in ("token", "bearer"):
            return self.tokens.get(credential.strip())
        return None

    def _upload(self, request: Request) -> str:
        identity = self._authenticate(request)
        if identity is None or (isinstance(identity, ApiToken) and identity.burnt):
            # A burnt token is a deleted macaroon: no identity at all.
            raise _Refusal(
                403,
                f"Invalid or non-existent authentication information. See {HELP_URL}#invalid-auth "
                "for more information.",
            )
        content_type = request.header("Content-Type", "") or ""
        fields, upload = _parse_multipart(content_type, request.body)
        fields = forklift.sanitize_fields(fields)

        if _first(fields, ":action") not in (None, "file_upload"):
            raise _Refusal(400, f"Unsupported ':action' {_first(fields, ':action')!r}.")
        # WebOb answers a plain lookup with the last value of a repeated field.
        if (fields.get("protocol_version") or ["1"])[-1] != "1":
            raise _Refusal(400, "Unknown protocol version.")
        forklift.check_upload_form(fields)
        meta = forklift.parse_form_metadata(fields)
        if upload is None:
            raise _Refusal(400, "Upload payload does not have a file.")
        filename, content, part_type = upload
        filetype = _first(fields, "filetype") or ""
        pyversion = _first(fields, "pyversion") or "source"
        name = _first(fields, "name") or ""

        with self._lock:
            # Everything below runs as one transaction: a refusal leaves the index as it was (a project
            # created by this upload and a renamed one included).
            normalized = canonicalize_name(name)
            project = self.projects.get(normalized)
            created = project is None
            if project is None:
                if isinstance(identity, ApiToken) and identity.kind == "oidc":
                    raise _Refusal(
                        400,
                        "Non-user identities cannot create new projects. This was probably caused by "
                        "successfully using a pending publisher but specifying the project name incorrectly "
                        "(either in the publisher or in your project's metadata). Please ensure that both "
                        "match. See: https://docs.pypi.org/trusted-publishers/troubleshooting/",
                    )
                if isinstance(identity, ApiToken) and identity.projects is not None:
                    # Warehouse creates the project, the scope check then fails and the transaction
                    # rolls back: nothing is left behind.
                    raise _Refusal(403, f"Invalid API Token: project-scoped token is not valid for project: {name!r}")
                project = Project(name=name, normalized_name=normalized, created_via="upload")
                if identity.username:
                    project.owners.add(identity.username)
            previous_name = project.name
            try:
                self._check_permission(identity, project)
                project.name = meta.name
                forklift.check_description(meta)
                result = self._store(project, identity, fields, meta, filename, content, part_type, filetype, pyversion)
            except BaseException:
                project.name = previous_name
                raise
            if created:
                self.projects[normalized] = project
                owner = identity.username
                if owner and owner in self.accounts:
                    self.accounts[owner].projects.add(normalized)
            return result

    def _check_permission(self, identity: ApiToken | Account, project: Project) -> None:
        if isinstance(identity, Account):
            if identity.username not in project.owners or project.status == "archived":
                raise _Refusal(403, self._user_denied(identity.username, project))
            return
        if identity.kind == "oidc":
            if project.normalized_name not in (identity.projects or frozenset()):
                raise _Refusal(403, f"Invalid API Token: OIDC scoped token is not valid for project '{project.name}'")
        elif identity.projects is not None and project.normalized_name not in identity.projects:
            raise _Refusal(403, f"Invalid API Token: project-scoped token is not valid for project: {project.name!r}")
        elif identity.projects is None and identity.username not in project.owners:
            raise _Refusal(403, self._user_denied(identity.username, project))
        if not _time_ok(identity):
            raise _Refusal(403, "Invalid API Token: token is expired")
        # The token's caveats hold; now the project's ACL (warehouse/packaging/models.py Project.__acl__):
        # archived projects grant upload to no one, quarantined ones not to their Trusted Publishers.
        if identity.kind == "oidc" and project.status in ("archived", "quarantined"):
            raise _Refusal(
                403,
                f"The given token isn't allowed to upload to project '{project.name}'. "
                f"See {HELP_URL}#project-name for more information.",
            )
        # (A project-scoped user token stands for a role on its projects: PyPI only issues those to members.)
        if identity.kind == "user" and project.status == "archived":
            raise _Refusal(403, self._user_denied(identity.username, project))

    @staticmethod
    def _user_denied(username: str | None, project: Project) -> str:
        return (
            f"The user '{username}' isn't allowed to upload to project '{project.name}'. "
            f"See {HELP_URL}#project-name for more information."
        )

    def _store(
        self,
        project: Project,
        identity: ApiToken | Account,
        fields: dict[str, list[str]],
        meta: Metadata,
        filename: str,
        content: bytes,
        part_type: str,
        filetype: str,
        pyversion: str,
    ) -> str:
        version = meta.version
        canonical = canonicalize_version(version)
        release = project.releases.get(canonical)
        forklift.check_filename(filename, filetype)
        forklift.check_content_type(part_type)
        forklift.check_sizes(
            filename,
            len(content),
            project.name,
            project.total_size,
            max(self.file_size_limit, project.upload_limit or 0),
            max(self.project_size_limit, project.total_size_limit or 0),
        )
        hashes = {
            "md5": hashlib.md5(content, usedforsecurity=False).hexdigest(),
            "sha256": hashlib.sha256(content).hexdigest(),
            "blake2_256": hashlib.blake2b(content, digest_size=32).hexdigest(),
        }
        for digest_name, value in hashes.items():
            given = (fields.get(f"{digest_name}_digest") or [""])[0]
            if given and not hmac.compare_digest(given.lower(), value):
                raise _Refusal(400, "The digest supplied does not match a digest calculated from the uploaded file.")

        existing = next((f for f in self.files if f.filename == filename or f.blake2_256 == hashes["blake2_256"]), None)
        if existing is not None:
            if (
                existing.filename == filename
                and existing.sha256 == hashes["sha256"]
                and existing.blake2_256 == hashes["blake2_256"]
            ):
                # Identical re-upload: 200 and nothing changes (attestations sent along are ignored).
                return ""
            raise _Refusal(
                400,
                f"File already exists ({filename!r}, with blake2_256 hash {hashes['blake2_256']!r}). "
                f"See {HELP_URL}#file-name-reuse for more information.",
            )
        if filename in self.deleted_filenames:
            raise _Refusal(
                400,
                "This filename was previously used by a file that has since been deleted. Use a different "
                f"version. See {HELP_URL}#file-name-reuse for more information.",
            )
        if release is not None:
            forklift.check_release_age(release.created, time.time())
        if filetype == "sdist" and release is not None and any(f.filetype == "sdist" for f in release.files):
            raise _Refusal(400, "Only one sdist may be uploaded per release.")

        archive = forklift.check_dist_file(filename, content)
        with archive:
            metadata_sha256 = None
            if filetype == "sdist":
                forklift.check_sdist(filename, meta, project.name, project.normalized_name, archive)
            if filename.endswith(".whl"):
                metadata = forklift.check_wheel(filename, meta, project.name, project.normalized_name, archive)
                metadata_sha256 = hashlib.sha256(metadata).hexdigest()
        attestations_json = _first(fields, "attestations")
        provenance = None
        publisher = identity.publisher if isinstance(identity, ApiToken) else None
        if attestations_json is not None:
            provenance = self._check_attestations(filename, content, attestations_json, publisher)

        if release is None:
            release = Release(version=str(version), canonical_version=canonical, created=time.time())
            project.releases[canonical] = release
        username = identity.username
        release.files.append(
            StoredFile(
                filename=filename,
                project=project.normalized_name,
                version=release.version,
                filetype=filetype,
                pyversion=pyversion,
                content=content,
                sha256=hashes["sha256"],
                blake2_256=hashes["blake2_256"],
                md5=hashes["md5"],
                form={k: list(v) for k, v in fields.items()},
                attestations=attestations_json,
                provenance=provenance,
                publisher=publisher,
                uploader=f"publisher:{publisher}" if publisher else f"user:{username}",
                upload_time=time.time(),
                requires_python=str(meta.requires_python) if meta.requires_python else None,
                metadata_sha256=metadata_sha256,
            )
        )
        return ""

    def _check_attestations(
        self, filename: str, content: bytes, attestations_json: str, publisher: Publisher | None
    ) -> dict[str, Any]:
        prefix = "Invalid attestations supplied during upload: "
        if publisher is None:
            raise _Refusal(400, prefix + "Attestations are only supported when using Trusted Publishing")
        from pydantic import TypeAdapter, ValidationError
        from pypi_attestations import Attestation, AttestationBundle, Provenance

        try:
            attestations = TypeAdapter(list[Attestation]).validate_json(attestations_json)
        except ValidationError as exc:
            raise _Refusal(400, prefix + f"Malformed attestations: {exc}") from None
        if not attestations:
            raise _Refusal(400, prefix + "Malformed attestations: an empty attestation set is not permitted")
        if len(attestations) > 2:
            raise _Refusal(400, prefix + "A maximum of 2 attestations per file are supported")
        if self.attestation_verifier is not None:
            try:
                self.attestation_verifier(filename, content, attestations_json, publisher)
            except Exception as exc:
                raise _Refusal(400, prefix + str(exc)) from None
        bundle = AttestationBundle(publisher=publisher.attestation_identity(), attestations=attestations)
        provenance: dict[str, Any] = Provenance(attestation_bundles=[bundle]).model_dump(mode="json")
        return provenance

    # -- reading -----------------------------------------------------------------------------------

    def _file_url(self, stored: StoredFile) -> str:
        return f"{self.url}/packages/{stored.path}"

    def _provenance_url(self, stored: StoredFile) -> str:
        return f"{self.url}/integrity/{stored.project}/{stored.version}/{stored.filename}/provenance"

    def _simple_view(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        accept = request.header("Accept", "") or ""
        fmt = request.query_one("format")
        wants_json = (fmt == SIMPLE_JSON) or (fmt is None and _prefers(accept, SIMPLE_JSON))
        content_type = SIMPLE_JSON if wants_json else (SIMPLE_HTML if SIMPLE_HTML in accept else "text/html")
        with self._lock:
            if len(parts) == 1:
                # Quarantined projects are left out of the index (warehouse/packaging/utils.py).
                names = sorted(
                    (p for p in self.projects.values() if p.status != "quarantined"), key=lambda p: p.normalized_name
                )
                if wants_json:
                    body = {
                        "meta": {"api-version": SIMPLE_API_VERSION, "_last-serial": len(self.files)},
                        "projects": [{"name": p.name, "_last-serial": 0} for p in names],
                    }
                    return Response(200, json.dumps(body).encode(), content_type)
                links = "\n".join(
                    f'    <a href="/simple/{p.normalized_name}/">{html.escape(p.name)}</a><br/>' for p in names
                )
                page = f"<!DOCTYPE html>\n<html>\n  <body>\n{links}\n  </body>\n</html>\n"
                return Response(200, page.encode(), content_type)
            if len(parts) != 2:
                return Response(404, b"404 Not Found")
            requested = parts[1]
            normalized = canonicalize_name(requested)
            if requested != normalized:
                return Response(301, b"", headers={"Location": f"/simple/{normalized}/"})
            project = self.projects.get(normalized)
            if project is None:
                return Response(404, b"404 Not Found")
            # A quarantined project's page is still served, without its files.
            files = sorted(
                (
                    f
                    for r in project.releases.values()
                    for f in r.files
                    if project.status != "quarantined" and self._listed(f)
                ),
                key=lambda f: (Version(f.version), f.filename),
            )
            versions = sorted({f.version for f in files}, key=Version)
            if wants_json:
                body = {
                    "meta": {"api-version": SIMPLE_API_VERSION, "_last-serial": len(files)},
                    "name": project.normalized_name,
                    "project-status": {"status": project.status},
                    "versions": versions,
                    "files": [self._file_json(f) for f in files],
                }
                return Response(200, json.dumps(body).encode(), content_type)
            anchors = []
            for f in files:
                attrs = [f'href="{self._file_url(f)}#sha256={self._served_sha256(f)}"']
                if f.requires_python:
                    attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
                if f.metadata_sha256:
                    attrs.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
                    attrs.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
                if self._served_provenance(f) is not None:
                    attrs.append(f'data-provenance="{self._provenance_url(f)}"')
                anchors.append(f"    <a {' '.join(attrs)}>{html.escape(f.filename)}</a><br />")
            page = (
                "<!DOCTYPE html>\n<html>\n  <head>\n"
                f'    <meta name="pypi:repository-version" content="{SIMPLE_API_VERSION}">\n'
                f'    <meta name="pypi:project-status" content="{html.escape(project.status)}">\n'
                f"    <title>Links for {html.escape(project.normalized_name)}</title>\n  </head>\n  <body>\n"
                f"    <h1>Links for {html.escape(project.normalized_name)}</h1>\n"
                + "\n".join(anchors)
                + "\n  </body>\n</html>\n"
            )
            return Response(200, page.encode(), content_type)

    def _file_json(self, f: StoredFile) -> dict[str, Any]:
        metadata = {"sha256": f.metadata_sha256} if f.metadata_sha256 else False
        return {
            "filename": f.filename,
            "url": self._file_url(f),
            "hashes": {"sha256": self._served_sha256(f)},
            "requires-python": f.requires_python,
            "size": len(f.content),
            "upload-time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(f.upload_time))
            + f".{int((f.upload_time % 1) * 1e6):06d}Z",
            "yanked": False,
            "data-dist-info-metadata": metadata,
            "core-metadata": metadata,
            "provenance": self._provenance_url(f) if self._served_provenance(f) is not None else None,
        }

    def _listed(self, f: StoredFile) -> bool:
        """Whether the read APIs show the file yet (:attr:`listing_lag`)."""
        return time.time() - f.upload_time >= self.listing_lag

    def _served_sha256(self, f: StoredFile) -> str:
        wrong = self.misserved.get(f.filename)
        return wrong.sha256 if wrong is not None and wrong.sha256 else f.sha256

    def _served_provenance(self, f: StoredFile) -> dict[str, Any] | None:
        wrong = self.misserved.get(f.filename)
        if f.provenance is None or wrong is None:
            return f.provenance
        if wrong.drop_provenance:
            return None
        if wrong.provenance_publisher is not None:
            identity = wrong.provenance_publisher.attestation_identity().model_dump(mode="json")
            bundles = [{**bundle, "publisher": identity} for bundle in f.provenance["attestation_bundles"]]
            return {**f.provenance, "attestation_bundles": bundles}
        return f.provenance

    def _file_view(self, request: Request) -> Response:
        path = request.path.removeprefix("/packages/")
        metadata = path.endswith(".metadata")
        lookup = path.removesuffix(".metadata") if metadata else path
        for stored in self.files:
            if stored.path == lookup:
                if metadata:
                    meta = _wheel_metadata(stored.filename, stored.content)
                    if meta is None:
                        break
                    return Response(200, meta, "application/octet-stream")
                return Response(200, stored.content, "application/octet-stream")
        return Response(404, b"404 Not Found")

    def _provenance_view(self, request: Request) -> Response:
        parts = request.path.split("/")
        # /integrity/<project>/<version>/<filename>/provenance
        if len(parts) != 6:
            return json_response(404, {"message": "Not Found"})
        _, _, project, version, filename, _ = parts
        for stored in self.files:
            if stored.project == canonicalize_name(project) and stored.filename == filename:
                served = self._served_provenance(stored)
                if served is None or stored.version != version or not self._listed(stored):
                    break
                return json_response(200, served)
        return json_response(404, {"message": "No provenance available for " + filename})

    def _project_view(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 2:
            return Response(404, b"404 Not Found")
        project = self.projects.get(canonicalize_name(parts[1]))
        if project is None:
            return Response(404, b"404 Not Found")
        if len(parts) >= 3 and canonicalize_version(parts[2]) not in project.releases:
            return Response(404, b"404 Not Found")
        title = html.escape(project.name + (f" {parts[2]}" if len(parts) >= 3 else ""))
        return Response(200, f"<html><body><h1>{title}</h1></body></html>".encode(), "text/html")

    def project_url(self, name: str, version: str | None = None) -> str:
        """The project page URL (PyPI's ``/project/<name>/<version>/``)."""
        suffix = f"{version}/" if version else ""
        return f"{self.url}/project/{canonicalize_name(name)}/{suffix}"

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<Warehouse {state} audience={self.audience!r}>"


class _InvalidPublisher(Exception):
    pass


class _ReusedToken(Exception):
    pass


def _new_token() -> str:
    # Real tokens are serialized macaroons ("pypi-AgEI…"); only the prefix matters to clients.
    return "pypi-AgEIcHlwaS5vcmc" + secrets.token_urlsafe(48)


def _first(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def _time_ok(token: ApiToken) -> bool:
    now = int(time.time())
    if token.not_before is not None and now < token.not_before:
        return False
    return token.expires is None or now < token.expires


def _prefers(accept: str, media_type: str) -> bool:
    """True if ``media_type`` has the highest q among acceptable types (ties go to earlier entries)."""
    best: tuple[float, int, str] | None = None
    for index, item in enumerate(accept.split(",")):
        pieces = [p.strip() for p in item.split(";")]
        if not pieces[0]:
            continue
        q = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if best is None or q > best[0] or (q == best[0] and index < best[1]):
            best = (q, index, pieces[0])
    return best is not None and best[2] == media_type and best[0] > 0


def _forklift_page(
    status: int,
    message: str,
    accept: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An answer shaped like Pyramid's HTTPException page, as forklift sends it.

    The message goes in the status line (``_exc_with_message``); the body is HTML by default, or
    ``{"message", "code", "title"}`` when the client prefers ``application/json``.
    """
    default_title, explanation = _REASONS.get(status, ("Error", ""))
    title = title or default_title
    status_line = f"{status} {message or title}"
    offers = [(m, _q(accept, m)) for m in ("text/html", "application/json")] if accept else []
    chosen = "text/html"
    if offers:
        ranked = [o for o in offers if o[1] > 0]
        ranked.sort(key=lambda o: -o[1])
        chosen = ranked[0][0] if ranked else "text/plain"
    if chosen == "application/json":
        body_text = f"{explanation}\n\n\n{message}\n\n"
        payload = {"message": body_text, "code": status_line, "title": title}
        return Response(status, json.dumps(payload).encode(), "application/json", dict(headers or {}), message or title)
    if chosen == "text/plain":
        body_text = f"{explanation}\n\n\n{message}\n\n"
        return Response(
            status, f"{status_line}\n\n{body_text}".encode(), "text/plain; charset=UTF-8", dict(headers or {}), message
        )
    body_html = f"{html.escape(explanation)}<br/><br/>\n{html.escape(message)}\n\n"
    page = (
        f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n"
        f"  {body_html}\n </body>\n</html>"
    )
    return Response(status, page.encode(), "text/html; charset=UTF-8", dict(headers or {}), message or title)


def _q(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type`` (exact, ``type/*`` or ``*/*``; most specific wins)."""
    best_specificity, best_q = -1, 0.0
    major = media_type.split("/", 1)[0]
    for item in accept.split(","):
        pieces = [p.strip() for p in item.split(";")]
        candidate = pieces[0].lower()
        specificity = (
            2 if candidate == media_type else 1 if candidate == f"{major}/*" else 0 if candidate == "*/*" else -1
        )
        if specificity < 0:
            continue
        q = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], tuple[str, bytes, str] | None]:
    """Split a multipart/form-data body into text fields and the ``content`` file part."""
    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        # WebOb finds no form fields in such a body; the form checks then refuse it (name missing first).
        return {}, None
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, list[str]] = {}
    upload: tuple[str, bytes, str] | None = None
    parser = BytesHeaderParser()
    for raw_part in body.split(delimiter)[1:]:
        if raw_part.startswith(b"--"):
            break
        part = raw_part.removeprefix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        headers = parser.parsebytes(head + b"\r\n\r\n")
        disposition = headers.get("Content-Disposition", "")
        holder = Message()
        holder["Content-Disposition"] = disposition
        name = holder.get_param("name", header="content-disposition")
        filename = holder.get_filename()
        if not isinstance(name, str):
            continue
        if filename is not None:
            if name == "content":
                # A part without Content-Type is text/plain to the cgi-style parser Warehouse uses (uv
                # sends none); only an explicitly empty or image type is refused later.
                upload = (filename, data, headers.get_content_type())
            elif name in fields or name != "gpg_signature":
                raise _Refusal(400, f"{name}: Should not be a tuple.")
            continue
        fields.setdefault(name, []).append(data.decode("utf-8", "replace"))
    return fields, upload


def _wheel_metadata(filename: str, content: bytes) -> bytes | None:
    if not filename.endswith(".whl"):
        return None
    dist_info = "-".join(filename.split("-", 2)[:2]) + ".dist-info"
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.read(f"{dist_info}/METADATA")
    except (KeyError, zipfile.BadZipFile):
        return None
