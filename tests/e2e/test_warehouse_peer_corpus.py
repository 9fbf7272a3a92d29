"""The refusal corpus three ways: the real Warehouse, our stand-in, and pre-flight's prediction, side by side.

Each file of ``tests/fixtures/bad_dists.py`` that breaks a rule of its own (the cases about the release or
project on the index are held against the peer by ``test_warehouse_peer.py``) is sent with twine, as a
user's twine sends it, to the real Warehouse peer and to a fresh Warehouse stand-in; pre-flight reads the
same file. The three must agree: the same status and refusal text from both indexes (help links aside,
which name each server's own host), and a prediction that names the case's rule. Any disagreement fails
the case. The table of all three is written to ``corpus-table.md`` in the peer's state folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from publish_action import rules
from tests.fixtures.bad_dists import CASES, SETUPTOOLS, BadCase, Corpus, predict
from tests.fixtures.dists import DistCache
from tests.fixtures.twine_client import flat, form_as_twine_sends_it, twine_upload
from tests.peers.warehouse import STATE_DIR, SeededPeer
from tests.sandbox import OIDCIssuer, Warehouse
from tests.sandbox._dists import upload_file
from tests.sandbox.fixtures import DEFAULT_PUBLISHER

FILE_CASES = [case for case in CASES if case.setup is None]
_TWINE_ERROR = re.compile(r"HTTPError: (?P<status>\d{3}) [A-Za-z ]*? from (?P<url>\S+) (?P<text>.*)$")
_ROWS: list[tuple[str, str, str, str, str]] = []


@pytest.fixture(scope="module")
def corpus(dist_cache: DistCache, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(dist_cache, tmp_path_factory.mktemp("peer-corpus"))


@pytest.fixture(scope="module", autouse=True)
def table() -> Iterator[None]:
    """Write the three-way table once every case has run."""
    yield
    lines = [
        "| case | rule | real Warehouse | stand-in | pre-flight |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in _ROWS),
    ]
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "corpus-table.md").write_text("\n".join(lines) + "\n")


def _answer(url: str, path: Path, token: str, home: Path) -> tuple[int, str, bool]:
    """What the index answered twine for ``path`` (status, text), and whether twine itself sent it."""
    result = twine_upload(url, path, token, home)
    assert result.returncode != 0, result.stdout + result.stderr
    output = flat(result.stdout + result.stderr)
    match = _TWINE_ERROR.search(output)
    if match is not None:
        return int(match["status"]), match["text"].strip(), True
    # twine stopped before sending (it could not read the file, or packaging refused its metadata): what
    # twine would have sent, sent by hand.
    response = upload_file(url, path, token, base_fields=form_as_twine_sends_it(path))
    return response.status_code, flat(response.reason_phrase), False


def _normalized(text: str, *origins: str) -> str:
    for origin in origins:
        text = text.replace(origin, "<index>")
    return text.replace("https://pypi.org", "<index>").rstrip(".")


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.id for case in FILE_CASES])
def test_the_real_warehouse_the_stand_in_and_pre_flight_agree(
    case: BadCase,
    corpus: Corpus,
    seeded_peer: SeededPeer,
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    tmp_path: Path,
) -> None:
    peer = seeded_peer.peer
    bad = corpus.copy_to(tmp_path / "dist", case)
    project_files = {project: peer.files(project) for project in ("sandbox-demo", "sandbox-setuptools-demo")}

    real_status, real_text, _sent = _answer(peer.upload_url, bad, seeded_peer.token, tmp_path)
    warehouse.add_publisher(SETUPTOOLS, DEFAULT_PUBLISHER)
    minted = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": oidc_issuer.mint("pypi")}, timeout=10)
    stand_status, stand_text, _ = _answer(warehouse.upload_url, bad, minted.json()["token"], tmp_path)
    predicted = [finding.rule for finding in rules.refusals(predict(bad), held_identical=False)]
    _ROWS.append(
        (
            case.id,
            case.rule,
            f"{real_status} {_normalized(real_text, peer.url)}",
            f"{stand_status} {_normalized(stand_text, warehouse.url)}",
            ", ".join(predicted) or "accepted",
        )
    )

    assert real_status == case.status, real_text
    assert flat(case.warehouse) in real_text
    assert (stand_status, _normalized(stand_text, warehouse.url)) == (real_status, _normalized(real_text, peer.url))
    assert case.rule in predicted
    # Refused means stored nowhere.
    assert {project: peer.files(project) for project in project_files} == project_files
    assert warehouse.files == []
