"""PEP 740 attestations: signing, reuse and local verification against the loopback Sigstore.

Signing goes through the real sigstore-python and pypi-attestations against `tests/sandbox/sigstore`; the
`sigstore` OIDC tokens come from the sandbox's token issuer through the `detect` seam, which checks the
audience asked for. Offline verification of real production attestations uses `tests/assets/attestations`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pypi_attestations import Attestation, GitHubPublisher
from pypi_attestations import Distribution as LibraryDistribution

from publish_action.attestations import (
    ATTESTATION_SUFFIX,
    AttestedFile,
    PublisherIdentity,
    attest,
    attestation_path,
    check_attestation,
    load_trust,
)
from publish_action.attestations.model import GitLabPublisherIdentity, GooglePublisherIdentity, publisher_identity
from publish_action.dists import Distribution, plan
from publish_action.errors import AttestationError, AuthenticationError, ExitCode
from publish_action.http import RetryPolicy
from publish_action.identity.claims import Claims
from publish_action.identity.github import GitHubContext
from tests.fixtures.dists import make_wheels
from tests.sandbox.sigstore import GITHUB_ISSUER, LocalTokenIssuer, LoopbackSigstore, github_claims, verify_attestation
from tests.sandbox.sigstore.fixtures import MakeSigstoreSandbox

pytestmark = pytest.mark.sandbox

ASSETS = Path(__file__).resolve().parent / "assets" / "attestations"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, budget=5.0)
CONTEXT = GitHubContext(event_name="push", repository="octo-org/sandbox-demo", fork_pull_request=False, on_github=True)
RELEASE_WORKFLOW = "https://github.com/octo-org/sandbox-demo/.github/workflows/release.yml@refs/tags/v1.0.0"


# -- the job's side: tokens, masking, log ----------------------------------------------------------------------


class Job:
    """What the runner and the reporter would be: hands out `sigstore` tokens, records masks and log lines."""

    def __init__(self, issuer: LocalTokenIssuer, claims: dict[str, Any] | None = None) -> None:
        self.issuer = issuer
        self.token_claims = claims or github_claims()
        self.claims = Claims({**self.token_claims, "iss": GITHUB_ISSUER, "aud": "pypi"})
        self.events: list[tuple[str, str]] = []
        self.tokens: list[str] = []
        self.audiences: list[str] = []
        #: Called with each new token right after it is minted (to script faults that depend on it).
        self.on_token: Any = None

    def detect(self, audience: str) -> str | None:
        self.audiences.append(audience)
        assert audience == "sigstore"
        token = self.issuer.token(self.token_claims, audience=audience)
        self.tokens.append(token)
        self.events.append(("token", token))
        if self.on_token is not None:
            self.on_token(token)
        return token

    def mask(self, value: str) -> None:
        self.events.append(("mask", value))

    @property
    def publisher(self) -> PublisherIdentity:
        return PublisherIdentity.from_claims(self.claims)

    def attest(
        self, dists: list[Distribution], sandbox: LoopbackSigstore, *, dry_run: bool = False, max_parallel: int = 4
    ) -> dict[str, AttestedFile]:
        return attest(
            dists,
            publisher=self.publisher,
            claims=self.claims,
            context=CONTEXT,
            mask=self.mask,
            trust_config=sandbox.trust_config_path,
            max_parallel=max_parallel,
            dry_run=dry_run,
            detect=self.detect,
            policy=FAST,
        )


class _EventHandler(logging.Handler):
    def __init__(self, events: list[tuple[str, str]]) -> None:
        super().__init__(logging.DEBUG)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(("log", record.getMessage()))


@pytest.fixture
def job(sigstore_token_issuer: LocalTokenIssuer) -> Iterator[Job]:
    """A job whose `publish_action` log lines land in the same event list as its tokens and masks."""
    made = Job(sigstore_token_issuer)
    handler = _EventHandler(made.events)
    logger = logging.getLogger("publish_action")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    yield made
    logger.removeHandler(handler)
    logger.setLevel(previous)


def dists_in(folder: Path) -> list[Distribution]:
    return list(plan(folder, verify_metadata=False).distributions)


def log_lines(job: Job) -> list[str]:
    return [text for kind, text in job.events if kind == "log"]


def sandbox_verifies(
    sandbox: LoopbackSigstore, form_value: str, dist: Distribution, publisher: GitHubPublisher
) -> None:
    """A second opinion on what we accepted: pypi-attestations' own `Attestation.verify` (what PyPI runs), with
    its production verifier swapped for one on the sandbox's trust root."""
    (document,) = json.loads(form_value)
    attestation = Attestation.model_validate(document)
    library_dist = LibraryDistribution(name=dist.filename, digest=hashlib.sha256(dist.path.read_bytes()).hexdigest())
    verify_attestation(attestation, publisher, library_dist, verifier=sandbox.verifier())


