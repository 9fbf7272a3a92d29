"""``publish-action doctor``: the catalogue of broken workflows, the checks that need several files or the
trusted publisher's values, and the command line (messages, exit codes)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from publish_action.__main__ import main
from publish_action.errors import ExitCode
from publish_action.workflows.doctor import Diagnosis, Expected, diagnose

CATALOGUE = Path(__file__).resolve().parent / "doctor_catalogue"
CASES = sorted(CATALOGUE.glob("*.yml"))
_EXPECT = re.compile(r"# expect: (?P<severity>error|warning) (?P<check>[a-z-]+)\s*$")
SHA = "a" * 40


def _expected(path: Path) -> set[tuple[int, str, str]]:
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.add((number, match["severity"], match["check"]))
    return found


def _findings(diagnosis: Diagnosis) -> set[tuple[int, str, str]]:
    return {(finding.line, finding.severity.value, finding.check) for finding in diagnosis.findings}


def test_the_catalogue_is_big_enough_and_covers_every_single_file_check() -> None:
    marked = [_expected(path) for path in CASES]
    broken = [case for case in marked if case]
    assert len(broken) >= 15, f"only {len(broken)} broken workflows in the catalogue"
    checks = {check for case in marked for _line, _severity, check in case}
    assert checks >= {
        "id-token-workflow-level",
        "id-token-missing",
        "environment-missing",
        "token-beside-trusted-publishing",
        "api-token",
        "pull-request-trigger",
        "pull-request-target-trigger",
        "unpinned-action",
        "checkout-persists-credentials",
        "expression-in-run",
        "reusable-workflow",
        "reusable-workflow-attestations",
        "attestations-off",
        "workflow-unreadable",
    }


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_catalogue(path: Path) -> None:
    """Exactly the findings the file's `# expect:` comments name, at those lines."""
    diagnosis = diagnose([path], root=CATALOGUE)

    assert _findings(diagnosis) == _expected(path), "\n".join(
        f"{finding.location} {finding.severity.value} {finding.check}: {finding.title}"
        for finding in diagnosis.findings
    )
    for finding in diagnosis.findings:
        assert finding.file == path.name
        assert finding.title and finding.why and finding.fix


def _repo(tmp_path: Path, **workflows: str) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name, text in workflows.items():
        (folder / name).write_text(textwrap.dedent(text).replace("SHA", SHA), encoding="utf-8")
    return tmp_path


_GOOD = """\
    on:
      push:
        tags: ["v*"]
    permissions: {}
    jobs:
      publish:
        runs-on: ubuntu-latest
        environment: pypi
        permissions:
          id-token: write
        steps:
          - uses: org/publish-action@SHA # v1
    """

_TESTPYPI = (
    _GOOD.rstrip(" ").replace("environment: pypi", "environment: testpypi")
    + "            with:\n              repository-url: https://test.pypi.org/legacy/\n"
)


def test_two_workflows_publishing_to_pypi(tmp_path: Path) -> None:
    root = _repo(tmp_path, **{"release.yml": _GOOD, "publish.yml": _GOOD, "testpypi.yml": _TESTPYPI})
    from publish_action.workflows.doctor import discover

    diagnosis = diagnose(discover(root), root=root, only_publishing=True)

    assert _findings(diagnosis) == {(12, "error", "several-publishing-workflows")}
    (finding,) = diagnosis.findings
    # Sorted by name, publish.yml is the one kept; the other is told to go.
    assert finding.file == ".github/workflows/release.yml"
    assert "2 workflows publish to PyPI: .github/workflows/publish.yml, .github/workflows/release.yml" in finding.title


def test_twine_and_the_action_on_the_same_index_count_as_two(tmp_path: Path) -> None:
    twine = """\
        on: release
        permissions: {}
        jobs:
          upload:
            runs-on: ubuntu-latest
            environment: pypi
            permissions:
              id-token: write
            steps:
              - run: twine upload --repository testpypi dist/*
        """
    root = _repo(tmp_path, **{"a.yml": _TESTPYPI, "b.yml": twine})
    from publish_action.workflows.doctor import discover

    diagnosis = diagnose(discover(root), root=root, only_publishing=True)

    assert _findings(diagnosis) == {(10, "error", "several-publishing-workflows")}
    assert "TestPyPI" in diagnosis.findings[0].title


