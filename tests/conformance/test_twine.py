"""twine 7 uploads to the Warehouse stand-in with a token minted through the issuer + index exchange.

twine only attempts Trusted Publishing itself for PyPI/TestPyPI URLs, so here it is the token client: the
test performs the exchange the way the action does (``id`` for the JWT, then mint-token) and hands twine the
minted token.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import id as id_client
import pytest

from tests.conformance.conftest import build_dists
from tests.fixtures.twine_client import run_twine
from tests.sandbox import OIDCIssuer, Warehouse

pytestmark = pytest.mark.sandbox


def _mint(warehouse: Warehouse) -> str:
    audience = httpx.get(f"{warehouse.url}/_/oidc/audience", timeout=10).json()["audience"]
    jwt_token = id_client.detect_credential(audience)
    assert jwt_token is not None
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": jwt_token}, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def _twine(args: list[str], token: str, home: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
    # A private HOME keeps any ~/.pypirc or keyring of the machine out of the run.
    env.update({"HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "NO_COLOR": "1"})
    result = run_twine(
        [*args, "--username=__token__", f"--password={token}", "--non-interactive", "--disable-progress-bar"],
        env,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_twine_uploads_wheel_and_sdist_byte_identical(
    warehouse: Warehouse, oidc_issuer: OIDCIssuer, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    token = _mint(warehouse)

    result = _twine(["upload", "--repository-url", warehouse.upload_url, *map(str, dists)], token, tmp_path)

    stored = {f.filename: f for f in warehouse.files}
    assert set(stored) == {p.name for p in dists}
    for path in dists:
        assert stored[path.name].content == path.read_bytes()
        assert stored[path.name].publisher is not None
        assert stored[path.name].publisher.repository == "octo-org/sandbox-demo"
    # twine sends the metadata twine's own dictionary builds; Warehouse's form checks all passed.
    wheel = next(f for f in stored.values() if f.filetype == "bdist_wheel")
    assert wheel.form[":action"] == ["file_upload"]
    assert wheel.form["protocol_version"] == ["1"]
    assert wheel.form["pyversion"] == ["py3"]
    assert wheel.form["metadata_version"][0].startswith("2.")
    assert "sha256_digest" in wheel.form
    assert "blake2_256_digest" in wheel.form
    assert warehouse.requests.endpoints() == ["audience", "mint", "upload", "upload"]
    # Secrets stay out of twine's output.
    assert token not in result.stdout + result.stderr
    for jwt_token in oidc_issuer.issued_tokens:
        assert jwt_token not in result.stdout + result.stderr


def test_twine_reupload_identical_is_fine_and_changed_bytes_fail(
    warehouse: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    token = _mint(warehouse)
    _twine(["upload", "--repository-url", warehouse.upload_url, *map(str, dists)], token, tmp_path)

    again = _twine(["upload", "--repository-url", warehouse.upload_url, *map(str, dists)], token, tmp_path)
    assert again.returncode == 0

    changed = build_dists(tmp_path / "changed", body="VALUE = 2\n")
    wheel = next(p for p in changed if p.suffix == ".whl")
    refused = _twine(["upload", "--repository-url", warehouse.upload_url, str(wheel)], token, tmp_path, check=False)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "400" in output
    assert "File already exists" in output
    assert len(warehouse.files) == 2


def test_twine_sends_attestations_that_reach_the_hook(
    warehouse: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    attestation = {
        "version": 1,
        "verification_material": {"certificate": "AAAA", "transparency_entries": [{"logIndex": "1"}]},
        "envelope": {"statement": "AAAA", "signature": "AAAA"},
    }
    wheel = next(p for p in dists if p.suffix == ".whl")
    attestation_file = wheel.with_name(wheel.name + ".publish.attestation")
    attestation_file.write_text(json.dumps(attestation))
    seen: list[tuple[str, str]] = []
    warehouse.attestation_verifier = lambda filename, _content, attestations, _publisher: seen.append(
        (filename, attestations)
    )
    token = _mint(warehouse)

    _twine(
        # twine pairs each dist with the attestation files named on its command line.
        ["upload", "--attestations", "--repository-url", warehouse.upload_url, str(wheel), str(attestation_file)],
        token,
        tmp_path,
    )

    assert len(seen) == 1
    assert seen[0][0] == wheel.name
    assert json.loads(seen[0][1]) == [attestation]
    assert warehouse.file(wheel.name).provenance is not None


def test_twine_reports_an_expired_token(
    warehouse: Warehouse, github_env: dict[str, str], dists: list[Path], tmp_path: Path
):
    warehouse.token_lifetime = 0
    token = _mint(warehouse)

    result = _twine(
        ["upload", "--repository-url", warehouse.upload_url, *map(str, dists)], token, tmp_path, check=False
    )

    assert result.returncode != 0
    assert "403" in result.stdout + result.stderr
    assert warehouse.files == []
