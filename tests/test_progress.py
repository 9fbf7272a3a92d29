"""Progress a person can watch: bars for uploads and a line per phase in a real terminal (tmux), none in CI
logs; and what the bars are fed (every byte of every attempt)."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from publish_action.progress import CountingReader
from publish_action.report import Reporter
from publish_action.report.bars import wanted
from tests import canary
from tests.fixtures.dists import DistCache
from tests.sandbox.world import World

pytestmark = pytest.mark.sandbox

#: The bar rich draws, and its spinner's mark for a finished task.
BAR = "━"
DONE = "✓"


@pytest.fixture
def world_options() -> dict[str, Any]:
    # A Google VM's job: Trusted Publishing and attestations, with no CI's variables (a terminal's run).
    return {"provider": "google"}


def test_bars_only_for_a_terminal_outside_ci() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wanted(Tty(), {"TERM": "xterm-256color"})
    assert not wanted(io.StringIO(), {"TERM": "xterm-256color"})
    assert not wanted(Tty(), {"TERM": "xterm-256color", "CI": "true"})
    assert not wanted(Tty(), {"TERM": "xterm-256color", "GITLAB_CI": "true"})
    assert not wanted(Tty(), {"TERM": "dumb"})
    # A GitHub job's log is never drawn on, whatever its stream claims.
    assert type(Reporter({"GITHUB_ACTIONS": "true"}, Tty()).progress).__name__ == "NoProgress"
    assert type(Reporter({"TERM": "xterm"}, Tty()).progress).__name__ == "Bars"


def test_the_reader_counts_every_byte_read(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    path = tmp_path / "blob"
    path.write_bytes(data)
    counted: list[int] = []
    with path.open("rb") as file:
        reader = CountingReader(file, counted.append)
        assert reader.fileno() == file.fileno()
        read = b"".join(iter(lambda: reader.read(65536), b""))
        reader.seek(0)
        assert reader.tell() == 0
    assert read == data
    assert sum(counted) == len(data)


def _in_tmux(world: World, workdir: Path, *, ci: bool) -> tuple[str, int]:
    """Run the action in a real terminal (a detached tmux pane, 200 columns) and return what the pane
    shows at the end, and the exit code."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for the terminal test (apt-get install tmux)")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        **world.action_env(packages_dir=str(workdir / "dist")),
    }
    if ci:
        env["CI"] = "true"
    canary.register_inputs(env, "the terminal test's inputs")
    assignments = " ".join(shlex.quote(f"{name}={value}") for name, value in env.items())
    script = workdir / "run.sh"
    script.write_text(
        f"cd {shlex.quote(str(workdir))}\n"
        f"env -i {assignments} {shlex.quote(sys.executable)} -m publish_action\n"
        'echo "__EXIT__=$?"\nsleep 120\n',
        encoding="utf-8",
    )
    session = f"progress-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "-u", "new-session", "-d", "-s", session, "-x", "200", "-y", "80", f"bash {script}"], check=True
    )
    try:
        with canary.watch():
            deadline = time.monotonic() + 120
            pane = ""
            while time.monotonic() < deadline:
                pane = subprocess.run(
                    ["tmux", "-u", "capture-pane", "-p", "-J", "-S", "-400", "-t", session],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                if "__EXIT__=" in pane:
                    break
                time.sleep(0.2)
            else:
                pytest.fail(f"the run did not end in the terminal:\n{pane}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)
    canary.assert_clean({"terminal": pane})
    code = int(pane.split("__EXIT__=", 1)[1].split()[0])
    return pane, code


def test_a_terminal_run_shows_a_bar_per_upload_and_a_line_per_phase(
    world: World, dist_cache: DistCache, tmp_path: Path
) -> None:
    names = [path.name for path in dist_cache.copy_to(tmp_path / "dist", "hatch")]

    pane, code = _in_tmux(world, tmp_path, ci=False)

    assert code == 0, pane
    lines = pane.splitlines()
    for name in names:
        (bar,) = [line for line in lines if line.lstrip().startswith(f"{DONE} {name}")]
        assert BAR in bar
        size = (tmp_path / "dist" / name).stat().st_size
        assert f"{size / 1024:.1f}/{size / 1024:.1f} KiB" in bar, bar
    for phase in ("Attestations for 2 file(s)", "Confirming what"):
        assert any(line.lstrip().startswith(f"{DONE} {phase}") for line in lines), pane
    # The log's lines are all there, above the bars.
    assert sum(1 for line in lines if line.startswith("Uploading ")) == 2
    assert "== Result" in pane


def test_a_ci_run_in_a_terminal_shows_no_bars(world: World, dist_cache: DistCache, tmp_path: Path) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch")

    pane, code = _in_tmux(world, tmp_path, ci=True)

    assert code == 0, pane
    assert BAR not in pane and DONE not in pane
    assert sum(1 for line in pane.splitlines() if line.startswith("Uploading ")) == 2
