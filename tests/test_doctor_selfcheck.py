"""The action checks the workflow running it (``GITHUB_WORKFLOW_REF`` in ``GITHUB_WORKSPACE``): findings are
warnings at their lines, in the log and the job summary, and never change the run's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from publish_action.identity.github import GitHubContext
from publish_action.workflows import selfcheck
from tests.helpers import run_action
from tests.sandbox import OIDCIssuer, Warehouse

pytestmark = pytest.mark.sandbox

CATALOGUE = Path(__file__).resolve().parent / "doctor_catalogue"


def _workspace(tmp_path: Path, hatch_dists: Path, workflow: str | None) -> Path:
    """A checkout whose .github/workflows/release.yml (the sandbox issuer's workflow) is ``workflow``."""
    (tmp_path / "dist").symlink_to(hatch_dists)
    if workflow is not None:
        folder = tmp_path / ".github" / "workflows"
        folder.mkdir(parents=True)
        (folder / "release.yml").write_text(workflow, encoding="utf-8")
    return tmp_path


def _publish(
    warehouse: Warehouse,
    github_env: dict[str, str],
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    inputs = {"repository-url": warehouse.upload_url, "attestations": "false"}
    return run_action(monkeypatch, capsys, workspace, inputs, env={"GITHUB_WORKSPACE": str(workspace)})


def test_findings_about_the_running_workflow_are_warnings_in_the_log_and_summary(
    warehouse: Warehouse,
    oidc_issuer: OIDCIssuer,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert github_env["GITHUB_WORKFLOW_REF"] == "octo-org/sandbox-demo/.github/workflows/release.yml@refs/heads/main"
    # Two errors for doctor (id-token for the whole workflow, an expression in a script): warnings here.
    broken = (
        (CATALOGUE / "id-token-workflow-level.yml")
        .read_text(encoding="utf-8")
        .replace("      - run: pipx run build", '      - run: echo "${{ github.ref_name }}"')
    )
    workspace = _workspace(tmp_path, hatch_dists, broken)

    run = _publish(warehouse, github_env, workspace, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert len(warehouse.files) == 2, "the publish went on"
    assert (
        "::warning file=.github/workflows/release.yml,line=7,title=Workflow check%3A `id-token%3A write` is granted "
        "to the whole workflow [id-token-workflow-level]::"
    ) in run.out
    assert "::warning file=.github/workflows/release.yml,line=15,title=Workflow check%3A `${{ github.ref_name }}`" in (
        run.out
    )
    assert "::error" not in run.out
    assert (
        "> `.github/workflows/release.yml:7`: **Workflow check: `id-token: write` is granted to the whole workflow"
        in (run.summary)
    )
    assert "> `.github/workflows/release.yml:15`:" in run.summary
    assert run.outputs["exit-code"] == "0"


def test_a_good_workflow_adds_nothing(
    warehouse: Warehouse,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = (CATALOGUE / "uv-trusted-publishing.yml").read_text(encoding="utf-8")
    workspace = _workspace(tmp_path, hatch_dists, good)

    run = _publish(warehouse, github_env, workspace, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert "Workflow check" not in run.out + run.summary


def test_no_workflow_file_in_the_workspace_is_no_check(
    warehouse: Warehouse,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = _workspace(tmp_path, hatch_dists, None)

    run = _publish(warehouse, github_env, workspace, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert "Workflow check" not in run.out + run.summary


def test_a_failing_check_never_fails_the_publish(
    warehouse: Warehouse,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(_environ: object) -> list[object]:
        raise RuntimeError("doctor broke")

    monkeypatch.setattr(selfcheck, "own_workflow_findings", broken)
    monkeypatch.setenv("PUBLISH_ACTION_DEBUG", "1")
    workspace = _workspace(tmp_path, hatch_dists, "on: push\n")

    run = _publish(warehouse, github_env, workspace, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert len(warehouse.files) == 2
    assert "The check of this run's workflow was skipped: RuntimeError: doctor broke" in run.out


def test_an_unreadable_workflow_is_one_warning(
    warehouse: Warehouse,
    github_env: dict[str, str],
    hatch_dists: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = _workspace(tmp_path, hatch_dists, "jobs: [\n")

    run = _publish(warehouse, github_env, workspace, monkeypatch, capsys)

    assert run.code == 0, run.out
    assert "::warning file=.github/workflows/release.yml,line=" in run.out
    assert "[workflow-unreadable]" in run.out


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("o/r/.github/workflows/release.yml@refs/heads/main", ".github/workflows/release.yml"),
        ("o/r/.github/workflows/a@b.yaml@refs/tags/v1", ".github/workflows/a@b.yaml"),
        ("o/r/.github/workflows/release.yml", None),
        ("", None),
    ],
)
def test_running_workflow_from_the_ref(ref: str, expected: str | None, tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "release.yml").write_text("on: push\n", encoding="utf-8")
    (folder / "a@b.yaml").write_text("on: push\n", encoding="utf-8")

    found = selfcheck.running_workflow(
        GitHubContext.from_environ({"GITHUB_WORKFLOW_REF": ref, "GITHUB_WORKSPACE": str(tmp_path)})
    )

    assert (None if found is None else found[1].relative_to(tmp_path).as_posix()) == expected
