"""Trusted Publishing with attestations through the whole offline world, run as the action runs.

The Warehouse stand-in verifies every uploaded attestation against the loopback Sigstore's trust root and
the publisher that minted the upload token, as PyPI does; a publish it accepted is a publish PyPI would.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import DistCache, make_big_wheel, make_wheels
from tests.helpers import Run, run_in_world, run_process
from tests.sandbox import Fault, GitHubPublisher, Warehouse
from tests.sandbox.world import Provider, World, offline_world

pytestmark = pytest.mark.sandbox


def _run(
    world: World, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **inputs: str
) -> Run:
    return run_in_world(world, monkeypatch, capsys, workdir, **inputs)


def test_publish_with_attestations_is_accepted_and_verified_by_the_index(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    names = [path.name for path in dist_cache.copy_to(dist, "hatch")]

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    stored = {f.filename: f for f in world.warehouse.files}
    assert sorted(stored) == sorted(names)
    for name in names:
        assert stored[name].attestations is not None
        assert json.loads(stored[name].attestations)[0] == json.loads(
            (dist / f"{name}.publish.attestation").read_text()
        )
    records = {r["filename"]: r["attestation"] for r in json.loads(run.outputs["files"])}
    assert records == {name: "signed" for name in names}
    assert run.summary.count("| uploaded | signed |") == 2
    # One certificate for all files, one log entry per file.
    assert len(world.sigstore.log) == 2
    assert len([r for r in world.sigstore.fulcio.requests if r.path.endswith("signingCert")]) == 1


def test_same_folder_to_two_indexes_reuses_the_attestations(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    second = Warehouse(world.issuer)
    second.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    second.attestation_verifier = world.sigstore.attestation_verifier()
    second.start()
    try:
        first = _run(world, tmp_path, monkeypatch, capsys)
        entries = len(world.sigstore.log)
        again = _run(world, tmp_path, monkeypatch, capsys, repository_url=second.upload_url)
    finally:
        second.stop()

    assert first.code == 0, first.out
    assert again.code == 0, again.out
    assert len(world.sigstore.log) == entries, "nothing signed the second time"
    assert {r["attestation"] for r in json.loads(again.outputs["files"])} == {"reused"}
    assert len(second.files) == 2
    assert all(f.attestations for f in second.files)


def test_stale_attestation_of_another_file_stops_everything_before_upload(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheels = make_wheels(tmp_path / "dist", 2)
    assert _run(world, tmp_path, monkeypatch, capsys, dry_run="false").code == 0
    uploads = world.warehouse.requests.count("upload")
    # Swap: the first wheel's attestation now sits next to the second one; build a new second wheel name.
    new = make_wheels(tmp_path / "next", 3)[2]
    new.replace(tmp_path / "dist" / new.name)
    (tmp_path / "dist" / f"{wheels[0].name}.publish.attestation").replace(
        tmp_path / "dist" / f"{new.name}.publish.attestation"
    )

    run = _run(world, tmp_path, monkeypatch, capsys, skip_existing="true")

    assert run.code == ExitCode.ATTESTATIONS, run.out
    assert f"{new.name}.publish.attestation" in run.summary
    assert "made for another file" in run.summary
    assert world.warehouse.requests.count("upload") == uploads
    assert json.loads(run.outputs["uploaded"]) == []


def test_tampered_attestation_stops_everything_before_upload(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    second = make_wheels(tmp_path / "dist", 2)[1]
    assert _run(world, tmp_path, monkeypatch, capsys).code == 0
    attestation = tmp_path / "dist" / f"{second.name}.publish.attestation"
    document = json.loads(attestation.read_text())
    envelope = document["envelope"]
    signature = bytearray(envelope["signature"].encode())
    signature[10] = ord("A") if signature[10] != ord("A") else ord("B")
    envelope["signature"] = signature.decode()
    attestation.write_text(json.dumps(document))
    fresh = Warehouse(world.issuer)
    fresh.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    fresh.start()
    try:
        run = _run(world, tmp_path, monkeypatch, capsys, repository_url=fresh.upload_url)
    finally:
        fresh.stop()
    assert run.code == ExitCode.ATTESTATIONS, run.out
    assert f"{second.name}.publish.attestation" in run.summary
    assert len(fresh.requests.for_endpoint("upload")) == 0
    assert "altered" in run.summary or "tampered" in run.summary or "does not verify" in run.summary


def test_reusable_workflow_is_caught_before_anything_is_uploaded(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world.issuer.claims = world.issuer.claims.reusable(repository="octo-org/sandbox-demo", workflow_file="pypi.yml")
    world.warehouse.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "pypi.yml", "pypi"))
    dist_cache.copy_to(tmp_path / "dist", "hatch")

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.ATTESTATIONS, run.out
    assert "Attestations cannot be made from a reusable workflow" in run.summary
    assert "attestations: false" in run.summary
    assert world.warehouse.requests.count("upload") == 0
    assert len(world.sigstore.log) == 0
    assert world.warehouse.files == []
    # The upload token minted for the publish is revoked all the same.
    assert all(not world.warehouse.token_is_live(token) for token in world.warehouse.minted_tokens)


def test_rekor_503_once_is_retried(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    world.sigstore.rekor.fail_next(503)
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys)
    assert run.code == 0, run.out
    assert "attempt 1" in run.out and "503" in run.out
    assert all(f.attestations for f in world.warehouse.files)
    assert len(world.warehouse.files) == 2


def test_rekor_down_is_a_clean_failure_with_nothing_uploaded(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    world.sigstore.rekor.fail_next(503, times=99)
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys)
    assert run.code == ExitCode.ATTESTATIONS, run.out
    assert "Sigstore could not be reached" in run.summary
    assert "Nothing was uploaded" in run.summary
    assert world.warehouse.requests.count("upload") == 0


def test_dry_run_signs_nothing(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, dry_run="true")
    assert run.code == 0, run.out
    assert {r["attestation"] for r in json.loads(run.outputs["files"])} == {"would sign"}
    assert len(world.sigstore.log) == 0
    assert not list((tmp_path / "dist").glob("*.attestation"))


def test_token_mode_skips_attestations_with_a_warning(
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = world.warehouse.add_api_token("maintainer", projects=["sandbox-demo"])
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, password=token)
    assert run.code == 0, run.out
    warning = next(line for line in run.out.splitlines() if "Attestations are skipped" in line)
    assert warning.startswith("::warning")
    assert all(f.attestations is None for f in world.warehouse.files)
    assert len(world.sigstore.log) == 0


def test_signing_has_its_own_bound_apart_from_max_parallel(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # max-parallel: 1 keeps the uploads one at a time; the signatures still go to Sigstore together.
    world.sigstore.set_latency(rekor=0.4)
    make_wheels(tmp_path / "dist", 6, distinct_by="platform")

    run = _run(world, tmp_path, monkeypatch, capsys, max_parallel="1")

    assert run.code == 0, run.out
    entries = [request for request in world.sigstore.rekor.requests if request.method == "POST"]
    assert len(entries) == 6
    starts = sorted(request.started for request in entries)
    # Six log entries at 0.4 s each: one at a time they would start at least 2 s apart in all.
    assert starts[-1] - starts[0] < 0.4, starts
    uploads = sorted(world.warehouse.requests.for_endpoint("upload"), key=lambda record: record.started)
    assert len(uploads) == 6
    for earlier, later in itertools.pairwise(uploads):
        assert earlier.started + earlier.duration <= later.started + 0.01, "two uploads overlapped"


def test_the_certificate_is_fetched_while_the_exchange_runs_and_nothing_is_signed_before_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.warehouse.faults.add("mint", Fault(kind="delay", seconds=0.8))
    make_wheels(tmp_path / "dist", 3, distinct_by="platform")

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    (audience,) = world.warehouse.requests.for_endpoint("audience")
    (mint,) = world.warehouse.requests.for_endpoint("mint")
    minted_at = mint.started + mint.duration
    (certificate,) = [request for request in world.sigstore.fulcio.requests if request.method == "POST"]
    assert audience.started < certificate.started < minted_at, "the certificate was not requested during the exchange"
    entries = [request for request in world.sigstore.rekor.requests if request.method == "POST"]
    assert len(entries) == 3
    assert min(request.started for request in entries) > minted_at, "a file was signed before the exchange ended"
    # The background work's log lines land in the attestations' group, not in the middle of the exchange's.
    lines = run.out.splitlines()
    issued = next(i for i, line in enumerate(lines) if "Sigstore issued a signing certificate" in line)
    assert lines.index("::group::Attestations") < issued
    assert next(i for i, line in enumerate(lines) if "Minted an upload token" in line) < issued


def test_a_refused_exchange_signs_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The certificate is on its way when the index refuses the exchange.
    world.warehouse.faults.add("mint", Fault(kind="delay", seconds=1.5, times=1))
    world.warehouse.faults.add("mint", Fault(kind="status", status=403, body='{"message": "no publisher"}'))
    make_wheels(tmp_path / "dist", 3, distinct_by="platform")

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.AUTHENTICATION, run.out
    assert len(world.sigstore.log) == 0
    assert not [request for request in world.sigstore.rekor.requests if request.method == "POST"]
    assert world.warehouse.requests.count("upload") == 0
    assert not list((tmp_path / "dist").glob("*.attestation"))
    assert "Nothing was signed: the signing certificate fetched during the exchange was not used" in run.out


def test_a_refusal_before_the_exchange_asks_sigstore_for_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The look-up finds the project archived: PyPI's rules refuse the set before the exchange.
    world.warehouse.add_project("sandbox-demo", status="archived")
    make_wheels(tmp_path / "dist", 1)

    run = _run(world, tmp_path, monkeypatch, capsys, index_rules="pypi")

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert world.sigstore.fulcio.requests == []
    assert not [issued for issued in world.issuer.issued if issued.claims["aud"] == "sigstore"]
    assert world.warehouse.requests.count("mint") == 0


_IMPORT_RECORDER = """
import atexit, os, sys, threading

