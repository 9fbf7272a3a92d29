"""PEP 740 attestations: sign, reuse, and verify every one locally before the first upload.

With Trusted Publishing the index accepts one *publish* attestation per file, made with Sigstore and checked
against the trusted publisher that minted the upload token. This stage makes sure every file has one that the
index will accept, before a single byte is uploaded:

* an existing ``<dist>.publish.attestation`` next to the file is reused when it verifies for this file and this
  publisher, and refused (with the file named and the reason) when it does not;
* the others are signed with one Sigstore signer (one ephemeral key, one Fulcio certificate) fed by a second
  OIDC token with audience ``sigstore``, in parallel, and written next to their distributions;
* every attestation, new or reused, is verified against the identity the index will check.

sigstore-python and pypi-attestations are imported inside the functions that need them: a run with an API
token, or ``--help``, never loads them.

The package's modules, each with one concern:

* :mod:`.model`: the publisher identity, the outcome per file, where an attestation file lives;
* :mod:`.trust`: which Sigstore instance is trusted (production through TUF, or a custom trust config);
* :mod:`.reuse`: existing attestation files, verified and reused;
* :mod:`.signing`: signing the others, one certificate at a time, in parallel;
* :mod:`.ahead`: getting the certificate while the token exchange runs;
* :mod:`.verification`: checking an attestation as the index will;
* :mod:`.failures`: retrying Sigstore and naming what failed;
* :mod:`._sigstore_compat`: every use of a sigstore-python or pypi-attestations internal, nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from publish_action.attestations import slsa
from publish_action.attestations.ahead import SigningAhead
from publish_action.attestations.model import (
    ATTESTATION_SUFFIX,
    PUBLISH_PREDICATE,
    AnyPublisherIdentity,
    AttestedFile,
    PublisherIdentity,
    attestation_path,
    environ_publisher,
    publisher_identity,
)
from publish_action.attestations.reuse import reuse
from publish_action.attestations.signing import SigningSession
from publish_action.attestations.trust import SigstoreTrust, load_trust
from publish_action.attestations.verification import check_attestation
from publish_action.errors import AttestationError
from publish_action.http import RetryPolicy, default_policy
from publish_action.identity.ambient import require_ambient
from publish_action.identity.claims import Claims
from publish_action.identity.github import GitHubContext
from publish_action.identity.provider import SIGSTORE_AUDIENCE

if TYPE_CHECKING:
    from publish_action.dists import Distribution

logger = logging.getLogger("publish_action")


#: How many signatures are made at the same time: the whole set, up to this many. Sigstore's services take
#: many concurrent requests, unlike an index, so signing has its own bound, apart from ``max-parallel``
#: (which bounds the uploads).
SIGNING_PARALLEL = 64


def attest(
    dists: Sequence[Distribution],
    *,
    publisher: AnyPublisherIdentity,
    claims: Claims,
    context: GitHubContext,
    mask: Callable[[str], None],
    trust_config: Path | None,
    dry_run: bool,
    max_parallel: int = SIGNING_PARALLEL,
    detect: Callable[[str], str | None] | None = None,
    policy: RetryPolicy | None = None,
    ahead: SigningAhead | None = None,
    build_provenance: bool = False,
) -> dict[str, AttestedFile]:
    """Give every distribution an attestation the index will accept, keyed by file name, in ``dists`` order.

    Existing attestations are verified and reused; the rest are signed (one certificate for all, up to
    ``max_parallel`` at a time) and written next to their files; with ``dry_run`` nothing is signed and those
    files are reported as "would sign". With ``ahead`` (started by :func:`sign_ahead`), its trust root, key
    and certificate are used instead of fetching them now. Raises :class:`AttestationError` before anything
    is signed when an existing attestation does not fit or the job runs in a reusable workflow, and when signing fails;
    :class:`~publish_action.errors.AuthenticationError` when no ``sigstore`` token can be had.

    With ``build_provenance`` every file also gets an SLSA Provenance v1 attestation of this run
    (:mod:`.slsa`), signed fresh (it describes this run, so it is never reused) and verified the same way.
    """
    policy = policy or default_policy()
    if claims.reusable_workflow:
        # Checked from the claims before anything is signed: signing would only write log entries for
        # attestations the index is bound to refuse.
        raise reusable_workflow_error(claims)
    provenance_of: Callable[[Distribution], bytes] | None = None
    if build_provenance:
        refusal = slsa.unsupported(claims)
        if refusal is not None:
            raise refusal
        server = context.server_url or "https://github.com"

        def provenance_of(dist: Distribution) -> bytes:
            return slsa.statement(dist.filename, dist.hashes.sha256, claims, server)

    results: dict[str, AttestedFile] = {}
    trust: SigstoreTrust | None = None
    existing = [dist for dist in dists if attestation_path(dist.path).exists()]
    if existing:
        trust = ahead.trust() if ahead is not None else load_trust(trust_config, policy=policy)
        results.update(reuse(existing, publisher, trust))

    missing = [dist for dist in dists if dist.filename not in results]
    if provenance_of is not None and dry_run:
        for dist in dists:
            logger.info("%s: its build provenance would be signed (dry run: nothing is signed)", dist.filename)
    if provenance_of is not None and not dry_run:
        # Every file is signed: its publish attestation where none is reused, its build provenance always.
        reused, missing = dict(results), list(dists)
    else:
        reused = {}
    if missing and dry_run:
        for dist in missing:
            logger.info("%s: would be signed (dry run: nothing is signed)", dist.filename)
            results[dist.filename] = AttestedFile("would sign", None, None)
    elif missing:
        if ahead is not None:
            session = ahead.session()
        else:
            session = SigningSession(
                trust=trust or load_trust(trust_config, policy=policy),
                context=context,
                mask=mask,
                detect=detect,
                policy=policy,
            )
        results.update(
            session.sign_all(
                missing, publisher=publisher, max_parallel=max_parallel, provenance_of=provenance_of, reused=reused
            )
        )
    return {dist.filename: results[dist.filename] for dist in dists}


def sign_ahead(
    dists: Sequence[Distribution],
    *,
    context: GitHubContext,
    mask: Callable[[str], None],
    trust_config: Path | None,
    detect: Callable[[str], str | None] | None = None,
    policy: RetryPolicy | None = None,
    build_provenance: bool = False,
) -> SigningAhead | None:
    """Start fetching Sigstore's trust root, a token, a key and a certificate for ``dists``, in the background.

    ``None`` when every one of ``dists`` already has an attestation file (those are verified, not signed) and
    no build provenance is to be signed.
    Call only once ``dists`` have passed every check before the exchange: what starts here is a certificate
    request, never a signature.
    """
    if not build_provenance and all(attestation_path(dist.path).exists() for dist in dists):
        return None
    if detect is None:
        # A token that the job's environment lacks (GitLab's SIGSTORE_ID_TOKEN) stops the run here, before
        # the exchange mints an upload token that signing could not use.
        require_ambient(SIGSTORE_AUDIENCE, context)
    return SigningAhead(trust_config=trust_config, context=context, mask=mask, detect=detect, policy=policy).start()


def reusable_workflow_error(claims: Claims) -> AttestationError:
    """The reusable-workflow mismatch: minting works, but the index would refuse the attestations."""
    return AttestationError(
        "Attestations cannot be made from a reusable workflow",
        f"{claims.reusable_workflow_mismatch()}. Nothing was signed or uploaded.",
        f"publish from a job defined in the top-level workflow ({claims.calling_workflow_file}) and register that "
        "workflow as the trusted publisher, or set `attestations: false` for this publish step.",
    )


__all__ = [
    "ATTESTATION_SUFFIX",
    "PUBLISH_PREDICATE",
    "SIGNING_PARALLEL",
    "AnyPublisherIdentity",
    "AttestedFile",
    "PublisherIdentity",
    "SigningAhead",
    "SigstoreTrust",
    "attest",
    "attestation_path",
    "check_attestation",
    "environ_publisher",
    "load_trust",
    "publisher_identity",
    "reusable_workflow_error",
    "sign_ahead",
]
