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

from pathlib import Path

import httpx
import pytest

from tests.fixtures.bad_dists import CASES, SETUPTOOLS, BadCase, Corpus
from tests.fixtures.dists import DistCache, dist_cache  # noqa: F401 (fixture)
from tests.fixtures.twine_client import flat, form_as_twine_sends_it, twine_upload
from tests.sandbox import OIDCIssuer, Warehouse
from tests.sandbox._dists import upload_file
from tests.sandbox.fixtures import DEFAULT_PUBLISHER

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def corpus(dist_cache: DistCache, tmp_path_factory: pytest.TempPathFactory) -> Corpus:  # noqa: F811
    return Corpus(dist_cache, tmp_path_factory.mktemp("forklift-corpus"))


def _mint(warehouse: Warehouse, issuer: OIDCIssuer) -> str:
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": issuer.mint("pypi")}, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


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

    result = twine_upload(warehouse.upload_url, bad, token, tmp_path)

    output = flat(result.stdout + result.stderr)
    uploads = warehouse.requests.for_endpoint("upload")
    assert result.returncode != 0, output
    if uploads:
        assert [r.status for r in uploads] == [case.status], output
        assert flat(case.warehouse) in output
    else:
        # twine stopped on its own before sending anything (it could not read the file, or packaging refused
        # its metadata); what twine would have sent must still be refused by the index.
        response = upload_file(warehouse.upload_url, bad, token, base_fields=form_as_twine_sends_it(bad))
        assert response.status_code == case.status, response.reason_phrase
        assert flat(case.warehouse) in flat(response.reason_phrase)
    assert sorted(f.filename for f in warehouse.files) == stored_before
    assert set(warehouse.projects) == projects_before
