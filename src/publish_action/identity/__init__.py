"""Who runs the job: the CI providers (:mod:`.github`, :mod:`.gitlab`, :mod:`.google`, each owning its
detection, its claims from the environment, its publisher fields and its form text), the claims of their
tokens (:mod:`.claims`), and the job's OIDC token (:mod:`.ambient`).

No module outside this package reads a CI provider's variables: the others ask here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import httpx

from publish_action.identity import github, gitlab, google
from publish_action.identity.claims import Claims
from publish_action.identity.provider import Broken, Detection, NotHere, Provider

#: In the order they are asked, like ``id``'s: the cheap environment checks before the network one.
PROVIDERS: tuple[Provider, ...] = (github.GITHUB, gitlab.GITLAB, google.GOOGLE)


def claims_from_environ(environ: Mapping[str, str] | None = None) -> Claims:
    """What the job's variables say of the claims its token would carry (GitLab's ``CI_*`` in a GitLab
    job, the runner's ``GITHUB_*`` elsewhere), for advice given without a token."""
    env = os.environ if environ is None else environ
    for provider in (gitlab.GITLAB, github.GITHUB, google.GOOGLE):
        claims = provider.environ_claims(env)
        if claims is not None:
            return claims
    return Claims({})


def runs_in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this is a CI job: GitHub's or GitLab's, or any CI that sets ``CI`` (most do)."""
    env = os.environ if environ is None else environ
    return github.runs_the_job(env) or gitlab.runs_the_job(env) or env.get("CI", "").lower() not in ("", "0", "false")


def provider_of(claims: Claims) -> Provider:
    """The provider whose token carried ``claims``: GitLab by its claims (any instance), Google by its
    issuer, GitHub otherwise (its claims, or what a job's ``GITHUB_*`` variables say of them)."""
    if claims.get("project_path") and claims.get("ci_config_ref_uri"):
        return gitlab.GITLAB
    if claims.get("iss") == google.ISSUER:
        return google.GOOGLE
    return github.GITHUB


def publisher_form_url(web_root: str, project: str, claims: Claims, *, existing_project: bool) -> str:
    """A link to the index's trusted-publisher form: the project's, pre-filled from the token's claims.

    The form for a new project (a pending publisher, in the account's settings) is not filled from its
    address on PyPI, so its link carries no values; the message around it lists them.
    """
    if existing_project:
        return provider_of(claims).form_url(web_root, project, claims)
    return f"{web_root}/manage/account/publishing/"


def detect(
    audience: str,
    *,
    environ: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
    providers: Sequence[Provider] = PROVIDERS,
) -> Detection:
    """The first provider that runs this job, with its token or what is wrong; :class:`NotHere` if none."""
    from publish_action.http import make_client

    env = os.environ if environ is None else environ
    own = client is None
    active = make_client(max_connections=1) if client is None else client
    try:
        for provider in providers:
            outcome = provider.detect(audience, env, active)
            if not isinstance(outcome, NotHere):
                return outcome
    finally:
        if own:
            active.close()
    return NotHere()


def precheck(audience: str, *, environ: Mapping[str, str] | None = None) -> Broken | None:
    """What :func:`detect` would find wrong for ``audience`` from the job's variables alone (the providers
    that need no request), so that a job missing a token stops before another token is minted."""

    def no_request(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a precheck sent a request to {request.url.host}")

    offline = [provider for provider in PROVIDERS if provider.offline]
    with httpx.Client(transport=httpx.MockTransport(no_request)) as client:
        outcome = detect(audience, environ=environ, client=client, providers=offline)
    return outcome if isinstance(outcome, Broken) else None


__all__ = ["PROVIDERS", "claims_from_environ", "detect", "precheck", "provider_of", "publisher_form_url", "runs_in_ci"]
