"""Where real indexes differ from PyPI: digests other than sha256, none at all, and fallback redirects.

Each test runs a real pypiserver in a configuration its users run: the default fallback that redirects
unknown projects to another index, ``--hash-algo md5`` or no digests at all.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import make_wheels
from tests.fixtures.peers import PypiServerIndex, start_pypiserver
from tests.helpers import Run, run_action

pytestmark = pytest.mark.peers


def _publish(
    index: PypiServerIndex,
    work: Path,
    dist: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **extra: str,
) -> Run:
    inputs = {
        "repository-url": index.upload_url,
        "user": index.username,
        "password": index.password,
        "attestations": "false",
        "packages-dir": str(dist),
        **extra,
    }
    work.mkdir(parents=True, exist_ok=True)
    return run_action(monkeypatch, capsys, work, inputs)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServerIndex]:
    index = start_pypiserver(tmp_path_factory.mktemp("pypiserver"), extra_args=list(getattr(request, "param", [])))
    try:
        yield index
    finally:
        index.close()


def _rebuilt(wheel: Path) -> None:
    """Give ``wheel`` other bytes under the same name (a rebuild with another timestamp)."""
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.comment = b"rebuilt"


def test_skip_existing_works_on_pypiservers_default_fallback(
    server: PypiServerIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The project is new: pypiserver answers its simple page with a redirect to the fallback index.
    dist = tmp_path / "dist"
    make_wheels(dist, 2, name="fallback-demo")

    first = _publish(server, tmp_path / "one", dist, monkeypatch, capsys, **{"skip-existing": "true"})
    assert first.code == ExitCode.OK, first.out
    assert len(json.loads(first.outputs["uploaded"])) == 2

    again = _publish(server, tmp_path / "two", dist, monkeypatch, capsys, **{"skip-existing": "true"})
    assert again.code == ExitCode.OK, again.out
    assert len(json.loads(again.outputs["skipped"])) == 2


@pytest.mark.parametrize("server", [["--hash-algo", "md5"]], indirect=True)
def test_a_changed_file_is_caught_by_md5_when_the_index_lists_no_sha256(
    server: PypiServerIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    (wheel,) = make_wheels(dist, 1, name="md5-demo")
    assert _publish(server, tmp_path / "one", dist, monkeypatch, capsys).code == ExitCode.OK

    same = _publish(server, tmp_path / "same", dist, monkeypatch, capsys, **{"skip-existing": "true"})
    assert same.code == ExitCode.OK, same.out
    assert json.loads(same.outputs["skipped"]) == [wheel.name]

    _rebuilt(wheel)
    changed = _publish(server, tmp_path / "two", dist, monkeypatch, capsys, **{"skip-existing": "true"})
    assert changed.code == ExitCode.PREFLIGHT, changed.out
    assert "the index holds a file of that name with md5 " in changed.out
    assert "identical" not in changed.out
    assert json.loads(changed.outputs["skipped"]) == []


@pytest.mark.parametrize("server", [["--hash-algo", "off"]], indirect=True)
def test_without_any_digest_the_index_decides_and_nothing_is_called_identical(
    server: PypiServerIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    (wheel,) = make_wheels(dist, 1, name="nodigest-demo")
    assert _publish(server, tmp_path / "one", dist, monkeypatch, capsys).code == ExitCode.OK
    _rebuilt(wheel)

    run = _publish(server, tmp_path / "two", dist, monkeypatch, capsys, **{"skip-existing": "true"})

    assert "the index decides" in run.out
    assert "identical" not in run.out
    assert json.loads(run.outputs["skipped"]) == []
    # pypiserver refuses the name it holds; without a digest nobody can tell whether the bytes are the same.
    assert run.code == ExitCode.UPLOAD, run.out
    assert "lists the file without any digest" in run.out
