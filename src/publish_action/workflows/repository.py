"""The repository ``init`` writes for: its trusted publisher (from a flag or the git remote) and the action's
line, pinned to the commit its tag names."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from publish_action.errors import SettingsError

#: How the README tells users to reference this action; the commit is looked up for the version.
DEFAULT_ACTION = "org/publish-action@v1"


_GIT_TIMEOUT_S = 30.0


_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


_ACTION = re.compile(r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)@(?P<version>[A-Za-z0-9._/-]+)$")


FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


#: ``https://github.com/o/r(.git)``, ``ssh://git@github.com[:port]/o/r(.git)``, ``git@github.com:o/r(.git)``.
_REMOTE = re.compile(
    r"^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host1>[^/:]+)(?::\d+)?/|(?:[^@/]+@)?(?P<host2>[^/:]+):/?)"
    r"(?P<owner>[^/]+)/(?P<repository>[^/]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Publisher:
    """The GitHub side of a trusted publisher: ``owner/repository``."""

    owner: str
    repository: str


def parse_remote(url: str) -> Publisher | None:
    """``owner/repository`` of a github.com remote URL (https, ssh or scp-like); None for anything else."""
    match = _REMOTE.match(url.strip())
    if match is None:
        return None
    host = (match["host1"] or match["host2"] or "").lower()
    if host not in ("github.com", "www.github.com"):
        return None
    return Publisher(match["owner"], match["repository"])


def publisher_from_flag(value: str) -> Publisher:
    owner, slash, repository = value.partition("/")
    if not slash or not _OWNER.match(owner) or not _REPOSITORY.match(repository):
        raise SettingsError(
            "--repository is not OWNER/NAME",
            f"{value!r}: the trusted publisher names a GitHub owner and repository.",
            "use the form --repository octo-org/my-project.",
        )
    return Publisher(owner, repository)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT_S,
        check=False,
    )


def publisher_from_remote(root: Path, remote: str) -> Publisher:
    try:
        result = _git(root, "remote", "get-url", remote)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SettingsError(
            "The repository's owner and name could not be read",
            f"`git remote get-url {remote}` did not run: {exc}.",
            "install git, or give them with --repository OWNER/NAME.",
        ) from exc
    if result.returncode != 0:
        raise SettingsError(
            "The repository's owner and name could not be read",
            f"`git remote get-url {remote}` failed in {root}: "
            f"{(result.stderr.strip().splitlines() or ['no such remote'])[-1]}. The trusted publisher names the "
            "GitHub repository the workflow runs in.",
            f"run init in a clone of the GitHub repository, add the remote (`git remote add {remote} "
            "https://github.com/OWNER/NAME.git`), or give --repository OWNER/NAME.",
        )
    url = result.stdout.strip()
    publisher = parse_remote(url)
    if publisher is None:
        raise SettingsError(
            "The remote is not a github.com repository",
            f"remote {remote!r} points at {_without_credentials(url)}; Trusted Publishing from GitHub Actions "
            "needs a repository on github.com.",
            "give the GitHub repository with --repository OWNER/NAME, or --remote NAME for another remote.",
        )
    return publisher


def _without_credentials(url: str) -> str:
    return re.sub(r"://[^@/]+@", "://***@", url)


def action_line(action: str, sha: str | None) -> str:
    match = _ACTION.match(action)
    if match is None:
        raise SettingsError(
            "--action is not OWNER/REPO@VERSION",
            f"{action!r}: the workflow names this action by repository and version, pinned to the version's commit.",
            f"use the form --action {DEFAULT_ACTION}.",
        )
    repo, version = match["repo"], match["version"]
    if FULL_SHA.match(version):
        raise SettingsError(
            "--action names a commit, not a version",
            f"{action!r}: the workflow carries the version as a comment beside the commit.",
            f"give the version with --action {repo}@v1 and the commit with --action-sha {version}.",
        )
    commit = sha or _resolve_tag(repo, version)
    return f"{repo}@{commit} # {version}"


def _resolve_tag(repo: str, version: str) -> str:
    url = f"https://github.com/{repo}"
    fix = f"give the commit with --action-sha (the commit `git ls-remote {url} refs/tags/{version}` shows)."
    try:
        result = subprocess.run(
            ["git", "ls-remote", url, f"refs/tags/{version}", f"refs/tags/{version}^{{}}"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            env=_git_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SettingsError(
            f"The commit of {repo} {version} could not be looked up", f"`git ls-remote {url}` failed: {exc}.", fix
        ) from exc
    refs = dict(
        (parts[1], parts[0]) for parts in (line.split("\t") for line in result.stdout.splitlines()) if len(parts) == 2
    )
    commit = refs.get(f"refs/tags/{version}^{{}}") or refs.get(f"refs/tags/{version}")
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise SettingsError(
            f"The commit of {repo} {version} could not be looked up",
            f"`git ls-remote {url}` failed ({reason}); the workflow pins the action by commit.",
            fix,
        )
    if commit is None or not FULL_SHA.match(commit):
        raise SettingsError(
            f"The commit of {repo} {version} could not be looked up",
            f"{url} has no tag {version}; the workflow pins the action by the commit of a version tag.",
            f"name an existing version with --action {repo}@VERSION, or {fix}",
        )
    return commit


def _git_env() -> dict[str, str]:
    # Never stop for a password prompt: a missing repository is an error, not a question.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


__all__ = [
    "DEFAULT_ACTION",
    "FULL_SHA",
    "Publisher",
    "action_line",
    "parse_remote",
    "publisher_from_flag",
    "publisher_from_remote",
]
