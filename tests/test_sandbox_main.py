"""``python -m tests.sandbox`` as a process: announces itself, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import shlex
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[1]


def _parse(env_file: Path) -> dict[str, str]:
    values = {}
    for line in env_file.read_text().splitlines():
        assert line.startswith("export "), line
        name, _, value = line.removeprefix("export ").partition("=")
        (values[name],) = shlex.split(value) or [""]
    return values


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env_file = tmp_path / "sandbox.env"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sandbox", "--env-file", str(env_file), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate(timeout=10)
            pytest.fail(f"sandbox did not start: {out}\n{err}")
        time.sleep(0.05)
    return process, _parse(env_file)


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    return out, err


def test_process_announces_serves_and_stops(tmp_path: Path):
    process, env = _start(tmp_path, "--project", "my-proj", "--audience", "testpypi")
    try:
        audience = httpx.get(f"{env['SANDBOX_WAREHOUSE_URL']}/_/oidc/audience", timeout=10).json()
        token = httpx.get(
            env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=testpypi",
            headers={"Authorization": f"bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"},
            timeout=10,
        ).json()["value"]
        minted = httpx.post(f"{env['SANDBOX_WAREHOUSE_URL']}/_/oidc/mint-token", json={"token": token}, timeout=10)
    finally:
        out, err = _stop(process)

    assert audience == {"audience": "testpypi"}
    assert minted.status_code == 200, minted.text
    assert env["SANDBOX_PROJECT"] == "my-proj"
    assert env["SANDBOX_REPOSITORY_URL"] == env["SANDBOX_WAREHOUSE_URL"] + "/legacy/"
    assert env["GITHUB_REPOSITORY"] == "octo-org/sandbox-demo"
    # stdout carries the same lines as the env file, and nothing else.
    assert _parse_lines(out) == env
    assert "sandbox stopped" in err


def _parse_lines(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        (values[name],) = shlex.split(value) or [""]
    return values


def test_process_with_tls_names_the_ca(tmp_path: Path):
    process, env = _start(tmp_path, "--tls")
    try:
        assert env["SANDBOX_WAREHOUSE_URL"].startswith("https://127.0.0.1:")
        assert env["SSL_CERT_FILE"] == env["SANDBOX_CA_FILE"]
        trust = ssl.create_default_context(cafile=env["SANDBOX_CA_FILE"])
        response = httpx.get(f"{env['SANDBOX_WAREHOUSE_URL']}/_/oidc/audience", verify=trust, timeout=10)
        assert response.json() == {"audience": "pypi"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{env['SANDBOX_WAREHOUSE_URL']}/_/oidc/audience", timeout=10)
    finally:
        _stop(process)


@pytest.mark.parametrize("provider", ["gitlab", "google"])
def test_process_for_gitlab_and_google(tmp_path: Path, provider: str) -> None:
    process, env = _start(tmp_path, "--provider", provider)
    try:
        if provider == "gitlab":
            token = env["PYPI_ID_TOKEN"]
            assert env["GITLAB_CI"] == "true" and "SIGSTORE_ID_TOKEN" in env
        else:
            token = httpx.get(
                f"http://{env['GCE_METADATA_HOST']}/computeMetadata/v1/instance/service-accounts/default/identity",
                params={"audience": "pypi", "format": "full"},
                headers={"Metadata-Flavor": "Google"},
                timeout=10,
            ).text
        minted = httpx.post(f"{env['SANDBOX_WAREHOUSE_URL']}/_/oidc/mint-token", json={"token": token}, timeout=10)
    finally:
        _stop(process)
    assert not any(name.startswith("GITHUB_") for name in env)
    assert minted.status_code == 200, minted.text
