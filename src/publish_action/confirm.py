"""Confirm after publishing: does the index now serve every file as this run sent it?

After the last upload, each file the run uploaded or skipped is looked up in the index's simple API (PEP 691
JSON, PEP 503 HTML otherwise, as :mod:`publish_action.index` reads it) and must be listed with the sha256
this run holds (where an index lists no sha256, the strongest digest it lists). Where the index offers
provenance (PEP 740: a ``provenance`` URL in the file's entry, served by PyPI's integrity API), a file this
run uploaded with an attestation must have provenance that names this publisher (the repository and
workflow of the run's Trusted Publishing claims) and holds the attestation that was sent, which was
verified against that publisher before the upload.

Each file ends as one :class:`~publish_action.outcomes.Published` state: ``verified``, ``not yet visible``
(a warning: the upload itself succeeded), ``differs`` (an error, exit code 7), or ``listed without a
digest`` (a warning: an index configured to list no digests confirms presence only).

Indexes behind a CDN serve a new file a little after they accept it. Warehouse marks a project's cached
pages stale when a file is uploaded, from a background task and as a soft purge (an edge may serve the
stale page once more while it fetches the new one), and its simple pages and provenance carry
``stale-while-revalidate``. So files not visible yet are looked up again with backoff, for a bounded time
(:class:`ConfirmPolicy`). Every request asks the caches between the runner and the index to revalidate
(``Cache-Control: no-cache``); a CDN is free to ignore that, which is why the waiting exists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from publish_action.errors import ConfirmationError
from publish_action.http import deadline
from publish_action.index import Index, ProjectPage
from publish_action.outcomes import Confirmation, FileOutcome, FileState, Published
from publish_action.served import (
    NOT_LISTED,
    Expected,
    look_up,
)
from publish_action.stopping import pause

if TYPE_CHECKING:
    from publish_action.attestations.model import AnyPublisherIdentity
    from publish_action.credentials import Credential
    from publish_action.report import Reporter
    from publish_action.settings import Settings

logger = logging.getLogger("publish_action")


@dataclass(frozen=True)
class ConfirmPolicy:
    """How long to wait for the index to show what it accepted.

    The first look-up comes right after the last upload; files not visible yet are looked up again after
    ``first_delay`` seconds, doubling up to ``max_delay``, as long as the next look-up starts within
    ``wait`` seconds of the first. Each look-up round (the simple pages and the provenance it needs) is held
    to ``round_budget`` seconds, so the whole confirmation ends within ``wait + round_budget``.
    """

    wait: float = 60.0
    first_delay: float = 1.0
    max_delay: float = 10.0
    round_budget: float = 15.0

    def delay(self, round_number: int) -> float:
        """Seconds to wait after look-up round ``round_number`` (1-based) before the next one."""
        return float(min(self.max_delay, self.first_delay * 2.0 ** (round_number - 1)))


DEFAULT_POLICY = ConfirmPolicy()


def default_policy() -> ConfirmPolicy:
    """The policy in force, read at call time so a test can shorten the wait for a whole run."""
    return DEFAULT_POLICY


def enabled(mode: str, index: Index) -> bool:
    """Whether to confirm: ``true``/``false`` as given, ``auto`` wherever the index's simple API is known.

    The simple API is known for PyPI and TestPyPI, derived for pypiserver and devpi layouts, and given by
    ``check-url`` elsewhere. (``true`` without one is refused with the settings, before anything is sent.)
    """
    if mode == "false":
        return False
    return index.check_url is not None


@dataclass
class Confirmed:
    """What the confirmation stage found: each file's state on the index by name, notices for the report,
    and the error that fails the run (set when a file differs or is missing)."""

    published: dict[str, Confirmation] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    error: ConfirmationError | None = None
    #: The provenance documents verified as this run's, by URL (read again for the grade, not fetched).
    documents: dict[str, bytes] = field(default_factory=dict)


def confirm_published(
    settings: Settings,
    client: httpx.Client,
    index: Index,
    reporter: Reporter,
    outcomes: Sequence[FileOutcome],
    *,
    credential: Credential,
    attestations: Mapping[str, str],
    looked_up: Mapping[str, ProjectPage],
) -> Confirmed:
    """The confirmation stage of a publish: what the index serves for every uploaded or skipped file.

    ``attestations`` are the form values sent per file name; ``looked_up`` the simple pages read before the
    upload (a file already there then keeps the provenance of its first upload: an identical re-upload's
    attestations are ignored by the index). Files not yet visible become a notice; files that differ, or
    that an index without a CDN does not list, a :class:`ConfirmationError` naming each.
    """
    confirmed = Confirmed()
    if settings.dry_run:
        return confirmed
    if not enabled(settings.verify_published, index):
        if settings.verify_published == "auto":
            logger.info(
                "No simple index known for %s: what it serves is not confirmed (set check-url to confirm it)",
                index.display_name,
            )
        return confirmed
    outcomes = [outcome for outcome in outcomes if outcome.state in (FileState.UPLOADED, FileState.SKIPPED)]
    if not outcomes:
        return confirmed
    expected = []
    for outcome in outcomes:
        dist = outcome.dist
        page = looked_up.get(dist.project)
        was_there = page is not None and dist.filename in page.files
        sent = attestations.get(dist.filename) if outcome.state is FileState.UPLOADED and not was_there else None
        expected.append(Expected(dist.filename, dist.project, dist.hashes.by_name(), sent))
    publisher = None
    if any(item.attestations for item in expected):
        from publish_action.attestations.model import publisher_identity

        # Attestations are only ever made for a credential's signing identity (Trusted Publishing's claims).
        identity = credential.signing_identity
        if identity is not None:
            publisher = publisher_identity(identity.claims)
    policy = default_policy()
    with reporter.group(f"Confirming what {index.display_name} serves"):
        found = confirm(client, index, expected, publisher=publisher, policy=policy, documents=confirmed.documents)
    confirmed.published.update(found)
    late = [item.filename for item in expected if found[item.filename].state is Published.NOT_YET_VISIBLE]
    missing = [name for name in late if found[name].unlisted] if not index.behind_cdn else []
    if missing:
        # No CDN stands between this index and its pages: a file it accepted and its page does not list is
        # not there. (A page that could not be read says nothing either way: that stays a warning.)
        for name in missing:
            confirmed.published[name] = Confirmation(Published.DIFFERS, f"missing: accepted, but {found[name].detail}")
        confirmed.error = ConfirmationError(
            f"{index.display_name} does not serve {len(missing)} file(s) it accepted",
            f"the index answered each upload with success, yet after {policy.wait:.0f} s of looking its simple "
            "API does not list them, and an index without a CDN lists a stored file at once:",
            "look at the index's storage and logs (a proxy in front of it may answer for it, or its storage may "
            "refuse writes), then re-run the job with `skip-existing: true`.",
            problems=[f"{name}: {found[name].detail}" for name in missing],
        )
        return confirmed
    if late:
        why = "its CDN has not served them yet" if index.behind_cdn else "its pages could not be read"
        details = "; ".join(f"{name}: {found[name].detail}" for name in late)
        confirmed.notices.append(
            f"{len(late)} file(s) not yet visible on {index.display_name}: {details}. They were accepted, but "
            f"{why}, so their content could not be confirmed. Look at the project's page on the index in a "
            "few minutes."
        )
    bare = [item.filename for item in expected if found[item.filename].state is Published.UNCONFIRMED]
    if bare:
        confirmed.notices.append(
            f"{len(bare)} file(s) are listed on {index.display_name} without a digest: {', '.join(bare)}. Their "
            "presence is confirmed, their content is not. Configure the index to list sha256 digests (pypiserver: "
            "`--hash-algo sha256`, its default) to have it confirmed."
        )
    wrong = [item.filename for item in expected if found[item.filename].state is Published.DIFFERS]
    if wrong:
        confirmed.error = ConfirmationError(
            f"{index.display_name} serves {len(wrong)} file(s) other than this run sent",
            "after the upload, the index's simple API lists these files with other content or without the "
            "provenance this run uploaded:",
            "find out who else publishes to the project (its history and the trusted publishers registered for "
            "it), yank or delete the files named above, and publish a new version. If something between the "
            "runner and the index rewrites what it serves on purpose, set `verify-published: false`.",
            problems=[f"{name}: {found[name].detail}" for name in wrong],
        )
    return confirmed


def confirm(
    client: httpx.Client,
    index: Index,
    files: Sequence[Expected],
    *,
    publisher: AnyPublisherIdentity | None,
    policy: ConfirmPolicy | None = None,
    sleep: Callable[[float], None] = pause,
    clock: Callable[[], float] = time.monotonic,
    documents: dict[str, bytes] | None = None,
) -> dict[str, Confirmation]:
    """Look ``files`` up on ``index`` until each is verified or differs, or the wait ends; one state each.

    ``publisher`` is the identity provenance must name for files with attestations; without one there is
    no publisher to hold provenance to, and only the digests are compared. ``documents`` gets the
    provenance documents verified as this run's, by URL.
    """
    policy = policy or default_policy()
    if publisher is None:
        files = [Expected(item.filename, item.project, item.digests) for item in files]
    settled: dict[str, Confirmation] = {}
    waiting: dict[str, str] = {item.filename: NOT_LISTED for item in files}
    start = clock()
    round_number = 0
    while True:
        round_number += 1
        pending = [item for item in files if item.filename not in settled]
        with deadline(policy.round_budget):
            for item, verdict in look_up(client, index, pending, publisher, documents):
                if isinstance(verdict, Confirmation):
                    settled[item.filename] = verdict
                    _log(item.filename, verdict)
                else:
                    waiting[item.filename] = verdict
        left = [item.filename for item in files if item.filename not in settled]
        if not left:
            break
        delay = policy.delay(round_number)
        if clock() + delay - start > policy.wait:
            break
        logger.info(
            "%d file(s) not visible on %s yet (%s); looking again in %.1fs",
            len(left),
            index.display_name,
            waiting[left[0]],
            delay,
        )
        sleep(delay)
    waited = clock() - start
    last_look = time.strftime("%H:%M:%S UTC", time.gmtime())
    for item in files:
        if item.filename not in settled:
            settled[item.filename] = Confirmation(
                Published.NOT_YET_VISIBLE,
                f"{waiting[item.filename]} after {waited:.0f}s of waiting (last looked at {last_look})",
                unlisted=waiting[item.filename] == NOT_LISTED,
            )
            _log(item.filename, settled[item.filename])
    return {item.filename: settled[item.filename] for item in files}


def _log(filename: str, verdict: Confirmation) -> None:
    if verdict.state is Published.DIFFERS:
        logger.error("%s: differs on the index: %s", filename, verdict.detail)
    elif verdict.state in (Published.NOT_YET_VISIBLE, Published.UNCONFIRMED):
        logger.warning("%s: not yet visible on the index: %s", filename, verdict.detail)
    else:
        logger.info("%s: verified (%s)", filename, verdict.detail)


__all__ = ["DEFAULT_POLICY", "ConfirmPolicy", "Expected", "confirm", "confirm_published", "default_policy", "enabled"]
