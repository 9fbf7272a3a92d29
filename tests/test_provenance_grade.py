"""The release's provenance grade: Warehouse's rules (``ProvenanceStatus.states`` and the comparison with the
nearest earlier attested release within 14 days), then each grade predicted and read back through the
offline world, as the action runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from publish_action.attestations.model import GitLabPublisherIdentity, GooglePublisherIdentity, PublisherIdentity
from publish_action.provenance.grade import Counts, Grade, Release, Source, State, comparison, source_of
from tests.fixtures.dists import DistCache
from tests.helpers import Run, run_in_world
from tests.sandbox import GitHubPublisher
from tests.sandbox.world import World

REPO = Source("GitHub", "octo-org/sandbox-demo")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _counts(total: int, attested: int, *, sources: tuple[Source, ...] = (REPO,), workflows: tuple[str, ...] = ("release.yml",), unreadable: int = 0) -> Counts:  # fmt: skip
    if not attested:
        sources, workflows = (), ()
    return Counts(total, attested, unreadable, frozenset(sources), frozenset(workflows))


def _states(counts: Counts, compared: Counts | None = None) -> set[str]:
    other = Release("0.9", NOW - timedelta(days=1), compared) if compared is not None else None
    return {state.value for state in Grade("demo", "1.0", counts, other).states}


def test_warehouses_states_from_the_counts() -> None:
    assert _states(_counts(2, 0)) == {"no-provenance"}
    assert _states(_counts(2, 2)) == {"full-provenance"}
    assert _states(_counts(3, 2)) == {"partial-provenance"}
    assert _states(_counts(2, 2, workflows=("release.yml", "nightly.yml"))) == {
        "full-provenance",
        "inconsistent-provenance",
    }
    assert _states(_counts(2, 2, sources=(REPO, Source("GitLab", "octo/demo")))) == {
        "full-provenance",
        "inconsistent-provenance",
    }


def test_lost_and_changed_against_the_compared_release() -> None:
    assert _states(_counts(2, 0), _counts(2, 2)) == {"no-provenance", "lost-provenance"}
    assert _states(_counts(2, 2), _counts(2, 2)) == {"full-provenance"}
    assert _states(_counts(2, 2, workflows=("nightly.yml",)), _counts(2, 2)) == {
        "full-provenance",
        "changed-provenance",
    }
    # A publisher removed counts as a change too, and lost wins over changed.
    assert _states(_counts(2, 2), _counts(2, 2, sources=(REPO, Source("Google", "a@b")))) == {
        "full-provenance",
        "changed-provenance",
    }
    # Unreadable provenance on either side: the publishers are unknown, so no change is judged.
    assert _states(_counts(2, 2, workflows=("nightly.yml",), unreadable=1), _counts(2, 2)) == {"full-provenance"}


def test_the_comparison_is_the_newest_attested_release_within_14_days_before() -> None:
    attested, bare = _counts(1, 1), _counts(1, 0)
    releases = [
        Release("0.7", NOW - timedelta(days=15), attested),
        Release("0.8", NOW - timedelta(days=5), attested),
        Release("0.9", NOW - timedelta(days=1), bare),
        Release("2.0", NOW + timedelta(days=1), attested),
    ]
    chosen = comparison(releases, NOW)
    assert chosen is not None and chosen.version == "0.8"  # past the nearer unattested 0.9; not the later 2.0
    assert comparison(releases[:1], NOW) is None  # 15 days before: outside the window
    assert comparison(releases, None) is None


@pytest.mark.parametrize(
    "identity",
    [
        PublisherIdentity("octo-org/sandbox-demo", "release.yml", "pypi"),
        GitLabPublisherIdentity("group/sub/project", ".gitlab-ci.yml", None),
        GooglePublisherIdentity("release@project.iam.gserviceaccount.com"),
    ],
)
def test_the_prediction_names_the_publisher_as_provenance_will(identity: object) -> None:
    """The prediction reads the publisher from this action's own identity (pypi-attestations is not loaded
    before signing); it must stand for the same source and workflow as the library's publisher, which the
    provenance documents will name."""
    assert source_of(identity) is not None
    assert source_of(identity) == source_of(identity.library_publisher())  # type: ignore[attr-defined]


def test_the_output_value_lists_the_states_in_warehouses_order() -> None:
    grade = Grade("demo", "1.0", _counts(3, 2, workflows=("a.yml", "b.yml")))
    assert grade.value == "partial-provenance,inconsistent-provenance"
    assert State.PARTIAL in grade.states


# -- through the offline world --------------------------------------------------------------------------


def _run(world: World, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **inputs: str) -> Run:  # fmt: skip
    return run_in_world(world, monkeypatch, capsys, workdir, **inputs)


def _provenance_warnings(run: Run) -> list[str]:
    return [line for line in run.out.splitlines() if line.startswith("::warning") and "Provenance:" in line]


def _token(world: World) -> str:
    return world.warehouse.add_api_token("maintainer", projects=("sandbox-demo",))


def test_full_provenance_is_read_back_from_the_index(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"))
    assert run.code == 0, run.out
    assert run.outputs["provenance-status"] == "full-provenance"
    assert "sandbox-demo 1.0.0: full-provenance (2 of 2 file(s) with provenance" in run.summary
    assert "— on the index" in run.summary
    assert _provenance_warnings(run) == []


def test_no_provenance_with_a_token_and_no_attested_release_before(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, password=_token(world))
    assert run.code == 0, run.out
    assert run.outputs["provenance-status"] == "no-provenance"
    assert _provenance_warnings(run) == []


def test_partial_is_predicted_when_files_of_the_release_are_already_there_without_provenance(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    sdist = next(path for path in dist_cache.copy_to(tmp_path / "first", "hatch") if path.name.endswith(".tar.gz"))
    (tmp_path / "only-sdist").mkdir()
    sdist.rename(tmp_path / "only-sdist" / sdist.name)
    first = _run(
        world, tmp_path, monkeypatch, capsys, password=_token(world), packages_dir=str(tmp_path / "only-sdist")
    )
    assert first.code == 0, first.out

    dist_cache.copy_to(tmp_path / "dist", "hatch")
    # Each run sets its inputs in the environment: the token is taken away again.
    run = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"), password="")

    assert run.code == 0, run.out
    (warning,) = _provenance_warnings(run)
    assert "would grade sandbox-demo 1.0.0 as partial-provenance" in warning
    assert "1 file(s) of it are already on the index without provenance" in warning
    assert "publish the next version entirely from this workflow" in warning
    assert run.outputs["provenance-status"] == "partial-provenance"
    assert "1 of 2 file(s) with provenance" in run.summary


def test_inconsistent_is_predicted_when_another_workflow_published_files_of_this_version(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    world.warehouse.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "nightly.yml", "pypi"))
    paths = dist_cache.copy_to(tmp_path / "all", "hatch")
    (tmp_path / "only-wheel").mkdir()
    wheel = next(path for path in paths if path.name.endswith(".whl"))
    wheel.rename(tmp_path / "only-wheel" / wheel.name)
    release_claims = world.issuer.claims
    world.issuer.claims = release_claims.replace(workflow_file="nightly.yml")
    first = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "only-wheel"))
    assert first.code == 0, first.out
    assert first.outputs["provenance-status"] == "full-provenance"

    world.issuer.claims = release_claims
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"))

    assert run.code == 0, run.out
    (warning,) = _provenance_warnings(run)
    assert "as full-provenance,inconsistent-provenance" in warning
    assert "more than one publisher or workflow (GitHub octo-org/sandbox-demo, nightly.yml, release.yml)" in warning
    assert "publish every file of a release from one workflow" in warning
    assert run.outputs["provenance-status"] == "full-provenance,inconsistent-provenance"


def test_lost_is_predicted_when_the_release_before_was_attested_and_this_one_is_not(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "v1", "hatch", version="1.0.0")
    first = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "v1"))
    assert first.code == 0, first.out

    dist_cache.copy_to(tmp_path / "dist", "hatch", version="1.1.0")
    run = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"), attestations="false")

    assert run.code == 0, run.out
    (warning,) = _provenance_warnings(run)
    assert "would grade sandbox-demo 1.1.0 as no-provenance,lost-provenance" in warning
    assert "the release 1.0.0 before it had provenance, and this one would have none" in warning
    assert "2 file(s) of this run go up without an attestation" not in warning  # partial is not among the states
    assert "keep Trusted Publishing with `attestations: true`" in warning
    assert run.outputs["provenance-status"] == "no-provenance,lost-provenance"
    assert "compared with 1.0.0" in run.summary


def test_an_attested_release_older_than_14_days_is_not_compared(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "v1", "hatch", version="1.0.0")
    assert _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "v1")).code == 0
    world.warehouse.age_release("sandbox-demo", "1.0.0", days=15)

    dist_cache.copy_to(tmp_path / "dist", "hatch", version="1.1.0")
    run = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"), attestations="false")

    assert run.code == 0, run.out
    assert _provenance_warnings(run) == []
    assert run.outputs["provenance-status"] == "no-provenance"


def test_changed_when_the_next_release_comes_from_another_workflow(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "v1", "hatch", version="1.0.0")
    assert _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "v1")).code == 0
    world.warehouse.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "publish.yml", "pypi"))
    world.issuer.claims = world.issuer.claims.replace(workflow_file="publish.yml")

    dist_cache.copy_to(tmp_path / "dist", "hatch", version="1.1.0")
    run = _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"))

    assert run.code == 0, run.out
    assert _provenance_warnings(run) == []  # a change of workflow is reported, not warned of
    assert run.outputs["provenance-status"] == "full-provenance,changed-provenance"
    records = json.loads(run.outputs["files"])
    assert {record["published"] for record in records} == {"verified"}


def test_a_dry_run_reports_the_prediction(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "v1", "hatch", version="1.0.0")
    assert _run(world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "v1")).code == 0

    dist_cache.copy_to(tmp_path / "dist", "hatch", version="1.1.0")
    run = _run(
        world, tmp_path, monkeypatch, capsys, packages_dir=str(tmp_path / "dist"), dry_run="true", attestations="false"
    )

    assert run.code == 0, run.out
    assert run.outputs["provenance-status"] == "no-provenance,lost-provenance"
    assert "— predicted" in run.summary
    assert [f.filename for f in world.warehouse.files if "1.1.0" in f.filename] == []


def test_a_first_release_without_the_confirmation_is_not_graded(
    world: World, dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # fmt: skip
    dist_cache.copy_to(tmp_path / "dist", "hatch")
    run = _run(world, tmp_path, monkeypatch, capsys, verify_published="false")
    assert run.code == 0, run.out
    # Without the confirmation and with no file on the index before, nothing is read back or predicted.
    assert run.outputs["provenance-status"] == ""
    assert "Provenance:" not in run.summary