_loaded = []

def _hook(event, args):
    if event == "import":
        _loaded.append((threading.current_thread().name, args[0]))

sys.addaudithook(_hook)

@atexit.register
def _write():
    with open(os.environ["IMPORTS_LOG"], "w") as stream:
        stream.writelines(f"{thread} {module}\\n" for thread, module in _loaded)
"""


@pytest.mark.parametrize("provider", ["github", "gitlab", "google"])
def test_the_signing_libraries_load_beside_the_exchange_with_no_other_import_at_once(
    provider: Provider, tmp_path: Path
) -> None:
    """sigstore-python and pypi-attestations load in the background thread, overlapping the exchange; Python's
    import locks can deadlock two threads importing at once, so nothing else is imported while they load
    (what the exchange shares with them, requests and id, is loaded before the thread starts)."""
    recorder = tmp_path / "recorder"
    recorder.mkdir()
    (recorder / "sitecustomize.py").write_text(_IMPORT_RECORDER)
    log = tmp_path / "imports.log"
    make_wheels(tmp_path / "dist", 2, distinct_by="platform")
    with offline_world(tmp_path / "world", provider=provider) as world:
        env = {**world.action_env(), "PYTHONPATH": str(recorder), "IMPORTS_LOG": str(log)}
        completed = run_process([], env, tmp_path)
        signed = len(world.sigstore.log)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert signed == 2
    records = [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()]
    background = [at for at, (thread, _module) in enumerate(records) if thread == "sigstore-ahead"]
    assert background, "the recorder saw no import in the background thread"
    loaded_there = {module for thread, module in records if thread == "sigstore-ahead"}
    assert {"sigstore.sign", "pypi_attestations", "tuf.ngclient"} <= loaded_there
    loaded_first = {module for thread, module in records[: background[0]] if thread == "MainThread"}
    assert {"requests", "id"} <= loaded_first
    beside = [record for record in records[background[0] : background[-1] + 1] if record[0] != "sigstore-ahead"]
    assert beside == [], beside


def test_memory_stays_flat_with_attestations(tmp_path: Path) -> None:
    """Signing reads a file's digest, never the file: a 96 MiB wheel costs no more memory than a small one."""
    from benchmarks.memory import peak_rss

    peaks = {}
    for label, make in (
        ("small", lambda folder: make_wheels(folder, 1)),
        ("big", lambda folder: make_big_wheel(folder, 96 * 1024 * 1024, name="sandbox-demo")),
    ):
        workdir = tmp_path / label
        make(workdir / "dist")
        with offline_world(workdir / "world") as world:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "ACTIONS_"))},
                **world.action_env(index_rules="pypi"),
            }
            peak, _seconds, code = peak_rss([sys.executable, "-m", "publish_action"], env, workdir)
            assert code == 0
            (stored,) = world.warehouse.files
            assert stored.attestations
        peaks[label] = peak
    assert peaks["big"] < peaks["small"] + 24 * 1024 * 1024, peaks
