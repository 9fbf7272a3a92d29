"""Dry runs against the real PyPI: its rules stop a bad set in pre-flight, its simple API feeds the release rules.

PyPI's read side (``https://pypi.org/simple/``) answers from our machines; nothing here can upload: every
run is a dry run in token mode with a made-up token, so the upload host is never contacted. These fail,
rather than skip, when pypi.org cannot be read.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import DistCache
from tests.helpers import run_action

#: A made-up API token: well-formed, so the token-mode nudges stay quiet, and worthless.
_FAKE_TOKEN = "pypi-" + "fake" * 10


def _dry_run_inputs() -> dict[str, str]:
    return {"password": _FAKE_TOKEN, "dry-run": "true", "attestations": "false"}


def _retag(wheel: Path, platform: str) -> Path:
    """A copy of ``wheel`` with another platform tag in its name and its WHEEL file."""
    target = wheel.with_name(wheel.name.replace("-any.whl", f"-{platform}.whl"))
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".dist-info/WHEEL"):
                data = data.replace(b"-any", f"-{platform}".encode())
            out.writestr(info, data)
    return target


def test_a_dry_run_to_pypi_stops_a_bad_file_in_pre_flight_and_names_it(
    dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    (valid,) = (path for path in dist_cache.copy_to(dist, "hatch") if path.name.endswith(".whl"))
    bad = _retag(valid, "linux_x86_64")
    (dist / "sandbox_demo-1.0.0.tar.gz").unlink()

    run = run_action(monkeypatch, capsys, tmp_path, {**_dry_run_inputs(), "packages-dir": str(dist)})

    assert run.code == ExitCode.PREFLIGHT, run.out
    line = (
        f"{bad.name}: PyPI would refuse it: its platform tag 'linux_x86_64' is not one PyPI accepts. Fix: repair "
        "Linux wheels with auditwheel"
    )
    assert line in run.out
    assert line in run.summary
    assert f"{valid.name}: PyPI would refuse it" not in run.out
    # Refused after the look-up on pypi.org, which does not hold this file: had it held it byte for byte,
    # the file would be a duplicate there, not a refusal (forklift checks platform tags after duplicates).
    assert "Looking up existing files on PyPI" in run.out
    shown = [line for line in run.out.splitlines() if not line.startswith("::add-mask::")]
    assert _FAKE_TOKEN not in "\n".join(shown) + run.summary


def test_index_rules_none_lets_the_same_file_through_pre_flight(
    dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    (valid,) = (path for path in dist_cache.copy_to(dist, "hatch") if path.name.endswith(".whl"))
    _retag(valid, "linux_x86_64")
    valid.unlink()
    (dist / "sandbox_demo-1.0.0.tar.gz").unlink()
    inputs = {**_dry_run_inputs(), "packages-dir": str(dist), "index-rules": "none"}

    run = run_action(monkeypatch, capsys, tmp_path, inputs)

    # The dry run passes: this file would only be refused at its upload, after any file sent before it.
    assert run.code == ExitCode.OK, run.out
    assert "PyPI would refuse it" not in run.out
    assert "would upload" in run.out


def test_new_files_for_a_years_old_pypi_release_are_refused_from_its_simple_api(
    dist_cache: DistCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # six 1.16.0 got its files on 2021-05-05. A wheel of it under a file name PyPI does not hold yet is a new
    # file for a closed release.
    dist = tmp_path / "dist"
    dist.mkdir()
    (wheel,) = (p for p in dist_cache.get("hatch", name="six", version="1.16.0") if p.name.endswith(".whl"))
    shutil.copyfile(wheel, dist / wheel.name)
    assert wheel.name == "six-1.16.0-py3-none-any.whl"  # the real one is py2.py3

    run = run_action(monkeypatch, capsys, tmp_path, {**_dry_run_inputs(), "packages-dir": str(dist)})

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert (
        "six-1.16.0-py3-none-any.whl: PyPI would refuse it: the release 1.16.0 got its first file on 2021-05-05, "
        "more than 14 days ago" in run.out
    )
    assert "Fix: publish the new files under a new version" in run.out


_SIX_SDIST = (
    "https://files.pythonhosted.org/packages/71/39/171f1c67cd00715f190ba0b100d606d440a28c93c7714febeca8b79af85e/"
    "six-1.16.0.tar.gz"
)
_SIX_SHA256 = "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"


@pytest.mark.parametrize("index_rules", ["none", "pypi"])
def test_an_unrenderable_description_is_reported_by_its_first_error_not_its_whole_text(
    index_rules: str, tmp_path: Path
) -> None:
    # six 1.16.0's sdist, as PyPI serves it: Metadata 1.2 with the long description in an indented
    # Description header, which no longer renders. The problem line names the first error, never the text.
    import hashlib

    import httpx

    from publish_action import dists
    from publish_action.errors import PreflightError

    data = httpx.get(_SIX_SDIST, timeout=60, follow_redirects=True).raise_for_status().content
    assert hashlib.sha256(data).hexdigest() == _SIX_SHA256
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "six-1.16.0.tar.gz").write_bytes(data)

    if index_rules == "none":
        with pytest.raises(PreflightError) as raised:
            dists.plan(folder, verify_metadata=True, index_rules="none")
        (problem,) = raised.value.problems
    else:
        # PyPI's rules are held against the file once the look-up has said whether the index holds it; the
        # description is rendered before forklift's duplicate check, so even the very file PyPI serves is
        # refused for it.
        (dist,) = dists.plan(folder, verify_metadata=True, index_rules="pypi").distributions
        (problem,) = dist.refusals(held_identical=False)
        assert dist.refusals(held_identical=True) == [problem]
    assert problem.startswith("six-1.16.0.tar.gz: ")
    assert 'line 1: Error in "image" directive: no content permitted' in problem
    assert "travis-ci" not in problem and len(problem) < 500


@pytest.mark.long
@pytest.mark.parametrize("skip_existing", ["true", "false"])
def test_publishing_a_real_pypi_release_again_skips_every_file_it_holds(
    skip_existing: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # All 61 files of MarkupSafe 3.0.2, downloaded from PyPI and published "again" to PyPI. Its wheels are
    # named MarkupSafe-… (not normalized), which PyPI refuses for new files, but forklift finds an identical
    # file before it checks names: each is a duplicate, so nothing is refused and nothing is sent (the
    # made-up token is never used, with or without skip-existing).
    import json

    from tests.peers import seed

    cache = tmp_path_factory.getbasetemp() / "pypi-files"
    names = sorted(seed.pypi_release(seed.OLD_PROJECT, seed.OLD_VERSION))
    assert len(names) == 61
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in names:
        (dist / name).write_bytes(seed.download(seed.OLD_PROJECT, seed.OLD_VERSION, name, cache).content)
    inputs = {"password": _FAKE_TOKEN, "attestations": "false", "skip-existing": skip_existing}

    run = run_action(monkeypatch, capsys, tmp_path, inputs)

    assert run.code == ExitCode.OK, run.out
    assert {r["filename"]: r["state"] for r in json.loads(run.outputs["files"])} == dict.fromkeys(names, "skipped")
    assert "PyPI would refuse it" not in run.out
    assert "Uploading " not in run.out
