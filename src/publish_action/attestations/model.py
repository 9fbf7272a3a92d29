"""What the attestation stage works with and hands back: the publisher identity, the outcome per file, names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from publish_action.errors import AttestationError
from publish_action.identity.claims import Claims

if TYPE_CHECKING:
    from pypi_attestations import GitHubPublisher, GitLabPublisher, GooglePublisher

    LibraryPublisher = GitHubPublisher | GitLabPublisher | GooglePublisher

#: The name twine, uv and the reference action give an attestation file: ``<dist filename>`` + this.
ATTESTATION_SUFFIX = ".publish.attestation"
SLSA_SUFFIX = ".slsa.attestation"

#: The only predicate a ``.publish.attestation`` may carry (PEP 740's publish attestation, as PyPI names it).
PUBLISH_PREDICATE = "https://docs.pypi.org/attestations/publish/v1"

#: The issuer of github.com's Actions OIDC tokens; a GitHub publisher's attestations need a token of its.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class PublisherIdentity:
    """The trusted publisher the index will check every attestation against (GitHub Actions).

    ``workflow`` is the file name of the workflow the job runs (from ``job_workflow_ref``), as a trusted
    publisher names it. ``environment`` is carried as the index carries it; like the index's own check, the
    certificate policy does not compare it, so an attestation made in one environment fits the same workflow
    publishing from another.
    """

    #: As a provenance document names the kind (``pypi_attestations.GitHubPublisher.kind``).
    kind: ClassVar[str] = "GitHub"

    repository: str
    workflow: str
    environment: str | None = None

    @classmethod
    def from_claims(cls, claims: Claims) -> PublisherIdentity:
        """The identity of the job whose OIDC token carried ``claims``; :class:`AttestationError` if unknown."""
        issuer = claims.get("iss")
        repository = claims.get("repository")
        workflow = claims.workflow_file
        if (issuer is not None and issuer != GITHUB_ISSUER) or not repository or not workflow:
            missing = [
                name for name, value in (("repository", repository), ("job_workflow_ref", workflow)) if not value
            ]
            why = f"the OIDC token was issued by {issuer or 'an unknown issuer'}"
            if missing:
                why += f" and lacks the {' and '.join(missing)} claim(s)"
            raise AttestationError(
                "Attestations need a GitHub Actions, GitLab CI/CD or Google Cloud identity",
                "publish-action makes attestations for the trusted publishers the index verifies them for "
                f"(GitHub Actions on github.com, GitLab CI/CD, Google Cloud), but {why}; the publisher the index "
                "will check cannot be known.",
                "publish from one of them with Trusted Publishing (GitHub: `id-token: write`; GitLab: "
                "`id_tokens:`; Google Cloud: a service account), or set `attestations: false` to publish "
                "without attestations.",
            )
        return cls(repository=repository, workflow=workflow, environment=claims.get("environment") or None)

    def describe(self) -> str:
        """``owner/repo, workflow release.yml, environment pypi`` for messages."""
        text = f"{self.repository}, workflow {self.workflow}"
        return f"{text}, environment {self.environment}" if self.environment else text

    def library_publisher(self) -> LibraryPublisher:
        """The same identity as pypi-attestations spells it (and as the index verifies with it)."""
        from pypi_attestations import GitHubPublisher

        return GitHubPublisher(repository=self.repository, workflow=self.workflow, environment=self.environment)

    def named_by(self, named: object) -> bool:
        """Whether a provenance's publisher is this one: the repository without regard to case, the workflow
        file exactly (as the index's ``job_workflow_ref`` check), an environment only where one is named (the
        index accepts a token from any environment for a publisher that names none)."""
        from pypi_attestations import GitHubPublisher

        if not isinstance(named, GitHubPublisher):
            return False
        if named.repository.lower() != self.repository.lower() or named.workflow != self.workflow:
            return False
        return not named.environment or named.environment.lower() == (self.environment or "").lower()


@dataclass(frozen=True)
class GitLabPublisherIdentity:
    """A GitLab CI/CD trusted publisher: ``namespace/project``, the top-level pipeline file, the environment.

    As for GitHub, the certificate policy compares the repository and the CI file, not the environment.
    """

    #: As a provenance document names the kind (``pypi_attestations.GitLabPublisher.kind``).
    kind: ClassVar[str] = "GitLab"

    repository: str
    workflow_filepath: str
    environment: str | None = None

    def describe(self) -> str:
        """``group/project, pipeline file .gitlab-ci.yml, environment pypi`` for messages."""
        text = f"{self.repository}, pipeline file {self.workflow_filepath}"
        return f"{text}, environment {self.environment}" if self.environment else text

    def library_publisher(self) -> LibraryPublisher:
        """The same identity as pypi-attestations spells it."""
        from pypi_attestations import GitLabPublisher

        return GitLabPublisher(
            repository=self.repository, workflow_filepath=self.workflow_filepath, environment=self.environment
        )

    def named_by(self, named: object) -> bool:
        """Whether a provenance's publisher is this one: the project path without regard to case (as the
        index looks it up), the CI file exactly, an environment exactly where one is named (GitLab
        environments are case-sensitive)."""
        from pypi_attestations import GitLabPublisher

        if not isinstance(named, GitLabPublisher):
            return False
        if named.repository.lower() != self.repository.lower() or named.workflow_filepath != self.workflow_filepath:
            return False
        return not named.environment or named.environment == (self.environment or "")


@dataclass(frozen=True)
class GooglePublisherIdentity:
    """A Google Cloud trusted publisher: the service account's email."""

    #: As a provenance document names the kind (``pypi_attestations.GooglePublisher.kind``).
    kind: ClassVar[str] = "Google"

    email: str

    def describe(self) -> str:
        """``service account release@….iam.gserviceaccount.com`` for messages."""
        return f"service account {self.email}"

    def library_publisher(self) -> LibraryPublisher:
        """The same identity as pypi-attestations spells it."""
        from pypi_attestations import GooglePublisher

        return GooglePublisher(email=self.email)

    def named_by(self, named: object) -> bool:
        """Whether a provenance's publisher is this service account (the index matches the e-mail exactly)."""
        from pypi_attestations import GooglePublisher

        return isinstance(named, GooglePublisher) and named.email == self.email


