"""A job cancelled mid-upload under act, our real action.yml in container and native mode.

GitHub's runner cancels a step by signalling its process (SIGINT, SIGTERM 7.5 s later, then a kill). act
0.2.89 cannot: on cancellation it kills a step run on the host with SIGKILL at once ("this step has been
cancelled: signal: killed"), which no program can answer. So the test sends the runner's signal itself, to
the step's process as act started it (the composite action's ``docker run``, or native mode's Python), and
act then carries on as a runner does: the step fails, its outputs and the job's later steps still run.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.e2e._harness import ActionImage, act_command, act_files, make_workspace
from tests.fixtures.dists import make_wheels
from tests.sandbox import Fault
from tests.sandbox.world import World
from tests.test_cancellation import SIGTERM_AFTER, Job, wait_until_held


def _dotenv(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.mark.parametrize("mode", ["container", "native"])
def test_a_job_cancelled_under_act_reports_every_file_truly(
    mode: str, action_image: ActionImage, world: World, tmp_path: Path
) -> None:
    wheels = make_wheels(tmp_path / "built", 3, distinct_by="platform")
    names = sorted(wheel.name for wheel in wheels)
    workspace = make_workspace(tmp_path / "repo", action_image, "publish.yml", wheels)
    token = world.warehouse.add_api_token("maintainer", projects=("sandbox-demo",))
    holding = world.warehouse.faults.add("upload", Fault(kind="delay", seconds=15.0, times=1, skip=1))
    report = tmp_path / "report"
    report.mkdir()
    variables = {
        "E2E_USER": "__token__",
        "E2E_REPOSITORY_URL": world.warehouse.upload_url,
        "E2E_PACKAGES_DIR": "dist",
        "E2E_ATTESTATIONS": "false",
        "E2E_MAX_PARALLEL": "1",
        "E2E_OUTPUTS_FILE": str(report / "outputs.env"),
        "E2E_SUMMARY_FILE": str(report / "summary.md"),
        "E2E_MODE": "" if mode == "container" else "native",
    }
    files = act_files(workspace, secrets={"E2E_PASSWORD": token})
    try:
        runner_files = tmp_path / "runner-files"
        runner_files.mkdir()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "GITHUB_OUTPUT": str(runner_files / "unused-output"),
            "GITHUB_STEP_SUMMARY": str(runner_files / "unused-summary"),
        }
        job = Job(act_command(workspace, variables=variables, files=files), env, workspace)
        job.wait_for(f"Uploading {names[1]}", timeout=300)
        wait_until_held(holding)
        step = _step_process(job.process.pid, "docker" if mode == "container" else "python")
        sent = time.monotonic()
        os.kill(step, signal.SIGINT)
        _wait_gone(step, SIGTERM_AFTER + 2.5)
        took = time.monotonic() - sent
        code = job.process.wait(timeout=120)
        job.drain()
    finally:
        for path in files:
            path.unlink(missing_ok=True)

    assert code != 0, job.log
    if mode == "native":
        # With nothing of this machine's environment but PATH and HOME: uv installed the locked set, trusting
        # the system's certificates as pip does.
        assert "native mode: installing into" in job.log
        assert "could not install the locked set" not in job.log
    assert took < SIGTERM_AFTER, f"the step ended {took:.1f}s after SIGINT\n{job.log}"
    # The step's outputs, through act's GITHUB_OUTPUT, as the workflow's next step printed them.
    lines = dict(line.split("E2E-OUTPUT ", 1)[1].split("=", 1) for line in job.lines if "E2E-OUTPUT " in line)
    assert lines["outcome"] == "failure", job.log
    assert json.loads(lines["uploaded"]) == [names[0]], job.log
    assert json.loads(lines["failed"]) == [names[1]], job.log
    # The outputs file and the summary file the action wrote, which outlive the job.
    outputs = _dotenv(report / "outputs.env")
    assert outputs["PUBLISH_ACTION_EXIT_CODE"] == str(int(ExitCode.CANCELLED)), job.log
    assert json.loads(outputs["PUBLISH_ACTION_NOT_TRIED"]) == [names[2]]
    summary = (report / "summary.md").read_text()
    assert "The run was cancelled" in summary and "SIGINT arrived" in summary
    assert all(f"| `{name}` |" in summary for name in names)
    assert {stored.filename for stored in world.warehouse.files} == {names[0]}


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(child) for child in children)
    return found


def _step_process(act_pid: int, program: str) -> int:
    """The step's process among act's descendants: ``docker run`` of our image, or ``python -m publish_action``."""
    pending, seen = [act_pid], []
    while pending:
        pid = pending.pop()
        seen.append(pid)
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            pending.extend(_children(pid))
        except (FileNotFoundError, ProcessLookupError):
            continue
        words = [word.decode(errors="replace") for word in command if word]
        if not words:
            continue
        if program == "docker" and Path(words[0]).name == "docker" and "run" in words:
            return pid
        if program == "python" and words[1:3] == ["-m", "publish_action"]:
            return pid
    raise AssertionError(f"no {program} step process among act's descendants {seen}")


def _wait_gone(pid: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"the step's process {pid} was still running {timeout}s after SIGINT")
