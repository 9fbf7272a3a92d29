"""Retries against a real pypiserver behind a fault-injecting proxy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.fixtures.dists import make_wheels
from tests.fixtures.faulty_proxy import FaultyProxy, UploadFault
from tests.fixtures.faulty_proxy import proxy_inputs as _inputs
from tests.fixtures.peers import PypiServerIndex
from tests.helpers import run_action

pytestmark = pytest.mark.peers


def test_two_503s_then_accepted_is_uploaded_with_retries_logged(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    wheels = make_wheels(tmp_path / "dist", 6, distinct_by="platform")
    target = wheels[3].name
    proxy.faults.append(UploadFault(target, "status", times=2, status=503))

    run = run_action(monkeypatch, capsys, tmp_path, _inputs(pypiserver, proxy))

    assert run.code == 0, run.out
    assert proxy.uploads_of(target) == ["503", "503", "200"]
    assert f"{target}: attempt 1 of 5 failed (HTTP 503" in run.out
    assert f"{target}: attempt 2 of 5 failed (HTTP 503" in run.out
    assert len(json.loads(run.outputs["uploaded"])) == 6
    assert pypiserver.sha256s()[target] == hashlib.sha256(wheels[3].read_bytes()).hexdigest()
    record = next(r for r in json.loads(run.outputs["files"]) if r["filename"] == target)
    assert record["attempts"] == 3


def test_429_retry_after_is_honoured(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    wheel = make_wheels(tmp_path / "dist", 1)[0]
    proxy.faults.append(UploadFault(wheel.name, "status", times=1, status=429, retry_after="0"))
    run = run_action(monkeypatch, capsys, tmp_path, _inputs(pypiserver, proxy))
    assert run.code == 0, run.out
    assert "attempt 1 of 5 failed (HTTP 429 Too Many Requests); retrying in 0.0s" in run.out
    assert proxy.uploads_of(wheel.name) == ["429", "201"] or proxy.uploads_of(wheel.name) == ["429", "200"]


def test_a_lost_answer_is_not_sent_twice_when_the_index_holds_the_file(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    wheel = make_wheels(tmp_path / "dist", 1)[0]
    proxy.faults.append(UploadFault(wheel.name, "lose-answer", times=1))

    run = run_action(monkeypatch, capsys, tmp_path, _inputs(pypiserver, proxy))

    assert run.code == 0, run.out
    assert proxy.uploads_of(wheel.name) == ["reset"]
    assert "the index holds it after all; not sending it again" in run.out
    assert json.loads(run.outputs["uploaded"]) == [wheel.name]
    assert pypiserver.sha256s() == {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}


def test_persistent_503_fails_the_file_and_stops_the_rest(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    wheels = make_wheels(tmp_path / "dist", 3)
    proxy.faults.append(UploadFault(wheels[0].name, "status", times=99, status=503))

    run = run_action(monkeypatch, capsys, tmp_path, _inputs(pypiserver, proxy))

    assert run.code == 6, run.out
    assert proxy.uploads_of(wheels[0].name) == ["503"] * 5
    assert json.loads(run.outputs["failed"]) == [wheels[0].name]
    assert sorted(json.loads(run.outputs["not-tried"])) == sorted(w.name for w in wheels[1:])
    assert pypiserver.sha256s() == {}
    assert "did not accept it after 5 attempts (last: HTTP 503" in run.out
