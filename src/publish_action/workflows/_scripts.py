"""What a ``run:`` script that uploads says: whether it runs twine or uv, only as a dry run, and to which
index."""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publish_action.workflows._model import Step


PYPI_UPLOAD = "https://upload.pypi.org/legacy/"


TESTPYPI_UPLOAD = "https://test.pypi.org/legacy/"


TWINE_UPLOAD = re.compile(r"(?:^|[\s;&|(])(?:python3?\s+-m\s+)?twine\s+upload\b")


UV_PUBLISH = re.compile(r"(?:^|[\s;&|(])uv\s+publish\b")


def only_dry_runs(script: str) -> bool:
    """True when every ``uv publish`` of the script is a ``--dry-run`` (it checks, it sends nothing)."""
    lines = [line for line in script.splitlines() if UV_PUBLISH.search(line)]
    return bool(lines) and all("--dry-run" in _words(line) for line in lines)


def _words(script: str) -> list[str]:
    try:
        return shlex.split(script, comments=True)
    except ValueError:
        return script.split()


def _option(words: list[str], *names: str) -> str | None:
    for position, word in enumerate(words):
        for name in names:
            if word == name and position + 1 < len(words):
                return words[position + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _step_env(step: Step, name: str) -> str | None:
    env = step.node.get("env")
    value = env.get(name) if env is not None else None
    return value.text if value is not None else None


def _named_index(name: str) -> str | None:
    return {"pypi": PYPI_UPLOAD, "testpypi": TESTPYPI_UPLOAD}.get(name.lower())


def _unknown_if_expression(value: str) -> str | None:
    return None if "${{" in value or "$" in value else value


def twine_index(script: str, step: Step) -> str | None:
    words = _words(script)
    url = _option(words, "--repository-url") or _step_env(step, "TWINE_REPOSITORY_URL")
    if url:
        return _unknown_if_expression(url)
    name = _option(words, "--repository", "-r") or _step_env(step, "TWINE_REPOSITORY")
    if name:
        return _named_index(name)
    return PYPI_UPLOAD


def uv_index(script: str, step: Step) -> str | None:
    words = _words(script)
    url = _option(words, "--publish-url") or _step_env(step, "UV_PUBLISH_URL")
    if url:
        return _unknown_if_expression(url)
    name = _option(words, "--index")
    if name:
        return _named_index(name)
    return PYPI_UPLOAD


__all__ = [
    "PYPI_UPLOAD",
    "TESTPYPI_UPLOAD",
    "TWINE_UPLOAD",
    "UV_PUBLISH",
    "only_dry_runs",
    "twine_index",
    "uv_index",
]
