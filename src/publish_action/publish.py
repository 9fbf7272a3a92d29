"""The orchestrator: settings → plan → look-up → credential → attestations → upload → result.

Each stage takes the previous stage's value and returns its own; nothing reaches back. A dry run goes
through every stage that only reads or checks, and stops before those that leave traces: signing (a public
transparency-log entry) and uploading. The token exchange is one of them for a project the index does not
have yet (a pending publisher would create it), so a dry run then only reads the OIDC token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from urllib.parse import urlsplit

import httpx

from publish_action import dists
from publish_action.attestations import SigningAhead, attest, publisher_identity, sign_ahead
from publish_action.confirm import confirm_published
from publish_action.credentials import Credential, choose_credential
from publish_action.errors import PreflightError
from publish_action.http import make_client
from publish_action.index import (
    Index,
    IndexedFile,
    IndexLookupError,
    ProjectPage,
    changed_file_error,
    lookup_failed,
    project_page,
)
from publish_action.outcomes import FileOutcome, FileState, RunResult
from publish_action.report import Reporter
from publish_action.rules import IndexRules, check_release
from publish_action.settings import Settings
from publish_action.stopping import winding_down
from publish_action.upload import Uploader

logger = logging.getLogger("publish_action")


def publish(settings: Settings, reporter: Reporter, result: RunResult) -> None:
    """Run one publish, filling ``result`` as each stage completes; raise :class:`PublishError` to stop."""
    index = Index.from_urls(settings.repository_url, settings.check_url)
    result.index = index
    result.dry_run = settings.dry_run

    index_rules = _index_rules(settings, index)
    with reporter.group("Checking distributions"):
        if index_rules == "pypi":
            logger.info("Holding every file to PyPI's upload rules (index-rules: %s)", settings.index_rules)
        plan = dists.plan(
            settings.packages_dir,
            verify_metadata=settings.verify_metadata,
            index_rules=index_rules,
            max_workers=settings.max_parallel,
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
        # Credentials are chosen (and wrong combinations refused) before any request; obtained later.
        credential, nudges = choose_credential(
            settings, client, index, mask=reporter.mask, projects=list(plan.projects)
        )
        result.notices.extend(nudges)
        result.credential_kind = credential.kind
        result.credential_label = credential.label
        with reporter.group(f"Looking up existing files on {index.display_name}"):
            pages, changed = _compare_with_index(client, index, settings, result)
            _stop_on_refusals(
                settings, result, changed, pages if index_rules == "pypi" else None, credential=credential
            )
        if not settings.dry_run and not any(outcome.state is FileState.NOT_TRIED for outcome in result.outcomes):
            logger.info("Nothing to upload: the index holds every file already")
            _confirm(settings, client, index, reporter, result, credential=credential, attestations={}, looked_up=pages)
            return
        # Every check before the exchange has passed: the certificate is fetched while the exchange runs.
        ahead = _sign_ahead(settings, credential, reporter, result)
        try:
            obtaining = credential.obtained_by
            with reporter.group(f"{obtaining} with {index.display_name}") if obtaining else nullcontext():
                result.notices.extend(
                    credential.prepare(pages, dry_run=settings.dry_run, attestations=settings.attestations)
                )
            form_values = _attestations(settings, credential, reporter, result, ahead)
            if settings.dry_run:
                return
            uploader = Uploader(
                client=client,
                index=index,
                credential=credential,
                skip_existing=settings.skip_existing,
                max_parallel=settings.max_parallel,
                attestations=form_values,
            )
            with reporter.group(f"Uploading to {index.display_name}"):
                uploader.upload(result.outcomes)
        finally:
            # Also when the run is stopping (a signal unwinds through here): revoking is one of its last steps.
            with winding_down():
                if ahead is not None:
                    ahead.close()
                credential.close()
            result.credential_label = credential.label
            result.remarks.extend(credential.remarks)
        # After the upload token is revoked: the simple API needs none, and the wait may take a minute.
        _confirm(
            settings, client, index, reporter, result, credential=credential, attestations=form_values, looked_up=pages
        )


def _confirm(
    settings: Settings,
    client: httpx.Client,
    index: Index,
    reporter: Reporter,
    result: RunResult,
    *,
    credential: Credential,
    attestations: Mapping[str, str],
    looked_up: Mapping[str, ProjectPage],
) -> None:
    """Confirm what the index serves, and write what was found into the result (raising its error)."""
    confirmed = confirm_published(
        settings,
        client,
        index,
        reporter,
        result.outcomes,
        credential=credential,
        attestations=attestations,
        looked_up=looked_up,
    )
    for outcome in result.outcomes:
        outcome.published = confirmed.published.get(outcome.dist.filename, outcome.published)
    result.notices.extend(confirmed.notices)
    if confirmed.error is not None:
        raise confirmed.error


def _sign_ahead(
    settings: Settings, credential: Credential, reporter: Reporter, result: RunResult
) -> SigningAhead | None:
    """Start getting Sigstore ready for the files that will be signed, unless none will be."""
    identity = credential.signing_identity
    if not settings.attestations or settings.dry_run or identity is None:
        return None
    return sign_ahead(
        [outcome.dist for outcome in result.outcomes if outcome.state is FileState.NOT_TRIED],
        context=identity.context,
        mask=reporter.mask,
        trust_config=settings.sigstore_trust_config,
    )


def _attestations(
    settings: Settings, credential: Credential, reporter: Reporter, result: RunResult, ahead: SigningAhead | None
) -> dict[str, str]:
    """Sign, reuse and verify the attestations of the files about to be uploaded; their form values by name.

    Only Trusted Publishing can carry attestations: indexes refuse them with other credentials.
    """
    if not settings.attestations:
        return {}
    identity = credential.signing_identity
    if identity is None:
        result.notices.append(
            "Attestations are skipped: they need Trusted Publishing, and this run uses a "
            f"{credential.kind}. Set `attestations: false` to silence this, or switch to Trusted Publishing."
        )
        return {}
    pending = [outcome for outcome in result.outcomes if outcome.state is FileState.NOT_TRIED]
    if not pending:
        return {}
    with reporter.group("Attestations"):
        attested = attest(
            [outcome.dist for outcome in pending],
            publisher=publisher_identity(identity.claims),
            claims=identity.claims,
            context=identity.context,
            mask=reporter.mask,
            trust_config=settings.sigstore_trust_config,
            dry_run=settings.dry_run,
            ahead=ahead,
        )
    for outcome in pending:
        outcome.attestation = attested[outcome.dist.filename].state
    return {name: item.form_value for name, item in attested.items() if item.form_value is not None}


def _index_rules(settings: Settings, index: Index) -> IndexRules:
    """The upload rules pre-flight holds the files to: PyPI's for PyPI and TestPyPI unless told otherwise."""
    if settings.index_rules == "auto":
        return "pypi" if index.kind in ("pypi", "testpypi") else "none"
    return settings.index_rules


