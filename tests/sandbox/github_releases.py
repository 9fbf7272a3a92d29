"""A loopback stand-in for the part of GitHub's REST API the release workflow uses: its releases.

It follows GitHub's documented contract (docs.github.com, REST "Releases", API version 2022-11-28):

- ``GET /repos/{owner}/{repo}/releases/tags/{tag}``: 200 with the release, 404 ``{"message": "Not Found"}``;
- ``POST /repos/{owner}/{repo}/releases`` with ``tag_name`` (required), ``name``, ``body``, ``draft``,
  ``prerelease``: 201 with the release (``id``, ``tag_name``, ``name``, ``body``, ``html_url``), 422 with
  ``errors: [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]`` for a second release
  of one tag;
- each request needs ``Authorization: Bearer <token>`` (or ``token <token>``) with the job's token: 401
  ``Bad credentials`` otherwise, and the repository must be the one the token belongs to (404 otherwise).

Knowingly left out: GitHub creates a missing tag from ``target_commitish``; here the tag must already be
in the repository (``tag_exists``), which is what the workflow relies on, so a workflow that forgot to push
its tag fails here (422) instead of getting a tag GitHub made. Also left out: assets, drafts' visibility,
``make_latest``, generated notes, pagination and rate limits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.sandbox._http import LoopbackServer, Request, Response, json_response


@dataclass(frozen=True)
class Release:
    id: int
    tag_name: str
    name: str
    body: str
    draft: bool
    prerelease: bool


class GitHubReleases(LoopbackServer):
    """The releases of one repository, ``repository`` (``owner/name``), for the holder of ``token``."""

    def __init__(self, repository: str, token: str, tag_exists: Callable[[str], bool]) -> None:
        super().__init__(self._route)
        self.repository = repository
        self._token = token
        self._tag_exists = tag_exists
        self._lock = threading.Lock()
        self.releases: list[Release] = []

    @property
    def api_url(self) -> str:
        """What the runner's ``GITHUB_API_URL`` would be."""
        return self.url

    def _route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        prefix = f"/repos/{self.repository}/releases"
        path = unquote(request.path)
        if not self._authorized(request):
            return "unauthorized", lambda: json_response(401, {"message": "Bad credentials"})
        if request.method == "GET" and path.startswith(prefix + "/tags/"):
            return "release-by-tag", lambda: self._by_tag(path.removeprefix(prefix + "/tags/"))
        if request.method == "POST" and path == prefix:
            return "create-release", lambda: self._create(request.body)
        return "not-found", lambda: json_response(404, {"message": "Not Found"})

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        return scheme.lower() in {"bearer", "token"} and value == self._token

    def _by_tag(self, tag: str) -> Response:
        with self._lock:
            for release in self.releases:
                if release.tag_name == tag:
                    return json_response(200, self._view(release))
        return json_response(404, {"message": "Not Found"})

    def _create(self, body: bytes) -> Response:
        try:
            payload: Any = json.loads(body)
        except ValueError:
            return json_response(400, {"message": "Problems parsing JSON"})
        tag = payload.get("tag_name") if isinstance(payload, dict) else None
        if not isinstance(tag, str) or not tag:
            return _invalid("missing_field", "tag_name")
        if not self._tag_exists(tag):
            return _invalid("invalid", "tag_name")
        with self._lock:
            if any(release.tag_name == tag for release in self.releases):
                return _invalid("already_exists", "tag_name")
            release = Release(
                id=len(self.releases) + 1,
                tag_name=tag,
                name=str(payload.get("name") or tag),
                body=str(payload.get("body") or ""),
                draft=bool(payload.get("draft", False)),
                prerelease=bool(payload.get("prerelease", False)),
            )
            self.releases.append(release)
        return json_response(201, self._view(release))

    def _view(self, release: Release) -> dict[str, object]:
        return {
            "id": release.id,
            "tag_name": release.tag_name,
            "name": release.name,
            "body": release.body,
            "draft": release.draft,
            "prerelease": release.prerelease,
            "html_url": f"https://github.com/{self.repository}/releases/tag/{release.tag_name}",
        }


def _invalid(code: str, field: str) -> Response:
    return json_response(
        422,
        {"message": "Validation Failed", "errors": [{"resource": "Release", "code": code, "field": field}]},
    )
