"""What an index's answer to an upload means for the file: uploaded, skipped as identical, or the error that
fails it, looking at the index's listing where the answer leaves it open (an answer lost, unreadable, or
"already exists" after an attempt of ours)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from publish_action.credentials import Credential
from publish_action.dists import Distribution
from publish_action.errors import AuthenticationError, PublishError, UploadError
from publish_action.http import RetryPolicy
from publish_action.index import Index, IndexedFile, IndexLookupError, changed_file_error, existing_files
from publish_action.index_answers import FORBIDDEN_WORDINGS, index_message, says_already_exists, unreadable_json
from publish_action.outcomes import FileOutcome, FileState
from publish_action.redact import redact_url

logger = logging.getLogger("publish_action")

#: The index's clock and the runner's may differ by this much when telling an earlier run's file by its date.
_CLOCK_SLACK_SECONDS = 30.0


@dataclass
class AnswerReader:
    """Reads the index's answers for one uploader (its client, index, credential and policies)."""

    client: httpx.Client
    index: Index
    credential: Credential
    skip_existing: bool
    policy: RetryPolicy
    sleep: Callable[[float], None]

    def settle(
        self, outcome: FileOutcome, response: httpx.Response, *, lost: bool = False, first_sent: float = 0.0
    ) -> PublishError | None:
        """Turn a non-transient answer into the file's final state: set it here when the file is on the
        index, or return the error that fails it."""
        dist = outcome.dist
        if response.is_success and unreadable_json(response):
            # No index answers success with JSON it cannot write: whatever sent this, the index may not have
            # stored the file. Only the index's own listing can tell.
            if self.landed(dist):
                outcome.state = FileState.UPLOADED
                outcome.detail = "accepted (its answer was unreadable; the index lists it)"
                logger.info("%s: the answer was unreadable, but the index lists it", dist.filename)
                return None
            return UploadError(
                f"{dist.filename}: sent, answer unreadable",
                f"{self.index.display_name} answered HTTP {response.status_code} with a body that is not the "
                "JSON it declares, and its simple API does not list the file, so whether it was stored is "
                "unknown.",
                "check the index for the file (a proxy in front of it may have answered), then re-run the job "
                "with `skip-existing: true`.",
            )
        if response.is_success:
            outcome.state = FileState.UPLOADED
            outcome.detail = "" if outcome.attempts == 1 else f"after {outcome.attempts} attempts"
            logger.info("%s uploaded", dist.filename)
            return None
        message = index_message(response)
        status = response.status_code
        if response.is_redirect:
            location = response.headers.get("Location", "?")
            return UploadError(
                "The index redirected the upload",
                f"{redact_url(self.index.upload_url)} answered HTTP {status} pointing at "
                f"{redact_url(location)}; uploads are not sent on to another address.",
                f"set `repository-url` to {redact_url(location)} if that is the index's upload URL.",
            )
        if says_already_exists(status, message):
            return self._already_exists(outcome, message, lost=lost, first_sent=first_sent)
        if status in (401, 403):
            return self._refused(status, message)
        hint = self.credential.refusal_hint(message, dist)
        fix = hint or _fix_for_status(status)
        return UploadError(
            f"{self.index.display_name} refused {dist.filename}",
            f"HTTP {status}: {message}",
            fix,
        )

    def _already_exists(
        self, outcome: FileOutcome, message: str, *, lost: bool, first_sent: float
    ) -> PublishError | None:
        """The index says the file exists. After an attempt of ours whose answer was lost, that is most likely
        our own file: look (waiting out a listing that lags) and call it uploaded when the index lists these
        very bytes. Otherwise it was there before: with ``skip-existing``, skipped when identical."""
        dist = outcome.dist
        if not self.skip_existing and not lost:
            return UploadError(
                f"{dist.filename} already exists on {self.index.display_name}",
                f"the index answered: {message}",
                "set `skip-existing: true` to skip files the index already holds with identical "
                "content (a file with the same name but other content is still an error), or bump the "
                "version and rebuild.",
            )
        held, waited = self._listed(dist)
        if held is None:
            return UploadError(
                f"{dist.filename}: the index says it exists, but does not list it",
                f"the index answered: {message}; yet its simple API did not list the file in {waited:.0f} s "
                "of looking, so whether it holds these very bytes cannot be told yet.",
                "look at the project's files on the index in a few minutes, then re-run the job with "
                "`skip-existing: true`: a file listed with the same digest is skipped.",
            )
        same = held.same_content(dist.hashes.by_name())
        if same is None:
            return UploadError(
                f"{dist.filename} already exists on {self.index.display_name}",
                f"the index answered: {message}; its simple API lists the file without any digest, so "
                "whether it holds these very bytes cannot be told.",
                "compare the file on the index with the local one by hand; if they differ, bump the version "
                "and rebuild.",
            )
        if not same:
            return changed_file_error(dist.filename, dist.hashes.by_name(), held, self.index)
        if lost:
            self.found_after_lost_answer(
                outcome, held, first_sent, outcome.attempts - 1, "the retry found these very bytes on the index"
            )
            return None
        outcome.state = FileState.SKIPPED
        outcome.detail = "already on the index with identical content"
        logger.info("%s: already on the index with identical content; skipped", dist.filename)
        return None

    def found_after_lost_answer(
        self, outcome: FileOutcome, held: IndexedFile, first_sent: float, attempt: int, reason: str
    ) -> None:
        """The index lists these very bytes after an attempt whose answer was lost: this run's upload, unless
        the index dates the file clearly before this run first sent it (an earlier run's, the listing then
        lagging)."""
        earlier = held.upload_time is not None and held.upload_time.timestamp() < first_sent - _CLOCK_SLACK_SECONDS
        if earlier:
            outcome.state = FileState.SKIPPED
            outcome.detail = (
                f"already on the index with identical content (uploaded {held.upload_time:%Y-%m-%d %H:%M:%S}, "
                "before this run)"
            )
            return None
        outcome.state = FileState.UPLOADED
        outcome.detail = f"accepted on attempt {attempt} (its answer was lost; {reason})"

    def _listed(self, dist: Distribution) -> tuple[IndexedFile | None, float]:
        """The file as the index lists it, looking again (as the confirmation does, within its bound) while
        the listing does not show it yet; and the seconds spent."""
        from publish_action.confirm import default_policy as confirm_policy

        policy = confirm_policy()
        start = time.monotonic()
        round_number = 0
        while True:
            round_number += 1
            held = self.held(dist)
            waited = time.monotonic() - start
            if held is not None:
                return held, waited
            delay = policy.delay(round_number)
            if waited + delay > policy.wait:
                return None, waited
            logger.info("%s: not listed on the index yet; looking again in %.0fs", dist.filename, delay)
            self.sleep(delay)

    def _refused(self, status: int, message: str) -> PublishError:
        """A 401 or 403, explained by what the index said: PyPI answers 403 for more than bad credentials."""
        lowered = message.lower()
        for words, error_type, title, fix in FORBIDDEN_WORDINGS:
            if words in lowered:
                return error_type(title.format(index=self.index.display_name), f"HTTP {status}: {message}", fix)
        if "isn't allowed to upload" in lowered or "not valid for project" in lowered:
            title = f"{self.index.display_name} refused the upload to this project"
            return AuthenticationError(title, message, self.credential.fix_for("scope"))
        fix = self.credential.fix_for("credentials")
        return AuthenticationError(
            f"{self.index.display_name} refused the credentials",
            f"HTTP {status}: {message}",
            fix,
        )

    def held(self, dist: Distribution) -> IndexedFile | None:
        try:
            return existing_files(self.client, self.index, dist.project, policy=self.policy).get(dist.filename)
        except IndexLookupError:
            return None

    def landed(self, dist: Distribution) -> bool:
        """Whether the index already holds this exact file (an earlier attempt's answer may have been lost)."""
        if self.index.check_url is None:
            return False
        held = self.held(dist)
        return held is not None and held.same_content(dist.hashes.by_name()) is True


def _fix_for_status(status: int) -> str | None:
    if status == 413:
        return "the file is larger than the index accepts; PyPI raises the limit per project on request."
    if status in (405, 404):
        return "check `repository-url`: it must be the index's upload endpoint (PyPI: https://upload.pypi.org/legacy/)."
    if status == 410:
        return "this endpoint is gone; PyPI's upload URL is https://upload.pypi.org/legacy/."
    return None


__all__ = ["AnswerReader"]
