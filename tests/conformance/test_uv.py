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

pytestmark = pytest.mark.sandbox

UV = str(Path(sys.executable).with_name("uv"))


def _uv_publish(warehouse: Warehouse, dists: list[Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
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
    assert "index is resting" in output
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