def _stop_on_refusals(
    settings: Settings,
    result: RunResult,
    changed: list[str],
    pages: dict[str, ProjectPage] | None,
    *,
    credential: Credential,
) -> None:
    """Stop, before the token exchange, with every reason the index would refuse a file, in one list.

    Files whose name the index holds with other content come first; then each file's PyPI rules in
    forklift's order around its duplicate check (a file the index holds byte for byte is refused only for
    the rules checked before it); then, where ``pages`` holds the looked-up projects (PyPI's rules), the
    rules about the release as the index holds it, for the files still to be sent.
    """
    files: list[str] = []
    for outcome in result.outcomes:
        files.extend(outcome.dist.refusals(held_identical=outcome.state is FileState.SKIPPED))
    release: list[str] = []
    if pages is not None:
        pending = [outcome.dist for outcome in result.outcomes if outcome.state is FileState.NOT_TRIED]
        findings = check_release(pending, pages, trusted_publishing=credential.from_trusted_publisher)
        result.notices.extend(finding.line() for finding in findings if finding.warning)
        release = [finding.line() for finding in findings if not finding.warning]
    problems = changed + files + release
    if not problems:
        return
    nothing = "nothing was uploaded."
    if files:
        raise PreflightError(
            "Distributions failed the pre-flight checks",
            f"{len(problems)} problem(s) in '{settings.packages_dir}'; {nothing}",
            "fix or remove the files named above, rebuild, and run again.",
            problems=problems,
        )
    if release:
        raise PreflightError(
            "The index would refuse files of this release",
            f"{len(problems)} file(s) break PyPI's rules for what the index already holds; {nothing}",
            "change what the lines above name, then run again.",
            problems=problems,
        )
    raise PreflightError(
        "Files on the index differ from the local ones",
        f"{len(changed)} file(s) already exist on {result.index.display_name if result.index else 'the index'} "
        f"with other content; {nothing}",
        "a file name can never be reused with other content: bump the version and rebuild, or rebuild "
        "exactly what was uploaded before.",
        problems=problems,
    )


def _compare_with_index(
    client: httpx.Client, index: Index, settings: Settings, result: RunResult
) -> tuple[dict[str, ProjectPage], list[str]]:
    """Mark the files the index holds byte for byte as skipped: sending one again uploads nothing.

    Returns the simple API page of each project that could be read, and a line for each file the index
    holds under the same name with other content.
    """
    if index.check_url is None:
        logger.info("No simple index known for %s: existing files are not looked up", index.display_name)
        return {}, []
    held: dict[str, IndexedFile] = {}
    pages: dict[str, ProjectPage] = {}
    for project in dict.fromkeys(outcome.dist.project for outcome in result.outcomes):
        try:
            pages[project] = project_page(client, index, project)
            held.update(pages[project].files)
        except IndexLookupError as exc:
            same_host = urlsplit(index.check_url).netloc == urlsplit(index.upload_url).netloc
            if settings.skip_existing or (exc.unreachable and same_host):
                # Without the simple API nothing can be compared; and a host that does not answer its
                # simple API will not take uploads either.
                raise lookup_failed(index, exc) from None
            logger.warning("Could not look up existing files of %s (%s); the index will decide", project, exc)
    changed: list[str] = []
    for outcome in result.outcomes:
        found = held.get(outcome.dist.filename)
        if found is None:
            continue
        same = found.same_content(outcome.dist.hashes.by_name())
        if same is False:
            changed.append(changed_file_error(outcome.dist.filename, outcome.dist.hashes.by_name(), found, index).cause)
        elif same is None:
            logger.info(
                "%s: already on the index, which lists no digest to compare; the index decides", outcome.dist.filename
            )
        else:
            # Indexes answer an identical upload as a duplicate (PyPI: 200, nothing stored) or refuse it as
            # existing; either way the file is there, and this run sends nothing for it.
            outcome.state = FileState.SKIPPED
            outcome.detail = "already on the index with identical content"
            logger.info("%s: already on the index with identical content; skipped", outcome.dist.filename)
    return pages, changed
