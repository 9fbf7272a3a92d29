"""The orchestrator: settings → plan → look-up → credential → attestations → upload → result.

Each stage takes the previous stage's value and returns its own; nothing reaches back. Dry-run is decided
at the last stage only.
"""

from __future__ import annotations

import logging

import httpx

from publish_action import dists
from publish_action.credentials import Credential, StaticCredential
from publish_action.errors import PreflightError, PublishError, SettingsError
from publish_action.http import make_client
from publish_action.index import Index, IndexedFile, IndexLookupError, existing_files
from publish_action.outcomes import FileOutcome, FileState
from publish_action.report import Reporter, RunResult
from publish_action.settings import Settings
from publish_action.upload import Uploader, changed_file_error, lookup_failed

logger = logging.getLogger("publish_action")


def publish(settings: Settings, reporter: Reporter, result: RunResult) -> None:
    """Run one publish, filling ``result`` as each stage completes; raise :class:`PublishError` to stop."""
    index = Index.from_urls(settings.repository_url, settings.check_url)
    result.index = index
    result.dry_run = settings.dry_run
    if settings.skip_existing and index.check_url is None:
        raise SettingsError(
            "check-url is needed with skip-existing",
            f"the simple index of {index.upload_url} cannot be derived from its upload URL, so existing "
            "files cannot be compared.",
            "set `check-url` to the index's simple API URL (for example https://host/simple/).",
        )

    with reporter.group("Checking distributions"):
        plan = dists.plan(
            settings.packages_dir, verify_metadata=settings.verify_metadata, max_workers=settings.max_parallel
        )
        for name in plan.ignored:
            logger.info("Ignoring %s", name)
        for dist in plan.distributions:
            logger.info("%s: %s %s (%s)", dist.filename, dist.name, dist.version, dist.kind)
    result.plan = plan
    if settings.print_hash:
        reporter.hashes(plan)
    result.notices.extend(plan.warnings)
    result.outcomes = [FileOutcome(dist) for dist in plan.distributions]

    with make_client(max_connections=settings.max_parallel + 2) as client:
        with reporter.group(f"Looking up existing files on {index.display_name}"):
            _compare_with_index(client, index, settings, result)
        credential = _credential(settings)
        result.credential_kind = credential.kind
        try:
            if settings.dry_run:
                return
            uploader = Uploader(
                client=client,
                index=index,
                credential=credential,
                skip_existing=settings.skip_existing,
                max_parallel=settings.max_parallel,
            )
            with reporter.group(f"Uploading to {index.display_name}"):
                uploader.upload(result.outcomes)
        finally:
            credential.close()


def _credential(settings: Settings) -> Credential:
    return StaticCredential(settings.user, settings.password)


def _compare_with_index(client: httpx.Client, index: Index, settings: Settings, result: RunResult) -> None:
    """Mark identical files as skipped (with skip-existing) and refuse changed ones before anything is sent."""
    if index.check_url is None:
        logger.info("No simple index known for %s: existing files are not looked up", index.upload_url)
        return
    held: dict[str, IndexedFile] = {}
    for project in dict.fromkeys(outcome.dist.project for outcome in result.outcomes):
        try:
            held.update(existing_files(client, index, project))
        except IndexLookupError as exc:
            if settings.skip_existing:
                raise lookup_failed(index, exc) from None
            logger.warning("Could not look up existing files of %s (%s); the index will decide", project, exc)
    changed: list[PublishError] = []
    for outcome in result.outcomes:
        found = held.get(outcome.dist.filename)
        if found is None:
            continue
        if found.sha256 is not None and found.sha256 != outcome.dist.hashes.sha256:
            changed.append(changed_file_error(outcome.dist, found.sha256, index))
        elif settings.skip_existing:
            outcome.state = FileState.SKIPPED
            outcome.detail = "already on the index with identical content"
            logger.info("%s: already on the index with identical content; skipped", outcome.dist.filename)
        else:
            logger.info("%s: already on the index; the index decides (see skip-existing)", outcome.dist.filename)
    if changed:
        raise PreflightError(
            "Files on the index differ from the local ones",
            f"{len(changed)} file(s) already exist on {index.display_name} with other content; nothing was uploaded.",
            "a file name can never be reused with other content: bump the version and rebuild, or rebuild "
            "exactly what was uploaded before.",
            problems=[error.cause for error in changed],
        )
