"""What an index serves for a file after the publish: its listing in the simple API, and the provenance of
its attestations (PyPI's integrity API), looked up in parallel and compared with what this run sent."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from publish_action.index import Index, IndexedFile, IndexLookupError, ProjectPage, project_page
from publish_action.outcomes import Confirmation, Published
from publish_action.provenance.read import PARALLEL_FETCHES, fetch_document
from publish_action.stopping import block_stop_signals

if TYPE_CHECKING:
    from publish_action.attestations.model import AnyPublisherIdentity


#: Why a file is not visible yet when the index's page was read and does not list it.
NOT_LISTED = "not listed in the simple API"


@dataclass(frozen=True)
class Expected:
    """One file as this run holds it, and what the index must show for it."""

    filename: str
    project: str
    #: The file's digests by the simple API's names (``sha256``, ``blake2_256``, ``md5``).
    digests: Mapping[str, str | None]
    #: The attestations uploaded with it (the ``attestations`` form field's JSON array) when the index must
    #: show them as provenance: the file was uploaded by this run with them. ``None``: sha256 only.
    attestations: str | None = None


def look_up(
    client: httpx.Client,
    index: Index,
    files: Sequence[Expected],
    publisher: AnyPublisherIdentity | None,
    documents: dict[str, bytes] | None = None,
) -> list[tuple[Expected, Confirmation | str]]:
    """One round: the simple page of each project, then the provenance of the files that need it.

    A verdict is a :class:`Confirmation` when it is final, else the reason the file is not visible yet.
    ``documents`` (when given) gets each provenance document found to be this run's, by its URL, for the
    provenance grade to read without fetching it again.
    """
    pages: dict[str, ProjectPage | str] = {}
    for project in dict.fromkeys(item.project for item in files):
        try:
            pages[project] = project_page(client, index, project)
        except IndexLookupError as exc:
            pages[project] = f"the simple API could not be read ({exc})"
    verdicts: list[tuple[Expected, Confirmation | str]] = []
    provenance_needed: list[tuple[Expected, str]] = []
    for item in files:
        page = pages[item.project]
        if isinstance(page, str):
            verdicts.append((item, page))
            continue
        held = page.files.get(item.filename)
        verdict = _listed(item, held, index)
        if isinstance(verdict, _NeedsProvenance):
            provenance_needed.append((item, verdict.url))
        else:
            verdicts.append((item, verdict))
    if provenance_needed and publisher is not None:
        with ThreadPoolExecutor(
            max_workers=min(PARALLEL_FETCHES, len(provenance_needed)), initializer=block_stop_signals
        ) as pool:
            # Each fetch runs in the round's context, so it keeps to the round's deadline.
            futures = [
                pool.submit(contextvars.copy_context().run, _provenance, client, item, url, publisher)
                for item, url in provenance_needed
            ]
            for (item, url), future in zip(provenance_needed, futures, strict=True):
                verdict, body = future.result()
                if documents is not None and body is not None:
                    documents[url] = body
                verdicts.append((item, verdict))
    return verdicts


@dataclass(frozen=True)
class _NeedsProvenance:
    url: str


def _listed(item: Expected, held: IndexedFile | None, index: Index) -> Confirmation | _NeedsProvenance | str:
    """What the simple page's entry for one file says: final, pending, or go and read its provenance."""
    if held is None:
        return NOT_LISTED
    compared = held.compared_digest(item.digests)
    if compared is None:
        return Confirmation(Published.UNCONFIRMED, "listed, but the index lists no digest for it to compare")
    name, value = compared
    if value != item.digests[name]:
        return Confirmation(
            Published.DIFFERS,
            f"the index lists it with {name} {value}, but this run holds {name} {item.digests[name]}",
        )
    offers = index.kind in ("pypi", "testpypi") or held.offers_provenance
    if item.attestations is None or not offers:
        why = "" if item.attestations is None or offers else "; the index publishes no provenance"
        return Confirmation(Published.VERIFIED, f"{name} {value[:16]}… as sent{why}")
    if held.provenance is None:
        return Confirmation(
            Published.DIFFERS,
            "the index lists it without provenance, although this run uploaded it with an attestation",
        )
    return _NeedsProvenance(held.provenance)


def _provenance(
    client: httpx.Client, item: Expected, url: str, publisher: AnyPublisherIdentity
) -> tuple[Confirmation | str, bytes | None]:
    """Fetch the provenance at ``url`` and hold it to this publisher and the attestation sent; with the
    document when it was verified as this run's."""
    # A CDN may still answer for the provenance from before the upload (not served yet): only a document
    # can differ.
    body = fetch_document(client, url, item.filename)
    if isinstance(body, str):
        return body, None
    verdict = _check_provenance(body, item, publisher)
    return verdict, body if verdict.state is Published.VERIFIED else None


def _check_provenance(body: bytes, item: Expected, publisher: AnyPublisherIdentity) -> Confirmation:
    """Hold a served PEP 740 provenance object to the publisher and to the attestations this run sent."""
    from pydantic import TypeAdapter, ValidationError
    from pypi_attestations import Attestation, Provenance

    from publish_action.attestations.model import describe_named

    try:
        provenance = Provenance.model_validate_json(body)
    except ValidationError:
        return Confirmation(
            Published.DIFFERS, "the index serves provenance for it that is not a PEP 740 provenance object"
        )
    ours = [bundle for bundle in provenance.attestation_bundles if publisher.named_by(bundle.publisher)]
    if not ours:
        named = "; ".join(dict.fromkeys(describe_named(bundle.publisher) for bundle in provenance.attestation_bundles))
        return Confirmation(
            Published.DIFFERS,
            f"its provenance names {named or 'no publisher'}, not this publisher ({publisher.describe()})",
        )
    sent = TypeAdapter(list[Attestation]).validate_json(item.attestations or "[]")
    # The attestations sent were verified against this publisher and file before the upload: finding one
    # of them in the provenance ties what the index serves to that verification.
    if not any(attestation in bundle.attestations for bundle in ours for attestation in sent):
        return Confirmation(
            Published.DIFFERS,
            "its provenance names this publisher but holds other attestations than the one this run uploaded",
        )
    sha256 = item.digests.get("sha256") or ""
    return Confirmation(
        Published.VERIFIED,
        f"sha256 {sha256[:16]}… and provenance of {publisher.describe()}, with the attestation sent",
    )


__all__ = ["NOT_LISTED", "Expected", "look_up"]
