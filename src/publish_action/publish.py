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

import httpx

from publish_action import dists, grading
from publish_action.attestations import SigningAhead, attest, environ_publisher, publisher_identity, sign_ahead
from publish_action.confirm import confirm_published, enabled
from publish_action.credentials import Credential, choose_credential
from publish_action.http import make_client
from publish_action.index import (
    Index,
    ProjectPage,
)
from publish_action.outcomes import FileOutcome, FileState, RunResult
from publish_action.preflight import compare_with_index, stop_on_refusals
from publish_action.report import Reporter
from publish_action.rules import IndexRules
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

    if settings.check_only:
        _check_only(settings, index, index_rules, plan, reporter, result)
        return
    with make_client(max_connections=settings.max_parallel + 2) as client:
        # Credentials are chosen (and wrong combinations refused) before any request; obtained later.
        credential, nudges = choose_credential(
            settings, client, index, mask=reporter.mask, projects=list(plan.projects)
        )
        result.notices.extend(nudges)
        result.credential_kind = credential.kind
        result.credential_label = credential.label
        with reporter.group(f"Looking up existing files on {index.display_name}"):
            comparison = compare_with_index(
                client, index, [outcome.dist for outcome in result.outcomes], skip_existing=settings.skip_existing
            )
            for outcome in result.outcomes:
                if outcome.dist.filename in comparison.identical:
                    outcome.state = FileState.SKIPPED
                    outcome.detail = "already on the index with identical content"
            result.notices.extend(
                stop_on_refusals(
                    [outcome.dist for outcome in result.outcomes],
                    comparison,
                    where=str(settings.packages_dir),
                    index_name=index.display_name,
                    release_rules=index_rules == "pypi",
                    trusted_publishing=credential.from_trusted_publisher,
                )
            )
            pages = comparison.pages
            _predict_grades(settings, client, index, pages, credential, result)
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
                progress=reporter.progress,
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
    shown = enabled(settings.verify_published, index) and not settings.dry_run
    with reporter.progress.phase(f"Confirming what {index.display_name} serves") if shown else nullcontext():
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
    if result.confirmed:
        result.grades = grading.confirmed(client, index, result.outcomes, result.grades, known=confirmed.documents)


def _predict_grades(
    settings: Settings,
    client: httpx.Client,
    index: Index,
    pages: Mapping[str, ProjectPage],
    credential: Credential,
    result: RunResult,
) -> None:
    """Predict each release's provenance grade, warning of what the publish would make partial,
    inconsistent or lost. The publisher is read from the job's variables: the token is not read yet."""
    attested = settings.attestations and credential.from_trusted_publisher
    publisher = environ_publisher() if attested else None
    result.grades, warnings = grading.predicted(
        client, index, pages, result.outcomes, publisher=publisher, attested=attested
    )
    result.notices.extend(warnings)


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
        build_provenance=settings.build_provenance,
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
            f"Attestations{' and build provenance' if settings.build_provenance else ''} are skipped: they need "
            "Trusted Publishing, and this run uses a "
            f"{credential.kind}. Set `attestations: false` to silence this, or switch to Trusted Publishing."
        )
        return {}
    pending = [outcome for outcome in result.outcomes if outcome.state is FileState.NOT_TRIED]
    if not pending:
        return {}
    with reporter.group("Attestations"), reporter.progress.phase(f"Attestations for {len(pending)} file(s)"):
        attested = attest(
            [outcome.dist for outcome in pending],
            publisher=publisher_identity(identity.claims),
            claims=identity.claims,
            context=identity.context,
            mask=reporter.mask,
            trust_config=settings.sigstore_trust_config,
            dry_run=settings.dry_run,
            ahead=ahead,
            build_provenance=settings.build_provenance,
        )
    for outcome in pending:
        outcome.attestation = attested[outcome.dist.filename].state
    return {name: item.form_value for name, item in attested.items() if item.form_value is not None}


def _index_rules(settings: Settings, index: Index) -> IndexRules:
    """The upload rules pre-flight holds the files to: PyPI's for PyPI and TestPyPI unless told otherwise."""
    if settings.index_rules == "auto":
        return "pypi" if index.kind in ("pypi", "testpypi") else "none"
    return settings.index_rules


def _check_only(
    settings: Settings, index: Index, index_rules: IndexRules, plan: dists.Plan, reporter: Reporter, result: RunResult
) -> None:
    """Pre-flight alone (``check-only``): the look-up and every refusal it predicts, with no credential."""
    from publish_action.check import against_index

    result.dry_run = True
    with make_client(max_connections=4) as client, reporter.group(f"Looking up existing files on {index.display_name}"):
        result.notices.extend(
            against_index(
                client,
                index,
                plan,
                index_rules=index_rules,
                trusted_publishing=not settings.password.get_secret_value(),
                where=str(settings.packages_dir),
                skip_existing=settings.skip_existing,
            )
        )
    logger.info("check-only: every file passes pre-flight for %s; nothing was sent", index.display_name)
