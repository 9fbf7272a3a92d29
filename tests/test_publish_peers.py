"""End-to-end publishes to real indexes (pypiserver and devpi-server) on loopback."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import DOTTED_NAME, DistCache, make_wheels
from tests.fixtures.peers import PeerIndex, PypiServerIndex
from tests.helpers import Run, run_action

pytestmark = pytest.mark.peers


def _inputs(index: PeerIndex, **extra: str) -> dict[str, str]:
    return {
        "repository-url": index.upload_url,
        "user": index.username,
        "password": index.password,
        "attestations": "false",
        **extra,
    }


def _local_sha256s(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.iterdir()
        if path.suffix in (".whl", ".gz", ".zip")
    }


def _publish(
    index: PeerIndex, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **extra: str
) -> Run:
    return run_action(monkeypatch, capsys, work, _inputs(index, **extra))


def test_every_kind_of_distribution_arrives_byte_identical(
    peer_index: PeerIndex,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    dist_cache.copy_to(dist, "hatch", version="1.0.0")
    dist_cache.copy_to(dist, "setuptools")
    dist_cache.copy_to(dist, "zip", name="zip-demo")
    dist_cache.copy_to(dist, "hatch", name=DOTTED_NAME)
    (dist / ".DS_Store").write_bytes(b"\0")
    (dist / "sandbox_demo-1.0.0.tar.gz.publish.attestation").write_text("{}")
    local = _local_sha256s(dist)
    assert len(local) == 8

    run = _publish(peer_index, tmp_path, monkeypatch, capsys)

    assert run.code == 0, run.out
    stored = {name: hashlib.sha256(peer_index.download(name)).hexdigest() for name in local}
    assert stored == local
    assert sorted(json.loads(run.outputs["uploaded"])) == sorted(local)
    assert json.loads(run.outputs["skipped"]) == []
    # Wheels go before sdists within each project.
    order = json.loads(run.outputs["uploaded"])
    for project_prefix in ("sandbox_demo-", "acme_tools_lib-"):
        names = [name for name in order if name.startswith(project_prefix)]
        assert [name.endswith(".whl") for name in names] == sorted((n.endswith(".whl") for n in names), reverse=True)
    # print-hash: every distribution, never the attestation or the dotfile.
    assert run.out.count("  sha256:     ") == 8
    assert run.out.count("  blake2_256: ") == 8
    assert ".DS_Store\n  sha256" not in run.out
    assert "publish.attestation\n  sha256" not in run.out
    assert "Ignoring .DS_Store" in run.out
    for name, digest in local.items():
        assert f"{name}\n  sha256:     {digest}" in run.out
    # The job summary has one row per file with its state.
    for name in local:
        assert f"| `{name}` |" in run.summary
    assert run.summary.count("| uploaded |") == 8


def test_rerun_with_skip_existing_uploads_nothing(
    peer_index: PeerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "dist").symlink_to(hatch_dists)
    first = _publish(peer_index, tmp_path, monkeypatch, capsys)
    assert first.code == 0, first.out
    before = peer_index.sha256s()

    again = _publish(peer_index, tmp_path, monkeypatch, capsys, **{"skip-existing": "true"})

    assert again.code == 0, again.out
    assert json.loads(again.outputs["uploaded"]) == []
    assert sorted(json.loads(again.outputs["skipped"])) == sorted(before)
    assert "Uploading sandbox_demo" not in again.out
    assert "already on the index with identical content; skipped" in again.out
    assert peer_index.sha256s() == before


def test_rerun_without_skip_existing_sends_nothing_the_index_holds_byte_for_byte(
    peer_index: PeerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Sending an identical file again uploads nothing: PyPI and devpi answer it as a duplicate (200),
    # pypiserver as a conflict (409). The look-up already found each file identical, so neither happens.
    (tmp_path / "dist").symlink_to(hatch_dists)
    assert _publish(peer_index, tmp_path, monkeypatch, capsys).code == 0
    before = peer_index.sha256s()

    again = _publish(peer_index, tmp_path, monkeypatch, capsys)

    assert again.code == 0, again.out
    assert json.loads(again.outputs["uploaded"]) == []
    assert sorted(json.loads(again.outputs["skipped"])) == sorted(before)
    assert "Uploading sandbox_demo" not in again.out
    assert peer_index.sha256s() == before


def test_a_conflict_the_look_up_did_not_foresee_names_the_input(
    pypiserver: PypiServerIndex,
    devpi: PeerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The look-up reads a listing that does not show the files yet (here: `check-url` names an empty devpi
    # index, as a lagging mirror would); pypiserver then answers 409, and without skip-existing that is an
    # error naming the input.
    (tmp_path / "dist").symlink_to(hatch_dists)
    wheel = next(p for p in hatch_dists.iterdir() if p.name.endswith(".whl"))
    assert _publish(pypiserver, tmp_path, monkeypatch, capsys).code == 0

    again = _publish(pypiserver, tmp_path, monkeypatch, capsys, **{"check-url": devpi.simple_url})

    assert again.code == ExitCode.UPLOAD, again.out
    assert f"{wheel.name} already exists on" in again.out
    assert "set `skip-existing: true`" in again.out
    assert again.out.count("::error ") == 1


@pytest.mark.parametrize("skip_existing", ["true", "false"])
def test_changed_file_under_an_existing_name_fails_in_preflight(
    peer_index: PeerIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    skip_existing: str,
) -> None:
    dist = tmp_path / "dist"
    make_wheels(dist, 3)
    assert _publish(peer_index, tmp_path, monkeypatch, capsys).code == 0
    before = peer_index.sha256s()
    # Same file names, other bytes for the first; plus a brand-new file that must not go up either.
    changed = make_wheels(tmp_path / "changed", 1, salt="rebuilt")[0]
    old_sha = before[changed.name]
    changed.replace(dist / changed.name)
    new_sha = hashlib.sha256((dist / changed.name).read_bytes()).hexdigest()
    make_wheels(tmp_path / "extra", 4)[3].replace(dist / "sandbox_demo-1.0.3-py3-none-any.whl")

    run = _publish(peer_index, tmp_path, monkeypatch, capsys, **{"skip-existing": skip_existing})

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert "Files on the index differ from the local ones" in run.out
    assert f"sha256 {old_sha}" in run.out and f"sha256 {new_sha}" in run.out
    assert "Uploading sandbox_demo" not in run.out
    assert peer_index.sha256s() == before


def test_twenty_distributions_upload_in_parallel(
    peer_index: PeerIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    make_wheels(dist, 20, distinct_by="platform", payload_size=64 * 1024)
    local = _local_sha256s(dist)

    run = _publish(peer_index, tmp_path, monkeypatch, capsys, **{"max-parallel": "8"})

    assert run.code == 0, run.out
    assert peer_index.sha256s() == local
    assert len(json.loads(run.outputs["uploaded"])) == 20


def test_dry_run_checks_and_looks_up_but_uploads_nothing(
    peer_index: PeerIndex,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    dist_cache.copy_to(dist, "hatch")
    assert _publish(peer_index, tmp_path, monkeypatch, capsys).code == 0
    before = peer_index.sha256s()
    dist_cache.copy_to(dist, "setuptools")

    run = _publish(peer_index, tmp_path, monkeypatch, capsys, **{"dry-run": "true", "skip-existing": "true"})

    assert run.code == 0, run.out
    assert peer_index.sha256s() == before
    records = {record["filename"]: record["state"] for record in json.loads(run.outputs["files"])}
    assert sorted(state for state in records.values()) == ["skipped", "skipped", "would upload", "would upload"]
    assert "Dry run: nothing was uploaded" in run.out
    assert run.summary.startswith("## Dry run to ")


def test_plain_text_report_outside_github(
    pypiserver: PypiServerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "dist").symlink_to(hatch_dists)
    run = run_action(monkeypatch, capsys, tmp_path, _inputs(pypiserver), github=False)
    assert run.code == 0
    assert "::" not in run.out
    assert "== Result (" in run.out
    assert "2 uploaded — 2 file(s)" in run.out


def test_debug_logging_shows_every_request_and_its_answer_without_credentials(
    pypiserver: PypiServerIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 1, name="debug-demo")
    run = run_action(monkeypatch, capsys, tmp_path, _inputs(pypiserver), env={"PUBLISH_ACTION_DEBUG": "1"})
    assert run.code == 0, run.out
    assert f"GET {pypiserver.simple_url}debug-demo/ → HTTP " in run.out
    assert f"POST {pypiserver.upload_url} → HTTP 200" in run.out
    assert pypiserver.password not in run.out.replace(f"::add-mask::{pypiserver.password}", "")
