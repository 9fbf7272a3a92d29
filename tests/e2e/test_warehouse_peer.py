"""publish-action against the real Warehouse (PyPI's own code at a pinned commit), run as the action runs.

Every test goes through Warehouse's own views: the audience and mint-token views with the real publisher
look-up and claim checks, forklift, the simple API (PEP 691 JSON and HTML) and the integrity API. Our OIDC
issuer signs the job's tokens (the peer leaves their signatures unchecked) and the loopback Sigstore signs
the attestations (the peer stores them without checking them against Sigstore). The seed is
``tests/peers/seed.py``; each test uses its own project, so their order does not matter.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import DistCache
from tests.fixtures.twine_client import flat, twine_upload
from tests.helpers import Run, run_in_world
from tests.peers import seed
from tests.peers.warehouse import PeerWorld, SeededPeer
from tests.peers.warehouse import peer_world as start_peer_world
from tests.sandbox.gitlab_issuer import GITLAB_ISSUER, GitLabClaims, GitLabIssuer
from tests.sandbox.google_metadata import GOOGLE_ISSUER, GoogleClaims, GoogleMetadataServer
from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer


@pytest.fixture
def peer_world(seeded_peer: SeededPeer, tmp_path: Path) -> Iterator[PeerWorld]:
    with start_peer_world(seeded_peer.peer, tmp_path / "world") as started:
        yield started


def _run(peer_world: PeerWorld, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         **inputs: str) -> Run:  # fmt: skip
    return run_in_world(peer_world, monkeypatch, capsys, workdir, **{"index_rules": "pypi", **inputs})


#: The version the refused exchanges try to publish.
_NEVER_PUBLISHED = "9.0.0"


def _sha256s(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.iterdir()
        if not path.name.endswith(".attestation")
    }


def _states(run: Run) -> dict[str, str]:
    return {record["filename"]: record["state"] for record in json.loads(run.outputs["files"])}


def test_trusted_publishing_with_attestations_to_an_existing_project(
    peer_world: PeerWorld,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = peer_world.peer
    dist = tmp_path / "dist"
    dist_cache.copy_to(dist, "hatch", name=seed.TP_PROJECT)
    local = _sha256s(dist)

    run = _run(peer_world, tmp_path, monkeypatch, capsys, verify_published="true")

    assert run.code == ExitCode.OK, run.out
    assert sorted(json.loads(run.outputs["uploaded"])) == sorted(local)
    # What Warehouse's own simple API serves, in JSON and in HTML.
    assert peer.files(seed.TP_PROJECT) == local
    html = httpx.get(f"{peer.simple_url}{seed.TP_PROJECT}/", headers={"Accept": "text/html"}, timeout=30).text
    for name, sha256 in local.items():
        assert f"{name}</a>" in html and f"#sha256={sha256}" in html
    # Warehouse's integrity API serves each file's provenance, built from the attestation we sent and the
    # publisher that minted the token.
    for name in local:
        answer = peer.provenance(seed.TP_PROJECT, "1.0.0", name)
        assert answer.status_code == 200, answer.text
        (bundle,) = answer.json()["attestation_bundles"]
        assert bundle["publisher"]["kind"] == "GitHub"
        assert bundle["publisher"]["repository"] == "octo-org/sandbox-demo"
        assert bundle["publisher"]["workflow"] == "release.yml"
        sent = json.loads((dist / f"{name}.publish.attestation").read_text())
        assert bundle["attestations"] == [sent]
    # verify-published confirmed both from those answers.
    assert {r["filename"]: r["published"] for r in json.loads(run.outputs["files"])} == dict.fromkeys(local, "verified")
    # The peer has no burn-token view: the summary says so instead of claiming a revocation.
    assert "revoked after the upload" not in run.summary
    assert "expires by itself" in run.summary


def test_a_new_project_through_the_pending_publisher_dry_run_first(
    seeded_peer: SeededPeer,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = seeded_peer.peer
    claims = GitHubClaims(workflow_file=seed.PENDING_WORKFLOW)
    dist_cache.copy_to(tmp_path / "dist", "hatch", name=seed.PENDING_PROJECT)
    pending = "SELECT count(*) FROM pending_oidc_publishers WHERE project_name = :'project'"

    with start_peer_world(peer, tmp_path / "world", claims=claims) as peer_world:
        dry = _run(peer_world, tmp_path, monkeypatch, capsys, dry_run="true")
        assert dry.code == ExitCode.OK, dry.out
        assert "the token exchange was not tried" in dry.out
        # Nothing was created: no project, and the pending publisher is still pending.
        assert peer.project_json(seed.PENDING_PROJECT) is None
        assert peer.sql(pending, project=seed.PENDING_PROJECT) == [["1"]]

        real = _run(peer_world, tmp_path, monkeypatch, capsys, dry_run="false")

    assert real.code == ExitCode.OK, real.out
    assert peer.files(seed.PENDING_PROJECT) == _sha256s(tmp_path / "dist"), real.out
    # The mint turned the pending publisher into the new project's publisher, owned by the seed's user.
    assert peer.sql(pending, project=seed.PENDING_PROJECT) == [["0"]]
    rows = peer.sql(
        "SELECT g.workflow_filename FROM github_oidc_publishers g "
        "JOIN oidc_publisher_project_association a ON a.oidc_publisher_id = g.id "
        "JOIN projects p ON p.id = a.project_id WHERE p.normalized_name = :'project'",
        project=seed.PENDING_PROJECT,
    )
    assert rows == [[seed.PENDING_WORKFLOW]]
    owners = peer.sql(
        "SELECT u.username FROM roles r JOIN users u ON u.id = r.user_id JOIN projects p ON p.id = r.project_id "
        "WHERE p.normalized_name = :'project'",
        project=seed.PENDING_PROJECT,
    )
    assert owners == [[seed.OWNER]]


def test_re_runs_skip_every_file_the_index_holds(
    peer_world: PeerWorld,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = peer_world.peer
    dist_cache.copy_to(tmp_path / "dist", "hatch", name=seed.RERUN_PROJECT)
    first = _run(peer_world, tmp_path, monkeypatch, capsys)
    assert first.code == ExitCode.OK, first.out
    held = peer.files(seed.RERUN_PROJECT)

    again = _run(peer_world, tmp_path, monkeypatch, capsys, skip_existing="true")
    assert again.code == ExitCode.OK, again.out
    assert set(_states(again).values()) == {"skipped"}
    # Without skip-existing too: files the index holds byte for byte are duplicates, not sent again.
    plain = _run(peer_world, tmp_path, monkeypatch, capsys)
    assert plain.code == ExitCode.OK, plain.out
    assert set(_states(plain).values()) == {"skipped"}
    assert "Uploading " not in again.out + plain.out
    assert peer.files(seed.RERUN_PROJECT) == held


def _old_release(folder: Path, cache: Path, names: tuple[str, ...] = seed.OLD_RELEASE_FILES) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    shas = {}
    for name in names:
        real = seed.download(seed.OLD_PROJECT, seed.OLD_VERSION, name, cache)
        (folder / name).write_bytes(real.content)
        shas[name] = real.sha256
    return shas


def test_an_old_release_with_unnormalized_wheel_names_is_published_again_all_skipped(
    seeded_peer: SeededPeer,
    peer_world: PeerWorld,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # MarkupSafe 3.0.2 as PyPI holds it: a release from 2024 whose wheels are named MarkupSafe-….
    cache = tmp_path_factory.getbasetemp() / "pypi-files"
    local = _old_release(tmp_path / "dist", cache)
    assert peer_world.peer.files(seed.OLD_PROJECT) == local

    for inputs in ({"skip_existing": "true"}, {}):
        run = _run(
            peer_world, tmp_path, monkeypatch, capsys, password=seeded_peer.token, attestations="false", **inputs
        )
        assert run.code == ExitCode.OK, run.out
        assert _states(run) == dict.fromkeys(local, "skipped")
        assert "PyPI would refuse it" not in run.out

    # A file of that release the index does not hold is new: the closed release and its name are refused,
    # in one run, before anything is sent.
    _old_release(tmp_path / "dist", cache, (seed.OLD_RELEASE_NEW_FILE,))
    run = _run(peer_world, tmp_path, monkeypatch, capsys, password=seeded_peer.token, attestations="false")
    assert run.code == ExitCode.PREFLIGHT, run.out
    problems = [line for line in run.out.splitlines() if seed.OLD_RELEASE_NEW_FILE in line and "PyPI would" in line]
    assert any("more than 14 days ago" in line for line in problems), run.out
    assert any("normalized project name 'markupsafe'" in line for line in problems), run.out
    assert not any(name in line for line in problems for name in local)
    assert "Uploading " not in run.out


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        (GitHubClaims(repository="octo-org/other-repo"), "valid token, but no corresponding publisher"),
        (GitHubClaims(workflow_file="other.yml"), "valid token, but no corresponding publisher"),
        (GitHubClaims(environment="staging"), "valid token, but no corresponding publisher"),
        (GitHubClaims(workflow_file=seed.STALE_PENDING_WORKFLOW), "valid token, but project already exists"),
    ],
    ids=["wrong-repository", "wrong-workflow", "wrong-environment", "pending-for-existing-project"],
)
def test_each_refused_github_exchange_names_warehouses_error(
    seeded_peer: SeededPeer,
    claims: GitHubClaims,
    fragment: str,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = seeded_peer.peer
    # A version no test publishes: the exchange is the first thing that can refuse it.
    dist_cache.copy_to(tmp_path / "dist", "hatch", name=seed.TP_PROJECT, version=_NEVER_PUBLISHED)
    before = peer.files(seed.TP_PROJECT)
    with start_peer_world(peer, tmp_path / "world", claims=claims) as peer_world:
        run = _run(peer_world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.AUTHENTICATION, run.out
    assert fragment in run.out, run.out
    assert peer.files(seed.TP_PROJECT) == before


@pytest.mark.parametrize("provider", ["gitlab", "google"])
def test_refused_gitlab_and_google_exchanges_name_warehouses_error(
    provider: str,
    seeded_peer: SeededPeer,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = seeded_peer.peer
    # A version no test publishes: the exchange is the first thing that can refuse it.
    dist_cache.copy_to(tmp_path / "dist", "hatch", name=seed.TP_PROJECT, version=_NEVER_PUBLISHED)
    before = peer.files(seed.TP_PROJECT)
    issuer: GitLabIssuer | GoogleMetadataServer
    if provider == "gitlab":
        issuer, iss = GitLabIssuer(GitLabClaims(project_name="other-project")), GITLAB_ISSUER
    else:
        issuer, iss = (
            GoogleMetadataServer(GoogleClaims(email="someone-else@other.iam.gserviceaccount.com")),
            GOOGLE_ISSUER,
        )
    issuer.start()
    try:
        with start_peer_world(peer, tmp_path / "world", issuer=issuer, provider=provider, issuers=(iss,)) as peer_world:
            run = _run(peer_world, tmp_path, monkeypatch, capsys)
    finally:
        issuer.stop()

    assert run.code == ExitCode.AUTHENTICATION, run.out
    assert "valid token, but no corresponding publisher" in run.out, run.out
    assert peer.files(seed.TP_PROJECT) == before


def test_an_archived_project_is_refused_before_the_exchange(
    peer_world: PeerWorld,
    seeded_peer: SeededPeer,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist_cache.copy_to(tmp_path / "dist", "hatch", name=seed.ARCHIVED_PROJECT)
    # Warehouse's simple API says the project is archived (PEP 792); pre-flight reads it and stops.
    page = peer_world.peer.project_json(seed.ARCHIVED_PROJECT)
    assert page is not None and page["project-status"]["status"] == "archived"

    run = _run(peer_world, tmp_path, monkeypatch, capsys, password=seeded_peer.token, attestations="false")

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert "is archived on the index" in run.out
    assert peer_world.peer.files(seed.ARCHIVED_PROJECT) == {}


def test_the_old_release_is_stored_as_pypi_stores_it(seeded_peer: SeededPeer) -> None:
    # The seed's MarkupSafe release answers as the real one does: same names, digests and upload times.
    real = seed.pypi_release(seed.OLD_PROJECT, seed.OLD_VERSION)
    page = seeded_peer.peer.project_json(seed.OLD_PROJECT)
    assert page is not None
    for entry in page["files"]:
        assert entry["hashes"]["sha256"] == real[entry["filename"]]["hashes"]["sha256"]
        assert entry["upload-time"][:19] == real[entry["filename"]]["upload-time"][:19]
    assert sorted(entry["filename"] for entry in page["files"]) == sorted(seed.OLD_RELEASE_FILES)


def _minted_by_the_peer(peer_url: str, claims: GitHubClaims) -> str:
    """A token the peer mints for ``claims`` (its development configuration checks no signature)."""
    signer = OIDCIssuer(claims)
    answer = httpx.post(
        f"{peer_url}/_/oidc/mint-token", json={"token": signer.mint("pypi")}, timeout=30
    ).raise_for_status()
    token: str = answer.json()["token"]
    return token


def test_a_quarantined_project_is_refused_before_the_exchange_as_the_real_warehouse_refuses_it(
    peer_world: PeerWorld,
    seeded_peer: SeededPeer,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = seeded_peer.peer
    dist = tmp_path / "dist"
    dist_cache.copy_to(dist, "hatch", name=seed.QUARANTINED_PROJECT)
    page = peer.project_json(seed.QUARANTINED_PROJECT)
    assert page is not None and page["project-status"]["status"] == "quarantined"

    run = _run(peer_world, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert "is quarantined on the index" in run.out, run.out
    assert not peer_world.issuer.issued_tokens, "no OIDC token is asked for when pre-flight stops"
    # What the prediction stands for: the real forklift refuses the project's own publisher.
    token = _minted_by_the_peer(peer.url, GitHubClaims())
    wheel = next(path for path in dist.iterdir() if path.name.endswith(".whl"))
    sent = twine_upload(peer.upload_url, wheel, token, tmp_path / "home")
    assert sent.returncode != 0 and "403" in sent.stdout + sent.stderr, sent.stdout + sent.stderr
    assert peer.sql(
        "select count(*) from release_files f join releases r on f.release_id = r.id "
        "join projects p on r.project_id = p.id where p.name = :'name'",
        name=seed.QUARANTINED_PROJECT,
    ) == [["0"]]


def _as_zip_sdist(sdist: Path, folder: Path) -> Path:
    """The same sdist repacked as a ``.zip`` (a second sdist of the release, under another name)."""
    target = folder / sdist.name.replace(".tar.gz", ".zip")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.getmembers():
            extracted = source.extractfile(member) if member.isfile() else None
            if extracted is not None:
                archive.writestr(member.name, extracted.read())
    return target


def test_a_second_sdist_of_a_release_is_refused_in_pre_flight_as_the_real_forklift_refuses_it(
    peer_world: PeerWorld,
    seeded_peer: SeededPeer,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = seeded_peer.peer
    first = dist_cache.copy_to(tmp_path / "first" / "dist", "hatch", name=seed.SDIST_PROJECT)
    published = _run(
        peer_world, tmp_path / "first", monkeypatch, capsys, password=seeded_peer.token, attestations="false"
    )
    assert published.code == ExitCode.OK, published.out
    sdist = next(path for path in first if path.name.endswith(".tar.gz"))
    second = _as_zip_sdist(sdist, tmp_path / "second" / "dist")

    run = _run(peer_world, tmp_path / "second", monkeypatch, capsys, password=seeded_peer.token, attestations="false")

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert f"already has an sdist on the index ({sdist.name})" in run.out, run.out
    assert "Uploading " not in run.out
    # The real forklift's answer to that file, sent straight with twine.
    sent = twine_upload(peer.upload_url, second, seeded_peer.token, tmp_path / "home")
    assert "Only one sdist may be uploaded per release." in flat(sent.stdout + sent.stderr), sent.stdout
    assert set(peer.files(seed.SDIST_PROJECT)) == {path.name for path in first}


def test_each_provenance_grade_we_report_is_the_one_warehouse_computes(
    peer_world: PeerWorld,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer = peer_world.peer
    project = seed.GRADE_PROJECT
    paths = dist_cache.copy_to(tmp_path / "built", "hatch", name=project, version="1.0.0")
    wheel_only = tmp_path / "wheel-only"
    wheel_only.mkdir()
    wheel = next(path for path in paths if path.name.endswith(".whl"))
    (wheel_only / wheel.name).write_bytes(wheel.read_bytes())
    release_claims = peer_world.issuer.claims

    def graded(run: Run, version: str) -> str:
        assert run.code == ExitCode.OK, run.out
        ours = run.outputs["provenance-status"]
        theirs = peer.provenance_states(project)[version]
        # Our output lists the states in Warehouse's enum order; the set is what must agree.
        assert sorted(ours.split(",")) == theirs, (ours, theirs)
        return ours

    # 1.0.0's wheel from the other workflow: full.
    peer_world.issuer.claims = release_claims.replace(workflow_file=seed.GRADE_OTHER_WORKFLOW)
    first = _run(peer_world, tmp_path, monkeypatch, capsys, packages_dir=str(wheel_only), verify_published="true")
    assert graded(first, "1.0.0") == "full-provenance"

    # Its sdist from release.yml: two workflows in one release, predicted and then read back.
    peer_world.issuer.claims = release_claims
    second = _run(peer_world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "built"))
    assert graded(second, "1.0.0") == "full-provenance,inconsistent-provenance"
    assert any("would grade" in line and "inconsistent-provenance" in line for line in second.out.splitlines())

    # 1.1.0 without attestations after an attested 1.0.0: lost.
    dist_cache.copy_to(tmp_path / "next", "hatch", name=project, version="1.1.0")
    third = _run(peer_world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "next"), attestations="false")
    assert graded(third, "1.1.0") == "no-provenance,lost-provenance"

    # 1.2.0 from release.yml alone, compared with 1.0.0 (1.1.0 has none): a workflow fewer, so changed.
    dist_cache.copy_to(tmp_path / "last", "hatch", name=project, version="1.2.0")
    fourth = _run(
        peer_world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "last"), attestations="true",
        build_provenance="true",
    )  # fmt: skip
    assert graded(fourth, "1.2.0") == "full-provenance,changed-provenance"
    # With its build provenance: the real forklift takes the second attestation and serves both.
    kept = sorted((tmp_path / "last").glob("*.slsa.attestation"))
    assert len(kept) == 2
    for path in kept:
        answer = peer.provenance(project, "1.2.0", path.name.removesuffix(".slsa.attestation"))
        (bundle,) = answer.json()["attestation_bundles"]
        assert len(bundle["attestations"]) == 2
        assert bundle["attestations"][1] == json.loads(path.read_text())
