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
    """A bad input: how to make it, the exit code, and the one error the user must read, word for word.

    The error is rendered as one ``::error`` annotation (title, cause, one ``- `` line per problem, the fix)
    and as the same text in the job summary; both are compared whole.
    """

    id: str
    setup: Setup
    code: ExitCode
    title: str
    cause: str
    fix: str
    problems: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)

    def annotation(self) -> str:
        """The ``::error`` line exactly as the runner receives it."""
        body = [self.cause, *(f"- {problem}" for problem in self.problems), f"Fix: {self.fix}"]
        return f"::error title={self.title}::" + "%0A".join(body)

    def summary_block(self) -> str:
        """The error's section of the job summary (Markdown, ``|`` escaped)."""
        lines = [f"### :x: {self.title}", "", self.cause, *(f"- {problem}" for problem in self.problems)]
        lines += ["", f"**Fix:** {self.fix}"]
        return "\n".join(lines).replace("|", "\\|")


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


#: What every pre-flight failure says around its problem lines.
PREFLIGHT = "Distributions failed the pre-flight checks"
PREFLIGHT_CAUSE = "1 problem(s) in 'dist'; nothing was uploaded."
PREFLIGHT_FIX = "fix or remove the files named above, rebuild, and run again."
#: What every invalid input says around its problem lines.
INVALID = "Invalid input"
INVALID_CAUSE = "one or more inputs of the action have values it cannot use."
INVALID_FIX = "correct the inputs listed above in the workflow's `with:` block (or the CLI flags)."


def _preflight(id: str, setup: Setup, problem: str) -> Case:
    return Case(id, setup, ExitCode.PREFLIGHT, PREFLIGHT, PREFLIGHT_CAUSE, PREFLIGHT_FIX, [problem])


def _invalid(id: str, inputs: dict[str, str], problem: str) -> Case:
    return Case(id, _good_inputs(**inputs), ExitCode.SETTINGS, INVALID, INVALID_CAUSE, INVALID_FIX, [problem])


CASES = [
    Case(
        "missing-folder",
        _missing_folder,
        ExitCode.PREFLIGHT,
        "Distribution folder not found",
        "'nowhere' does not exist, so there is nothing to publish.",
        "build the distributions first (for example `python -m build`) or point `packages-dir` at the folder "
        "that holds them.",
    ),
    Case(
        "empty-folder",
        _empty_folder,
        ExitCode.PREFLIGHT,
        "No distributions found",
        "'dist' holds no wheel (.whl) or sdist (.tar.gz, .zip).",
        "build the distributions into this folder before publishing, or point `packages-dir` at the folder "
        "that holds them.",
    ),
    _preflight(
        "stray-file", _stray_file, "notes.txt: not a distribution (expected a .whl wheel, or a .tar.gz or .zip sdist)"
    ),
    _preflight(
        "corrupt-wheel",
        _corrupt_wheel,
        "sandbox_demo-1.0.0-py3-none-any.whl: cannot be read as a wheel (BadZipFile: File is not a zip file)",
    ),
    _preflight(
        "truncated-sdist",
        _truncated_sdist,
        "sandbox_demo-1.0.0.tar.gz: cannot be read as a sdist: the file ends before its archive does (truncated)",
    ),
    _preflight(
        "name-mismatch",
        _name_mismatch,
        "other_name-1.0.0-py3-none-any.whl: the file name says project 'other-name' but its metadata says "
        "'sandbox-demo'",
    ),
    _preflight(
        "version-mismatch",
        _version_mismatch,
        "sandbox_demo-2.0.0-py3-none-any.whl: the file name says version 2.0.0 but its metadata says 1.0.0",
    ),
    _preflight(
        "two-sdists",
        _two_sdists,
        "sandbox_demo-1.0.0.tar.gz, sandbox_demo-1.0.0.zip: 2 sdists for sandbox-demo 1.0.0; an index accepts "
        "only one sdist per release (keep one format, .tar.gz preferred)",
    ),
    _preflight("empty-file", _empty_file, "sandbox_demo-1.0.0-py2-none-any.whl: the file is empty"),
    _preflight(
        "bad-filename",
        _bad_filename,
        "sandbox-demo.whl: the file name is not a valid distribution name (Invalid wheel filename (wrong number "
        "of parts): 'sandbox-demo')",
    ),
    _preflight(
        "folder-inside", _folder_inside, "old: a folder inside packages-dir; only distribution files belong there"
    ),
    Case(
        "packages-dir-is-file",
        _packages_dir_is_a_file,
        ExitCode.PREFLIGHT,
        "packages-dir is not a folder",
        "'dist' is a file, but `packages-dir` names the folder holding the distributions.",
        "set `packages-dir` to the folder (for example `dist`).",
    ),
    _preflight(
        "twine-check",
        _broken_description,
        "broken_rst-1.0.0-py3-none-any.whl: twine check: the long description would not render on PyPI "
        '(line 4: Unknown directive type "broken")',
    ),
    _invalid(
        "bad-boolean",
        {"skip-existing": "maybe"},
        "skip-existing: expected one of true, false, yes, no, 1, 0 (any case), got 'maybe'",
    ),
    _invalid(
        "bad-url",
        {"repository-url": "upload.pypi.org/legacy"},
        "repository-url: expected an http(s) URL such as https://upload.pypi.org/legacy/, got 'upload.pypi.org/legacy'",
    ),
    _invalid(
        "bad-port",
        {"repository-url": "http://127.0.0.1:99999/"},
        "repository-url: the port in 'http://127.0.0.1:99999/' is not a number between 1 and 65535",
    ),
    _invalid(
        "bad-max-parallel",
        {"max-parallel": "zero"},
        "max-parallel: expected a whole number from 1 to 32 (got 'zero')",
    ),
    Case(
        "skip-existing-unknown-layout",
        _good_inputs(**{"repository-url": "http://127.0.0.1:1/a/b/c/", "skip-existing": "true"}),
        ExitCode.SETTINGS,
        "check-url is needed with skip-existing",
        "the simple index of http://127.0.0.1:1/a/b/c/ cannot be derived from its upload URL, so existing files "
        "cannot be compared.",
        "set `check-url` to the index's simple API URL (for example https://host/simple/).",
    ),
    Case(
        "password-user-on-pypi",
        _good_inputs(**{"user": "alice", "password": "hunter2"}),
        ExitCode.AUTHENTICATION,
        "PyPI does not accept passwords for uploads",
        "`user` is 'alice' with a password; PyPI disabled password uploads and takes only API tokens or Trusted "
        "Publishing.",
        "remove `user` and `password` to use Trusted Publishing (recommended), or set `password` to an API token "
        "from a secret and leave `user` at its default `__token__`.",
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
    errors = [line for line in run.out.splitlines() if line.startswith("::error")]
    assert errors == [case.annotation()], run.out
    assert case.summary_block() in run.summary, run.summary
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
    assert "look-up of sandbox-demo: attempt 4 of 5 failed (network error (ConnectError" in run.out
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
