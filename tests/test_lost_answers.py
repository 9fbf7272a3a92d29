"""A lost answer, then a lagging listing: the index (a real pypiserver) stored the file, the client heard a
failure, the retry hears "already exists", and the simple pages show the file only seconds later.

The run must find its own file and call it ``uploaded``, never "already exists", in both ``skip-existing``
modes; a file an earlier run stored is ``skipped``; a listing that does not show a file yet is "not listed
yet", never "lists no digest"; and the other files go on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from publish_action import confirm
from publish_action.errors import ExitCode
from tests.fixtures.dists import make_wheels
from tests.fixtures.faulty_proxy import FaultyProxy, UploadFault, proxy_inputs
from tests.fixtures.peers import PypiServerIndex
from tests.helpers import Run, run_action

pytestmark = pytest.mark.peers

#: How long the proxy keeps a stored file out of the simple pages.
LAG = 3.0


@pytest.fixture(autouse=True)
def short_confirm_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look again every 0.25-1 s, for up to 10 s: longer than the lag, far shorter than production's 60 s."""
    monkeypatch.setattr(confirm, "DEFAULT_POLICY", confirm.ConfirmPolicy(wait=10.0, first_delay=0.25, max_delay=1.0))


def _run(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **extra: str,
) -> Run:
    return run_action(monkeypatch, capsys, work, proxy_inputs(pypiserver, proxy, **extra))


def _records(run: Run) -> dict[str, dict[str, object]]:
    return {record["filename"]: record for record in json.loads(run.outputs["files"])}


def _sha256s(paths: list[Path]) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


@pytest.mark.parametrize("skip_existing", ["false", "true"])
@pytest.mark.parametrize("fault", ["stored-then-status", "lose-answer"])
def test_a_lost_answer_then_already_exists_is_our_own_upload(
    fault: str,
    skip_existing: str,
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    wheels = make_wheels(tmp_path / "dist", 4, distinct_by="platform")
    first = wheels[0].name  # the project's first file: it goes alone, and the others wait for it
    proxy.listing_lag = LAG
    proxy.faults.append(UploadFault(first, fault, status=500))

    run = _run(pypiserver, proxy, tmp_path, monkeypatch, capsys, **{"skip-existing": skip_existing})

    assert run.code == ExitCode.OK, run.out
    assert proxy.uploads_of(first)[:2] == ["500" if fault == "stored-then-status" else "reset", "409"], proxy.log
    records = _records(run)
    assert {name: record["state"] for name, record in records.items()} == dict.fromkeys(
        (wheel.name for wheel in wheels), "uploaded"
    )
    assert "already exists" not in run.summary
    assert "its answer was lost" in run.out
    assert pypiserver.sha256s() == _sha256s(wheels), "every file stored once, as sent"


def test_a_file_an_earlier_run_stored_behind_a_stale_listing_is_skipped(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheels = make_wheels(tmp_path / "dist", 3, distinct_by="platform")
    # An earlier run stored the first file; this run's look-up and the first look after the 409 miss it.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / wheels[0].name).write_bytes(wheels[0].read_bytes())
    assert _run(pypiserver, proxy, tmp_path, monkeypatch, capsys, **{"packages-dir": str(earlier)}).code == 0
    proxy.hide(wheels[0].name, LAG)

    run = _run(pypiserver, proxy, tmp_path, monkeypatch, capsys, **{"skip-existing": "true", "packages-dir": "dist"})

    assert run.code == ExitCode.OK, run.out
    assert proxy.uploads_of(wheels[0].name) == ["200", "409"]
    states = {name: record["state"] for name, record in _records(run).items()}
    assert states == {wheels[0].name: "skipped", wheels[1].name: "uploaded", wheels[2].name: "uploaded"}
    assert "lists no digest" not in run.out
    assert "not listed on the index yet" in run.out
    assert pypiserver.sha256s() == _sha256s(wheels)


def test_a_file_the_index_says_exists_but_never_lists_fails_alone_and_the_others_go_on(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheels = make_wheels(tmp_path / "dist", 2, name="first-demo", distinct_by="platform")
    others = make_wheels(tmp_path / "dist", 2, name="second-demo", distinct_by="platform")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / wheels[0].name).write_bytes(wheels[0].read_bytes())
    assert _run(pypiserver, proxy, tmp_path, monkeypatch, capsys, **{"packages-dir": str(earlier)}).code == 0
    proxy.hide(wheels[0].name, 3600)

    run = _run(pypiserver, proxy, tmp_path, monkeypatch, capsys, **{"skip-existing": "true", "packages-dir": "dist"})

    assert run.code == ExitCode.UPLOAD, run.out
    states = {name: record["state"] for name, record in _records(run).items()}
    assert states[wheels[0].name] == "failed"
    assert states[wheels[1].name] == "not tried"  # its project stops: a release should not grow past a failure
    assert [states[path.name] for path in others] == ["uploaded", "uploaded"]
    assert "the index says it exists, but does not list it" in run.out
    assert "lists no digest" not in run.out
