"""``uv publish --trusted-publishing always`` against the OIDC issuer + Warehouse stand-in.

uv is the strictest independent client of the Trusted Publishing exchange: it reads the GitHub runner
variables, fetches the audience and mints over **https** only (outside its test builds), uploads, then
burns the token. The index runs with TLS on loopback; uv trusts the throwaway CA through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox import Fault, GitHubClaims, OIDCIssuer, Warehouse
from tests.sandbox._dists import upload_file

pytestmark = pytest.mark.sandbox

UV = str(Path(sys.executable).with_name("uv"))


def _uv_publish(
    warehouse: Warehouse, dists: list[Path], tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    assert warehouse.ca_path is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(
        {
            "SSL_CERT_FILE": str(warehouse.ca_path),
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
            "UV_NO_CONFIG": "1",
            "NO_COLOR": "1",
            # uv retries transient failures with backoff; keep the budget small and the test quick.
            "UV_HTTP_RETRIES": "2",
        }
    )
    return subprocess.run(
        [
            UV,
            "publish",
            "--trusted-publishing",
            "always",
            "--publish-url",
            warehouse.upload_url,
            *extra,
            *map(str, dists),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_uv_trusted_publishing_round_trip(
    warehouse_tls: Warehouse, oidc_issuer: OIDCIssuer, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    warehouse = warehouse_tls

    result = _uv_publish(warehouse, dists, tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The whole conversation, in order: audience, mint, one upload per file, burn.
    assert warehouse.requests.endpoints() == ["audience", "mint", "upload", "upload", "burn"]
    assert oidc_issuer.requests.count("token") == 1
    assert oidc_issuer.issued[0].audience == "pypi"
    stored = {f.filename: f.content for f in warehouse.files}
    assert stored == {p.name: p.read_bytes() for p in dists}
    # uv burnt exactly the token it minted, so no live credential is left behind.
    (minted,) = warehouse.minted_tokens
    assert [(b.token, b.known) for b in warehouse.burns] == [(minted, True)]
    assert not warehouse.token_is_live(minted)
    # uv masks the minted token for the GitHub log and never prints the JWT.
    assert f"::add-mask::{minted}" in output
    assert oidc_issuer.issued_tokens[0] not in output


def test_uv_follows_the_audience_the_index_announces(
    warehouse_tls: Warehouse, oidc_issuer: OIDCIssuer, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    warehouse_tls.audience = "testpypi"

    result = _uv_publish(warehouse_tls, dists, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert oidc_issuer.issued[0].audience == "testpypi"


def test_uv_shows_warehouse_refusal_and_uploads_nothing(
    warehouse_tls: Warehouse, oidc_issuer: OIDCIssuer, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    oidc_issuer.claims = GitHubClaims(environment="staging")

    result = _uv_publish(warehouse_tls, dists, tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "invalid-publisher" in output
    assert "Publisher with matching claims was not found" in output
    assert warehouse_tls.requests.count("upload") == 0
    assert warehouse_tls.files == []


def test_uv_retries_a_reset_upload(
    warehouse_tls: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    # uv retries an upload on transport errors only (crates/uv-publish/src/lib.rs, custom retry loop).
    warehouse_tls.faults.add("upload", Fault(kind="reset", times=1))

    result = _uv_publish(warehouse_tls, dists[:1], tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert [r.status for r in warehouse_tls.requests.for_endpoint("upload")] == [None, 200]
    assert len(warehouse_tls.files) == 1


def test_uv_reports_a_5xx_upload_with_the_server_text(
    warehouse_tls: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    warehouse_tls.faults.add("upload", Fault(kind="status", status=503, times=1, body="index is resting"))

    result = _uv_publish(warehouse_tls, dists[:1], tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "503" in output
    # uv wraps its message to the terminal's width, which differs between a terminal and a worker process.
    assert "index is resting" in " ".join(output.split())
    assert warehouse_tls.files == []
    # Even a failed publish burns its token.
    assert [b.known for b in warehouse_tls.burns] == [True]


def test_uv_reupload_of_identical_file_succeeds(
    warehouse_tls: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    assert _uv_publish(warehouse_tls, dists, tmp_path).returncode == 0

    again = _uv_publish(warehouse_tls, dists, tmp_path)

    assert again.returncode == 0, again.stdout + again.stderr
    assert len(warehouse_tls.files) == 2
    assert len(warehouse_tls.burns) == 2


def test_uv_check_url_reads_the_simple_api(
    warehouse_tls: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    assert _uv_publish(warehouse_tls, dists, tmp_path).returncode == 0
    warehouse_tls.requests.clear()

    again = _uv_publish(warehouse_tls, dists, tmp_path, "--check-url", warehouse_tls.simple_url)

    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    # uv found both files, with matching hashes, in our PEP 691 answer and uploaded nothing.
    assert warehouse_tls.requests.count("simple") >= 1
    assert warehouse_tls.requests.count("upload") == 0
    for path in dists:
        assert f"File {path.name} already exists, skipping" in output
    simple = warehouse_tls.requests.for_endpoint("simple")
    assert {r.path for r in simple} == {"/simple/sandbox-demo/"}
    assert all("application/vnd.pypi.simple.v1+json" in r.headers.get("Accept", "") for r in simple)


def test_uv_installs_from_the_simple_index(
    warehouse: Warehouse, oidc_issuer: OIDCIssuer, dists: list[Path], tmp_path: Path
):
    token = warehouse.mint_direct(oidc_issuer.mint("pypi"))["token"]
    for path in dists:
        assert upload_file(warehouse.upload_url, path, token).status_code == 200
    target = tmp_path / "target"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update({"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1", "NO_COLOR": "1"})

    result = subprocess.run(
        [
            UV,
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(target),
            "--index-url",
            warehouse.simple_url,
            "--python",
            sys.executable,
            "sandbox-demo==1.0.0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "sandbox_demo" / "__init__.py").read_text() == "VALUE = 1\n"
    # uv found the wheel through our PEP 691 page and fetched it from the file URL it names.
    wheel = next(p for p in dists if p.suffix == ".whl")
    assert warehouse.requests.count("simple", 200) >= 1
    assert any(r.path.endswith("/" + wheel.name) for r in warehouse.requests.for_endpoint("files"))
