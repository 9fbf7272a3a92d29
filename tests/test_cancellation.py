"""A cancelled job ends with a true report: the program as a separate process, signalled as a runner signals
a job it cancels (SIGINT, SIGTERM 7.5 s later, a kill 2.5 s after that), in the middle of an upload to the
Warehouse stand-in made slow.

Four wheels go one at a time (``max-parallel: 1``): the first two are answered at once, the third is held
by the index, the signal arrives while it is being sent, and the fourth is never started. The outputs, the
job summary and the final table must say so, file by file, with the token revoked and exit code 130.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import make_wheels
from tests.helpers import parse_outputs
from tests.sandbox import Fault
from tests.sandbox.world import World

pytestmark = pytest.mark.sandbox

#: What a runner leaves between the signals of a cancellation.
SIGTERM_AFTER = 7.5
KILL_AFTER = 10.0


def wait_until_held(fault: Fault, timeout: float = 60.0) -> None:
    """Until the index holds a request in ``fault`` (a delay), its body read whole: the file is sent, not
    about to be. The program's "Uploading …" line comes a moment before the request, so a signal sent on
    that line alone may find the file not yet sent, which the report then rightly calls ``not tried``."""
    end = time.monotonic() + timeout
    while fault.hits == 0:
        if time.monotonic() > end:
            raise AssertionError(f"the index never held a request in {fault}")
        time.sleep(0.02)


class Job:
    """A step's process whose log is read line by line as it is written, with the runner's output files."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.outputs = Path(env["GITHUB_OUTPUT"])
        self.summary = Path(env["GITHUB_STEP_SUMMARY"])
        self.process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} never appeared:\n" + "\n".join(self.lines))

    def cancel(self, first: signal.Signals = signal.SIGINT) -> tuple[int, float]:
        """Signal as a runner does; the exit code and the seconds from the first signal to the exit."""
        sent = time.monotonic()
        self.process.send_signal(first)
        escalations = [(SIGTERM_AFTER, signal.SIGTERM), (KILL_AFTER, signal.SIGKILL)]
        while True:
            try:
                code = self.process.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if escalations and time.monotonic() - sent >= escalations[0][0]:
                    self.process.send_signal(escalations.pop(0)[1])
        took = time.monotonic() - sent
        self.drain()
        return code, took

    def drain(self) -> None:
        while True:
            try:
                line = self._queue.get(timeout=2)
            except queue.Empty:
                return
            if line is None:
                return
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


def step_env(world: World, workdir: Path, **inputs: str) -> dict[str, str]:
    """A GitHub Actions step's environment in the offline world: the job's variables, the inputs, fresh
    empty ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` files, and nothing of this process's own."""
    files = workdir / "runner-files"
    files.mkdir(exist_ok=True)
    (files / "output").write_text("")
    (files / "summary").write_text("")
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "ACTIONS_", "INPUT_", "RUNNER_", "PUBLISH_ACTION_"))
    }
    return {
        **base,
        **world.action_env(**inputs),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(files / "output"),
        "GITHUB_STEP_SUMMARY": str(files / "summary"),
        "PYTHONUNBUFFERED": "1",
    }


def native_job(world: World, workdir: Path, **inputs: str) -> Job:
    """``python -m publish_action`` as native mode runs it."""
    return Job([sys.executable, "-m", "publish_action"], step_env(world, workdir, **inputs), workdir)


def records(job: Job) -> dict[str, dict[str, object]]:
    outputs = parse_outputs(job.outputs.read_text())
    return {record["filename"]: record for record in json.loads(outputs["files"])}


@pytest.mark.parametrize(
    ("held", "third"),
    [(15.0, "failed"), (1.5, "uploaded")],
    ids=["answer-after-the-grace", "answer-within-the-grace"],
)
def test_a_job_cancelled_mid_upload_reports_every_file_truly(
    held: float, third: str, world: World, tmp_path: Path
) -> None:
    wheels = make_wheels(tmp_path / "dist", 4, distinct_by="platform")
    names = [wheel.name for wheel in wheels]
    holding = world.warehouse.faults.add("upload", Fault(kind="delay", seconds=held, times=1, skip=2))
    job = native_job(world, tmp_path, max_parallel="1")
    # Wheels go in name order; the third is the one the index holds.
    job.wait_for(f"Uploading {names[2]}")
    wait_until_held(holding)

    code, took = job.cancel()
    stored = {stored.filename for stored in world.warehouse.files}

    assert code == ExitCode.CANCELLED, job.log
    assert took < SIGTERM_AFTER, f"exited {took:.1f}s after SIGINT, past the runner's SIGTERM\n{job.log}"
    states = records(job)
    assert [states[name]["state"] for name in names] == ["uploaded", "uploaded", third, "not tried"], job.log
    # Each state is true against the index at the moment the program ended.
    assert stored == set(names[: 3 if third == "uploaded" else 2]), job.log
    outputs = parse_outputs(job.outputs.read_text())
    assert outputs["exit-code"] == "130"
    assert json.loads(outputs["not-tried"]) == [names[3]]
    summary = job.summary.read_text()
    for name in names:
        assert f"| `{name}` |" in summary
    assert "The run was cancelled" in summary
    assert "SIGINT arrived" in summary
    if third == "failed":
        assert "sent, no answer" in summary
    # The final table, and the token revoked.
    assert any(line.strip().startswith(names[3]) and "not tried" in line for line in job.lines), job.log
    assert world.warehouse.minted_tokens, "the run minted a token"
    assert not any(world.warehouse.token_is_live(token) for token in world.warehouse.minted_tokens)


def test_sigterm_alone_stops_the_run_the_same_way(world: World, tmp_path: Path) -> None:
    # `docker stop`, and a runner whose SIGINT was lost, send SIGTERM only.
    wheels = make_wheels(tmp_path / "dist", 3, distinct_by="platform")
    holding = world.warehouse.faults.add("upload", Fault(kind="delay", seconds=15.0, times=1, skip=1))
    job = native_job(world, tmp_path, max_parallel="1")
    job.wait_for(f"Uploading {wheels[1].name}")
    wait_until_held(holding)

    code, took = job.cancel(signal.SIGTERM)

    assert code == ExitCode.CANCELLED, job.log
    assert took < SIGTERM_AFTER, job.log
    states = records(job)
    assert [states[wheel.name]["state"] for wheel in wheels] == ["uploaded", "failed", "not tried"], job.log
    assert "SIGTERM arrived" in job.summary.read_text()


def test_a_job_cancelled_during_the_exchange_uploads_nothing_and_says_so(world: World, tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "dist", 2, distinct_by="platform")
    holding = world.warehouse.faults.add("mint", Fault(kind="delay", seconds=20.0, times=1))
    job = native_job(world, tmp_path)
    job.wait_for("Trusted Publishing with")
    wait_until_held(holding)  # the exchange is under way: the index holds the mint request

    code, took = job.cancel()

    assert code == ExitCode.CANCELLED, job.log
    assert took < SIGTERM_AFTER, job.log
    states = records(job)
    assert [states[wheel.name]["state"] for wheel in wheels] == ["not tried", "not tried"], job.log
    assert world.warehouse.files == []
    assert world.warehouse.requests.count("upload") == 0
