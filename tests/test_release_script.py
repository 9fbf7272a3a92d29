"""scripts/release.py, the release workflow's own steps: the tag held against pyproject.toml and
CHANGELOG.md, the notes, image-digest.txt, and the GitHub release against the releases stand-in."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.sandbox.github_releases import GitHubReleases

ROOT = Path(__file__).resolve().parents[1]
DIGEST = "sha256:" + "ab" * 32
CHANGELOG = """\
# Changelog

Intro text that belongs to no release.

## [Unreleased]

### Added

- Something not released yet.

## [1.2.0] - 2026-12-01

### Added

- A thing.

### Fixed

- Another thing.

## [1.1.0] - 2026-11-01

- Older.

[1.2.0]: https://example.org/compare/v1.1.0...v1.2.0
"""


@pytest.fixture(scope="module")
def release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_script", ROOT / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["release_script"] = module
    spec.loader.exec_module(module)
    return module


def _project(root: Path, version: str = "1.2.0", changelog: str = CHANGELOG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "publish-action"\nversion = "{version}"\n')
    (root / "CHANGELOG.md").write_text(changelog)
    return root


def test_a_tag_matching_the_version_and_a_dated_section_passes(release: ModuleType, tmp_path: Path) -> None:
    assert release.check("v1.2.0", _project(tmp_path)) == {"version": "1.2.0", "major": "v1"}


@pytest.mark.parametrize(
    ("tag", "version", "changelog", "fix"),
    [
        ("1.2.0", "1.2.0", CHANGELOG, "push a tag of the form vX.Y.Z"),
        ("v1.2", "1.2.0", CHANGELOG, "push a tag of the form vX.Y.Z"),
        ("v01.2.0", "1.2.0", CHANGELOG, "push a tag of the form vX.Y.Z"),
        ("v1.3.0", "1.2.0", CHANGELOG, "set the version to '1.3.0'"),
        ("v1.3.0", "1.3.0", CHANGELOG, "rename '## [Unreleased]' to '## [1.3.0] - YYYY-MM-DD'"),
        ("v1.2.0", "1.2.0", CHANGELOG.replace("[1.2.0] - 2026-12-01", "[1.2.0]"), "has no date"),
        ("v1.1.0", "1.1.0", CHANGELOG.replace("- Older.\n", ""), "is empty"),
    ],
    ids=["no-v", "two-parts", "leading-zero", "version-differs", "no-section", "undated", "empty"],
)
def test_each_wrong_release_says_what_to_fix(
    release: ModuleType, tmp_path: Path, tag: str, version: str, changelog: str, fix: str
) -> None:
    with pytest.raises(release.ReleaseError, match=fix.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        release.check(tag, _project(tmp_path, version, changelog))


def test_the_notes_are_the_section_alone(release: ModuleType, tmp_path: Path) -> None:
    notes = release.notes("1.2.0", _project(tmp_path))
    assert notes == "### Added\n\n- A thing.\n\n### Fixed\n\n- Another thing.\n"
    assert release.notes("1.1.0", tmp_path) == "- Older.\n"  # the link definitions below belong to none


def test_this_repositorys_changelog_is_in_the_form_the_release_reads(release: ModuleType) -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]\n" in text
    for line in text.splitlines():
        if line.startswith("## "):
            assert release._HEADING.match(line), f"CHANGELOG.md heading the release cannot read: {line!r}"


def test_image_digest_txt_is_written_as_action_yml_reads_it(release: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "image-digest.txt"
    reference = release.digest_file("ghcr.io/octo-org/publish-action", DIGEST, "1.2.0", path)
    assert reference == f"ghcr.io/octo-org/publish-action@{DIGEST}"
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert lines == [reference]
    for image, digest in [
        ("ghcr.io/Octo-Org/publish-action", DIGEST),
        ("ghcr.io/octo-org/publish-action:1.2.0@sha256:x", DIGEST),
        ("ghcr.io/octo-org/publish-action", "sha256:abc"),
        ("ghcr.io/octo-org/publish-action", ""),
    ]:
        with pytest.raises(release.ReleaseError):
            release.digest_file(image, digest, "1.2.0", tmp_path / "other.txt")
    assert not (tmp_path / "other.txt").exists()


@pytest.fixture
def github() -> Iterator[GitHubReleases]:
    server = GitHubReleases("octo-org/publish-action", JOB_TOKEN, lambda tag: tag == "v1.2.0")
    server.start()
    try:
        yield server
    finally:
        server.stop()


JOB_TOKEN = "ghs_the-job-token"  # the stand-in's token, nothing real


def _environ(github: GitHubReleases, token: str = JOB_TOKEN) -> dict[str, str]:
    return {"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "octo-org/publish-action", "GITHUB_TOKEN": token}


def test_the_github_release_is_made_once_and_left_on_a_rerun(
    release: ModuleType, github: GitHubReleases, tmp_path: Path
) -> None:
    root = _project(tmp_path)
    url = release.github_release("1.2.0", _environ(github), root)
    assert url == "https://github.com/octo-org/publish-action/releases/tag/v1.2.0"
    assert [(r.tag_name, r.name, r.body) for r in github.releases] == [
        ("v1.2.0", "v1.2.0", release.notes("1.2.0", root))
    ]

    again = release.github_release("1.2.0", _environ(github), root)

    assert "made by an earlier run; left as it is" in again
    assert len(github.releases) == 1
    assert [record.endpoint for record in github.requests] == ["release-by-tag", "create-release", "release-by-tag"]


def test_a_refused_github_release_says_why_and_never_shows_the_token(
    release: ModuleType,
    github: GitHubReleases,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _project(tmp_path)
    with pytest.raises(release.ReleaseError, match="HTTP 401") as wrong:
        release.github_release("1.2.0", _environ(github, "ghs_not-the-token"), root)
    assert "ghs_not-the-token" not in str(wrong.value)
    # A tag that was never pushed: the API refuses the release (the stand-in never makes tags).
    with pytest.raises(release.ReleaseError, match=r"422 Validation Failed: check .*the tag was pushed"):
        release.github_release("1.1.0", _environ(github), _project(tmp_path / "old", "1.1.0"))
    with pytest.raises(release.ReleaseError, match="GITHUB_TOKEN not set"):
        release.github_release("1.2.0", {**_environ(github), "GITHUB_TOKEN": ""}, root)
    assert github.releases == []

    for name in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert release.main(["github-release", "1.2.0"]) == 1  # no environment: one error line, status 1
    err = capsys.readouterr().err
    assert err.startswith("::error title=release::") and err.count("\n") == 1
