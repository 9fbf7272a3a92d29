"""PyPI's upload refusals predicted in pre-flight, for a corpus of real builds that each break one rule.

Each case of :mod:`tests.fixtures.bad_dists` is published with one valid wheel, through the whole offline
world (OIDC issuer, Warehouse stand-in, loopback Sigstore) with Trusted Publishing, attestations and
``index-rules: pypi``. Pre-flight must name the bad file, and only it, with the rule it breaks, and stop
before anything leaves a trace: no token minted, nothing signed in the transparency log, nothing stored
on the index. The valid shapes must still publish, and with ``index-rules: none`` the index itself has to
refuse the file at upload, which is what the rules exist to prevent.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.bad_dists import (
    CASES,
    HATCH,
    RELEASE_STATE_RULES,
    SETUPTOOLS,
    VALID_SHAPES,
    BadCase,
    Corpus,
    ValidShape,
    predict,
)
from tests.fixtures.dists import DistCache
from tests.helpers import Run, run_in_world
from tests.sandbox.fixtures import DEFAULT_PUBLISHER
from tests.sandbox.world import World

pytestmark = pytest.mark.sandbox

#: Every rule id the predictor reports (the contract's table); the corpus covers all but the size warnings.
RULE_IDS = frozenset(
    {
        "filename-characters",
        "wheel-name-normalization",
        "name-mismatch",
        "sdist-filename",
        "version-mismatch",
        "local-version",
        "platform-tag",
        "zip-framing",
        "zip-compression",
        "zip-bomb",
        "zip-and-tar",
        "tar-sparse",
        "archive-unreadable",
        "sdist-layout",
        "wheel-missing-file",
        "wheel-record",
        "wheel-entry-points",
        "metadata-invalid",
        "metadata-version",
        "summary-length",
        "email-invalid",
        "classifier-unknown",
        "classifier-deprecated",
        "url-invalid",
        "direct-dependency",
        "dynamic-invalid",
        "license-and-expression",
        "license-file-missing",
        "description-render",
        "file-size",
        "project-size",
        "release-closed",
        "sdist-exists",
        "project-archived",
        "project-quarantined",
    }
)
SIZE_WARNINGS = frozenset({"file-size", "project-size"})
FILE_CASES = [case for case in CASES if case.rule not in RELEASE_STATE_RULES]
_REFUSAL = "PyPI would refuse it: "
#: A word each release-state refusal must use, so the line names what is wrong with the index's state.
_RELEASE_WORDS = {
    "release-closed": "14 days",
    "sdist-exists": "sdist",
    "project-archived": "archived",
    "project-quarantined": "quarantined",
}


@pytest.fixture(scope="session")
def corpus(dist_cache: DistCache, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Every case built once per session, copied into each test's folder."""
    return Corpus(dist_cache, tmp_path_factory.mktemp("bad-dists"))


@pytest.fixture
def world(world: World) -> World:
    """The suite's offline world, where the setuptools project publishes from the same workflow too (so
    sets that include it can mint)."""
    world.warehouse.add_publisher(SETUPTOOLS, DEFAULT_PUBLISHER)
    return world