PUBLISHER = GitHubPublisher(repository="octo-org/sandbox-demo", workflow="release.yml", environment="pypi")


# -- signing -------------------------------------------------------------------------------------------------


def test_signs_wheel_and_sdist_with_one_certificate(
    sigstore_sandbox: LoopbackSigstore, job: Job, hatch_dists: Path
) -> None:
    dists = dists_in(hatch_dists)
    assert [d.kind for d in dists] == ["wheel", "sdist"]

    results = job.attest(dists, sigstore_sandbox)

    assert list(results) == [d.filename for d in dists]
    for dist in dists:
        result = results[dist.filename]
        assert result.state == "signed"
        assert result.path == dist.path.with_name(dist.filename + ATTESTATION_SUFFIX)
        assert result.path.is_file()
        assert result.form_value is not None
        # The form value is a JSON array holding exactly what the file holds.
        assert json.loads(result.form_value) == [json.loads(result.path.read_text())]
        sandbox_verifies(sigstore_sandbox, result.form_value, dist, PUBLISHER)
        statement = Attestation.model_validate_json(result.path.read_text()).statement
        assert statement["subject"] == [{"name": dist.filename, "digest": {"sha256": dist.hashes.sha256}}]
        assert statement["predicateType"] == "https://docs.pypi.org/attestations/publish/v1"
    # One token, one key and one certificate for both files; one log entry each.
    assert job.audiences == ["sigstore"]
    assert [r.status for r in sigstore_sandbox.fulcio.requests] == [201]
    assert len(sigstore_sandbox.log) == 2
    assert sorted(p.name for p in hatch_dists.iterdir()) == sorted(
        [d.filename for d in dists] + [d.filename + ATTESTATION_SUFFIX for d in dists]
    )
    certificates = {
        Attestation.model_validate_json(results[d.filename].path.read_text()).verification_material.certificate  # type: ignore[union-attr]
        for d in dists
    }
    assert len(certificates) == 1
    # The token was masked before any line was logged after it was fetched.
    token_at = job.events.index(("token", job.tokens[0]))
    assert job.events[token_at + 1] == ("mask", job.tokens[0])
    assert any(f"certificate for {RELEASE_WORKFLOW}" in line for line in log_lines(job))


