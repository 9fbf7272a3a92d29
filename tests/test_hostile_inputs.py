"""What a careless or hostile folder and settings cannot do: odd file names and symbolic links (refused in
pre-flight, against a real pypiserver, an index without PyPI's rules), URLs that carry credentials, control
characters or no valid port (refused as settings). Each gets one clear line, and nothing is uploaded."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from publish_action.errors import ExitCode, SettingsError
from publish_action.settings import load_settings
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


# -- URLs and credentials -----------------------------------------------------------------------------------


def _settings_error(environ: dict[str, str]) -> SettingsError:
    with pytest.raises(SettingsError) as raised:
        load_settings([], environ)
    return raised.value


@pytest.mark.parametrize("name", ["INPUT_REPOSITORY-URL", "INPUT_CHECK-URL"])
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://upload.example.org/leg\nacy/", "white space or a control character"),
        ("https://upload.example.org/legacy/ x", "white space or a control character"),
        ("https://upload.example.org:0/legacy/", "between 1 and 65535"),
        ("https://upload.example.org:70000/legacy/", "between 1 and 65535"),
        ("https://upload.example.org:/legacy/", "between 1 and 65535"),
    ],
    ids=["newline", "space", "port-0", "port-70000", "empty-port"],
)
def test_a_malformed_url_is_a_settings_error_before_any_request(name: str, url: str, words: str) -> None:
    error = _settings_error({name: url, "INPUT_PASSWORD": "pypi-canary-not-a-token"})
    (problem,) = error.problems
    assert words in problem, problem
    assert "\n" not in problem


@pytest.mark.parametrize("name", ["INPUT_REPOSITORY-URL", "INPUT_CHECK-URL"])
def test_credentials_in_a_url_are_a_settings_error_that_never_echoes_them(name: str) -> None:
    secret = "s3cr3t-" + "canary-7f2c"
    error = _settings_error({name: f"https://alice:{secret}@upload.example.org/legacy/"})
    (problem,) = error.problems
    assert "carries credentials" in problem and "`user` and `password`" in problem
    assert secret not in str(error) and "alice:" not in str(error)


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://index.example.org/", True),
        ("http://10.1.2.3:8080/", True),
        ("http://127.0.0.1:8080/", False),
        ("http://[::1]:8080/", False),
        ("http://localhost:8080/", False),
        ("https://index.example.org/", False),
    ],
)
def test_a_password_over_plain_http_to_another_host_is_warned_about_once(url: str, warned: bool) -> None:
    _settings, notices = load_settings([], {"INPUT_REPOSITORY-URL": url, "INPUT_PASSWORD": "pypi-canary"})
    plain = [notice for notice in notices if "plain http://" in notice]
    assert len(plain) == (1 if warned else 0), notices
    # Trusted Publishing sends no password (and refuses plain http itself).
    _settings, notices = load_settings([], {"INPUT_REPOSITORY-URL": url})
    assert not [notice for notice in notices if "plain http://" in notice]


def test_the_summary_keeps_every_outside_text_on_its_own_line() -> None:
    from publish_action.errors import PublishError
    from publish_action.outcomes import RunResult
    from publish_action.report.summary import render_summary

    result = RunResult(
        error=PublishError("Title\r", "cause\nsplit", "fix\r\nhere", problems=["a\rb", "c\nd", "e\x1bf|g"])
    )
    lines = render_summary(result).splitlines()
    assert "- a b" in lines and "- c d" in lines and "- e f\\|g" in lines
    assert "cause split" in lines
    assert "**Fix:** fix  here" in lines
    assert not any("\r" in line or "\x1b" in line for line in lines)
