"""The report outside GitHub: GitLab's collapsible sections, the dotenv outputs file and the summary file."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from publish_action import dists
from publish_action.errors import UploadError
from publish_action.index import Index
from publish_action.outcomes import Confirmation, FileOutcome, FileState, Published, RunResult
from publish_action.report import Reporter
from publish_action.report.outputs import DOTENV_LIMIT, dotenv_text, output_values
from tests.fixtures.dists import make_wheels

#: GitLab's rules for a dotenv report line: a name of ASCII letters, digits and underscores, one line each.
_DOTENV_LINE = re.compile(r"^[A-Za-z0-9_]+=[^\n]*$")
_SECTION_START = re.compile(r"^\x1b\[0Ksection_start:(\d+):(publish_action_\d+)\[collapsed=true\]\r\x1b\[0K(.*)$")
_SECTION_END = re.compile(r"^\x1b\[0Ksection_end:(\d+):(publish_action_\d+)\r\x1b\[0K$")


def _result(tmp_path: Path, count: int, *, name: str = "sandbox-demo") -> RunResult:
    make_wheels(tmp_path / "dist", count, name=name)
    plan = dists.plan(tmp_path / "dist", verify_metadata=False)
    result = RunResult(index=Index.from_urls("https://upload.pypi.org/legacy/"), plan=plan)
    result.outcomes = [FileOutcome(dist) for dist in plan.distributions]
    for outcome in result.outcomes:
        outcome.state = FileState.UPLOADED
        outcome.attestation = "signed"
        outcome.published = Confirmation(Published.VERIFIED, "sha256 …")
    result.credential_kind = "trusted-publishing"
    return result


def _dotenv(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert text.endswith("\n") and all(_DOTENV_LINE.match(line) for line in lines), text
    assert len(text.encode()) <= DOTENV_LIMIT
    return dict(line.split("=", 1) for line in lines)


def test_a_gitlab_job_gets_sections_and_no_workflow_commands(tmp_path: Path) -> None:
    stream = io.StringIO()
    reporter = Reporter(environ={"GITLAB_CI": "true"}, stream=stream)
    reporter.mask("secret-value")
    with reporter.group("Uploading to PyPI"), reporter.group("inner\x1b[31m title"):
        reporter.line("::error::forged")
    lines = stream.getvalue().split("\n")[:-1]  # not splitlines(): the markers hold a carriage return

    assert "secret-value" not in stream.getvalue()  # outside GitHub nothing can mask: nothing is printed
    first, second, text, end_second, end_first = lines
    opened = [_SECTION_START.match(first), _SECTION_START.match(second)]
    closed = [_SECTION_END.match(end_first), _SECTION_END.match(end_second)]
    assert all(opened) and all(closed)
    assert [m.group(2) for m in opened if m] == [m.group(2) for m in closed if m]  # each end closes its start
    assert opened[0] and opened[1] and opened[0].group(2) != opened[1].group(2)
    assert opened[0].group(3) == "Uploading to PyPI"
    assert opened[1] and "\x1b" not in opened[1].group(3)  # a title cannot carry its own control codes
    assert text == "::error::forged"  # plain text on GitLab: no runner reads it as a command


def test_a_gitlab_job_writes_the_dotenv_and_summary_files_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _result(tmp_path, 2)
    stream = io.StringIO()
    Reporter(environ={"GITLAB_CI": "true"}, stream=stream).report(result)

    values = _dotenv(tmp_path / "publish-action.env")
    names = [outcome.dist.filename for outcome in result.outcomes]
    assert values["PUBLISH_ACTION_EXIT_CODE"] == "0"
    assert json.loads(values["PUBLISH_ACTION_UPLOADED"]) == names
    assert json.loads(values["PUBLISH_ACTION_VERIFIED"]) == names
    assert json.loads(values["PUBLISH_ACTION_NOT_TRIED"]) == []
    # Two versions: two release pages, so no single release-url.
    assert values["PUBLISH_ACTION_RELEASE_URL"] == ""
    assert json.loads(values["PUBLISH_ACTION_RELEASE_URLS"]) == [
        "https://pypi.org/project/sandbox-demo/1.0.0/",
        "https://pypi.org/project/sandbox-demo/1.0.1/",
    ]
    assert [record["filename"] for record in json.loads(values["PUBLISH_ACTION_FILES"])] == names
    assert values["PUBLISH_ACTION_LEFT_OUT"] == ""
    summary = (tmp_path / "publish-action-summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## Publish to PyPI")
    assert all(f"`{name}`" in summary for name in names)
    assert "::" not in stream.getvalue()


def test_paths_from_the_inputs_win_and_a_terminal_run_writes_no_file_unasked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _result(tmp_path, 1)
    Reporter(environ={}, stream=io.StringIO()).report(result)
    assert not (tmp_path / "publish-action.env").exists() and not (tmp_path / "publish-action-summary.md").exists()

    reporter = Reporter(environ={"GITLAB_CI": "true"}, stream=io.StringIO())
    reporter.use_files(tmp_path / "out" / "first.env", None)
    (tmp_path / "out").mkdir()
    reporter.report(result)
    assert _dotenv(tmp_path / "out" / "first.env")["PUBLISH_ACTION_EXIT_CODE"] == "0"
    assert (tmp_path / "publish-action-summary.md").exists()  # the other keeps its default


def test_github_writes_its_own_files_and_the_outputs_file_when_asked(tmp_path: Path) -> None:
    result = _result(tmp_path, 1)
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    reporter = Reporter(environ=environ, stream=io.StringIO())
    reporter.use_files(tmp_path / "outputs.env", None)
    reporter.report(result)
    assert "uploaded<<ghadelimiter_" in output.read_text() and summary.read_text().startswith("## Publish")
    dotenv = _dotenv(tmp_path / "outputs.env")
    assert dotenv["PUBLISH_ACTION_UPLOADED"] == output_values(result, compact=True)["uploaded"]
    assert json.loads(dotenv["PUBLISH_ACTION_UPLOADED"]) == json.loads(output_values(result)["uploaded"])


def test_a_failed_run_exports_its_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _result(tmp_path, 2)
    failed = result.outcomes[1]
    failed.state = FileState.FAILED
    failed.published = None
    failed.error = UploadError("The index refused a file", "HTTP 400: bad metadata.", "fix the metadata.")
    Reporter(environ={"GITLAB_CI": "true"}, stream=io.StringIO()).report(result)
    values = _dotenv(tmp_path / "publish-action.env")
    assert values["PUBLISH_ACTION_EXIT_CODE"] == "6"
    assert json.loads(values["PUBLISH_ACTION_FAILED"]) == [failed.dist.filename]
    assert "The index refused a file" in (tmp_path / "publish-action-summary.md").read_text()


def test_a_release_too_large_for_gitlab_keeps_the_dotenv_file_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _result(tmp_path, 70, name="a-project-with-a-rather-long-name-for-its-wheels")
    stream = io.StringIO()
    Reporter(environ={"GITLAB_CI": "true"}, stream=stream).report(result)

    values = _dotenv(tmp_path / "publish-action.env")
    left_out = values["PUBLISH_ACTION_LEFT_OUT"].split(",")
    # The scalar outputs and the short lists stay; the long ones go, named, and empty (never stale).
    assert values["PUBLISH_ACTION_EXIT_CODE"] == "0" and values["PUBLISH_ACTION_FAILED"] == "[]"
    assert "PUBLISH_ACTION_FILES" in left_out and values["PUBLISH_ACTION_FILES"] == ""
    assert all(values[name] == "" for name in left_out)
    assert "larger than GitLab's 5120-byte limit" in stream.getvalue()
    # The summary file still lists every file.
    summary = (tmp_path / "publish-action-summary.md").read_text()
    assert all(f"`{outcome.dist.filename}`" in summary for outcome in result.outcomes)


def test_dotenv_values_are_single_lines_whatever_they_hold() -> None:
    text, left_out = dotenv_text({"exit-code": "0", "release-url": "https://x/\nINJECTED=1\r"})
    assert left_out == [] and "INJECTED=1" not in text.splitlines()
    assert all(_DOTENV_LINE.match(line) for line in text.splitlines())


def test_an_unwritable_outputs_file_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    result = _result(tmp_path, 1)
    stream = io.StringIO()
    reporter = Reporter(environ={"GITLAB_CI": "true"}, stream=stream)
    reporter.use_files(tmp_path / "missing" / "out.env", tmp_path / "missing" / "summary.md")
    reporter.report(result)
    assert "Warning: Outputs file not written:" in stream.getvalue()
    assert "Warning: Summary file not written:" in stream.getvalue()
    assert result.exit_code == 0


def test_the_runners_files_are_written_whenever_they_are_named(tmp_path: Path) -> None:
    """``docker run`` of the image with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY set (no GITHUB_ACTIONS): plain log
    lines, and the outputs and summary in the files named."""
    output, summary = tmp_path / "output", tmp_path / "summary"
    stream = io.StringIO()
    Reporter(environ={"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}, stream=stream).report(
        RunResult()
    )
    assert "exit-code<<ghadelimiter_" in output.read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8").startswith("## Publish to the index")
    assert "::" not in stream.getvalue()
