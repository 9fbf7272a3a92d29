"""The suite-wide secret canary (tests/canary.py) finds what it must, and only that.

These tests put registered secrets into logs, outputs and reports on purpose, each time inside
``pytest.raises`` (or an inner pytest run) that proves the canary refused it: none of them weakens a check.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from publish_action.report import Reporter
from tests import canary
from tests.fixtures.dists import make_wheels
from tests.helpers import Run, run_action, run_in_world
from tests.sandbox import Fault, OIDCIssuer, Warehouse
from tests.sandbox.world import offline_world

pytest_plugins = ["pytester"]


def _secret(kind: str = "test secret") -> str:
    value = "canary-" + secrets.token_urlsafe(24)
    canary.register(value, kind, "tests/test_canary.py")
    return value


def test_a_secret_is_found_and_reported_by_fingerprint_only() -> None:
    value = _secret()
    text = f"first line\nsomething {value} leaked\n"
    with pytest.raises(AssertionError) as caught:
        canary.assert_clean({"the log": text}, mask_lines=["the log"])
    message = str(caught.value)
    assert value not in message
    assert canary.fingerprint(value) in message
    assert "test secret from tests/test_canary.py" in message
    assert "appeared in the log, line 2" in message
    assert canary.redact(text) == f"first line\nsomething «test secret {canary.fingerprint(value)}» leaked\n"


def test_only_an_exact_mask_line_in_a_log_is_allowed() -> None:
    value = _secret()
    canary.assert_clean({"the log": f"::add-mask::{value}\nnext\n"}, mask_lines=["the log"])
    canary.assert_clean({"act's log": f"[publish/publish]   | ::add-mask::{value}\n"}, mask_lines=["act's log"])
    with pytest.raises(AssertionError, match="a mask line carrying more than the secret"):
        canary.assert_clean({"the log": f"::add-mask::{value} and more\n"}, mask_lines=["the log"])
    with pytest.raises(AssertionError, match="appeared in the step summary"):
        canary.assert_clean({"the step summary": f"::add-mask::{value}\n"}, mask_lines=["the log"])
    with pytest.raises(AssertionError, match="appeared in the log"):
        canary.assert_clean({"the log": f"note ::add-mask::{value}\n"}, mask_lines=["the log"])


def test_short_values_and_basic_credentials() -> None:
    canary.register("x", "too short")  # not registered: it would match ordinary text
    canary.assert_clean({"the log": "x marks the spot"})
    password = "pw-" + secrets.token_urlsafe(6)  # shorter than the search window
    canary.register_basic("alice", password, "test password")
    import base64

    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    with pytest.raises(AssertionError, match=r"test password \(HTTP Basic\)"):
        canary.assert_clean({"the log": f"Authorization: Basic {basic}"})
    with pytest.raises(AssertionError, match=r"test password \[sha256:"):
        canary.assert_clean({"the log": f"pass={password};"})


def test_url_credentials_from_inputs_are_registered() -> None:
    token = "pypi-" + secrets.token_urlsafe(30)
    canary.register_inputs({"repository-url": f"https://__token__:{token}@index.example/legacy/"}, "test")
    with pytest.raises(AssertionError, match="URL credential"):
        canary.assert_clean({"the log": f"repository-url: could not parse https://__token__:{token}@index…"})


def _watch_with(text: str, deliveries: list[tuple[str, int | None]]) -> canary.Watch:
    return canary.Watch(
        first_delivery=0,
        handed_out=[canary.Delivery(canary.Secret(value, canary.MINTED_TOKEN), offset) for value, offset in deliveries],
        static_text=text,
    )


def test_mask_order_is_measured_from_the_hand_out() -> None:
    token = _secret(canary.MINTED_TOKEN)
    before = "Reading dist/\nMinting an upload token\n"
    good = before + f"::add-mask::{token}\nUploading a.whl\n"
    assert canary.mask_problems(_watch_with(good, [(token, len(before))]), "the log") == []
    late = before + f"Token for sandbox-demo ready\n::add-mask::{token}\nUploading a.whl\n"
    (problem,) = canary.mask_problems(_watch_with(late, [(token, len(before))]), "the log")
    assert "masked on line 4 of the log, after line 3" in problem
    assert "Token for sandbox-demo ready" in problem
    assert token not in problem
    (never,) = canary.mask_problems(_watch_with(before + "::error::refused\n", [(token, len(before))]), "the log")
    assert "was handed to the program but never masked" in never


def test_only_the_answer_s_own_debug_line_may_precede_the_mask() -> None:
    token = _secret(canary.MINTED_TOKEN)
    before = "Minting an upload token\n"
    own = "::debug::POST http://127.0.0.1:1/_/oidc/mint-token → HTTP 200\n"
    other = "::debug::GET http://127.0.0.1:1/simple/sandbox-demo/ → HTTP 200\n"
    handed = [canary.Delivery(canary.Secret(token, canary.MINTED_TOKEN), len(before), "POST /_/oidc/mint-token")]
    fine = canary.Watch(0, handed_out=handed, static_text=before + own + f"::add-mask::{token}\n")
    assert canary.mask_problems(fine, "the log") == []
    late = canary.Watch(0, handed_out=handed, static_text=before + other + f"::add-mask::{token}\n")
    (problem,) = canary.mask_problems(late, "the log")
    assert "simple/sandbox-demo/" in problem


def test_a_run_that_never_masks_its_token_is_refused(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "dist").symlink_to(hatch_dists)
    monkeypatch.setattr(Reporter, "mask", lambda self, secret: None)
    inputs = {"repository-url": warehouse.upload_url, "attestations": "false"}
    with pytest.raises(AssertionError, match="was handed to the program but never masked") as caught:
        run_action(monkeypatch, capsys, tmp_path, inputs)
    assert canary.OIDC_JWT in str(caught.value)
    assert canary.MINTED_TOKEN in str(caught.value)


def test_a_run_that_masks_late_is_refused_even_when_the_exchange_fails(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The exchange is refused, so no upload line ever comes: the hand-out of the JWT is the reference.
    oidc_issuer.claims = oidc_issuer.claims.replace(workflow_file="publish.yml")
    (tmp_path / "dist").symlink_to(hatch_dists)
    original = Reporter.mask

    def late(self: Reporter, secret: str) -> None:
        self.line("got a token")
        original(self, secret)

    monkeypatch.setattr(Reporter, "mask", late)
    inputs = {"repository-url": warehouse.upload_url, "attestations": "false"}
    with pytest.raises(AssertionError, match="the first line written once the program had it: got a token"):
        run_action(monkeypatch, capsys, tmp_path, inputs)


def test_a_leak_into_the_summary_is_refused(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "dist").symlink_to(hatch_dists)
    original = Reporter.report

    def leaky(self: Reporter, result: object) -> None:
        original(self, result)  # type: ignore[arg-type]
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(f"token: {warehouse.minted_tokens[0]}\n")

    monkeypatch.setattr(Reporter, "report", leaky)
    inputs = {"repository-url": warehouse.upload_url, "attestations": "false"}
    with pytest.raises(
        AssertionError, match=r"minted upload token from the Warehouse stand-in .* appeared in the step summary"
    ):
        run_action(monkeypatch, capsys, tmp_path, inputs)


def _masked_before_anything_else(run: Run, kinds: set[str]) -> None:
    """The canary judged this run (it passed run_action's check): make sure it had something to judge."""
    assert kinds <= set(run.handed_out), (run.handed_out, run.out)
    assert run.transcript.count("::add-mask::") >= len([k for k in run.handed_out if k in canary.HANDED_OUT_KINDS])


@pytest.mark.parametrize("failure", ["refused-exchange", "first-upload-refused", "upload-403"])
def test_runs_that_fail_early_are_judged_from_the_hand_out(
    failure: str,
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No upload line ever comes in these runs; run_action's canary still checks every mask's timing."""
    name = "sandbox-demo"
    if failure == "refused-exchange":
        oidc_issuer.claims = oidc_issuer.claims.replace(workflow_file="publish.yml")
    elif failure == "first-upload-refused":
        name = "sandbox-demo-typo"
    else:
        warehouse.faults.add("upload", Fault(kind="status", status=403, times=99))
    make_wheels(tmp_path / "dist", 2, name=name)
    run = run_action(monkeypatch, capsys, tmp_path, {"repository-url": warehouse.upload_url, "attestations": "false"})
    assert run.code in (ExitCode.AUTHENTICATION, ExitCode.UPLOAD), run.out
    kinds = {canary.OIDC_JWT} if failure == "refused-exchange" else {canary.OIDC_JWT, canary.MINTED_TOKEN}
    _masked_before_anything_else(run, kinds)


def test_a_run_whose_attestations_fail_is_judged_from_the_hand_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with offline_world(tmp_path / "world") as world:
        world.sigstore.fulcio.fail_next(400, times=99, message="signing refused")
        make_wheels(tmp_path / "dist", 1)
        run = run_in_world(world, monkeypatch, capsys, tmp_path)
        assert run.code == ExitCode.ATTESTATIONS, run.out
        assert world.warehouse.requests.count("upload") == 0
    # The sigstore-audience JWT went to the program (and to Fulcio), and was masked before its next line.
    _masked_before_anything_else(run, {canary.OIDC_JWT})
    assert run.handed_out.count(canary.OIDC_JWT) >= 2, run.handed_out


@pytest.mark.parametrize("outcome", ["published", "refused-exchange"])
def test_debug_logging_of_every_request_shows_no_secret(
    outcome: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debug logging prints every request: the whole path (OIDC, mint, Sigstore, upload, burn) under the canary."""
    with offline_world(tmp_path / "world") as world:
        if outcome == "refused-exchange":
            world.issuer.claims = world.issuer.claims.replace(workflow_file="publish.yml")
        make_wheels(tmp_path / "dist", 2)
        run = run_in_world(world, monkeypatch, capsys, tmp_path, env={"PUBLISH_ACTION_DEBUG": "1", "RUNNER_DEBUG": "1"})
        expected = ExitCode.OK if outcome == "published" else ExitCode.AUTHENTICATION
        assert run.code == expected, run.out
        assert " → HTTP " in run.out, "debug logging is on"
        if outcome == "published":
            assert len(world.warehouse.files) == 2
            _masked_before_anything_else(run, {canary.OIDC_JWT, canary.MINTED_TOKEN})
        else:
            _masked_before_anything_else(run, {canary.OIDC_JWT})


def test_the_report_hook_fails_and_redacts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        import secrets
        from tests import canary

        VALUE = canary.register("inner-" + secrets.token_urlsafe(24), "inner secret")

        def test_exception_text():
            raise RuntimeError(f"could not upload with {VALUE}")

        def test_captured_output():
            print("the token is", VALUE)

        def test_mask_line_in_output_is_fine():
            print("::add-mask::" + VALUE)

        def test_failure_showing_a_log_with_its_mask_line():
            log = "::add-mask::" + VALUE + "\\nUploading a.whl"
            assert log.endswith("sdist"), log
        """
    )
    result = pytester.runpytest_inprocess("-p", "tests.canary", "-p", "no:cacheprovider", "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 3 and outcomes.get("passed") == 1, result.stdout.str()
    text = result.stdout.str() + result.stderr.str()
    (inner,) = [secret for secret in canary._REGISTRY.by_value.values() if secret.kind == "inner secret"]
    assert inner.value not in text
    assert "secret canary: a registered secret appeared outside a mask line" in text
    assert "inner secret [sha256:" in text
    assert "appeared in Captured stdout call" in text
    assert "test_failure_showing_a_log_with_its_mask_line" in text
    result.assert_outcomes(failed=3, passed=1)
