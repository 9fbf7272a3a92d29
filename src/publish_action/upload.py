"""The legacy upload protocol: ordering, concurrency, retries and the look before each retry.

Per project, the first file goes alone because it may create the release; the rest follow in parallel up
to ``max-parallel``. A transient failure (network, 5xx, 429) is retried with backoff, but only after
looking at the index: the first attempt may have landed even though its answer was lost. The body is
streamed from disk on every attempt, so memory does not grow with file size.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO, cast

import httpx

from publish_action.credentials import Credential
from publish_action.dists import Distribution
from publish_action.errors import Interrupted, PublishError, UploadError
from publish_action.http import Attempts, RetryPolicy, deadline, default_policy, transient_reason, with_retries
from publish_action.index import Index, IndexLookupError
from publish_action.outcomes import FileOutcome, FileState
from publish_action.progress import CountingReader, FileProgress, NoProgress, Progress
from publish_action.redact import redact_url
from publish_action.sizes import describe_size
from publish_action.stopping import STOP_LAST_REQUESTS, Stopped, block_stop_signals, grace_left, pause, winding_down
from publish_action.upload_answers import AnswerReader

logger = logging.getLogger("publish_action")


@dataclass
class Uploader:
    """Uploads a checked set of distributions to one index with one client."""

    client: httpx.Client
    index: Index
    credential: Credential
    skip_existing: bool
    max_parallel: int = 8
    policy: RetryPolicy = field(default_factory=default_policy)
    #: Attestations per file name, as the JSON array the ``attestations`` form field carries.
    attestations: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = pause
    #: Where each file's bytes are shown going out (bars in a terminal; nothing in CI logs).
    progress: Progress = field(default_factory=NoProgress)
    #: Projects one of whose files failed: their other files are not started (a release should not grow
    #: once one of its files failed). Other projects go on.
    _failed_projects: set[str] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    #: How many files are being sent right now, and the condition a stopping run waits on for them.
    _in_flight: int = field(default=0, init=False)
    _idle: threading.Condition = field(init=False)
    _answers: AnswerReader = field(init=False)

    def __post_init__(self) -> None:
        self._idle = threading.Condition(self._lock)
        self._answers = AnswerReader(
            self.client, self.index, self.credential, self.skip_existing, self.policy, self.sleep
        )

    def upload(self, outcomes: Sequence[FileOutcome]) -> None:
        """Upload every outcome still ``not tried``, updating each in place."""
        pending = [outcome for outcome in outcomes if outcome.state is FileState.NOT_TRIED]
        first_of_project: dict[str, FileOutcome] = {}
        rest: list[FileOutcome] = []
        for outcome in pending:
            if outcome.dist.project in first_of_project:
                rest.append(outcome)
            else:
                first_of_project[outcome.dist.project] = outcome
        workers = max(1, self.max_parallel)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upload", initializer=block_stop_signals)
        try:
            # The first file of each project alone (projects are independent of each other), then the rest.
            for batch in (list(first_of_project.values()), rest):
                for future in [pool.submit(self._upload_one, outcome) for outcome in batch]:
                    future.result()
        except Interrupted:
            # Nothing new starts; the uploads in flight get the grace, then one last look settles them.
            pool.shutdown(wait=False, cancel_futures=True)
            self._wind_down(pending)
            raise
        pool.shutdown(wait=True)
        for outcome in pending:
            if outcome.state is FileState.NOT_TRIED and not outcome.detail:
                outcome.detail = f"not sent: an earlier file of {outcome.dist.project} failed"

    def _wind_down(self, pending: Sequence[FileOutcome]) -> None:
        """The run is stopping: wait for the uploads in flight until the grace ends, then settle each file
        sent without a final answer by one look at the index (``uploaded`` when it lists the very file,
        else ``failed``, "sent, no answer"); the files not sent stay ``not tried``."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=grace_left())
        for outcome in pending:
            if outcome.state is not FileState.NOT_TRIED:
                continue
            if outcome.attempts == 0:
                outcome.detail = "not sent: the run was cancelled"
                continue
            dist = outcome.dist
            landed = False
            try:
                with winding_down(), deadline(STOP_LAST_REQUESTS):
                    landed = self._answers.landed(dist)
            except (IndexLookupError, httpx.HTTPError, Stopped) as exc:
                logger.info("%s: the last look at the index failed (%s)", dist.filename, type(exc).__name__)
            if landed:
                outcome.state = FileState.UPLOADED
                outcome.detail = "accepted while the run was being cancelled (the index lists it)"
                continue
            self._fail(
                outcome,
                UploadError(
                    f"{dist.filename}: sent, no answer",
                    f"it was being sent to {self.index.display_name} when the run was cancelled, and the index "
                    "did not list it in the last look, so whether it was stored is unknown.",
                    "re-run the job with `skip-existing: true`: a file that landed is skipped, one that did not "
                    "is sent again.",
                ),
            )

    def _upload_one(self, outcome: FileOutcome) -> None:
        """Send one file until the index settles its fate, within the file's own deadline."""
        with self._lock:
            self._in_flight += 1
        try:
            self._send(outcome)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _send(self, outcome: FileOutcome) -> None:
        dist = outcome.dist
        if self._stopped(dist.project):
            return
        logger.info("Uploading %s (%s)", dist.filename, describe_size(dist.size))
        tries = Attempts()
        first_sent = time.time()
        shown = self.progress.file(dist.filename, dist.size)
        try:
            self._send_with(outcome, tries, shown, first_sent)
        finally:
            shown.finish()

    def _send_with(self, outcome: FileOutcome, tries: Attempts, shown: FileProgress, first_sent: float) -> None:
        dist = outcome.dist
        sent = False

        unsettled = 0  # attempts that may have delivered the file but got no answer that settles it

        def attempt() -> httpx.Response:
            nonlocal sent, unsettled
            outcome.attempts += 1
            shown.restart()
            try:
                response = self._post(dist, shown)
            except httpx.TransportError as exc:
                # A connection that never opened carried nothing; any later failure may have delivered it.
                delivered = not isinstance(exc, _NEVER_SENT)
                sent = sent or delivered
                unsettled += delivered
                raise
            sent = True
            # A 5xx or 429 may come after the index stored the file (a proxy's, or a worker that failed late).
            unsettled += transient_reason(response) is not None
            return response

        def before_retry(reason: str) -> bool:
            held = self._answers.held(dist)
            if held is not None and held.same_content(dist.hashes.by_name()) is True:
                self._answers.found_after_lost_answer(outcome, held, first_sent, outcome.attempts, reason)
                logger.info("%s: the index holds it after all; not sending it again", dist.filename)
                return False
            return not self._stopped(dist.project)

        deadline_seconds = self.policy.upload_deadline(dist.size)
        try:
            answer = with_retries(
                dist.filename,
                attempt,
                policy=self.policy,
                budget=deadline_seconds,
                before_retry=before_retry,
                attempts=tries,
                sleep=self.sleep,
            )
        except PublishError as exc:
            self._fail(outcome, exc)
            return
        except Stopped:
            # The run is stopping: the file stays not tried; one sent already is settled by the last look.
            return
        except httpx.TransportError as exc:
            if outcome.state is not FileState.NOT_TRIED:
                return
            if tries.reason is None:
                self._fail(outcome, _unreachable(self.index, dist, exc))
            else:
                self._gave_up(outcome, tries, sent, deadline_seconds, exc)
            return
        if outcome.state is not FileState.NOT_TRIED:
            return
        if tries.reason is not None and transient_reason(answer) is not None:
            self._gave_up(outcome, tries, True, deadline_seconds, None)
            return
        # An earlier attempt was sent and its answer lost: whatever this one hears may be about that one.
        error = self._answers.settle(outcome, answer, lost=unsettled > 0, first_sent=first_sent)
        if error is not None:
            self._fail(outcome, error)

    def _gave_up(
        self,
        outcome: FileOutcome,
        tries: Attempts,
        sent: bool,
        deadline_seconds: float,
        error: Exception | None,
    ) -> None:
        """Retries of a file stopped on a transient failure: say exactly what is known of its fate."""
        dist = outcome.dist
        stopped = self._stopped(dist.project)
        if sent:
            # Sent at least once: the index may hold it. Look (with a little time of its own) before saying.
            with deadline(min(_LAST_LOOK_SECONDS, self.policy.budget)):
                if self._answers.landed(dist):
                    outcome.state = FileState.UPLOADED
                    outcome.detail = f"accepted on attempt {outcome.attempts} (its answer was lost: {tries.reason})"
                    logger.info("%s: the index holds it after all", dist.filename)
                    return
        elif stopped:
            outcome.detail = f"not sent: an earlier file of {dist.project} failed"
            return
        if stopped:
            why = f"the upload of {dist.project} stopped because another of its files failed"
        elif tries.deadline_passed:
            why = f"its upload deadline of {deadline_seconds:.0f}s ran out"
        else:
            why = "no attempts are left"
        if sent and error is not None:
            self._fail(
                outcome,
                UploadError(
                    f"{dist.filename}: sent, no answer",
                    f"{dist.filename} was sent to {self.index.display_name}, but no attempt got an answer that "
                    f"settles it (last: {tries.reason}); {why}, and the index does not list the file, so "
                    "whether it was stored is unknown.",
                    "check the index for the file, then re-run the job with `skip-existing: true`: a file that "
                    "landed is skipped, one that did not is sent again.",
                ),
            )
        elif error is not None:
            self._fail(outcome, _unreachable(self.index, dist, error, tries.count))
        else:
            self._fail(
                outcome,
                UploadError(
                    f"Upload of {dist.filename} failed",
                    f"{self.index.display_name} did not accept it after {tries.count} attempts (last: "
                    f"{tries.reason}); {why}.",
                    "check the index's status page and re-run the job; with `skip-existing: true` the files "
                    "already uploaded are skipped.",
                ),
            )

    def _stopped(self, project: str) -> bool:
        with self._lock:
            return project in self._failed_projects

    def _post(self, dist: Distribution, shown: FileProgress) -> httpx.Response:
        data: dict[str, list[str]] = {}
        for key, value in (
            (":action", "file_upload"),
            ("protocol_version", "1"),
            *dist.metadata_fields,
            *dist.hashes.form_fields(),
        ):
            data.setdefault(key, []).append(value)
        attestations = self.attestations.get(dist.filename)
        if attestations is not None:
            data["attestations"] = [attestations]
        # A fresh file handle per attempt: httpx streams it in chunks with a known Content-Length.
        with dist.path.open("rb") as file:
            # Counted as httpx reads it, for the terminal's bar; a BinaryIO in all httpx asks of it.
            content = cast("BinaryIO", CountingReader(file, shown.advance))
            return self.client.post(
                self.index.upload_url,
                data=data,
                files={"content": (dist.filename, content, "application/octet-stream")},
                auth=self.credential.basic_auth(),
                headers={"Accept": "application/json"},
            )

    def _fail(self, outcome: FileOutcome, error: PublishError) -> None:
        outcome.state = FileState.FAILED
        outcome.error = error
        outcome.detail = error.title
        logger.error("%s: %s", outcome.dist.filename, error.cause)
        with self._lock:
            self._failed_projects.add(outcome.dist.project)


#: Errors raised before a connection carried anything: the file certainly did not reach the index.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Time for the last look at the index after a file's own deadline ran out.
_LAST_LOOK_SECONDS = 30.0
#: How far the index's clock and the runner's may disagree when the index's upload time says whose a file is.

#: The kinds of 403 PyPI answers that are not about the credentials, by words of its message (Warehouse's
#: ``forklift/decorators.py`` and ``forklift/legacy.py``): what they mean and what to do.


def _unreachable(index: Index, dist: Distribution, exc: Exception, attempts: int = 1) -> UploadError:
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    return UploadError(
        f"Could not reach {index.display_name}",
        f"sending {dist.filename} to {redact_url(index.upload_url)} failed{tries}: {type(exc).__name__}: {exc}",
        "check `repository-url` and that the index is up; certificate errors mean the index's TLS "
        "certificate is not trusted on this machine.",
    )