def test_a_caller_of_a_publishing_reusable_workflow_must_grant_id_token(tmp_path: Path) -> None:
    called = """\
        on:
          workflow_call:
        jobs:
          publish:
            runs-on: ubuntu-latest
            environment: pypi
            steps:
              - uses: org/publish-action@SHA # v1
                with:
                  attestations: false
        """
    caller = """\
        on:
          push:
            tags: ["v*"]
        permissions: {}
        jobs:
          release:
            permissions:
              contents: read
            uses: ./.github/workflows/publish-reusable.yml
          fine:
            permissions:
              id-token: write
            uses: ./.github/workflows/publish-reusable.yml
        """
    root = _repo(tmp_path, **{"publish-reusable.yml": called, "release.yml": caller})
    from publish_action.workflows.doctor import discover

    diagnosis = diagnose(discover(root), root=root, only_publishing=True)

    by_file = {(f.file, f.line, f.check) for f in diagnosis.findings}
    assert by_file == {
        (".github/workflows/publish-reusable.yml", 2, "reusable-workflow"),
        (".github/workflows/release.yml", 7, "reusable-caller-id-token"),
    }
    assert diagnosis.checked == [".github/workflows/publish-reusable.yml", ".github/workflows/release.yml"]


def test_workflow_name_and_environment_compared_with_the_trusted_publisher(tmp_path: Path) -> None:
    root = _repo(tmp_path, **{"release.yml": _GOOD})
    path = root / ".github" / "workflows" / "release.yml"

    matching = diagnose([path], root=root, expected=Expected("release.yml", (("*", "PyPI"),)))
    wrong = diagnose([path], root=root, expected=Expected("publish.yml", (("pypi", "release"),)))
    other_index = diagnose([path], root=root, expected=Expected(None, (("testpypi", "release"),)))

    assert matching.findings == []  # environments compare without case, as the index does
    assert _findings(wrong) == {(12, "error", "workflow-name-mismatch"), (8, "error", "environment-mismatch")}
    assert other_index.findings == []


def test_an_expected_environment_on_a_job_without_one(tmp_path: Path) -> None:
    root = _repo(tmp_path, **{"release.yml": _GOOD.replace("        environment: pypi\n", "")})
    path = root / ".github" / "workflows" / "release.yml"

    diagnosis = diagnose([path], root=root, expected=Expected(None, (("*", "pypi"),)))

    assert _findings(diagnosis) == {(6, "error", "environment-mismatch")}


def test_local_action_counts_only_when_asked(tmp_path: Path) -> None:
    local = _GOOD.replace("org/publish-action@SHA # v1", "./")
    root = _repo(tmp_path, **{"self.yml": local.replace("        environment: pypi\n", "")})
    path = root / ".github" / "workflows" / "self.yml"

    assert diagnose([path], root=root).findings == []
    assert _findings(diagnose([path], root=root, this_action_local=True)) == {(6, "warning", "environment-missing")}


# -- the command line -------------------------------------------------------------------------------------


def test_cli_reports_file_line_why_and_fix_and_exits_8_on_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (CATALOGUE / "id-token-workflow-level.yml").read_text(encoding="utf-8")
    root = _repo(tmp_path, **{"release.yml": broken, "ci.yml": "on: push\njobs:\n  t:\n    runs-on: x\n"})
    monkeypatch.chdir(root)

    code = main(["doctor"])

    out = capsys.readouterr().out
    assert code == ExitCode.WORKFLOW == 8
    assert ".github/workflows/release.yml:7: Error: `id-token: write` is granted to the whole workflow" in out
    assert "Why: the workflow-level `permissions:`" in out
    assert "Fix: set `permissions: {}` at the top" in out
    # ci.yml publishes nothing: not checked, not named.
    assert "doctor: 1 error(s), 0 warning(s) in .github/workflows/release.yml." in out
    assert "ci.yml" not in out


def test_cli_warnings_do_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    code = main(["doctor", str(CATALOGUE / "environment-missing.yml")])

    assert code == 0
    assert "Warning: Job `publish` publishes outside a GitHub environment" in capsys.readouterr().out


def test_cli_on_github_writes_annotations_at_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path, **{"release.yml": (CATALOGUE / "expression-in-run.yml").read_text(encoding="utf-8")})
    monkeypatch.chdir(root)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    code = main(["doctor"])

    out = capsys.readouterr().out
    assert code == 8
    assert "::error file=.github/workflows/release.yml,line=16,title=" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["doctor", "missing.yml"], "Error: No such workflow file: missing.yml does not exist."),
        (["doctor", "--root", "nowhere"], "Error: No workflows to check: nowhere/.github/workflows does not exist."),
        (["doctor", "--environment", "pypi="], "Error: --environment is not [INDEX=]NAME"),
        (["doctor", "--workflow-name", ".github/workflows/x.yml"], "Error: --workflow-name is not a workflow file"),
    ],
)
def test_cli_bad_input_is_one_message_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    code = main(args)

    out = capsys.readouterr().out
    assert code == ExitCode.SETTINGS
    assert message in out
    assert "Fix: " in out


def test_no_publishing_workflow_is_said_and_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path, **{"ci.yml": "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: pytest\n"})
    monkeypatch.chdir(root)

    assert main(["doctor"]) == 0
    assert "doctor: no workflow here publishes to a package index." in capsys.readouterr().out