def describe_named(named: object) -> str:
    """A provenance's publisher for messages, in the words of :meth:`PublisherIdentity.describe` and kin."""
    from pypi_attestations import GitHubPublisher, GitLabPublisher, GooglePublisher

    if isinstance(named, GitHubPublisher):
        return PublisherIdentity(named.repository, named.workflow, named.environment).describe()
    if isinstance(named, GitLabPublisher):
        return GitLabPublisherIdentity(named.repository, named.workflow_filepath, named.environment).describe()
    if isinstance(named, GooglePublisher):
        return GooglePublisherIdentity(named.email).describe()
    return f"a {getattr(named, 'kind', 'other')} publisher"


#: Any publisher identity an attestation is verified against; each is hashable (a verifier cache key).
AnyPublisherIdentity = PublisherIdentity | GitLabPublisherIdentity | GooglePublisherIdentity


def publisher_identity(claims: Claims) -> AnyPublisherIdentity:
    """The publisher the index will check, from the OIDC token's claims, whichever provider issued it.

    GitLab tokens are known by their claims (``project_path`` and ``ci_config_ref_uri``, from gitlab.com or
    a self-managed instance), Google's by their issuer; anything else is read as GitHub's, with
    :meth:`PublisherIdentity.from_claims`'s message when it is not.
    """
    from publish_action.identity import provider_of
    from publish_action.identity.gitlab import GITLAB
    from publish_action.identity.gitlab import ci_file as gitlab_ci_file
    from publish_action.identity.google import GOOGLE

    provider = provider_of(claims)
    if provider is GITLAB:
        ci_file = gitlab_ci_file(claims.get("ci_config_ref_uri"))
        if ci_file:
            return GitLabPublisherIdentity(str(claims.get("project_path")), ci_file, claims.get("environment") or None)
    email = claims.get("email")
    if provider is GOOGLE and email:
        return GooglePublisherIdentity(email)
    return PublisherIdentity.from_claims(claims)


def environ_publisher() -> AnyPublisherIdentity | None:
    """The publisher the job's variables say its token will name (before any token is read); ``None`` where
    they do not say (Google's service account is only in its token). Its fields are named as in a
    provenance document's publisher (``kind``, ``repository``, ``workflow``, …), without loading
    pypi-attestations before anything is signed."""
    from publish_action.identity import claims_from_environ

    try:
        return publisher_identity(claims_from_environ())
    except AttestationError:
        return None


@dataclass(frozen=True)
class AttestedFile:
    """The attestation stage's outcome for one distribution."""

    state: Literal["signed", "reused", "would sign"]
    #: The ``.publish.attestation`` file (``None`` for "would sign", or when it could not be written).
    path: Path | None
    #: The JSON array for the upload's ``attestations`` form field (``None`` for "would sign").
    form_value: str | None
    #: Whether the form value also holds the file's SLSA build provenance (``build-provenance``).
    build_provenance: bool = False


def slsa_path(dist_path: Path) -> Path:
    """Where a distribution's SLSA build provenance of this run is written (``<dist>.slsa.attestation``;
    the next run signs its own rather than reuse it)."""
    return dist_path.with_name(dist_path.name + SLSA_SUFFIX)


def attestation_path(dist_path: Path) -> Path:
    """Where the attestation of ``dist_path`` lives: next to it, named ``<dist filename>.publish.attestation``."""
    return dist_path.with_name(dist_path.name + ATTESTATION_SUFFIX)
