"""Running publish-action in-process or as a process, the way a workflow step or a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from publish_action.__main__ import main

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """What a run left behind."""

    code: int
    out: str
    outputs: dict[str, str]
    summary: str


def parse_outputs(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file written with ``name<<delimiter`` blocks (and plain ``name=value`` lines)."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def run_action(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workdir: Path,
    inputs: Mapping[str, str],
    *,
    github: bool = True,
    env: Mapping[str, str] | None = None,
    argv: Sequence[str] = (),
) -> Run:
    """Run ``main`` in-process with ``INPUT_*`` variables, as the action's container would."""
    outputs = workdir / "github_output"
    summary = workdir / "step_summary"
    outputs.write_text("")
    summary.write_text("")
    if github:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for name, value in inputs.items():
        monkeypatch.setenv(f"INPUT_{name.upper()}", value)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(workdir)
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out + captured.err, parse_outputs(outputs.read_text()), summary.read_text())


def run_process(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m publish_action`` as a separate process with exactly ``env`` added to a clean base."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "ACTIONS_", "INPUT_", "RUNNER_", "PUBLISH_ACTION_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "publish_action", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
