"""The README's two commands on a stock machine: a fresh Debian 12 container with its own python3 (no pip,
no ensurepip, no pyenv, no uv, no npm) runs ``scripts/demo`` and ``scripts/test`` from a copy of this
checkout, reaching PyPI for the packages as a developer's machine does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.e2e._harness import REPO_ROOT, ActionImage

STOCK_IMAGE = "publish-action-stock:local"
#: Debian's python3 without python3-venv has no ensurepip (and so no pip); the base image has both.
_DOCKERFILE = """\
FROM publish-action-base:local
RUN rm -rf /usr/lib/python3*/ensurepip \\
    && ! python3 -c 'import ensurepip' 2>/dev/null && ! python3 -m pip --version 2>/dev/null \\
    && ! command -v uv && ! command -v npm && ! command -v pyenv
"""


def _checkout_copy(dest: Path) -> Path:
    """The files git tracks, as they are in the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def test_scripts_demo_and_test_run_on_a_stock_debian(action_image: ActionImage, tmp_path: Path) -> None:
    # action_image made the local base image (scripts/e2e-setup); the stock image is it minus pip.
    built = subprocess.run(
        ["docker", "build", "--quiet", "-t", STOCK_IMAGE, "-"],
        input=_DOCKERFILE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    repo = _checkout_copy(tmp_path / "repo")
    script = "set -e; cd /repo; scripts/demo; scripts/test -p no:randomly tests/test_settings.py tests/test_redact.py"
    # The machine's CA bundle, as a developer's machine has it (here it trusts the proxy in front of PyPI);
    # Python's and uv's HTTPS read it through SSL_CERT_FILE.
    bundle = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    done = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "host", "--volume", f"{repo}:/repo",
            "--volume", f"{bundle}:/etc/ssl/certs/host-bundle.crt:ro",
            "--env", "SSL_CERT_FILE=/etc/ssl/certs/host-bundle.crt", "--env", "HOME=/root",
            STOCK_IMAGE, "bash", "-c", script,
        ],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    assert "fetching uv" in log, "uv came from somewhere other than its locked wheel"
    assert "No module named pip" not in log
    assert "uploaded" in done.stdout, "the demo's report"
    assert " passed" in done.stdout
