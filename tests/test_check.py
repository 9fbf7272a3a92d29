"""``publish-action check`` and the action's ``check-only``: pre-flight alone, with the publish step's verdicts.

Every case of the refusal corpus is judged twice, by the publish step (a dry run in the offline world) and
by ``check`` (offline for a file's own rules, ``--index`` for the rules about what the index holds): both
must name the same problems. ``check-only`` stops where ``check`` does, without reading a credential.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from publish_action import check
from publish_action.errors import ExitCode
from publish_action.report import Reporter
from tests.fixtures.bad_dists import CASES, BadCase, Corpus
from tests.fixtures.dists import DistCache, make_wheels
from tests.helpers import Run, run_in_world
from tests.sandbox.world import World

pytestmark = pytest.mark.sandbox

RELEASE_STATE_RULES = frozenset({"release-closed", "sdist-exists", "project-archived", "project-quarantined"})


@pytest.fixture(scope="module")
def corpus(dist_cache: DistCache, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(dist_cache, tmp_path_factory.mktemp("check-corpus"))


def _check(args: list[str], *, github: bool = False) -> tuple[int, str]:
    stream = io.StringIO()
    code = check.run(args, Reporter(environ={"GITHUB_ACTIONS": "true"} if github else {}, stream=stream))
    return code, stream.getvalue()


def _problems_in_log(text: str) -> list[str]:
    """The ``- <problem>`` lines of the error annotation(s) in a log (plain or GitHub's escaped form)."""
    lines = text.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%").splitlines()
    return sorted(line[2:] for line in lines if line.startswith("- "))


def _problems_in_summary(run: Run) -> list[str]:
    return sorted(line[2:].replace("\\|", "|") for line in run.summary.splitlines() if line.startswith("- "))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_check_gives_the_publish_steps_verdict(
    case: BadCase,
    world: World,
    corpus: Corpus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    case.companion_wheel(dist)
    corpus.copy_to(dist, case)
    if case.setup is not None:
        case.setup(world.warehouse, corpus.cache, tmp_path / "seed")
    published = run_in_world(world, monkeypatch, capsys, tmp_path, index_rules="pypi", dry_run="true")
    assert published.code == ExitCode.PREFLIGHT, published.out
    lookups = world.warehouse.requests.count("simple")

    index = ["--index", world.warehouse.upload_url] if case.rule in RELEASE_STATE_RULES else []
    code, out = _check([str(dist), *index])

    assert code == ExitCode.PREFLIGHT, out
    assert _problems_in_log(out) == _problems_in_summary(published)
    # Offline unless asked: a file's own rules need no index.
    assert (world.warehouse.requests.count("simple") > lookups) == bool(index)
    assert world.warehouse.requests.count("mint") == 0


def test_files_that_pass_are_named_and_the_exit_code_is_zero(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "dist", 2, distinct_by="platform")
    code, out = _check([str(tmp_path / "dist")])
    assert code == 0, out
    assert [line.split(":")[0] for line in out.splitlines()] == sorted(wheel.name for wheel in wheels)
    assert all(line.endswith("passes PyPI's upload rules") for line in out.splitlines())


def test_files_can_be_named_one_by_one_and_a_missing_one_is_a_problem(tmp_path: Path) -> None:
    (wheel,) = make_wheels(tmp_path / "dist", 1)
    code, out = _check([str(wheel), str(tmp_path / "dist" / "gone-1.0-py3-none-any.whl")])
    assert code == ExitCode.PREFLIGHT
    assert _problems_in_log(out) == [f"{tmp_path / 'dist' / 'gone-1.0-py3-none-any.whl'}: no such file"]


def test_on_github_a_refusal_is_an_error_annotation(tmp_path: Path) -> None:
    (wheel,) = make_wheels(tmp_path / "dist", 1, distinct_by="platform")
    bad = wheel.with_name(wheel.name.rsplit("-", 1)[0] + "-linux_x86_64.whl")
    wheel.rename(bad)
    code, out = _check([str(bad)], github=True)
    assert code == ExitCode.PREFLIGHT
    (annotation,) = [line for line in out.splitlines() if line.startswith("::error ")]
    assert "title=Distributions failed the pre-flight checks" in annotation
    assert f"- {bad.name}: PyPI would refuse it: its platform tag 'linux_x86_64'" in annotation.replace("%0A", "\n")


def test_the_generic_checks_alone_let_a_pypi_refusal_through(tmp_path: Path) -> None:
    (wheel,) = make_wheels(tmp_path / "dist", 1, distinct_by="platform")
    bad = wheel.rename(wheel.with_name(wheel.name.rsplit("-", 1)[0] + "-linux_x86_64.whl"))
    assert _check([str(bad), "--index-rules", "none"])[0] == 0
    assert _check([str(bad)])[0] == ExitCode.PREFLIGHT


def test_a_malformed_index_url_is_a_settings_error(tmp_path: Path) -> None:
    make_wheels(tmp_path / "dist", 1)
    code, out = _check([str(tmp_path / "dist"), "--index", "upload.pypi.org"])
    assert code == ExitCode.SETTINGS
    assert "--index is not an index's URL" in out


def test_an_index_that_does_not_answer_is_said_so(tmp_path: Path) -> None:
    make_wheels(tmp_path / "dist", 1)
    code, out = _check([str(tmp_path / "dist"), "--index", "http://127.0.0.1:9/legacy/"])
    assert code == ExitCode.UPLOAD, out


def test_help_loads_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from publish_action.__main__ import main\n"
        "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [name for name in ('httpx', 'pydantic', 'sigstore', 'packaging.metadata') if name in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "Pre-flight alone" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_check_only_stops_where_check_does_without_a_credential(
    world: World,
    corpus: Corpus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (case,) = [case for case in CASES if case.id == "platform-linux"]
    dist = tmp_path / "dist"
    corpus.copy_to(dist, case)
    run = run_in_world(world, monkeypatch, capsys, tmp_path, check_only="true", index_rules="pypi")
    assert run.code == ExitCode.PREFLIGHT, run.out
    code, out = _check([str(dist)])
    assert code == ExitCode.PREFLIGHT
    assert _problems_in_log(out) == _problems_in_summary(run)
    assert world.issuer.issued == [], "check-only read an OIDC token"
    assert world.warehouse.requests.count("mint") == 0 and world.warehouse.requests.count("upload") == 0


def test_check_only_passes_good_files_and_sends_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheels(tmp_path / "dist", 2, distinct_by="platform")
    run = run_in_world(world, monkeypatch, capsys, tmp_path, check_only="true")
    assert run.code == 0, run.out
    assert "check-only: every file passes pre-flight" in run.out
    assert world.issuer.issued == []
    assert world.warehouse.requests.count("upload") == 0 and world.warehouse.files == []
    assert world.warehouse.requests.count("simple") >= 1, "the release was not looked up"
    assert re.search(r"would upload", run.summary), run.summary
