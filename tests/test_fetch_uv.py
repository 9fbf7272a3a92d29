"""scripts/fetch-uv.py: uv's binary out of its hash-pinned wheel, chosen by this machine's platform from PyPI's
read side (a real peer for look-ups), or a clear refusal that sends native mode to pip."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "fetch-uv.py"
LOCK = ROOT / "installer.lock"

pytestmark = pytest.mark.peers


def _fetch(lock: Path, dest: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(dest.parent)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(lock), str(dest)],
        capture_output=True, text=True, timeout=180, check=False, env={**base, **env},
    )  # fmt: skip


def test_the_pinned_uv_runs_from_its_wheel(tmp_path: Path) -> None:
    done = _fetch(LOCK, tmp_path / "tools")
    assert done.returncode == 0, done.stderr
    binary = Path(done.stdout.strip())
    assert binary.parent == tmp_path / "tools" and [p.name for p in binary.parent.iterdir()] == [binary.name]
    version = re.search(r"^uv==(\S+)", LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    assert version is not None
    ran = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.split()[:2] == ["uv", version.group(1)]


def test_a_wheel_the_lock_does_not_pin_is_never_used(tmp_path: Path) -> None:
    lock = tmp_path / "installer.lock"
    lock.write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, LOCK.read_text(encoding="utf-8")))
    done = _fetch(lock, tmp_path / "tools")
    assert done.returncode != 0
    assert "no pinned uv" in done.stderr and "wheel fits" in done.stderr
    assert not (tmp_path / "tools").exists()


def test_a_runner_with_its_own_index_is_left_to_pip(tmp_path: Path) -> None:
    done = _fetch(LOCK, tmp_path / "tools", PIP_INDEX_URL="https://mirror.example/simple/")
    assert done.returncode == 1
    assert "names its own package index" in done.stderr
