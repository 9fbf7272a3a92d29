"""What an index said, read once for every caller: its own words out of JSON, HTML or plain bodies, whether
it says a file already exists (in each index's wording), and what its refusals beyond bad credentials mean.

Used by the uploader and the token exchange. The "already exists" wordings are facts about other indexes,
each with where it comes from; a file one of them names is still compared with the index's listing before
anything is concluded.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import httpx

from publish_action.errors import AuthenticationError, PublishError, UploadError
from publish_action.redact import outside_text

_TAG = re.compile(r"<[^>]+>")
_BLOCKS = re.compile(r"<(style|script|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ExistsWording:
    """How one index says that a file of that name is there already."""

    index: str
    statuses: frozenset[int]
    #: Lower-case words the answer's message holds; empty: the status alone says it.
    words: str
    source: str


EXISTS_WORDINGS: tuple[ExistsWording, ...] = (
    ExistsWording(
        "Warehouse (PyPI, TestPyPI)",
        frozenset({400}),
        "already exist",
        "warehouse/forklift/legacy.py: 400 \"File already exists ('<name>', with blake2_256 hash …)\"",
    ),
    ExistsWording("pypiserver, devpi-server", frozenset({409}), "", "409 Conflict for a file name they hold"),
    ExistsWording(
        "Sonatype Nexus Repository 3",
        frozenset({400}),
        "does not allow updating assets",
        "a hosted repository with the write policy 'allow once': "
        '400 "Repository does not allow updating assets: <repo>"',
    ),
    ExistsWording(
        "Sonatype Nexus Repository 3 (later releases)",
        frozenset({400, 409}),
        "asset already exists and redeploy is not allowed",
        '"<repo>/<path> - cannot be updated as asset already exists and redeploy is not allowed"',
    ),
    ExistsWording(
        "JFrog Artifactory",
        frozenset({403}),
        "not enough permissions to overwrite artifact",
        "403 for a user without the delete/overwrite permission (twine's --skip-existing knows it too)",
    ),
    ExistsWording(
        "GitLab package registry",
        frozenset({400}),
        "has already been taken",
        'a duplicate package file: 400 "Validation failed: File name has already been taken"',
    ),
    ExistsWording("other indexes", frozenset({400, 403}), "already exist", "the words most indexes use"),
)


def says_already_exists(status: int, message: str) -> bool:
    """Whether the answer says a file of that name is on the index already, in any index's wording."""
    lowered = message.lower()
    return any(status in wording.statuses and wording.words in lowered for wording in EXISTS_WORDINGS)


def json_object(response: httpx.Response) -> dict[str, object]:
    """The answer's JSON object, or an empty one for any other body."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def unreadable_json(response: httpx.Response) -> bool:
    """A body declared as JSON that does not parse."""
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not (content_type == "application/json" or content_type.endswith("+json")) or not response.content:
        return False
    try:
        response.json()
    except ValueError:
        return True
    return False


def index_message(response: httpx.Response) -> str:
    """The index's own words, on one line and bounded: the JSON ``message`` (Warehouse), else the reason
    phrase, else the body's text."""
    return outside_text(_index_words(response))


def _index_words(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        # Pyramid-style error bodies (Warehouse, devpi) carry the specific message in "code" after the status
        # ("400 File already exists …"); "message" starts with a generic explanation (or is blank on devpi).
        code = payload.get("code")
        status = str(response.status_code)
        if isinstance(code, str) and code.startswith(status) and code[len(status) :].strip():
            return code[len(status) :].strip()
        for key in ("message", "detail", "error", "title"):
            value = payload.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    text = _readable_text(response.text or "")
    reason = response.reason_phrase.strip() if response.reason_phrase else ""
    if reason and reason.lower() not in {"ok", "bad request", "forbidden", "conflict", "unauthorized"}:
        return reason
    return text[:400] or reason or "no message"


def _readable_text(body: str) -> str:
    """Text of an HTML or plain error page, without markup, styles or scripts."""
    body = _BLOCKS.sub(" ", body)
    title = _TITLE.search(body)
    text = html.unescape(_TAG.sub(" ", body))
    text = " ".join(text.split())
    if title and len(text) > 200:
        # Framework error pages repeat the status in the title and bury the cause in boilerplate.
        return " ".join(html.unescape(title.group(1)).split())
    return text


#: What an index's 403 says beyond bad credentials (Warehouse's wordings), the error it is and the fix.
FORBIDDEN_WORDINGS: tuple[tuple[str, type[PublishError], str, str], ...] = (
    (
        "read-only mode",
        UploadError,
        "{index} is in read-only mode",
        "the index takes no uploads during maintenance; wait until it is over (https://status.python.org/ for "
        "PyPI), then re-run the job: with `skip-existing: true` the files already uploaded are skipped.",
    ),
    (
        "new uploads are temporarily disabled",
        UploadError,
        "{index} has switched uploads off",
        "the index's administrators have paused uploads; wait until they are back (https://status.python.org/ "
        "for PyPI), then re-run the job with `skip-existing: true`.",
    ),
    (
        "does not have a verified primary email",
        AuthenticationError,
        "The account behind the API token has no verified e-mail address",
        "verify the account's primary e-mail address on the index (account settings), then re-run the job; "
        "or switch to Trusted Publishing, which needs no account token.",
    ),
    (
        "does not have two-factor authentication enabled",
        AuthenticationError,
        "The account behind the API token has no two-factor authentication",
        "enable two-factor authentication for the account on the index (account settings), then re-run the "
        "job; or switch to Trusted Publishing, which needs no account token.",
    ),
)


__all__ = [
    "EXISTS_WORDINGS",
    "FORBIDDEN_WORDINGS",
    "ExistsWording",
    "index_message",
    "json_object",
    "says_already_exists",
    "unreadable_json",
]