def test_many_files_sign_in_parallel(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    dists = dists_in(_wheels(tmp_path / "dist", 8))
    sigstore_sandbox.set_latency(rekor=0.3)

    results = job.attest(dists, sigstore_sandbox, max_parallel=4)

    assert {r.state for r in results.values()} == {"signed"}
    assert len(sigstore_sandbox.log) == 8
    assert [r.status for r in sigstore_sandbox.fulcio.requests] == [201]
    for dist in dists:
        check_attestation(
            attestation_path(dist.path),
            filename=dist.filename,
            sha256=dist.hashes.sha256,
            publisher=job.publisher,
            trust=load_trust(sigstore_sandbox.trust_config_path),
        )


def _wheels(folder: Path, count: int, salt: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    make_wheels(folder, count, salt=salt)
    return folder


# -- reuse ---------------------------------------------------------------------------------------------------


def test_second_run_reuses_without_signing(sigstore_sandbox: LoopbackSigstore, job: Job, hatch_dists: Path) -> None:
    """TestPyPI then PyPI from the same folder in one job: the second publish reuses the files."""
    dists = dists_in(hatch_dists)
    first = job.attest(dists, sigstore_sandbox)
    entries, certificates, tokens = len(sigstore_sandbox.log), len(sigstore_sandbox.fulcio.requests), len(job.tokens)

    second = job.attest(dists_in(hatch_dists), sigstore_sandbox)

    assert {r.state for r in second.values()} == {"reused"}
    for name, result in second.items():
        assert result.path == first[name].path
        assert result.form_value is not None
        assert json.loads(result.form_value) == json.loads(first[name].form_value or "")
    # Nothing signed: no token asked for, no certificate, no log entry.
    assert (len(sigstore_sandbox.log), len(sigstore_sandbox.fulcio.requests), len(job.tokens)) == (
        entries,
        certificates,
        tokens,
    )


def test_reuses_some_and_signs_the_rest(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    folder = _wheels(tmp_path / "dist", 2)
    first_dist = dists_in(folder)[:1]
    job.attest(first_dist, sigstore_sandbox)

    results = job.attest(dists_in(folder), sigstore_sandbox)

    assert [r.state for r in results.values()] == ["reused", "signed"]
    assert len(sigstore_sandbox.log) == 2


def test_attestation_of_another_file_is_refused(
    sigstore_sandbox: LoopbackSigstore, job: Job, hatch_dists: Path
) -> None:
    wheel, sdist = dists_in(hatch_dists)
    job.attest([wheel, sdist], sigstore_sandbox)
    stale = attestation_path(sdist.path)
    shutil.copyfile(attestation_path(wheel.path), stale)
    entries = len(sigstore_sandbox.log)

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(hatch_dists), sigstore_sandbox)

    error = raised.value
    assert error.exit_code is ExitCode.ATTESTATIONS
    assert error.problems == [f"{stale}: it was made for another file ({wheel.filename}), not for {sdist.filename}"]
    assert "nothing was signed or uploaded" in error.cause
    assert error.fix is not None and "delete the attestation files named above" in error.fix
    assert len(sigstore_sandbox.log) == entries


def test_attestation_of_a_rebuilt_file_is_refused(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    job.attest(dists_in(folder), sigstore_sandbox)
    make_wheels(folder, 1, salt="rebuilt")  # same file name, other bytes

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    (problem,) = raised.value.problems
    assert "it was made for other contents of sandbox_demo-1.0.0-py3-none-any.whl" in problem
    assert "the distribution changed after it was signed" in problem


def _flip_signature(path: Path) -> None:
    data = json.loads(path.read_text())
    signature = bytearray(base64.b64decode(data["envelope"]["signature"]))
    signature[-1] ^= 0x01
    data["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
    path.write_text(json.dumps(data))


def _change_statement(path: Path) -> None:
    data = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(data["envelope"]["statement"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    data["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(data))


def _truncate(path: Path) -> None:
    path.write_text(path.read_text()[:100])


def _drop_certificate(path: Path) -> None:
    data = json.loads(path.read_text())
    del data["verification_material"]["certificate"]
    path.write_text(json.dumps(data))


def _garbage_certificate(path: Path) -> None:
    data = json.loads(path.read_text())
    data["verification_material"]["certificate"] = base64.b64encode(b"not a certificate").decode()
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_garbage_certificate, "the file is not a usable attestation (invalid X.509 certificate)"),
        (_flip_signature, "its signature or transparency log entry does not verify: it was altered"),
        (_change_statement, "its signature or transparency log entry does not verify: it was altered"),
        (_truncate, "the file is not a readable PEP 740 attestation"),
        (_drop_certificate, "the file is not a readable PEP 740 attestation (verification_material.certificate"),
    ],
    ids=["garbage-certificate", "signature", "statement", "truncated", "no-certificate"],
)
def test_tampered_or_unreadable_attestation_is_refused(
    sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path, tamper: Any, reason: str
) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    (dist,) = dists_in(folder)
    job.attest([dist], sigstore_sandbox)
    tamper(attestation_path(dist.path))

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    (problem,) = raised.value.problems
    assert problem.startswith(f"{attestation_path(dist.path)}: {reason}")
    assert len(sigstore_sandbox.log) == 1


def test_every_bad_attestation_is_named_at_once(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    folder = _wheels(tmp_path / "dist", 3)
    dists = dists_in(folder)
    job.attest(dists, sigstore_sandbox)
    _truncate(attestation_path(dists[0].path))
    _flip_signature(attestation_path(dists[2].path))

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        str(attestation_path(dists[0].path)),
        str(attestation_path(dists[2].path)),
    ]
    assert "2 attestation file(s)" in raised.value.cause


def test_attestation_of_another_publisher_is_refused(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, job: Job, tmp_path: Path
) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    job.attest(dists_in(folder), sigstore_sandbox)  # signed from release.yml
    other = Job(sigstore_token_issuer, github_claims(workflow_file="deploy.yml"))

    with pytest.raises(AttestationError) as raised:
        other.attest(dists_in(folder), sigstore_sandbox)

    (problem,) = raised.value.problems
    assert (
        f"it was signed by the workflow {RELEASE_WORKFLOW}, but this publish is for octo-org/sandbox-demo, " in problem
    )
    assert "workflow deploy.yml, environment pypi: the index would refuse it" in problem
    assert other.tokens == []


def test_attestation_from_another_sigstore_instance_is_refused(
    make_sigstore_sandbox: MakeSigstoreSandbox, job: Job, tmp_path: Path
) -> None:
    first, second = make_sigstore_sandbox(), make_sigstore_sandbox()
    folder = _wheels(tmp_path / "dist", 1)
    job.attest(dists_in(folder), first)

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), second)

    (problem,) = raised.value.problems
    assert "made with another Sigstore instance than this run trusts" in problem


# -- the reusable-workflow mismatch --------------------------------------------------------------------------


def test_reusable_workflow_is_refused_before_signing(
    sigstore_sandbox: LoopbackSigstore, sigstore_token_issuer: LocalTokenIssuer, tmp_path: Path
) -> None:
    called = "octo-org/sandbox-demo/.github/workflows/pypi-publish.yml@refs/tags/v1.0.0"
    job = Job(sigstore_token_issuer, github_claims(job_workflow_ref=called))
    folder = _wheels(tmp_path / "dist", 1)

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    error = raised.value
    assert error.title == "Attestations cannot be made from a reusable workflow"
    assert called in error.cause
    assert "octo-org/sandbox-demo/.github/workflows/release.yml@refs/tags/v1.0.0" in error.cause
    assert "trusted publisher's workflow (pypi-publish.yml)" in error.cause
    assert "certificates name the calling workflow (release.yml)" in error.cause
    assert error.fix is not None
    assert "top-level workflow (release.yml)" in error.fix
    assert "`attestations: false`" in error.fix
    # Nothing asked of Sigstore: no token, no certificate, no log entry, no file.
    assert job.tokens == []
    assert sigstore_sandbox.fulcio.requests == []
    assert len(sigstore_sandbox.log) == 0
    assert not any(p.name.endswith(ATTESTATION_SUFFIX) for p in folder.iterdir())


# -- dry run -------------------------------------------------------------------------------------------------


def test_dry_run_signs_nothing(sigstore_sandbox: LoopbackSigstore, job: Job, hatch_dists: Path) -> None:
    dists = dists_in(hatch_dists)

    results = job.attest(dists, sigstore_sandbox, dry_run=True)

    assert results == {d.filename: AttestedFile("would sign", None, None) for d in dists}
    assert job.tokens == []
    assert sigstore_sandbox.fulcio.requests == []
    assert len(sigstore_sandbox.log) == 0
    assert not any(p.name.endswith(ATTESTATION_SUFFIX) for p in hatch_dists.iterdir())


def test_dry_run_checks_existing_attestations(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    folder = _wheels(tmp_path / "dist", 2)
    dists = dists_in(folder)
    job.attest(dists[:1], sigstore_sandbox)

    results = job.attest(dists, sigstore_sandbox, dry_run=True)
    assert [r.state for r in results.values()] == ["reused", "would sign"]

    _flip_signature(attestation_path(dists[0].path))
    with pytest.raises(AttestationError):
        job.attest(dists, sigstore_sandbox, dry_run=True)
    assert len(sigstore_sandbox.log) == 1


# -- transient failures ----------------------------------------------------------------------------------------


def test_rekor_503_once_is_retried(
    sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    sigstore_sandbox.rekor.fail_next(503)

    results = job.attest(dists_in(folder), sigstore_sandbox)

    assert [r.state for r in results.values()] == ["signed"]
    assert [(r.status, r.injected) for r in sigstore_sandbox.rekor.requests] == [(503, True), (201, False)]
    retry_lines = [line for line in log_lines(job) if "retrying" in line]
    assert len(retry_lines) == 1
    assert retry_lines[0].startswith(
        "sandbox_demo-1.0.0-py3-none-any.whl: signing: attempt 1 of 3 failed (the transparency log (Rekor) answered HTTP 503)"
    )


def test_rekor_failing_for_good_gives_a_clean_error(
    sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path
) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    sigstore_sandbox.rekor.fail_next(503, times=50)

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    error = raised.value
    assert error.title == "Sigstore could not be reached"
    assert error.cause == (
        "sandbox_demo-1.0.0-py3-none-any.whl: signing failed 3 time(s); the last failure: the transparency log "
        "(Rekor) answered HTTP 503. Nothing was uploaded."
    )
    assert error.fix is not None and "`attestations: false`" in error.fix
    assert error.__cause__ is None  # the library's traceback stays out of the report
    assert [r.status for r in sigstore_sandbox.rekor.requests] == [503, 503, 503]
    assert len(sigstore_sandbox.log) == 0
    assert not attestation_path(dists_in(folder)[0].path).exists()


def test_a_log_that_never_answers_meets_a_deadline(
    sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sigstore-python sets no timeout on Rekor; ours does, so a silent log ends in a clean error."""
    from publish_action.attestations import signing

    monkeypatch.setattr(signing, "SIGSTORE_TIMEOUT", (5.0, 0.3))
    folder = _wheels(tmp_path / "dist", 1)
    sigstore_sandbox.set_latency(rekor=1.5)

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    assert raised.value.title == "Sigstore could not be reached"
    assert "the last failure: 127.0.0.1" in raised.value.cause
    assert "network error (ReadTimeout)" in raised.value.cause
    assert not attestation_path(dists_in(folder)[0].path).exists()


def test_fulcio_failures_are_retried_with_a_fresh_token(
    sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path
) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    sigstore_sandbox.fulcio.fail_next(502)
    sigstore_sandbox.fulcio.drop_next()

    results = job.attest(dists_in(folder), sigstore_sandbox)

    assert [r.state for r in results.values()] == ["signed"]
    assert [(r.status, r.injected) for r in sigstore_sandbox.fulcio.requests] == [(502, True), (0, True), (201, False)]
    assert len(job.tokens) == 3
    assert len(set(job.tokens)) == 3
    assert sum("retrying" in line for line in log_lines(job)) == 2


def test_fulcio_refusal_is_not_retried(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    sigstore_sandbox.fulcio.fail_next(400, message="There was an error processing the identity token")

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    assert raised.value.title == "Sigstore refused a signing certificate"
    assert "There was an error processing the identity token" in raised.value.cause
    assert len(sigstore_sandbox.fulcio.requests) == 1
    assert len(sigstore_sandbox.log) == 0


def test_token_endpoint_hiccup_is_retried(sigstore_sandbox: LoopbackSigstore, job: Job, tmp_path: Path) -> None:
    import id as oidc_id

    folder = _wheels(tmp_path / "dist", 1)
    failures = iter([oidc_id.AmbientCredentialError("GitHub: OIDC token request failed (code=503)")])
    real_detect = job.detect

    def flaky(audience: str) -> str | None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_detect(audience)

    job.detect = flaky  # type: ignore[method-assign]
    results = job.attest(dists_in(folder), sigstore_sandbox)

    assert [r.state for r in results.values()] == ["signed"]
    (retry,) = [line for line in log_lines(job) if "retrying" in line]
    assert retry.startswith("requesting a signing certificate: attempt 1 of 3 failed (the CI provider's token endpoint")


def test_no_oidc_permission_is_an_authentication_error(sigstore_sandbox: LoopbackSigstore, tmp_path: Path) -> None:
    folder = _wheels(tmp_path / "dist", 1)
    claims = Claims({**github_claims(), "iss": GITHUB_ISSUER})

    with pytest.raises(AuthenticationError):
        attest(
            dists_in(folder),
            publisher=PublisherIdentity.from_claims(claims),
            claims=claims,
            context=CONTEXT,
            mask=lambda _value: None,
            trust_config=sigstore_sandbox.trust_config_path,
            max_parallel=2,
            dry_run=False,
            detect=lambda _audience: None,
            policy=FAST,
        )
    assert sigstore_sandbox.fulcio.requests == []


# -- certificate expiry ----------------------------------------------------------------------------------------


def test_a_new_certificate_when_the_first_runs_out(
    make_sigstore_sandbox: MakeSigstoreSandbox, job: Job, tmp_path: Path
) -> None:
    """A 6-second certificate and slow log writes: the run needs a second certificate, with a fresh token.

    A new certificate is due when less than a quarter of its lifetime is left (1.5 s): seven signatures of at
    least 0.8 s each, one at a time, cannot all fit in the first certificate.
    """
    sandbox = make_sigstore_sandbox(cert_lifetime=timedelta(seconds=6))
    sandbox.set_latency(rekor=0.8)
    dists = dists_in(_wheels(tmp_path / "dist", 7))

    results = job.attest(dists, sandbox, max_parallel=1)

    assert {r.state for r in results.values()} == {"signed"}
    certificate_requests = [r for r in sandbox.fulcio.requests if r.status == 201]
    assert len(certificate_requests) >= 2
    assert len(job.tokens) == len(certificate_requests)
    assert len(set(job.tokens)) == len(job.tokens)
    certificates = set()
    for dist in dists:
        form_value = results[dist.filename].form_value
        assert form_value is not None
        sandbox_verifies(sandbox, form_value, dist, PUBLISHER)
        certificates.add(json.loads(form_value)[0]["verification_material"]["certificate"])
    assert len(certificates) == len(certificate_requests)
    for token in job.tokens:
        at = job.events.index(("token", token))
        assert job.events[at + 1] == ("mask", token)


# -- secrets ---------------------------------------------------------------------------------------------------


def test_tokens_reach_only_the_mask(
    sigstore_sandbox: LoopbackSigstore,
    job: Job,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Canary: even a server echoing the token in its error text does not get it into our messages or logs."""
    caplog.set_level(logging.DEBUG)  # every logger, sigstore-python's and urllib3's included
    folder = _wheels(tmp_path / "dist", 2)
    job.attest(dists_in(folder), sigstore_sandbox)  # a clean run
    for path in folder.glob(f"*{ATTESTATION_SUFFIX}"):
        path.unlink()
    job.on_token = lambda token: sigstore_sandbox.fulcio.fail_next(400, message=f"refused token {token}")

    with pytest.raises(AttestationError) as raised:
        job.attest(dists_in(folder), sigstore_sandbox)

    assert len(job.tokens) == 2
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err, str(raised.value), repr(raised.value)]
    texts += [str(link) for link in _chain(raised.value)]
    texts += [line for line in log_lines(job)]
    for token in job.tokens:
        for text in texts:
            # Not the token, and not a piece of it either (its header alone is shared by all of them).
            assert token not in text
            assert token.split(".")[1][:24] not in text
            assert token.split(".")[2][:24] not in text
    assert "refused token ***" in raised.value.cause
    assert [value for kind, value in job.events if kind == "mask"] == job.tokens


def _chain(exc: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in links:
        links.append(current)
        current = current.__cause__ or current.__context__
    return links


# -- the whole offline world -----------------------------------------------------------------------------------


def test_real_token_path_and_the_index_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No seams: `id` fetches the `sigstore` token from the GitHub OIDC stand-in, and the Warehouse stand-in
    accepts the form values as it accepts uploads (PyPI's checks, against the loopback Sigstore)."""
    from pydantic import SecretStr

    from tests.sandbox.fixtures import DEFAULT_PUBLISHER
    from tests.sandbox.world import offline_world

    folder = _wheels(tmp_path / "dist", 2)
    masked: list[str] = []
    with offline_world(tmp_path) as world:
        for name, value in world.issuer.env().items():
            monkeypatch.setenv(name, value)
        claims = Claims.from_token(SecretStr(world.issuer.mint(audience="pypi")))
        dists = dists_in(folder)
        results = attest(
            dists,
            publisher=PublisherIdentity.from_claims(claims),
            claims=claims,
            context=GitHubContext.from_environ(),
            mask=masked.append,
            trust_config=world.sigstore.trust_config_path,
            max_parallel=2,
            dry_run=False,
            policy=FAST,
        )
        check = world.warehouse.attestation_verifier
        assert check is not None
        for dist in dists:
            form_value = results[dist.filename].form_value
            assert form_value is not None
            check(dist.filename, dist.path.read_bytes(), form_value, DEFAULT_PUBLISHER)
        sigstore_tokens = [issued.token for issued in world.issuer.issued if issued.claims.get("aud") == "sigstore"]
    assert masked == sigstore_tokens
    assert len(sigstore_tokens) == 1


# -- publisher identity and trust --------------------------------------------------------------------------------


def test_publisher_identity_from_claims() -> None:
    claims = Claims({**github_claims(environment="release"), "iss": GITHUB_ISSUER})
    assert PublisherIdentity.from_claims(claims) == PublisherIdentity("octo-org/sandbox-demo", "release.yml", "release")
    no_env = Claims({**github_claims(environment=None), "iss": GITHUB_ISSUER})
    assert PublisherIdentity.from_claims(no_env).environment is None
    called = "octo-org/sandbox-demo/.github/workflows/pypi-publish.yml@refs/heads/main"
    assert PublisherIdentity.from_claims(Claims(github_claims(job_workflow_ref=called))).workflow == "pypi-publish.yml"


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"iss": "https://gitlab.com", "project_path": "group/project"}, "issued by https://gitlab.com"),
        ({"iss": GITHUB_ISSUER, "repository": "octo-org/demo"}, "lacks the job_workflow_ref claim"),
        ({}, "lacks the repository and job_workflow_ref claim(s)"),
    ],
    ids=["gitlab", "no-workflow", "nothing"],
)
def test_publisher_identity_needs_github_claims(claims: dict[str, Any], detail: str) -> None:
    with pytest.raises(AttestationError) as raised:
        PublisherIdentity.from_claims(Claims(claims))
    assert detail in raised.value.cause
    assert raised.value.fix is not None and "`attestations: false`" in raised.value.fix


def test_custom_trust_config_is_announced(sigstore_sandbox: LoopbackSigstore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="publish_action")
    trust = load_trust(sigstore_sandbox.trust_config_path)
    assert trust.custom
    assert trust.config.force_tlog_version == 1
    (record,) = caplog.records
    assert "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG" in record.getMessage()
    assert "PyPI and TestPyPI only accept attestations made with Sigstore's production instance" in record.getMessage()


def test_unusable_trust_config_names_the_variable(tmp_path: Path) -> None:
    broken = tmp_path / "trust.json"
    broken.write_text("{}")
    for path in (broken, tmp_path / "missing.json"):
        with pytest.raises(AttestationError) as raised:
            load_trust(path)
        assert f"PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG names '{path}'" in raised.value.cause


# -- real production attestations, verified offline --------------------------------------------------------------


@pytest.fixture
def production_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sigstore production trust from the roots embedded in sigstore-python; no network, nothing in $HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    trust = load_trust(None, offline=True)
    assert not trust.custom
    return trust


GITHUB_SDIST = ASSETS / "pypi_attestations-0.0.19.tar.gz"
GITLAB_SDIST = ASSETS / "gitlab_oidc_project-0.0.3.tar.gz"
REAL_PUBLISHER = PublisherIdentity(repository="trailofbits/pypi-attestations", workflow="release.yml")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_real_production_attestation_verifies(production_trust: Any) -> None:
    form_value = check_attestation(
        attestation_path(GITHUB_SDIST),
        filename=GITHUB_SDIST.name,
        sha256=_digest(GITHUB_SDIST),
        publisher=REAL_PUBLISHER,
        trust=production_trust,
    )
    (document,) = json.loads(form_value)
    assert document == json.loads(attestation_path(GITHUB_SDIST).read_text())
    # The environment is not in the certificate, and the index does not compare it either.
    check_attestation(
        attestation_path(GITHUB_SDIST),
        filename=GITHUB_SDIST.name,
        sha256=_digest(GITHUB_SDIST),
        publisher=PublisherIdentity("trailofbits/pypi-attestations", "release.yml", "pypi"),
        trust=production_trust,
    )


def test_real_attestations_swapped_do_not_verify(production_trust: Any) -> None:
    with pytest.raises(AttestationError) as raised:
        check_attestation(
            attestation_path(GITHUB_SDIST),
            filename=GITLAB_SDIST.name,
            sha256=_digest(GITLAB_SDIST),
            publisher=REAL_PUBLISHER,
            trust=production_trust,
        )
    assert raised.value.title == "pypi_attestations-0.0.19.tar.gz.publish.attestation cannot be used"
    assert raised.value.cause == (
        "it was made for another file (pypi_attestations-0.0.19.tar.gz), not for gitlab_oidc_project-0.0.3.tar.gz"
    )


@pytest.mark.parametrize(
    ("publisher", "signed_by"),
    [
        (
            PublisherIdentity("trailofbits/pypi-attestations", "publish.yml"),
            "the workflow https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19",
        ),
        (
            PublisherIdentity("octo-org/pypi-attestations", "release.yml"),
            "the workflow https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19",
        ),
    ],
    ids=["other-workflow", "other-repository"],
)
def test_real_attestation_for_another_publisher(
    production_trust: Any, publisher: PublisherIdentity, signed_by: str
) -> None:
    with pytest.raises(AttestationError) as raised:
        check_attestation(
            attestation_path(GITHUB_SDIST),
            filename=GITHUB_SDIST.name,
            sha256=_digest(GITHUB_SDIST),
            publisher=publisher,
            trust=production_trust,
        )
    assert raised.value.cause.startswith(
        f"it was signed by {signed_by}, but this publish is for {publisher.describe()}"
    )


GITLAB_PUBLISHER = GitLabPublisherIdentity("facutuesca/gitlab-oidc-project", ".gitlab-ci.yml")


def test_real_gitlab_attestation_verifies_for_its_gitlab_publisher(production_trust: Any) -> None:
    """A genuine GitLab attestation verifies for the GitLab publisher that made it, as PyPI checks it."""
    form_value = check_attestation(
        attestation_path(GITLAB_SDIST),
        filename=GITLAB_SDIST.name,
        sha256=_digest(GITLAB_SDIST),
        publisher=GITLAB_PUBLISHER,
        trust=production_trust,
    )
    (document,) = json.loads(form_value)
    assert document == json.loads(attestation_path(GITLAB_SDIST).read_text())


@pytest.mark.parametrize(
    "publisher",
    [
        GitLabPublisherIdentity("facutuesca/other-project", ".gitlab-ci.yml"),
        GitLabPublisherIdentity("facutuesca/gitlab-oidc-project", "ci/release.yml"),
        PublisherIdentity("facutuesca/gitlab-oidc-project", ".gitlab-ci.yml"),
        GooglePublisherIdentity("release@example.iam.gserviceaccount.com"),
    ],
    ids=["other-gitlab-project", "other-ci-file", "github", "google"],
)
def test_real_gitlab_attestation_is_refused_for_another_publisher(production_trust: Any, publisher: Any) -> None:
    """The same attestation is refused for any other publisher, naming the one that signed it."""
    with pytest.raises(AttestationError) as raised:
        check_attestation(
            attestation_path(GITLAB_SDIST),
            filename=GITLAB_SDIST.name,
            sha256=_digest(GITLAB_SDIST),
            publisher=publisher,
            trust=production_trust,
        )
    assert raised.value.cause.startswith(
        "it was signed by the pipeline file "
        "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main"
    )
    assert f"this publish is for {publisher.describe()}" in raised.value.cause
    # The policy's own words, without the repr of a certificate extension.
    assert "<Extension" not in raised.value.cause and "Unknown OID" not in raised.value.cause


def test_real_attestation_with_the_sandbox_trust_does_not_verify(sigstore_sandbox: LoopbackSigstore) -> None:
    with pytest.raises(AttestationError) as raised:
        check_attestation(
            attestation_path(GITHUB_SDIST),
            filename=GITHUB_SDIST.name,
            sha256=_digest(GITHUB_SDIST),
            publisher=REAL_PUBLISHER,
            trust=load_trust(sigstore_sandbox.trust_config_path),
        )
    assert "made with another Sigstore instance than this run trusts" in raised.value.cause


def test_sigstore_is_not_imported_for_token_runs() -> None:
    import subprocess
    import sys

    code = (
        "import sys, publish_action.attestations, publish_action.publish; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sigstore', 'pypi_attestations')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_publisher_identity_per_provider() -> None:
    gitlab = Claims(
        {
            "iss": "https://gitlab.com",
            "namespace_path": "facutuesca",
            "project_path": "facutuesca/gitlab-oidc-project",
            "ci_config_ref_uri": "gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main",
            "environment": "pypi",
        }
    )
    assert publisher_identity(gitlab) == GitLabPublisherIdentity(
        "facutuesca/gitlab-oidc-project", ".gitlab-ci.yml", "pypi"
    )
    assert publisher_identity(gitlab).describe() == (
        "facutuesca/gitlab-oidc-project, pipeline file .gitlab-ci.yml, environment pypi"
    )
    google = Claims({"iss": "https://accounts.google.com", "email": "release@acme.iam.gserviceaccount.com"})
    assert publisher_identity(google) == GooglePublisherIdentity("release@acme.iam.gserviceaccount.com")
    github = Claims(
        {
            "iss": GITHUB_ISSUER,
            "repository": "octo-org/demo",
            "job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1",
        }
    )
    assert publisher_identity(github) == PublisherIdentity("octo-org/demo", "release.yml")
    with pytest.raises(AttestationError):
        publisher_identity(Claims({"iss": "https://accounts.google.com"}))
    # Identities are cache keys of the run's verifier: equal identities hash alike.
    assert len({publisher_identity(gitlab), publisher_identity(gitlab), publisher_identity(google)}) == 2
