"""What a careless or hostile folder and settings cannot do: odd file names, symbolic links, URLs that
carry credentials or control characters. Each is refused in pre-flight or settings, against a real
pypiserver (an index without PyPI's rules), with one clear line and nothing uploaded."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.peers import PypiServerIndex
from tests.helpers import Run, run_action

pytestmark = pytest.mark.peers


def _publish(
    index: PypiServerIndex,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **extra: str,
) -> Run:
    inputs = {
        "repository-url": index.upload_url,
        "user": index.username,
        "password": index.password,
        "attestations": "false",
        **extra,
    }
    return run_action(monkeypatch, capsys, work, inputs)


def _wheel(hatch_dists: Path) -> Path:
    return next(path for path in hatch_dists.iterdir() if path.name.endswith(".whl"))


@pytest.mark.parametrize(
    ("odd", "shown"),
    [("\n", "\\n"), ("\r", "\\r"), ("\x1b", "\\x1b"), ("%0A", "%0A"), (" ", " ")],
    ids=["newline", "carriage-return", "escape", "percent-encoded-newline", "space"],
)
def test_a_file_name_outside_the_grammar_is_refused_in_pre_flight_on_any_index(
    odd: str,
    shown: str,
    pypiserver: PypiServerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = _wheel(hatch_dists)
    odd_name = wheel.name.replace("-py3", f"{odd}-py3")
    shutil.copyfile(wheel, dist / odd_name)
    shutil.copyfile(hatch_dists / "sandbox_demo-1.0.0.tar.gz", dist / "sandbox_demo-1.0.0.tar.gz")

    run = _publish(pypiserver, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.PREFLIGHT, run.out
    escaped = odd_name.replace(odd, shown)
    # One whole line for the file in the summary (and in the log's annotation): the name escaped, never
    # written raw, so nothing splits the line.
    (line,) = [line for line in run.summary.splitlines() if "the file name holds" in line]
    assert line.startswith(f"- {escaped}: the file name holds"), line
    assert line.endswith("run again") or line.endswith("give it"), line
    assert pypiserver.sha256s() == {}, "nothing is uploaded, not even the good sdist"
    assert json.loads(run.outputs["uploaded"]) == []


def test_a_dangling_link_is_a_pre_flight_problem_not_a_crash(
    pypiserver: PypiServerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(hatch_dists, dist)
    (dist / "sandbox_demo-2.0.0-py3-none-any.whl").symlink_to(tmp_path / "build" / "gone.whl")

    run = _publish(pypiserver, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.PREFLIGHT, run.out
    assert "Unexpected error" not in run.out
    assert "sandbox_demo-2.0.0-py3-none-any.whl: a symbolic link to" in run.out
    assert "which does not exist" in run.out
    assert pypiserver.sha256s() == {}


def test_a_link_to_a_file_outside_packages_dir_is_refused_with_how_to_copy_it_in(
    pypiserver: PypiServerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(hatch_dists, elsewhere)
    for path in elsewhere.iterdir():
        (dist / path.name).symlink_to(path)

    run = _publish(pypiserver, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.PREFLIGHT, run.out
    refused = [line for line in run.summary.splitlines() if "outside packages-dir" in line]
    assert len(refused) == 2, run.out
    assert all("cp --dereference" in line for line in refused)
    assert pypiserver.sha256s() == {}


def test_links_inside_packages_dir_are_published_under_the_links_names(
    pypiserver: PypiServerIndex,
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The folder itself may be a link (dist -> build/dist), and the files in it links to files kept inside it
    # (here in a hidden folder, which pre-flight passes over).
    real = tmp_path / "build" / "dist"
    store = real / ".store"
    store.mkdir(parents=True)
    for path in hatch_dists.iterdir():
        shutil.copyfile(path, store / path.name)
        (real / path.name).symlink_to(Path(".store") / path.name)
    (tmp_path / "dist").symlink_to(real)

    run = _publish(pypiserver, tmp_path, monkeypatch, capsys)

    assert run.code == ExitCode.OK, run.out
    assert pypiserver.sha256s() == {path.name: _sha256(path) for path in hatch_dists.iterdir()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
