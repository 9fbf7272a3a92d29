"""Bad inputs, each with its one clear message, its exit code, and nothing reaching the index.

Every case runs the real program against a real pypiserver with valid credentials, so the only thing that
can stop the upload is the bad input itself.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from publish_action.errors import ExitCode
from tests.fixtures.dists import DistCache, make_wheels
from tests.fixtures.peers import PypiServerIndex
from tests.helpers import run_action

Setup = Callable[[Path, DistCache], dict[str, str]]


@dataclass
class Case:
    """A bad input: how to make it, the exit code, and the lines the user must read."""

    id: str
    setup: Setup
    code: ExitCode
    messages: list[str]
    inputs: dict[str, str] = field(default_factory=dict)


def _good(dist: Path, cache: DistCache) -> list[Path]:
    return cache.copy_to(dist, "hatch")


def _missing_folder(dist: Path, cache: DistCache) -> dict[str, str]:
    return {"packages-dir": "nowhere"}


def _empty_folder(dist: Path, cache: DistCache) -> dict[str, str]:
    dist.mkdir()
    (dist / ".gitignore").write_text("*\n")
    return {}


def _stray_file(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    (dist / "notes.txt").write_text("release notes")
    return {}


def _corrupt_wheel(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    wheel = next(dist.glob("*.whl"))
    wheel.write_bytes(b"this is not a zip archive" * 40)
    return {}


def _truncated_sdist(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    sdist = next(dist.glob("*.tar.gz"))
    data = sdist.read_bytes()
    sdist.write_bytes(data[: len(data) // 2])
    return {}


def _name_mismatch(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    wheel = next(dist.glob("*.whl"))
    wheel.rename(dist / wheel.name.replace("sandbox_demo", "other_name"))
    return {}


def _version_mismatch(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    wheel = next(dist.glob("*.whl"))
    wheel.rename(dist / wheel.name.replace("1.0.0", "2.0.0"))
    return {}


def _two_sdists(dist: Path, cache: DistCache) -> dict[str, str]:
    cache.copy_to(dist, "zip")
    for path in cache.get("hatch"):
        if path.name.endswith(".tar.gz"):
            shutil.copy(path, dist / path.name)
    return {}


def _empty_file(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    (dist / "sandbox_demo-1.0.0-py2-none-any.whl").write_bytes(b"")
    return {}


def _bad_filename(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    (dist / "sandbox-demo.whl").write_bytes(b"PK")
    return {}


def _folder_inside(dist: Path, cache: DistCache) -> dict[str, str]:
    _good(dist, cache)
    (dist / "old").mkdir()
    return {}


def _packages_dir_is_a_file(dist: Path, cache: DistCache) -> dict[str, str]:
    dist.write_text("not a folder")
    return {}


def _broken_description(dist: Path, cache: DistCache) -> dict[str, str]:
    # A wheel whose reStructuredText long description does not render: twine check fails it.
    make_wheels(dist, 1, name="broken-rst")
    wheel = next(dist.glob("*.whl"))
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    metadata_name = next(name for name in members if name.endswith("METADATA"))
    metadata = members[metadata_name].decode()
    header, _, _ = metadata.partition("\n\n")
    header = "\n".join(line for line in header.splitlines() if not line.startswith("Description-Content-Type"))
    members[metadata_name] = (
        header + "\nDescription-Content-Type: text/x-rst\n\nTitle\n===\n\n.. broken:: directive\n  :bad\n\n`unclosed\n"
    ).encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return {}


def _good_inputs(**extra: str) -> Setup:
    def setup(dist: Path, cache: DistCache) -> dict[str, str]:
        _good(dist, cache)
        return dict(extra)

    return setup


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CASES = [
    Case(
        "missing-folder",
        _missing_folder,
        ExitCode.PREFLIGHT,
        ["Distribution folder not found", "'nowhere' does not exist", "point `packages-dir`"],
    ),
    Case("empty-folder", _empty_folder, ExitCode.PREFLIGHT, ["No distributions found", "build the distributions"]),
    Case(
        "stray-file",
        _stray_file,
        ExitCode.PREFLIGHT,
        ["notes.txt: not a distribution (expected a .whl wheel, or a .tar.gz or .zip sdist)"],
    ),
    Case("corrupt-wheel", _corrupt_wheel, ExitCode.PREFLIGHT, ["sandbox_demo-1.0.0-py3-none-any.whl: "]),
    Case("truncated-sdist", _truncated_sdist, ExitCode.PREFLIGHT, ["sandbox_demo-1.0.0.tar.gz: "]),
    Case(
        "name-mismatch",
        _name_mismatch,
        ExitCode.PREFLIGHT,
        [
            "other_name-1.0.0-py3-none-any.whl: the file name says project 'other-name' but its metadata says 'sandbox-demo'"
        ],
    ),
    Case(
        "version-mismatch",
        _version_mismatch,
        ExitCode.PREFLIGHT,
        ["sandbox_demo-2.0.0-py3-none-any.whl: the file name says version 2.0.0 but its metadata says 1.0.0"],
    ),
    Case(
        "two-sdists",
        _two_sdists,
        ExitCode.PREFLIGHT,
        ["sandbox_demo-1.0.0.tar.gz, sandbox_demo-1.0.0.zip: 2 sdists for sandbox-demo 1.0.0"],
    ),
    Case("empty-file", _empty_file, ExitCode.PREFLIGHT, ["sandbox_demo-1.0.0-py2-none-any.whl: the file is empty"]),
    Case(
        "bad-filename",
        _bad_filename,
        ExitCode.PREFLIGHT,
        ["sandbox-demo.whl: the file name is not a valid distribution name"],
    ),
    Case("folder-inside", _folder_inside, ExitCode.PREFLIGHT, ["old: a folder inside packages-dir"]),
    Case("packages-dir-is-file", _packages_dir_is_a_file, ExitCode.PREFLIGHT, ["packages-dir is not a folder"]),
    Case(
        "twine-check",
        _broken_description,
        ExitCode.PREFLIGHT,
        ["twine check: the long description would not render on PyPI"],
    ),
    Case(
        "bad-boolean",
        _good_inputs(**{"skip-existing": "maybe"}),
        ExitCode.SETTINGS,
        ["skip-existing: expected one of true, false, yes, no, 1, 0 (any case), got 'maybe'"],
    ),
    Case(
        "bad-url",
        _good_inputs(**{"repository-url": "upload.pypi.org/legacy"}),
        ExitCode.SETTINGS,
        ["repository-url: expected an http(s) URL"],
    ),
    Case(
        "bad-port",
        _good_inputs(**{"repository-url": "http://127.0.0.1:99999/"}),
        ExitCode.SETTINGS,
        ["repository-url: the port in 'http://127.0.0.1:99999/' is not a number between 0 and 65535"],
    ),
    Case("bad-max-parallel", _good_inputs(**{"max-parallel": "zero"}), ExitCode.SETTINGS, ["max-parallel: "]),
    Case(
        "skip-existing-unknown-layout",
        _good_inputs(**{"repository-url": "http://127.0.0.1:1/a/b/c/", "skip-existing": "true"}),
        ExitCode.SETTINGS,
        ["check-url is needed with skip-existing", "set `check-url`"],
    ),
    Case(
        "password-user-on-pypi",
        _good_inputs(**{"user": "alice", "password": "hunter2"}),
        ExitCode.AUTHENTICATION,
        ["PyPI does not accept passwords for uploads"],
        inputs={"repository-url": "https://upload.pypi.org/legacy/"},
    ),
]


@pytest.mark.peers
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input(
    case: Case,
    pypiserver: PypiServerIndex,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    inputs = {
        "repository-url": pypiserver.upload_url,
        "user": pypiserver.username,
        "password": pypiserver.password,
        "attestations": "false",
        **case.inputs,
    }
    inputs.update(case.setup(work / "dist", dist_cache))

    run = run_action(monkeypatch, capsys, work, inputs)

    assert run.code == case.code, run.out
    for message in case.messages:
        assert message in run.out, run.out
        assert message.replace("|", "\\|") in run.summary or message.split(":")[0] in run.summary
    assert run.out.count("::error ") == 1, run.out
    assert "Traceback" not in run.out
    assert pypiserver.sha256s() == {}, "nothing may reach the index"
    assert run.outputs.get("uploaded", "[]") == "[]"


@pytest.mark.peers
def test_unreachable_index(
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _good(work / "dist", dist_cache)
    url = f"http://127.0.0.1:{_closed_port()}/"
    run = run_action(
        monkeypatch, capsys, work, {"repository-url": url, "user": "alice", "password": "x", "attestations": "false"}
    )
    assert run.code == ExitCode.UPLOAD, run.out
    assert f"Could not reach {url}" in run.summary
    assert "check `repository-url` and that the index is up" in run.out
    assert "look-up of sandbox-demo: attempt 4 failed (network error (ConnectError" in run.out
    assert "could not be reached" in run.out
    assert run.out.count("::error ") == 1
    # Found before any upload: nothing was tried.
    assert run.outputs["uploaded"] == "[]"
    assert run.outputs["failed"] == "[]"
    assert run.outputs["not-tried"] == '["sandbox_demo-1.0.0-py3-none-any.whl", "sandbox_demo-1.0.0.tar.gz"]'


@pytest.mark.peers
def test_wrong_password_is_one_authentication_error(
    pypiserver: PypiServerIndex,
    dist_cache: DistCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _good(work / "dist", dist_cache)
    run = run_action(
        monkeypatch,
        capsys,
        work,
        {
            "repository-url": pypiserver.upload_url,
            "user": "alice",
            "password": "wrong-canary-password",
            "attestations": "false",
        },
    )
    assert run.code == ExitCode.AUTHENTICATION
    assert run.out.count("::error ") == 1
    assert "refused the credentials" in run.out
    assert "check the `user` and `password` inputs" in run.out
    assert "wrong-canary-password" not in run.out.replace("::add-mask::wrong-canary-password", "")
    assert "wrong-canary-password" not in run.summary + "".join(run.outputs.values())
    assert pypiserver.sha256s() == {}
