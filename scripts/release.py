"""The release workflow's own steps (.github/workflows/release.yml), with the standard library only.

    python3 scripts/release.py check TAG                 # the tag against pyproject.toml and CHANGELOG.md
    python3 scripts/release.py notes VERSION             # the CHANGELOG.md section of VERSION
    python3 scripts/release.py digest-file IMAGE DIGEST VERSION
    python3 scripts/release.py github-release VERSION    # the GitHub release of tag vVERSION, once

``check`` prints ``version=…`` and ``major=…`` lines for ``$GITHUB_OUTPUT``. ``github-release`` reads
``GITHUB_API_URL``, ``GITHUB_REPOSITORY`` and ``GITHUB_TOKEN``; it creates the release with the notes of
CHANGELOG.md, and on a re-run finds it made already and leaves it. Each refusal is one ``::error::`` line
that says what to fix, and exit status 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
_TAG = re.compile(r"v(?P<version>(?P<major>0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*))")
#: A released section's heading in Keep a Changelog's form: ``## [1.2.3] - 2026-12-07``.
_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")
_IMAGE = re.compile(r"[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_API_TIMEOUT_S = 30


class ReleaseError(Exception):
    """A release that cannot go on, with what to fix."""


def check(tag: str, root: Path = ROOT) -> dict[str, str]:
    """The version and major tag a pushed tag releases, after holding it against the project's files."""
    match = _TAG.fullmatch(tag)
    if match is None:
        raise ReleaseError(f"the tag {tag!r} is not a release tag: push a tag of the form vX.Y.Z (for example v1.2.0)")
    version = match["version"]
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    if declared != version:
        raise ReleaseError(
            f"the tag {tag} releases {version}, but pyproject.toml says version = {declared!r}: set the version "
            f"to {version!r} in a commit, and tag that commit"
        )
    notes(version, root)  # the section must be there, dated
    return {"version": version, "major": f"v{match['major']}"}


def notes(version: str, root: Path = ROOT) -> str:
    """The body of CHANGELOG.md's section for ``version`` (without its heading)."""
    lines = (root / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
    start: int | None = None
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        if start is not None:
            return _section(lines[start:index], version)
        if heading["version"] == version:
            if heading["date"] is None:
                raise ReleaseError(
                    f"CHANGELOG.md's section for {version} has no date: write its heading as "
                    f"'## [{version}] - YYYY-MM-DD'"
                )
            start = index + 1
    if start is None:
        raise ReleaseError(
            f"CHANGELOG.md has no section for {version}: rename '## [Unreleased]' to '## [{version}] - YYYY-MM-DD' "
            "(and start a new empty [Unreleased] above it)"
        )
    return _section(lines[start:], version)


def _section(lines: list[str], version: str) -> str:
    # Link definitions at the end of the file belong to no section.
    body = [line for line in lines if not re.match(r"^\[[^\]]+\]: \S", line)]
    text = "\n".join(body).strip()
    if not text:
        raise ReleaseError(f"CHANGELOG.md's section for {version} is empty: list what the release changes")
    return text + "\n"


def digest_file(image: str, digest: str, version: str, path: Path) -> str:
    """Write image-digest.txt naming ``image@digest``: what action.yml runs on the release commit."""
    if _IMAGE.fullmatch(image) is None or "@" in image:
        raise ReleaseError(f"the image name {image!r} is not a lower-case image reference without a tag or digest")
    if _DIGEST.fullmatch(digest) is None:
        raise ReleaseError(f"the build gave the digest {digest!r}, not sha256:<64 hex digits>")
    reference = f"{image}@{digest}"
    path.write_text(
        "# The container image this commit of publish-action runs on Linux runners, pinned by digest.\n"
        f"# Written by the release workflow for v{version}; action.yml reads the first line that is not\n"
        "# a comment.\n"
        f"{reference}\n",
        encoding="utf-8",
    )
    return reference


def _api(method: str, url: str, token: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    if not url.startswith(("https://", "http://")):
        raise ReleaseError(f"GITHUB_API_URL must be an http(s) URL, not {url.split('/')[0]!r}")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http and https only, above)
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=_API_TIMEOUT_S) as response:  # noqa: S310 (as above)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            payload = json.loads(error.read() or b"{}")
        except ValueError:
            payload = {}
        return error.code, payload if isinstance(payload, dict) else {}
    except (urllib.error.URLError, TimeoutError) as error:
        reason = type(error).__name__
        raise ReleaseError(f"{url.split('?')[0]} could not be reached ({reason}); re-run the job") from None


def github_release(version: str, environ: dict[str, str], root: Path = ROOT) -> str:
    """Create the GitHub release of ``v{version}`` with its CHANGELOG.md notes, unless it exists; its URL."""
    missing = [name for name in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN") if not environ.get(name)]
    if missing:
        raise ReleaseError(f"{', '.join(missing)} not set: the step needs them in its env (the job's GITHUB_TOKEN)")
    base = f"{environ['GITHUB_API_URL'].rstrip('/')}/repos/{environ['GITHUB_REPOSITORY']}/releases"
    token = environ["GITHUB_TOKEN"]
    tag = f"v{version}"
    status, payload = _api("GET", f"{base}/tags/{tag}", token)
    if status == 200:
        return f"{payload.get('html_url', tag)} (made by an earlier run; left as it is)"
    if status != 404:
        raise ReleaseError(f"looking up the release {tag} answered HTTP {status}; re-run the job")
    body = {"tag_name": tag, "name": tag, "body": notes(version, root), "draft": False, "prerelease": False}
    status, payload = _api("POST", base, token, body)
    if status != 201:
        message = payload.get("message", "")
        raise ReleaseError(
            f"creating the release {tag} answered HTTP {status} {message}".rstrip()
            + ": check that the job has `contents: write` and that the tag was pushed"
        )
    return str(payload.get("html_url", tag))


def main(argv: list[str]) -> int:
    try:
        match argv:
            case ["check", tag]:
                for key, value in check(tag).items():
                    print(f"{key}={value}")
            case ["notes", version]:
                sys.stdout.write(notes(version))
            case ["digest-file", image, digest, version]:
                print(digest_file(image, digest, version, ROOT / "image-digest.txt"))
            case ["github-release", version]:
                print(f"release: {github_release(version, dict(os.environ))}")
            case _:
                print(__doc__, file=sys.stderr)
                return 2
    except ReleaseError as error:
        print(f"::error title=release::{error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
