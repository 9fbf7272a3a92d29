"""The run's verifier checks the shared signing certificate once, and refuses exactly what the full check refuses.

Three wheels are signed in one run on the loopback Sigstore (one certificate for all). The first attestation
warms the run's verifier; every part of the second is then altered in turn, and each alteration must be
refused both by the warm verifier (which skips the certificate's chain, SCT and policy) and by a cold one
(sigstore-python's full check), with the same reason.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypi_attestations import Attestation

from publish_action.attestations import PublisherIdentity, attest, attestation_path, load_trust
from publish_action.attestations.trust import SigstoreTrust
from publish_action.attestations.verification import Unfit, verify_attestation
from publish_action.dists import Distribution, plan
from publish_action.http import RetryPolicy
from publish_action.identity.claims import Claims
from publish_action.identity.github import GitHubContext
from tests.fixtures.dists import make_wheels
from tests.sandbox.sigstore import GITHUB_ISSUER, LocalTokenIssuer, LoopbackSigstore, github_claims

pytestmark = pytest.mark.sandbox

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, budget=5.0)
CONTEXT = GitHubContext(event_name="push", repository="octo-org/sandbox-demo", fork_pull_request=False, on_github=True)
PUBLISHER = PublisherIdentity(repository="octo-org/sandbox-demo", workflow="release.yml", environment="pypi")

Document = dict[str, Any]


@dataclass
class Signed:
    """Three wheels of one run, their attestation documents and the run's trust."""

    sandbox: LoopbackSigstore
    dists: list[Distribution]
    documents: list[Document]

    def trust(self) -> SigstoreTrust:
        return load_trust(self.sandbox.trust_config_path)


def _sign(sandbox: LoopbackSigstore, issuer: LocalTokenIssuer, folder: Path, salt: str = "") -> Signed:
    folder.mkdir()
    make_wheels(folder, 3, salt=salt)
    dists = list(plan(folder, verify_metadata=False).distributions)
    claims = github_claims()
    attest(
        dists,
        publisher=PUBLISHER,
        claims=Claims({**claims, "iss": GITHUB_ISSUER, "aud": "pypi"}),
        context=CONTEXT,
        mask=lambda _value: None,
        trust_config=sandbox.trust_config_path,
        dry_run=False,
        detect=lambda audience: issuer.token(claims, audience=audience),
        policy=FAST,
    )
    documents = [json.loads(attestation_path(dist.path).read_text()) for dist in dists]
    return Signed(sandbox, dists, documents)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    issuer = LocalTokenIssuer()
    sandbox = LoopbackSigstore(issuer.jwks(), workdir=tmp_path_factory.mktemp("sigstore")).start()
    try:
        yield _sign(sandbox, issuer, tmp_path_factory.mktemp("run") / "dist")
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def other_run(signed: Signed, tmp_path_factory: pytest.TempPathFactory) -> Signed:
    """Another run on the same Sigstore instance: another key and another certificate, same publisher."""
    issuer = LocalTokenIssuer()
    # The sandbox trusts the first issuer's keys; sign with a sandbox of its own that shares nothing.
    sandbox = LoopbackSigstore(issuer.jwks(), workdir=tmp_path_factory.mktemp("sigstore-other")).start()
    try:
        return _sign(sandbox, issuer, tmp_path_factory.mktemp("other") / "dist", salt="other")
    finally:
        sandbox.stop()


def _verify(
    document: Document, dist: Distribution, trust: SigstoreTrust, publisher: PublisherIdentity = PUBLISHER
) -> None:
    verify_attestation(
        Attestation.model_validate(document),
        filename=dist.filename,
        sha256=dist.hashes.sha256,
        publisher=publisher,
        verifier=trust.verifier(),
    )


def _warm(signed: Signed) -> SigstoreTrust:
    """A trust whose verifier has accepted the run's certificate with the first file."""
    trust = signed.trust()
    _verify(signed.documents[0], signed.dists[0], trust)
    return trust


def _cold(signed: Signed) -> SigstoreTrust:
    return signed.trust()


# -- the certificate is checked once ---------------------------------------------------------------------------


def test_the_shared_certificate_is_checked_once(signed: Signed, monkeypatch: pytest.MonkeyPatch) -> None:
    trust = signed.trust()
    verifier = trust.verifier()
    chains: list[object] = []
    scts: list[object] = []
    original_chain = type(verifier)._verify_chain_at_time
    import sigstore.verify.verifier as module

    original_sct = module.verify_sct

    def count_chain(self: Any, *args: Any) -> Any:
        chains.append(args)
        return original_chain(self, *args)

    def count_sct(*args: Any) -> Any:
        scts.append(args)
        return original_sct(*args)

    monkeypatch.setattr(type(verifier), "_verify_chain_at_time", count_chain)
    monkeypatch.setattr(module, "verify_sct", count_sct)

    for document, dist in zip(signed.documents, signed.dists, strict=True):
        _verify(document, dist, trust)

    assert len({document["verification_material"]["certificate"] for document in signed.documents}) == 1
    assert len(scts) == 1
    assert 1 <= len(chains) <= 2  # one per verified time of the first file (log entry, and TSA when present)
    # Another publisher is another policy: its certificate check runs again (and refuses).
    with pytest.raises(Unfit, match="but this publish is for"):
        _verify(signed.documents[1], signed.dists[1], trust, PublisherIdentity("octo-org/other", "release.yml"))
    assert len(scts) == 2


