"""Container mode cancelled as a runner cancels it: SIGINT to ``docker run`` (the step's process, which
action.yml ``exec``s) reaches the program as the container's PID 1, which stops the run and writes the
report; SIGTERM alone (``docker stop``) the same."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.e2e._harness import ActionImage, docker_run_command
from tests.fixtures.dists import make_wheels
from tests.sandbox import Fault
from tests.sandbox.world import World
from tests.test_cancellation import SIGTERM_AFTER, Job, records, step_env, wait_until_held


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_cancelled_container_reports_every_file_truly(
    first: signal.Signals, action_image: ActionImage, world: World, tmp_path: Path
) -> None:
    wheels = make_wheels(tmp_path / "dist", 3, distinct_by="platform")
    names = [wheel.name for wheel in wheels]
    token = world.warehouse.add_api_token("maintainer", projects=("sandbox-demo",))
    holding = world.warehouse.faults.add("upload", Fault(kind="delay", seconds=15.0, times=1, skip=1))
    env = step_env(
        world, tmp_path, password=token, attestations="false", max_parallel="1", packages_dir=str(tmp_path / "dist")
    )
    inputs = {name: value for name, value in env.items() if name.startswith(("INPUT_", "GITHUB_"))}
    command = docker_run_command(action_image.tag, env=inputs, mounts=[tmp_path], workdir=tmp_path)
    job = Job(command, {"PATH": env["PATH"], **inputs}, tmp_path)
    job.wait_for(f"Uploading {names[1]}", timeout=120)
    wait_until_held(holding)

    code, took = job.cancel(first)

    assert code == ExitCode.CANCELLED, job.log
    assert took < SIGTERM_AFTER, f"exited {took:.1f}s after {first.name}\n{job.log}"
    states = records(job)
    assert [states[name]["state"] for name in names] == ["uploaded", "failed", "not tried"], job.log
    assert {stored.filename for stored in world.warehouse.files} == {names[0]}
    summary = job.summary.read_text()
    assert f"{first.name} arrived" in summary
    assert all(f"| `{name}` |" in summary for name in names)
