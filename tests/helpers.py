"""Running publish-action in-process or as a process, the way a workflow step or a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from publish_action.__main__ import main
from tests import canary


class JobWorld(Protocol):
    """An offline world a job runs in: the stand-ins' :class:`~tests.sandbox.world.World`, or one around a
    real index (:class:`~tests.peers.warehouse.PeerWorld`)."""

    @property
    def provider(self) -> str: ...

    def action_env(self, **inputs: str) -> dict[str, str]: ...


REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """What a run left behind."""

    code: int
    out: str
    outputs: dict[str, str]
    summary: str
    #: stdout and stderr interleaved as written (``out`` is stdout, then stderr).
    transcript: str = ""
    #: The kinds of secret (tests/canary.py) the stand-ins handed to the program during the run, in order.
    handed_out: tuple[str, ...] = ()


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
    """Run ``main`` in-process with ``INPUT_*`` variables, as the action's container would.

    The secret canary (tests/canary.py) then checks the log, the outputs and the summary: no registered
    secret outside ``::add-mask::`` lines, and every token handed out during the run masked in time.
    """
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
    canary.register_inputs({**inputs, **(env or {})}, "the test's inputs")
    capsys.readouterr()
    with canary.watch(capture_streams=True) as watched:
        code = main(list(argv))
    captured = capsys.readouterr()
    run = Run(
        code,
        captured.out + captured.err,
        parse_outputs(outputs.read_text()),
        summary.read_text(),
        transcript=watched.text(),
        handed_out=tuple(delivery.secret.kind for delivery in watched.handed_out),
    )
    canary.assert_run_clean(
        watched,
        {"the log": watched.text(), "GITHUB_OUTPUT": outputs.read_text(), "the step summary": run.summary},
        mask_lines=["the log"],
        github=github or os.environ.get("GITHUB_ACTIONS") == "true",
    )
    return run


def run_in_world(
    world: JobWorld,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    without: Collection[str] = (),
    github: bool | None = None,
    **inputs: str,
) -> Run:
    """:func:`run_action` as a job of the offline world runs it: its runner variables and Sigstore trust, and
    the given inputs (snake_case names, as :meth:`World.action_env` takes them); ``env`` adds variables and
    ``without`` leaves some of the job's out (a GitLab job without one of its ``id_tokens:``).

    ``github`` is :func:`run_action`'s: by default a GitHub world's run is a GitHub Actions step
    (``GITHUB_ACTIONS``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``), and a GitLab or Google world's run has
    no ``GITHUB_*`` variable at all.
    """
    world_env = world.action_env(**inputs)
    plain = {name[len("INPUT_") :].lower(): value for name, value in world_env.items() if name.startswith("INPUT_")}
    others = {name: value for name, value in world_env.items() if not name.startswith("INPUT_") and name not in without}
    on_github = world.provider == "github" if github is None else github
    return run_action(monkeypatch, capsys, workdir, plain, env={**others, **(env or {})}, github=on_github)


def run_process(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m publish_action`` as a separate process with exactly ``env`` added to a clean base.

    The secret canary checks its stdout and stderr, and that every token handed out meanwhile was masked.
    """
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "ACTIONS_", "INPUT_", "RUNNER_", "PUBLISH_ACTION_"))
    }
    canary.register_inputs(env, "the test's inputs")
    with canary.watch() as watched:
        completed = subprocess.run(
            [sys.executable, "-m", "publish_action", *args],
            env={**base, **env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    texts = {"stdout": completed.stdout, "stderr": completed.stderr}
    github = env.get("GITHUB_ACTIONS") == "true"
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = Path(env[name]) if env.get(name) else None
        if path is not None and path.is_file():
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
    canary.assert_clean(texts, mask_lines=["stdout", "stderr"])
    if github:
        # Without interleaving timestamps only presence is checked here: every handed-out token was masked.
        problems = canary.mask_problems(_with_text(watched, completed.stdout), "stdout")
        assert not problems, "secret canary: " + "\n  ".join(problems)
    return completed


def _with_text(watched: canary.Watch, text: str) -> canary.Watch:
    """The watch with ``text`` as its output and no hand-out offsets (a separate process's output)."""
    return canary.Watch(
        first_delivery=watched.first_delivery,
        transcript=None,
        handed_out=[canary.Delivery(d.secret, None, d.request) for d in watched.handed_out],
        static_text=text,
    )