def test_a_certificate_of_another_run_gets_the_full_check(signed: Signed, other_run: Signed) -> None:
    trust = _warm(signed)
    # The other run's Sigstore is another instance: its certificate does not chain to this trust root.
    with pytest.raises(Unfit, match="does not verify"):
        _verify(other_run.documents[1], other_run.dists[1], trust)


# -- tampering: each part in turn, warm and cold ---------------------------------------------------------------


def _entry(document: Document) -> Document:
    entry: Document = document["verification_material"]["transparency_entries"][0]
    return entry


def _flip_b64(value: str, at: int = -1) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _signature(document: Document, _sources: Sources) -> None:
    document["envelope"]["signature"] = _flip_b64(document["envelope"]["signature"])


def _subject_digest(document: Document, _sources: Sources) -> None:
    statement = json.loads(base64.b64decode(document["envelope"]["statement"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    document["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _statement_of_another_file(document: Document, sources: Sources) -> None:
    document["envelope"]["statement"] = sources.third["envelope"]["statement"]


def _inclusion_proof_hash(document: Document, _sources: Sources) -> None:
    proof = _entry(document)["inclusionProof"]
    if proof.get("hashes"):
        proof["hashes"][0] = _flip_b64(proof["hashes"][0])
    else:
        proof["hashes"] = [base64.b64encode(b"\x00" * 32).decode()]


def _inclusion_proof_root(document: Document, _sources: Sources) -> None:
    proof = _entry(document)["inclusionProof"]
    proof["rootHash"] = _flip_b64(proof["rootHash"])


def _inclusion_proof_index(document: Document, _sources: Sources) -> None:
    proof = _entry(document)["inclusionProof"]
    proof["logIndex"] = str(int(proof["logIndex"]) + 1)


def _checkpoint(document: Document, _sources: Sources) -> None:
    checkpoint = _entry(document)["inclusionProof"]["checkpoint"]
    lines = checkpoint["envelope"].split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the tree size the log signed
    checkpoint["envelope"] = "\n".join(lines)


def _inclusion_promise(document: Document, _sources: Sources) -> None:
    promise = _entry(document)["inclusionPromise"]
    promise["signedEntryTimestamp"] = _flip_b64(promise["signedEntryTimestamp"], at=10)


def _integrated_time(document: Document, _sources: Sources) -> None:
    entry = _entry(document)
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)


def _integrated_time_outside_the_certificate(document: Document, _sources: Sources) -> None:
    entry = _entry(document)
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 86400)


def _log_entry_of_another_file(document: Document, sources: Sources) -> None:
    document["verification_material"]["transparency_entries"] = copy.deepcopy(
        sources.third["verification_material"]["transparency_entries"]
    )


def _log_entry_body(document: Document, sources: Sources) -> None:
    _entry(document)["canonicalizedBody"] = _entry(sources.third)["canonicalizedBody"]


def _certificate_of_another_run(document: Document, sources: Sources) -> None:
    document["verification_material"]["certificate"] = sources.foreign["verification_material"]["certificate"]


def _log_id(document: Document, _sources: Sources) -> None:
    entry = _entry(document)
    entry["logId"]["keyId"] = _flip_b64(entry["logId"]["keyId"])


Tamper = Callable[[Document, "Sources"], None]


@dataclass
class Sources:
    """What a tamper may splice in: the third file's attestation (same run), and one of another run."""

    third: Document
    foreign: Document


#: What a refusal says: the part that broke decides whether it shows when the bundle is read or when it is verified.
UNUSABLE = "is not a usable attestation"
ALTERED = "its signature or transparency log entry does not verify: it was altered"

TAMPERS: list[tuple[Tamper, str]] = [
    (_signature, ALTERED),
    (_subject_digest, ALTERED),
    (_statement_of_another_file, ALTERED),
    (_inclusion_proof_hash, ALTERED),
    (_inclusion_proof_root, ALTERED),
    (_inclusion_proof_index, UNUSABLE),
    (_checkpoint, ALTERED),
    (_inclusion_promise, ALTERED),
    (_integrated_time, ALTERED),
    (_integrated_time_outside_the_certificate, ALTERED),
    (_log_entry_of_another_file, ALTERED),
    (_log_entry_body, ALTERED),
    (_certificate_of_another_run, ALTERED),
    (_log_id, ALTERED),
]


@pytest.mark.parametrize(("tamper", "reason"), TAMPERS, ids=[tamper.__name__.strip("_") for tamper, _ in TAMPERS])
def test_every_altered_part_is_refused(signed: Signed, other_run: Signed, tamper: Tamper, reason: str) -> None:
    document = copy.deepcopy(signed.documents[1])
    tamper(document, Sources(third=signed.documents[2], foreign=other_run.documents[1]))
    assert document != signed.documents[1]

    refusals = []
    for trust in (_warm(signed), _cold(signed)):
        with pytest.raises(Unfit, match=reason) as raised:
            _verify(document, signed.dists[1], trust)
        refusals.append(str(raised.value))
        # The unaltered attestation still verifies with the same verifier afterwards: the refusal cached nothing.
        _verify(signed.documents[1], signed.dists[1], trust)
    warm, cold = refusals
    assert warm == cold


@pytest.mark.parametrize("warmth", [_warm, _cold], ids=["warm", "cold"])
def test_the_right_attestation_for_the_wrong_file_is_refused(
    signed: Signed, warmth: Callable[[Signed], SigstoreTrust]
) -> None:
    trust = warmth(signed)
    with pytest.raises(Unfit, match="it was made for another file"):
        _verify(signed.documents[1], signed.dists[2], trust)
