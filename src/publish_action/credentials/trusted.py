"""Trusted Publishing: audience → ambient OIDC token → mint-token → masked, renewed, burnt upload token.

The index's endpoints live on the upload host (``/_/oidc/audience``, ``/_/oidc/mint-token``,
``/_/oidc/burn-token``). Every mint uses a fresh OIDC token because an index accepts each one once. The
minted token is shared by all uploads, renewed when it nears its expiry, and every minted token is burnt
when the uploads are over, so a finished job leaves no live credential behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from publish_action.credentials.exchange_refusals import ExchangeFacts, explain_exchange_refusal, status_hint
from publish_action.credentials.protocol import CredentialKind, Refusal, SigningIdentity
from publish_action.errors import AuthenticationError, SettingsError
from publish_action.hosts import is_loopback
from publish_action.http import Attempts, RetryPolicy, default_policy, with_retries
from publish_action.identity import provider_of
from publish_action.identity.ambient import ambient_token
from publish_action.identity.claims import Claims
from publish_action.identity.github import GitHubContext
from publish_action.identity.provider import TransientOIDCError
from publish_action.index import Index
from publish_action.index_answers import index_message, json_object
from publish_action.redact import outside_text, redact_url
from publish_action.stopping import RUN_STOPPING, STOP_LAST_REQUESTS, Stopped, pause

if TYPE_CHECKING:
    from publish_action.dists import Distribution
    from publish_action.index import ProjectPage

logger = logging.getLogger("publish_action")

#: Renew the minted token when less than this share of its lifetime is left (PyPI: 15 min → under 5 min).
_RENEW_FRACTION = 1 / 3
#: Revoking is a courtesy (minted tokens expire by themselves): it may not hold up the end of a run long.
_BURN_BUDGET = 30.0


@dataclass
class _Minted:
    token: SecretStr
    expires_at: float
    minted_at: float

    def needs_renewal(self, now: float) -> bool:
        lifetime = max(self.expires_at - self.minted_at, 1.0)
        return self.expires_at - now < lifetime * _RENEW_FRACTION


@dataclass
class TrustedPublishing:
    """A :class:`~publish_action.credentials.Credential` obtained by Trusted Publishing.

    :attr:`remarks` holds notices for the report (a revocation that did not work); never errors.
    """

    client: httpx.Client
    index: Index
    mask: Callable[[str], None]
    projects: Sequence[str] = ()
    context: GitHubContext = field(default_factory=GitHubContext.from_environ)
    policy: RetryPolicy = field(default_factory=default_policy)
    detect: Callable[[str], str | None] | None = None
    sleep: Callable[[float], None] = pause
    clock: Callable[[], float] = time.time
    #: Claims of the last OIDC token used, for diagnostics and for the attestations' publisher identity.
    claims: Claims = field(default_factory=lambda: Claims({}))
    #: Whether each project exists on the index, where the look-up before the exchange could tell.
    project_exists: dict[str, bool] = field(default_factory=dict)
    #: Notices for the report (token revocation that did not work); never errors.
    remarks: list[str] = field(default_factory=list, init=False)
    _audience: str | None = field(default=None, init=False)
    _current: _Minted | None = field(default=None, init=False)
    _minted: list[SecretStr] = field(default_factory=list, init=False, repr=False)
    _revoked: int = field(default=0, init=False)
    _closed: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def kind(self) -> CredentialKind:
        """Always ``trusted-publishing``."""
        return "trusted-publishing"

    @property
    def minted_count(self) -> int:
        """How many tokens this run minted (each is burnt at the end)."""
        return len(self._minted)

    @property
    def label(self) -> str:
        """Trusted Publishing, and what became of the minted tokens: revoked only where the index said so."""
        if not self._minted:
            return "Trusted Publishing (no upload token was minted)"
        if not self._closed:
            return "Trusted Publishing (short-lived token)"
        if self._revoked == len(self._minted):
            return "Trusted Publishing (short-lived token, revoked after the upload)"
        return "Trusted Publishing (short-lived token, not revoked: it expires by itself within 15 minutes)"

    @property
    def obtained_by(self) -> str | None:
        """Trusted Publishing: the index mints it."""
        return "Trusted Publishing"

    @property
    def from_trusted_publisher(self) -> bool:
        """Always."""
        return True

    @property
    def signing_identity(self) -> SigningIdentity | None:
        """The claims of the job's OIDC token (known once :meth:`prepare` has read one)."""
        return SigningIdentity(self.claims, self.context)

    def prepare(self, pages: Mapping[str, ProjectPage], *, dry_run: bool, attestations: bool) -> list[str]:
        """Mint the first upload token; in a dry run for a project the index does not have yet, only read
        the OIDC token (minting through a pending publisher would create the project for good)."""
        self.project_exists = {project: page.exists for project, page in pages.items()}
        new_projects = [project for project in self.projects if not self.project_exists.get(project, False)]
        notices: list[str] = []
        if dry_run and new_projects:
            self.preview()
            notices.append(self._exchange_not_tried(new_projects))
        else:
            self.start()
            logger.info("Minted an upload token for %s", ", ".join(self.projects))
        if self.claims.reusable_workflow and not attestations:
            explanation = self.claims.reusable_workflow_mismatch()
            notices.append(
                f"{explanation[0].upper()}{explanation[1:]}: keep `attestations: false` here, or publish from the "
                "top-level workflow."
            )
        return notices

    def fix_for(self, refusal: Refusal) -> str:
        """Trusted Publishing's side of a refused upload: the publisher registered on the project."""
        if refusal == "scope":
            return (
                "the token minted by Trusted Publishing is scoped to the projects whose trusted publisher matched "
                "this job: register the trusted publisher on this project too (its settings → Publishing)."
            )
        return (
            "the token minted by Trusted Publishing was refused: check that the trusted publisher on the index is "
            "registered for this project."
        )

    def refusal_hint(self, message: str, dist: Distribution) -> str | None:
        """Explain the index refusals that only happen with Trusted Publishing."""
        if "non-user identities cannot create new projects" in message.lower():
            return (
                f"the project '{dist.project}' does not exist on the index yet, and a token minted by a trusted "
                "publisher can only create a project through a *pending* publisher. Register a pending publisher "
                f"(account settings → Publishing) whose project name is exactly '{dist.project}' (the normalized "
                "name of the metadata's Name), or fix the Name in the project's metadata to match the pending "
                "publisher."
            )
        return None

    def _exchange_not_tried(self, new_projects: Sequence[str]) -> str:
        """Why a dry run read the OIDC token but did not exchange it, and what the publisher must say."""
        names = ", ".join(new_projects)
        fields = "; ".join(provider_of(self.claims).publisher_fields(self.claims))
        return (
            f"Dry run: the token exchange was not tried, because {names} does not exist on "
            f"{self.index.display_name} yet (or could not be looked up), and exchanging a token through a pending "
            "publisher would create the project there for good. The job's OIDC token was read, so "
            f"`id-token: write` works. The trusted publisher must say {fields}."
        )

    def check(self) -> None:
        """Refuse, before any request, the contexts in which Trusted Publishing cannot or must not work."""
        if self.context.event_name == "pull_request_target":
            raise AuthenticationError(
                "Trusted Publishing refuses pull_request_target",
                "this job runs for a `pull_request_target` event, which runs with the base repository's "
                "permissions on behalf of a pull request; indexes refuse to mint tokens for it.",
                "publish from a workflow triggered by a `push` of a tag, `release: published` or `workflow_dispatch`.",
            )
        _require_https(self.index)

    def start(self) -> None:
        """Learn the audience and mint the first token."""
        self.check()
        self._audience = self._fetch_audience()
        with self._lock:
            self._current = self._mint()

    def preview(self) -> None:
        """All a dry run may do where minting would change the index: learn the audience and read this
        job's OIDC token (which proves `id-token: write`), so that :attr:`claims` says what the trusted
        publisher must match. Nothing is minted."""
        self.check()
        self._audience = self._fetch_audience()
        self._fresh_oidc_token()

    def basic_auth(self) -> tuple[str, str]:
        """``__token__`` and the current minted token, minting again when it is close to expiry."""
        with self._lock:
            if self._current is None:
                raise AuthenticationError("Trusted Publishing was not started", "no token has been minted.", None)
            if self._current.needs_renewal(self.clock()):
                logger.info("The upload token expires soon; minting a new one")
                self._current = self._mint()
            return "__token__", self._current.token.get_secret_value()

    def close(self) -> None:
        """Burn every minted token. Best effort: failures are notices, never errors.

        Only a 2xx answer means the index revoked a token; anything else leaves it to expire by itself.
        """
        revoked = 0
        for token in self._minted:
            try:
                response = self._burn(token)
            except (httpx.HTTPError, Stopped) as exc:
                self.remarks.append(f"Could not revoke an upload token ({type(exc).__name__}); it expires by itself.")
                continue
            if response.is_success:
                revoked += 1
            elif response.status_code == 404:
                self.remarks.append(
                    f"{self.index.display_name} cannot revoke upload tokens (no burn-token endpoint); they expire "
                    "by themselves."
                )
                break
            else:
                self.remarks.append(
                    f"Revoking an upload token failed (HTTP {response.status_code}: "
                    f"{index_message(response)}); it expires by itself."
                )
        self._revoked, self._closed = revoked, True
        if revoked:
            logger.info("Revoked %d upload token(s)", revoked)

    def _burn(self, token: SecretStr) -> httpx.Response:
        url = f"{self.index.origin}/_/oidc/burn-token"
        return with_retries(
            "Revoking an upload token",
            lambda: self.client.post(
                url, json={"token": token.get_secret_value()}, headers={"Accept": "application/json"}
            ),
            policy=self.policy,
            # A stopping run revokes within its last seconds; the token expires by itself otherwise.
            budget=STOP_LAST_REQUESTS if RUN_STOPPING.is_set() else _BURN_BUDGET,
            sleep=self.sleep,
        )

    # -- the exchange ---------------------------------------------------------------------------------------

    def _fetch_audience(self) -> str:
        url = f"{self.index.origin}/_/oidc/audience"
        try:
            response = with_retries(
                "Trusted Publishing audience",
                lambda: self.client.get(url, headers={"Accept": "application/json"}),
                policy=self.policy,
                sleep=self.sleep,
            )
        except httpx.TransportError as exc:
            raise self._index_trouble(f"{redact_url(url)} could not be reached ({type(exc).__name__})") from None
        if response.status_code == 403:
            raise AuthenticationError(
                f"Trusted Publishing is disabled on {self.index.display_name}",
                f"{redact_url(url)} answered HTTP 403: the index has switched Trusted Publishing off, "
                "possibly for maintenance.",
                status_hint(self.index) + " Until it is back, an API token passed as `password` works.",
            )
        if response.status_code == 404:
            raise AuthenticationError(
                f"{self.index.display_name} does not offer Trusted Publishing",
                f"{redact_url(url)} answered HTTP 404, and no `password` was given.",
                "pass an API token or password for this index as `password` (from a secret), or publish to "
                "an index with Trusted Publishing such as PyPI or TestPyPI.",
            )
        if response.status_code != 200:
            raise self._index_trouble(f"{redact_url(url)} answered HTTP {response.status_code}")
        try:
            audience = response.json()["audience"]
            if not isinstance(audience, str) or not audience:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise self._index_trouble(f'{redact_url(url)} answered something other than {{"audience": …}}') from None
        return audience

    def _fresh_oidc_token(self) -> SecretStr:
        """A new OIDC token for the index's audience, masked at once; its claims become :attr:`claims`."""
        assert self._audience is not None
        audience = self._audience
        tries = Attempts()
        try:
            oidc_token = with_retries(
                "OIDC token request",
                lambda: ambient_token(audience, self.context, detect=self.detect),
                policy=self.policy,
                attempts=tries,
                sleep=self.sleep,
            )
        except TransientOIDCError as exc:
            raise AuthenticationError(
                "Could not get an OIDC token",
                f"{outside_text(str(exc))}, {tries.count} time(s).",
                "re-run the job; if it persists, check the CI provider's status page.",
            ) from None
        self.mask(oidc_token.get_secret_value())
        self.claims = Claims.from_token(oidc_token)
        return oidc_token

    def _mint(self) -> _Minted:
        """Exchange a fresh OIDC token for an upload token; retried on network errors and 5xx.

        Every attempt uses a fresh OIDC token: the index accepts each one only once, and an attempt whose
        answer was lost may have used it up.
        """
        url = f"{self.index.origin}/_/oidc/mint-token"

        def exchange() -> httpx.Response:
            oidc_token = self._fresh_oidc_token()
            return self.client.post(
                url, json={"token": oidc_token.get_secret_value()}, headers={"Accept": "application/json"}
            )

        try:
            response = with_retries("Token exchange", exchange, policy=self.policy, sleep=self.sleep)
        except httpx.TransportError as exc:
            raise self._index_trouble(f"{redact_url(url)} could not be reached ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise self._index_trouble(f"{redact_url(url)} answered HTTP {response.status_code}")
        payload = json_object(response)
        token = payload.get("token")
        if response.is_success and not (isinstance(token, str) and token):
            # A 2xx that is not the index's answer says nothing about the publisher: the index is in trouble.
            raise self._index_trouble(f'{redact_url(url)} answered something other than {{"token": …}}')
        if response.status_code == 200 and isinstance(token, str) and token:
            minted = SecretStr(token)
            self.mask(token)
            self._minted.append(minted)
            now = self.clock()
            expires = payload.get("expires")
            expires_at = float(expires) if isinstance(expires, (int, float)) else now + 900
            return _Minted(minted, expires_at, now)
        raise self._refused(response.status_code, payload)

    def _refused(self, status: int, payload: dict[str, object]) -> AuthenticationError:
        """The index refused the exchange: explained by Warehouse's error code."""
        return explain_exchange_refusal(
            status,
            payload,
            ExchangeFacts(
                index=self.index,
                claims=self.claims,
                context=self.context,
                audience=self._audience,
                projects=tuple(self.projects),
                project_exists=dict(self.project_exists),
            ),
        )

    def _index_trouble(self, cause: str) -> AuthenticationError:
        return AuthenticationError(
            f"{self.index.display_name} could not complete Trusted Publishing",
            cause + ".",
            status_hint(self.index) + " Re-run the job once the index answers again.",
        )


def _require_https(index: Index) -> None:
    """Tokens travel only over HTTPS; plain HTTP is accepted for loopback indexes (tests, local mirrors)."""
    parts = urlsplit(index.upload_url)
    if parts.scheme == "https":
        return
    if not is_loopback(parts.hostname or ""):
        raise SettingsError(
            "Trusted Publishing needs HTTPS",
            f"{redact_url(index.upload_url)} is plain HTTP; the OIDC token and the minted upload token would "
            "cross the network unencrypted.",
            "use the index's https:// upload URL.",
        )