def _run(
    world: World, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **inputs: str
) -> Run:
    return run_in_world(world, monkeypatch, capsys, workdir, **inputs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shown(name: str) -> str:
    """A file name as findings print it: a control character escaped (``\\x7f``), so no line is broken."""
    return name if name.isprintable() else name.encode("unicode_escape").decode("ascii")


def _problem_lines(run: Run) -> list[str]:
    """The pre-flight's problem lines as the job summary lists them (``- <problem>``)."""
    return [line[2:].replace("\\|", "|") for line in run.summary.splitlines() if line.startswith("- ")]


# -- the corpus itself -------------------------------------------------------------------------------------


def test_corpus_covers_every_rule_but_the_size_warnings() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids are unique"
    assert len(CASES) >= 30
    assert {case.rule for case in CASES} == RULE_IDS - SIZE_WARNINGS
    for case in CASES:
        assert (case.setup is not None) == (case.rule in RELEASE_STATE_RULES), case.id
        assert case.warehouse.strip(), case.id


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case_builds_a_file_unlike_the_valid_builds(case: BadCase, corpus: Corpus, dist_cache: DistCache) -> None:
    path = corpus.path(case)
    assert path.is_file() and path.stat().st_size > 0
    valid = {(p.name, _sha256(p)) for p in [*dist_cache.get("hatch"), *dist_cache.get("setuptools")]}
    if case.rule in RELEASE_STATE_RULES:
        # These files are valid on their own: only what the index already holds makes them a refusal.
        assert (path.name, _sha256(path)) in valid
    else:
        # A rename, new bytes, or both.
        assert (path.name, _sha256(path)) not in valid
    companion = case.companion_wheel(path.parent.parent / f"{case.id}-companion")
    assert companion.name != path.name


@pytest.mark.long
def test_building_the_corpus_is_fast(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A corpus of its own, on a build cache of its own: what other tests built must not count either way.
    corpus = Corpus(DistCache(tmp_path_factory.mktemp("own-builds")), tmp_path_factory.mktemp("own-corpus"))
    for case in CASES:
        corpus.path(case)
    rewrites = sum(corpus.build_seconds.values()) - sum(corpus.cache.build_seconds.values())
    assert rewrites < 10, sorted(corpus.build_seconds.items(), key=lambda item: -item[1])[:5]
    # The real builds are shared: three of them (hatch, setuptools, hatch with a local version).
    assert len(corpus.cache.build_seconds) <= 4
    assert sum(corpus.build_seconds.values()) < 45


# -- the predictor, file by file -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda case: case.id)
def test_predictor_names_the_one_rule(case: BadCase, corpus: Corpus) -> None:
    findings = [finding for finding in predict(corpus.path(case)) if not finding.warning]
    assert [finding.rule for finding in findings] == [case.rule], [finding.line() for finding in findings]
    line = findings[0].line()
    assert line.startswith(f"{_shown(corpus.path(case).name)}: {_REFUSAL}")
    assert ". Fix: " in line


@pytest.mark.parametrize("case", [case for case in CASES if case.rule in RELEASE_STATE_RULES], ids=lambda c: c.id)
def test_release_state_files_are_valid_on_their_own(case: BadCase, corpus: Corpus) -> None:
    assert predict(corpus.path(case)) == []


@pytest.mark.parametrize("shape", VALID_SHAPES, ids=lambda shape: shape.id)
def test_predictor_accepts_the_valid_shapes(shape: ValidShape, dist_cache: DistCache, tmp_path: Path) -> None:
    for path in shape.build(dist_cache, tmp_path / "dist"):
        assert [finding.line() for finding in predict(path)] == []


# -- the whole publish ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_publish_stops_in_preflight_naming_only_the_bad_file(
    case: BadCase,
    world: World,
    corpus: Corpus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    valid = case.companion_wheel(dist)
    bad = corpus.copy_to(dist, case)
    if case.setup is not None:
        case.setup(world.warehouse, corpus.cache, tmp_path / "seed")
    stored_before = [stored.filename for stored in world.warehouse.files]
    lookups_before = world.warehouse.requests.count("simple")
    uploads_before = world.warehouse.requests.count("upload")

    run = _run(world, tmp_path, monkeypatch, capsys, index_rules="pypi")

    assert run.code == ExitCode.PREFLIGHT, run.out
    problems = _problem_lines(run)
    shown = _shown(bad.name)
    about_bad = [line for line in problems if line.startswith(f"{shown}: ")]
    assert len(about_bad) == 1, problems
    assert about_bad[0].startswith(f"{shown}: {_REFUSAL}"), about_bad
    assert re.search(r"\. Fix: \S", about_bad[0]), about_bad
    assert not [line for line in problems if line.startswith(f"{valid.name}: ")], problems
    assert f"{shown}: {_REFUSAL}" in run.out
    assert bad.name == shown or bad.name not in run.out
    assert f"{valid.name}: {_REFUSAL}" not in run.out
    assert run.out.count("::error ") == 1, run.out
    # Nothing left a trace: no upload token, no transparency-log entry, nothing stored.
    assert world.warehouse.minted_tokens == []
    assert world.warehouse.requests.count("mint") == 0
    assert len(world.sigstore.log) == 0
    assert world.warehouse.requests.count("upload") == uploads_before
    assert [stored.filename for stored in world.warehouse.files] == stored_before
    if case.rule in RELEASE_STATE_RULES:
        assert _RELEASE_WORDS[case.rule] in about_bad[0], about_bad
        # The index was asked first (its answer is what the rule is about), still before the exchange.
        assert world.warehouse.requests.count("simple") > lookups_before
    if case.rule not in RELEASE_STATE_RULES:
        assert not stored_before


@pytest.mark.parametrize("shape", VALID_SHAPES, ids=lambda shape: shape.id)
def test_valid_shapes_publish_with_pypi_rules(
    shape: ValidShape,
    world: World,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert set(shape.projects) <= {HATCH, SETUPTOOLS}
    names = sorted(path.name for path in shape.build(dist_cache, tmp_path / "dist"))

    run = _run(world, tmp_path, monkeypatch, capsys, index_rules="pypi")

    assert run.code == 0, run.out
    assert _REFUSAL not in run.out
    assert sorted(stored.filename for stored in world.warehouse.files) == names
    assert all(stored.attestations for stored in world.warehouse.files)
    assert len(world.sigstore.log) == len(names)


def test_without_index_rules_the_index_refuses_the_file_at_upload(
    world: World,
    corpus: Corpus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = next(case for case in CASES if case.id == "wheel-name-uppercase")
    dist = tmp_path / "dist"
    case.companion_wheel(dist)
    bad = corpus.copy_to(dist, case)

    run = _run(world, tmp_path, monkeypatch, capsys, index_rules="none")

    assert run.code == ExitCode.UPLOAD, run.out
    assert _REFUSAL not in run.out
    assert case.warehouse in run.out
    assert bad.name not in {stored.filename for stored in world.warehouse.files}
    refused = [r for r in world.warehouse.requests.for_endpoint("upload") if r.status == case.status]
    assert refused, world.warehouse.requests.endpoints()


@pytest.mark.parametrize("case", [case for case in CASES if case.setup is not None], ids=lambda c: c.id)
def test_setup_hooks_put_the_index_in_the_state_they_name(
    case: BadCase, world: World, corpus: Corpus, tmp_path: Path
) -> None:
    assert case.setup is not None
    case.setup(world.warehouse, corpus.cache, tmp_path / "seed")
    project = world.warehouse.projects["sandbox-demo"]
    if case.rule == "release-closed":
        assert [stored.filename for stored in world.warehouse.files] == [
            "sandbox_demo-1.0.0-cp310-cp310-manylinux_2_17_x86_64.whl"
        ]
        assert all(stored.upload_time < time.time() - 14 * 86400 for stored in world.warehouse.files)
    elif case.rule == "sdist-exists":
        # Version 1.0 and 1.0.0 are one release for Warehouse (the same canonical version).
        assert [(stored.filename, stored.filetype) for stored in world.warehouse.files] == [
            ("sandbox_demo-1.0.tar.gz", "sdist")
        ]
        assert time.time() - world.warehouse.files[0].upload_time < 14 * 86400
    else:
        assert project.status == case.rule.removeprefix("project-")
        assert world.warehouse.files == []
