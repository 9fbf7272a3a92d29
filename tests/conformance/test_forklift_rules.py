"""Every case of the bad-distribution corpus, uploaded with real twine, is refused by the stand-in as by PyPI.

twine checks none of PyPI's upload rules, so what it sends is what a user's twine would send to PyPI. For
each case (``tests/fixtures/bad_dists.py``: id, rule, Warehouse's refusal text, how the file is built) the
stand-in must answer with the case's status and Warehouse's text, and store nothing. twine reads the file
itself first (it needs the metadata for the form) and validates that metadata with packaging: the files it
cannot read or refuses never reach any index through twine. For those the test checks that twine stopped
before sending anything, then sends the file the way twine would have (its form, built from the file's raw
metadata without validation) and checks the stand-in's refusal all the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import httpx
import pytest
from packaging.metadata import parse_email

from tests.fixtures.bad_dists import CASES, SETUPTOOLS, BadCase, Corpus
from tests.fixtures.dists import DistCache, dist_cache  # noqa: F401 (fixture)
from tests.sandbox import OIDCIssuer, Warehouse
from tests.sandbox._dists import upload_fields, upload_file
from tests.sandbox.fixtures import DEFAULT_PUBLISHER

pytestmark = pytest.mark.sandbox

TWINE = str(Path(sys.executable).with_name("twine"))


@pytest.fixture(scope="module")
def corpus(dist_cache: DistCache, tmp_path_factory: pytest.TempPathFactory) -> Corpus:  # noqa: F811
    return Corpus(dist_cache, tmp_path_factory.mktemp("forklift-corpus"))


def _mint(warehouse: Warehouse, issuer: OIDCIssuer) -> str:
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": issuer.mint("pypi")}, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def _twine_upload(url: str, path: Path, token: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINE_")}
    # A private HOME keeps any ~/.pypirc or keyring out; a wide console keeps rich from wrapping the reason.
    env.update(
        {
            "HOME": str(home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "NO_COLOR": "1",
            "COLUMNS": "4000",
        }
    )
    return subprocess.run(
        [
            TWINE, "upload", "--repository-url", url, "-u", "__token__", "-p", token,
            "--non-interactive", "--disable-progress-bar", str(path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip


def _raw_metadata(path: Path) -> bytes | None:
    """The file's METADATA / PKG-INFO bytes if the archive opens at all (no other check)."""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
                return archive.read(names[0]) if names else None
        with tarfile.open(path, "r:gz") as tar:
            infos = sorted((m for m in tar.getmembers() if m.name.endswith("/PKG-INFO")), key=lambda m: len(m.name))
            extracted = tar.extractfile(infos[0]) if infos else None
            return extracted.read() if extracted is not None else None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError):
        return None


def _form_as_twine_sends_it(path: Path) -> dict[str, str | list[str]]:
    """twine's upload form for ``path`` from its raw (unvalidated) metadata; file-name fields otherwise."""
    from twine.package import _RAW_TO_PACKAGE_METADATA, _safe_name
    from twine.repository import Repository

    form: dict[str, str | list[str]] = dict(upload_fields(path))
    form.pop("md5_digest")  # twine 7 sends sha256 and blake2 only
    raw_bytes = _raw_metadata(path)
    if raw_bytes is None:
        return form
    raw, _ = parse_email(raw_bytes)
    data = {_RAW_TO_PACKAGE_METADATA[k]: v for k, v in raw.items() if k in _RAW_TO_PACKAGE_METADATA}
    seen: set[str] = set()
    for key, value in Repository._convert_metadata_to_list_of_tuples(data):  # type: ignore[arg-type]
        previous = form.get(key) if key in seen else None
        form[key] = value if previous is None else [*([previous] if isinstance(previous, str) else previous), value]
        seen.add(key)
    if "name" in raw:
        form["name"] = _safe_name(str(raw["name"]))
    return form


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_twine_upload_is_refused_as_warehouse_refuses_it(
    case: BadCase, corpus: Corpus, warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path
) -> None:
    warehouse.add_publisher(SETUPTOOLS, DEFAULT_PUBLISHER)
    if case.setup is not None:
        case.setup(warehouse, corpus.cache, tmp_path / "scratch")
    stored_before = sorted(f.filename for f in warehouse.files)
    projects_before = set(warehouse.projects)
    bad = corpus.copy_to(tmp_path / "dist", case)
    token = _mint(warehouse, oidc_issuer)
    warehouse.requests.clear()

    result = _twine_upload(warehouse.upload_url, bad, token, tmp_path)

    output = _flat(result.stdout + result.stderr)
    uploads = warehouse.requests.for_endpoint("upload")
    assert result.returncode != 0, output
    if uploads:
        assert [r.status for r in uploads] == [case.status], output
        assert _flat(case.warehouse) in output
    else:
        # twine stopped on its own before sending anything (it could not read the file, or packaging refused
        # its metadata); what twine would have sent must still be refused by the index.
        response = upload_file(warehouse.upload_url, bad, token, base_fields=_form_as_twine_sends_it(bad))
        assert response.status_code == case.status, response.reason_phrase
        assert _flat(case.warehouse) in _flat(response.reason_phrase)
    assert sorted(f.filename for f in warehouse.files) == stored_before
    assert set(warehouse.projects) == projects_before
