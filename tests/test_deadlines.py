"""One deadline per operation, shared by the calls nested in it, and an exact state for every file.

An index that accepts connections and never answers must not hold a file for longer than the file's
deadline; a file that was sent is never reported as "not tried"; one project's failure leaves the other
projects' uploads alone.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from publish_action import dists, http
from publish_action.credentials import StaticCredential
from publish_action.errors import ExitCode
from publish_action.http import RetryPolicy, deadline, time_left, with_retries
from publish_action.index import Index
from publish_action.outcomes import FileOutcome, FileState
from publish_action.upload import Uploader
from tests.fixtures.dists import make_wheels
from tests.helpers import run_action

_SHORT = RetryPolicy(attempts=5, base_delay=0.05, max_delay=0.1, budget=4.0, upload_floor=2.0)


@pytest.fixture
def silent_index() -> Iterator[str]:
    """Accepts connections, reads what arrives, never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(0.1)
            held.append(connection)

    def drain() -> None:
        while not stop.is_set():
            for connection in list(held):
                with contextlib.suppress(TimeoutError, OSError):
                    connection.recv(65536)
            time.sleep(0.01)

    threads = [threading.Thread(target=serve, daemon=True), threading.Thread(target=drain, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/legacy/"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def empty_simple_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def test_nested_deadlines_only_ever_shorten() -> None:
    assert time_left() is None
    with deadline(10):
        outer = time_left()
        with deadline(100):
            inner = time_left()
            assert inner is not None and outer is not None and inner <= outer
        with deadline(1):
            assert (time_left() or 99) <= 1
    assert time_left() is None


def test_with_retries_stops_when_the_deadline_would_pass_before_the_next_attempt() -> None:
    calls: list[float] = []

    def fail() -> httpx.Response:
        calls.append(time.monotonic())
        raise httpx.ConnectError("refused")

    started = time.monotonic()
    with pytest.raises(httpx.ConnectError):
        with_retries("x", fail, policy=RetryPolicy(attempts=50, base_delay=0.2, max_delay=0.2, budget=1.0))
    assert time.monotonic() - started < 1.5
    assert 2 <= len(calls) < 10


def test_a_silent_index_holds_a_file_no_longer_than_its_deadline(
    silent_index: str,
    empty_simple_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(http, "DEFAULT_POLICY", _SHORT)
    dist = tmp_path / "dist"
    (wheel,) = make_wheels(dist, 1, name="silent-demo")
    inputs = {
        "repository-url": silent_index,
        "check-url": empty_simple_api,
        "password": "pypi-" + "s" * 40,
        "attestations": "false",
        "packages-dir": str(dist),
    }

    started = time.monotonic()
    run = run_action(monkeypatch, capsys, tmp_path, inputs)
    elapsed = time.monotonic() - started

    # The file's deadline is 2 s and a few milliseconds for its size; the last look at the index adds little.
    assert elapsed < 8, run.out
    assert run.code == ExitCode.UPLOAD, run.out
    (record,) = json.loads(run.outputs["files"])
    assert record["state"] == "failed"
    assert json.loads(run.outputs["not-tried"]) == []
    assert f"{wheel.name}: sent, no answer" in run.summary
    assert "its upload deadline of 2s ran out" in run.summary


def _plan(tmp_path: Path, names: dict[str, int]) -> list[FileOutcome]:
    folder = tmp_path / "dist"
    for name, count in names.items():
        make_wheels(folder, count, name=name)
    plan = dists.plan(folder, verify_metadata=False)
    return [FileOutcome(dist) for dist in plan.distributions]


def _uploader(answer: httpx.MockTransport) -> Uploader:
    client = httpx.Client(transport=answer)
    return Uploader(
        client=client,
        index=Index.from_urls("http://127.0.0.1:9/a/b/c/"),  # no simple API: nothing to look up
        credential=StaticCredential("__token__", SecretStr("pypi-" + "u" * 40)),
        skip_existing=False,
        max_parallel=4,
        policy=RetryPolicy(attempts=3, base_delay=0.3, max_delay=0.3, budget=10.0),
    )


def _filename(request: httpx.Request) -> str:
    body = request.read().decode("latin-1")
    return body.split('filename="', 1)[1].split('"', 1)[0]


def test_a_file_sent_before_its_project_stopped_is_failed_never_not_tried(tmp_path: Path) -> None:
    outcomes = _plan(tmp_path, {"stop-demo": 3})
    first, flaky, refused = (outcome.dist.filename for outcome in outcomes)

    def answer(request: httpx.Request) -> httpx.Response:
        name = _filename(request)
        if name == first:
            return httpx.Response(200)
        if name == refused:
            time.sleep(0.05)  # refused while the flaky file waits for its second attempt
            return httpx.Response(400, json={"message": "no"})
        return httpx.Response(503)

    _uploader(httpx.MockTransport(answer)).upload(outcomes)

    states = {outcome.dist.filename: outcome for outcome in outcomes}
    assert states[first].state is FileState.UPLOADED
    assert states[refused].state is FileState.FAILED
    # It was POSTed once and answered 503; the project then stopped. It is failed, with that said.
    assert states[flaky].state is FileState.FAILED, states[flaky].detail
    assert states[flaky].attempts == 1
    assert isinstance(states[flaky].error, Exception)
    assert "stopped because another of its files failed" in str(states[flaky].error)


def test_one_projects_failure_leaves_other_projects_alone(tmp_path: Path) -> None:
    outcomes = _plan(tmp_path, {"broken-demo": 2, "healthy-demo": 2})

    def answer(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(400, json={"message": "no"}) if "broken_demo" in _filename(request) else httpx.Response(200)
        )

    _uploader(httpx.MockTransport(answer)).upload(outcomes)

    by_project: dict[str, list[FileState]] = {}
    for outcome in outcomes:
        by_project.setdefault(outcome.dist.project, []).append(outcome.state)
    assert by_project["healthy-demo"] == [FileState.UPLOADED, FileState.UPLOADED]
    assert by_project["broken-demo"] == [FileState.FAILED, FileState.NOT_TRIED]
