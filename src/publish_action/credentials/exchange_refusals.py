"""Why an index refused the Trusted Publishing exchange, in the words of Warehouse's error codes, and what
to change: each code needs its own fix, and the publisher the job would have to match is spelled out field
by field, with the form that registers it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from publish_action.errors import AuthenticationError
from publish_action.identity import provider_of, publisher_form_url
from publish_action.identity.claims import Claims
from publish_action.identity.github import ISSUER as GITHUB_ISSUER
from publish_action.identity.github import GitHubContext
from publish_action.index import Index
from publish_action.redact import outside_text, redact_url


@dataclass(frozen=True)
class ExchangeFacts:
    """What the explanation draws on: the index, the job's claims and context, and the projects."""

    index: Index
    claims: Claims
    context: GitHubContext
    audience: str | None
    projects: Sequence[str]
    #: Whether each project exists on the index, where the look-up could tell.
    project_exists: Mapping[str, bool]


def explain_exchange_refusal(status: int, payload: dict[str, object], facts: ExchangeFacts) -> AuthenticationError:
    """The index refused the exchange: explained by Warehouse's error code, each of which needs its own fix."""
    reasons: list[str] = []
    codes: list[str] = []
    errors = payload.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            codes.append(str(error.get("code", "")))
            reasons.append(outside_text(f"{error.get('code', '?')}: {error.get('description', '')}"))
    if not reasons:
        message = payload.get("message")
        reasons.append(outside_text(str(message)) if message else f"HTTP {status} without an explanation")
    claims = facts.claims
    provider = provider_of(claims)
    web_root = facts.index.web_url or facts.index.origin
    links = [f"{project}: {_publisher_forms(facts, project, web_root)}" for project in facts.projects]
    problems = [
        *(f"index: {reason}" for reason in reasons),
        f"CI provider: {provider.name}",
        *(f"token claim (for debugging): {line}" for line in provider.claims_table(claims)),
        *(f"the trusted publisher must say {line}" for line in provider.publisher_fields(claims)),
    ]
    code = codes[0] if codes else ""
    title = f"{facts.index.display_name} refused the Trusted Publishing exchange"
    description = " ".join(reasons).lower()
    if code == "invalid-payload" and "unknown trusted publishing issuer" in description:
        issuer = claims.get("iss") or "MISSING"
        return AuthenticationError(
            f"{facts.index.display_name} does not trust this job's OIDC issuer",
            f"the token was issued by {issuer}, which the index does not accept"
            + (
                f" (the GitHub Enterprise Server at {redact_url(facts.context.server_url or issuer)}: PyPI "
                "trusts github.com's Actions, and other GitHub issuers only where an organization on the "
                "index has registered them)"
                if facts.context.on_github and issuer != GITHUB_ISSUER
                else ""
            )
            + ".",
            "publish from a workflow on github.com (or another provider the index supports), or use an API "
            "token passed as `password` from this instance.",
            problems=problems,
        )
    if code == "not-enabled":
        return AuthenticationError(
            f"Trusted Publishing is switched off on {facts.index.display_name}",
            "the index has disabled Trusted Publishing for this CI provider, usually for a short time.",
            status_hint(facts.index) + " Until it is back, an API token passed as `password` works.",
            problems=problems,
        )
    if code == "invalid-token":
        return AuthenticationError(
            title,
            "the index could not verify this job's OIDC token: its signature, audience or validity period "
            "does not check out (a runner clock far off, or a token fetched for another audience).",
            "re-run the job; if it persists, check that nothing in the job fetches the OIDC token with "
            f"another audience than {facts.audience!r}, and that the runner's clock is right.",
            problems=problems,
        )
    if code == "invalid-reuse-token":
        return AuthenticationError(
            title,
            "this job's OIDC token was exchanged before: an index accepts every token only once.",
            "re-run the job; if it persists, make sure no other step or tool in the job exchanges the same "
            "token (publish-action fetches a fresh one for every exchange).",
            problems=problems,
        )
    if code == "invalid-pending-publisher":
        return AuthenticationError(
            title,
            "the job matches a *pending* publisher, but a project of that name exists on the index already, "
            "so the pending publisher can no longer create it.",
            "register a normal trusted publisher on the existing project instead (its settings → "
            "Publishing) and delete the pending one from the account's publishing settings.",
            problems=[*problems, *(f"publisher form for {link}" for link in links)],
        )
    return AuthenticationError(
        title,
        f"the index found no trusted publisher matching this job's OIDC token ({provider.name}).",
        f"register a {provider.name} trusted publisher for the project with exactly the values listed above "
        f"({provider.field_guide}), or fix the job to match the publisher.",
        problems=[*problems, *(f"publisher form for {link}" for link in links)],
    )


def _publisher_forms(facts: ExchangeFacts, project: str, web_root: str) -> str:
    """The form that registers the missing publisher: the project's, pre-filled, when it exists; the
    account's pending-publisher form when it does not; both when the look-up could not tell."""
    existing = f"{publisher_form_url(web_root, project, facts.claims, existing_project=True)} (existing project)"
    pending = (
        f"{publisher_form_url(web_root, project, facts.claims, existing_project=False)} (new project: a pending "
        f"publisher for project name {project}, with the values above)"
    )
    known = facts.project_exists.get(project)
    if known is None:
        return f"{existing} or {pending}"
    return existing if known else pending


def status_hint(index: Index) -> str:
    """Where to look when the index seems to be in trouble."""
    if index.kind in ("pypi", "testpypi"):
        return "Check https://status.python.org/ for incidents."
    return f"Check that {redact_url(index.upload_url)} is up and supports Trusted Publishing."


__all__ = ["ExchangeFacts", "explain_exchange_refusal", "status_hint"]
