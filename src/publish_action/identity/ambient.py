"""The job's OIDC token, from whichever CI runs it: the providers of :mod:`publish_action.identity` are
asked first (GitHub Actions, GitLab CI/CD, Google Cloud), ``id`` for the others, and each refusal becomes
that provider's own explanation.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from publish_action import identity
from publish_action.errors import AuthenticationError
from publish_action.identity.github import GitHubContext, fork_error, without_permission
from publish_action.identity.provider import Broken, Token, TransientOIDCError


def ambient_token(
    audience: str,
    context: GitHubContext,
    *,
    detect: Callable[[str], str | None] | None = None,
) -> SecretStr:
    """Fetch a fresh OIDC token for ``audience`` from the CI provider that runs this job.

    GitHub Actions, GitLab CI/CD and Google Cloud are asked by :func:`publish_action.identity.detect` (through the
    run's own HTTP stack, with its deadlines); other providers (Buildkite, CircleCI) by ``id``. ``detect``
    replaces all of them (an embedding program's own source of tokens). Raises :class:`AuthenticationError`
    with the provider's own fix; transient failures raise :class:`TransientOIDCError` so the caller can retry.
    """
    if detect is None:
        outcome = identity.detect(audience)
        if isinstance(outcome, Token):
            return outcome.token
        if isinstance(outcome, Broken):
            raise _broken(outcome, context)

    import id as oidc_id  # imported late: only the providers detected by ``id`` alone need it

    try:
        token = (detect or oidc_id.detect_credential)(audience)
    except oidc_id.GitHubOidcPermissionCredentialError:
        raise _broken(without_permission(), context) from None
    except oidc_id.AmbientCredentialError as exc:
        # Network failures and 5xx from the token endpoint land here; the message holds no secret but
        # may hold a response body, so only its first line is kept.
        raise TransientOIDCError(str(exc).splitlines()[0][:200]) from None
    return _required(token)


def require_ambient(audience: str, context: GitHubContext) -> None:
    """Raise :func:`ambient_token`'s error now if the job's environment already shows that no token for
    ``audience`` can be had (no request is sent)."""
    broken = identity.precheck(audience)
    if broken is not None:
        raise _broken(broken, context)


def _broken(outcome: Broken, context: GitHubContext) -> AuthenticationError:
    """The provider runs the job but gives no token: its own explanation, or the fork one (GitHub's)."""
    if context.fork_pull_request:
        return fork_error(context)
    return AuthenticationError(outcome.title, outcome.cause, outcome.fix)


def _required(token: str | None) -> SecretStr:
    if not token:
        raise AuthenticationError(
            "No OIDC identity available for Trusted Publishing",
            "no password was given, so publish-action tried Trusted Publishing, but this is not a CI job "
            "that provides OIDC tokens (GitHub Actions, GitLab CI/CD, Google Cloud, Buildkite, CircleCI).",
            "run the publish in a CI job with OIDC enabled (GitHub: `permissions: id-token: write`; GitLab: an "
            "`id_tokens:` block; Google Cloud: a service account attached to the job), or pass an API token as "
            "`password` (for local runs: --password / INPUT_PASSWORD).",
        )
    return SecretStr(token)


__all__ = ["ambient_token", "require_ambient"]
