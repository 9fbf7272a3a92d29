"""Our GitLab CI example, ``examples/gitlab-ci.yml``, run by gitlab-ci-local against the offline world.

gitlab-ci-local (npm, pinned in package.json at 4.73.0: later releases need Node 22's Set methods, our
machines have Node 20) runs the example's ``publish`` job the way GitLab's Docker executor does: the job's
image with ``entrypoint: [""]``, the project copied into a volume at ``CI_PROJECT_DIR``, ``script:`` through
the image's shell, then ``artifacts:`` (the dotenv report and the summary) copied out. The file is the
example itself with one line changed, the image reference, which names the image built from this checkout
instead of a release's digest. What gitlab-ci-local does not do as gitlab.com does, and how the test stands
in for it:

- ``id_tokens:`` is validated against GitLab's schema and otherwise ignored (4.73.0), so the variables such
  a job gets (``PYPI_ID_TOKEN`` and ``SIGSTORE_ID_TOKEN`` from the GitLab issuer stand-in, ``GITLAB_CI=true``,
  ``CI_PROJECT_PATH``, …) come from a variables file outside the project, where project CI/CD variables
  would come from: never on a command line of ours. (gitlab-ci-local itself hands every variable to
  ``docker create -e NAME=VALUE``.)
- ``--network host``, so the job reaches the stand-ins on 127.0.0.1.
- gitlab-ci-local copies files into and out of the job's volume with a helper container that needs bash and
  rsync; no registry is reachable here, so the helper is the action's image plus Debian's rsync, built once.
- The ``build`` job is not run (its image would need PyPI): its artifact, ``dist/``, is put where
  gitlab-ci-local keeps a finished job's artifacts (``.gitlab-ci-local/artifacts/build/``), and the publish
  job imports it through ``needs:`` as it would after a real build.

GitLab variable names hold letters, digits and underscores only (the runner ``export``s each one), so the
inputs the test needs are set with underscores (``INPUT_REPOSITORY_URL``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests import canary
from tests.e2e._harness import REPO_ROOT, ActionImage, file_sha256s, in_ci
from tests.sandbox.gitlab_issuer import GitLabClaims
from tests.sandbox.warehouse import GitLabPublisher
from tests.sandbox.world import DEFAULT_GITLAB_PUBLISHER, SIGSTORE_TRUST_CONFIG_ENV, World, offline_world

GITLAB_CI_LOCAL = REPO_ROOT / "node_modules" / ".bin" / "gitlab-ci-local"
EXAMPLE = REPO_ROOT / "examples" / "gitlab-ci.yml"
#: The one line of the example that the test changes: the release image, named by digest.
EXAMPLE_IMAGE_LINE = "    name: ghcr.io/OWNER/publish-action@sha256:<64 hex digits>\n"
HELPER_IMAGE = "publish-action-gitlab-helper:local"
#: What the helper container needs beyond the action image's base (Debian bookworm minbase): rsync and the
#: one library of it that minbase lacks.
HELPER_DEBS = ("rsync", "libpopt0")

GCL_TIMEOUT_S = 600.0
APT_TIMEOUT_S = 600.0
DOCKER_TIMEOUT_S = 300.0

#: The job's tag pipeline: the example's jobs run for tags only.
TAG = "v1.0.0"
#: gitlab-ci-local prints a recognised ``section_start`` marker as ``<name>_started`` and its
#: ``section_end`` as ``<name> took <n>ms``; a malformed marker would stay as it was written.
_SECTION_STARTED = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)_started$", re.MULTILINE)
_DOTENV_LINE = re.compile(r"[A-Za-z0-9_]+=[^\r\n]*")
#: gitlab.com's limits for a dotenv report (Ci::ParseDotenvArtifactService; 20 variables on self-managed).
DOTENV_MAX_BYTES = 5 * 1024
DOTENV_MAX_VARIABLES = 20
DOTENV_KEYS = {
    "PUBLISH_ACTION_EXIT_CODE",
    "PUBLISH_ACTION_UPLOADED",
    "PUBLISH_ACTION_SKIPPED",
    "PUBLISH_ACTION_FAILED",
    "PUBLISH_ACTION_NOT_TRIED",
    "PUBLISH_ACTION_VERIFIED",
    "PUBLISH_ACTION_RELEASE_URL",
    "PUBLISH_ACTION_RELEASE_URLS",
    "PUBLISH_ACTION_FILES",
    "PUBLISH_ACTION_PROVENANCE_STATUS",
    # What did not fit in GitLab's size limit (nothing, for two files).
    "PUBLISH_ACTION_LEFT_OUT",
}


def _unusable(reason: str) -> None:
    """Skip on a developer's machine, fail on CI: an e2e test that silently did not run proves nothing."""
    if in_ci():
        pytest.fail(f"CI=true but the gitlab-ci-local test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def _run(command: Sequence[str], *, timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


class _Apt:
    """apt-get for what gitlab-ci-local needs on this machine: one ``apt-get update`` at most, as root only."""

    def __init__(self) -> None:
        self.updated = False

    def _update(self) -> None:
        if not self.updated:
            done = _run(["apt-get", "update", "-q"], timeout=APT_TIMEOUT_S)
            if done.returncode != 0:
                _unusable(f"apt-get update failed: {done.stderr[-2000:]}")
            self.updated = True

    def run(self, *args: str, cwd: Path | None = None) -> None:
        if os.geteuid() != 0:
            _unusable(f"apt-get {' '.join(args)} is needed and this is not root")
        self._update()
        done = _run(["apt-get", *args], timeout=APT_TIMEOUT_S, cwd=cwd)
        if done.returncode != 0:
            _unusable(f"apt-get {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")


def _helper_image(base: str, workdir: Path, apt: _Apt) -> str:
    """The helper image gitlab-ci-local copies files with: ``base`` (the action image) plus rsync."""
    if _run(["docker", "image", "inspect", HELPER_IMAGE], timeout=DOCKER_TIMEOUT_S).returncode == 0:
        return HELPER_IMAGE
    context = workdir / "helper-image"
    context.mkdir()
    apt.run("download", *HELPER_DEBS, cwd=context)
    (context / "Dockerfile").write_text(
        f"FROM {base}\n"
        "COPY *.deb /tmp/debs/\n"
        "RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs\n"
        # gitlab-ci-local runs `sh -c …` and `bash -c …` in it: no entrypoint of the program's.
        "ENTRYPOINT []\n"
        'CMD ["bash"]\n',
        encoding="utf-8",
    )
    built = _run(["docker", "build", "-q", "-t", HELPER_IMAGE, str(context)], timeout=DOCKER_TIMEOUT_S)
    if built.returncode != 0:
        pytest.fail(f"building {HELPER_IMAGE} failed:\n{built.stdout[-2000:]}{built.stderr[-2000:]}", pytrace=False)
    return HELPER_IMAGE


@dataclass(frozen=True)
class GitLabCiLocal:
    """gitlab-ci-local ready to run jobs in the action's image."""

    action_image: str
    helper_image: str
    version: str


@pytest.fixture(scope="session")
def gitlab_ci_local_version() -> str:
    """gitlab-ci-local from node_modules (``npm ci``) answers; its version."""
    if not GITLAB_CI_LOCAL.exists():
        _unusable(f"{GITLAB_CI_LOCAL} is missing: run `npm ci`")
    version = _run([str(GITLAB_CI_LOCAL), "--version"], timeout=60)
    if version.returncode != 0:
        _unusable(f"gitlab-ci-local --version exited {version.returncode}: {version.stderr[-2000:]}")
    return version.stdout.strip()


@pytest.fixture(scope="session")
def gitlab_ci_local(
    gitlab_ci_local_version: str, action_image: ActionImage, tmp_path_factory: pytest.TempPathFactory
) -> GitLabCiLocal:
    """gitlab-ci-local, rsync and git on this machine (it uses them) and the helper image."""
    apt = _Apt()
    for tool in ("rsync", "git"):
        if shutil.which(tool) is None:
            apt.run("install", "-y", "-q", tool)
    helper = _helper_image(action_image.tag, tmp_path_factory.mktemp("gitlab-helper"), apt)
    return GitLabCiLocal(action_image.tag, helper, gitlab_ci_local_version)


def example_with_image(image: str) -> str:
    """The example job file with its image reference, and nothing else, replaced by ``image``."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(EXAMPLE_IMAGE_LINE) == 1, f"{EXAMPLE} no longer has the line {EXAMPLE_IMAGE_LINE!r}"
    changed = text.replace(EXAMPLE_IMAGE_LINE, f"    name: {image}\n")
    assert changed != text
    assert [a for a, b in zip(text.splitlines(), changed.splitlines(), strict=True) if a != b] == [
        EXAMPLE_IMAGE_LINE.rstrip("\n")
    ]
    return changed


def claims_for(pipeline: str) -> GitLabClaims:
    """The claims GitLab would put in the publish job's ID tokens: the job's environment, the pipeline file's
    path and the tag. gitlab-ci-local mints no token, so the stand-in's tokens are made to describe the job
    the file defines (a job in another environment gets a token the Warehouse's publisher refuses)."""
    job = yaml.safe_load(pipeline)["publish"]
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment["name"]
    assert environment is None or isinstance(environment, str), environment
    return GitLabClaims(ref_path=f"refs/tags/{TAG}", ci_config_path=".gitlab-ci.yml", environment=environment)


def make_project(dest: Path, pipeline: str, dists: Path | None = None) -> Path:
    """A GitLab project checkout: ``pipeline`` as ``.gitlab-ci.yml``, one tagged commit, gitlab.com as its
    remote, and ``dists`` as ``dist/``, the artifact of a finished ``build`` job."""
    dest.mkdir(parents=True)
    (dest / ".gitlab-ci.yml").write_text(pipeline, encoding="utf-8")
    (dest / "README.md").write_text("sandbox-demo\n", encoding="utf-8")
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-c", "init.defaultBranch=main"]
    for step in (
        ["init", "-q"],
        ["remote", "add", "origin", "https://gitlab.com/octo-group/sandbox-demo.git"],
        ["add", "-A"],
        ["commit", "-q", "-m", "release"],
        ["tag", TAG],
        # origin/HEAD, as a clone has it (gitlab-ci-local reads the default branch from it).
        ["update-ref", "refs/remotes/origin/main", "HEAD"],
        ["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"],
    ):
        subprocess.run([*git, *step], cwd=dest, check=True, capture_output=True, timeout=60)
    if dists is not None:
        shutil.copytree(dists, dest / ".gitlab-ci-local" / "artifacts" / "build" / "dist")
    return dest


@dataclass(frozen=True)
class JobRun:
    """What one gitlab-ci-local run left: its exit code, its output, and the publish job's artifacts."""

    returncode: int
    log: str
    job_log: str
    dotenv: str | None
    summary: str | None


#: A CI/CD variable of GitLab's File type: the job gets a path to a file holding the content.
FileVariable = dict[str, object]


def file_variable(content: str) -> FileVariable:
    """A File-type variable, as gitlab-ci-local's variables file writes one."""
    return {"type": "file", "values": {"*": content}}


def run_publish_job(gcl: GitLabCiLocal, project: Path, variables: Mapping[str, str | FileVariable]) -> JobRun:
    """Run the project's ``publish`` job with gitlab-ci-local; ``variables`` stand for the project's CI/CD
    variables and the job's ``id_tokens:``. They go through a variables file next to the project, never argv."""
    variables_file = project.parent / "gitlab-ci-local-variables.yml"
    # JSON is YAML; gitlab-ci-local reads the file with the failsafe schema, every value a string.
    variables_file.write_text(json.dumps(dict(variables), indent=1), encoding="utf-8")
    variables_file.chmod(0o600)
    home = project.parent / "gitlab-ci-local-home"
    home.mkdir(exist_ok=True)
    command = [
        str(GITLAB_CI_LOCAL),
        "publish",
        # Run in the project (gitlab-ci-local wants --cwd relative); the variables file is named relative to it,
        # as gitlab-ci-local resolves it, and lies outside the project, so it is never copied into the job.
        "--variables-file", os.path.relpath(variables_file, project),
        "--home", str(home),
        "--network", "host",
        "--helper-image", gcl.helper_image,
        "--pull-policy", "if-not-present",
        "--no-color",
        "--ignore-predefined-vars", ",".join(sorted(variables)),
    ]  # fmt: skip
    try:
        completed = _run(command, timeout=GCL_TIMEOUT_S, cwd=project)
    finally:
        variables_file.unlink(missing_ok=True)
    state = project / ".gitlab-ci-local"
    job_log_path = state / "output" / "publish.log"
    artifacts = state / "artifacts" / "publish"
    dotenv_path = artifacts / ".gitlab-ci-reports" / "dotenv" / "publish-action.env"
    summary_path = artifacts / "publish-action-summary.md"
    run = JobRun(
        completed.returncode,
        completed.stdout + completed.stderr,
        job_log_path.read_text(encoding="utf-8") if job_log_path.exists() else "",
        dotenv_path.read_text(encoding="utf-8") if dotenv_path.exists() else None,
        summary_path.read_text(encoding="utf-8") if summary_path.exists() else None,
    )
    # The secret canary: no token the stand-ins made, and no minted upload token, anywhere a person would read.
    # No `::add-mask::` exemption: that is a GitHub workflow command, which has no place in a GitLab log.
    canary.assert_clean(
        {
            "gitlab-ci-local's output": run.log,
            "the job log": run.job_log,
            "the dotenv report": run.dotenv or "",
            "the summary artifact": run.summary or "",
        }
    )
    return run


def job_variables(world: World) -> dict[str, str | FileVariable]:
    """What a GitLab job running the example gets: the job's variables with its two ID tokens, and the two
    settings that point the program at the offline world as project CI/CD variables would: the index's URL
    (underscores only) and the loopback Sigstore's trust config (a File variable, so nothing of the host is
    mounted into the job)."""
    variables: dict[str, str | FileVariable] = dict(world.job_env())
    trust_config = world.sigstore.trust_config_path.read_text(encoding="utf-8")
    variables[SIGSTORE_TRUST_CONFIG_ENV] = file_variable(trust_config)
    variables["INPUT_REPOSITORY_URL"] = world.warehouse.upload_url
    return variables


def parse_dotenv_report(text: str) -> dict[str, str]:
    """Read a dotenv report as GitLab does, failing where GitLab would refuse it.

    GitLab (Ci::ParseDotenvArtifactService) takes every line as ``KEY=VALUE`` (a blank or comment line is
    "Invalid Format"), keys as Ci::JobVariable allows them, the file under 5 KiB, at most 20 variables.
    """
    assert len(text.encode("utf-8")) < DOTENV_MAX_BYTES, f"dotenv report of {len(text.encode())} bytes"
    assert text.endswith("\n"), "dotenv report: the last line is not terminated"
    values: dict[str, str] = {}
    for line in text.removesuffix("\n").split("\n"):
        assert _DOTENV_LINE.fullmatch(line), f"dotenv report: GitLab refuses the line {line!r}"
        key, value = line.split("=", 1)
        assert key not in values, f"dotenv report: {key} twice"
        values[key] = value
    assert len(values) <= DOTENV_MAX_VARIABLES, sorted(values)
    return values


def _json_list(values: Mapping[str, str], key: str) -> list[str]:
    value = values[key]
    parsed = json.loads(value)
    assert isinstance(parsed, list), value
    # Compact JSON: GitLab strips a value's surrounding blanks, and shells split on the inner ones.
    assert json.dumps(parsed, separators=(",", ":")) == value, value
    return [str(item) for item in parsed]


def _assert_gitlab_log(job_log: str) -> None:
    """The job's log is GitLab's kind: collapsible sections, no GitHub workflow commands."""
    started = _SECTION_STARTED.findall(job_log)
    assert started, f"no GitLab section marker that gitlab-ci-local recognised; job log:\n{job_log}"
    for name in started:
        assert re.search(rf"^{re.escape(name)} took \d+ms$", job_log, re.MULTILINE), f"section {name} never ends"
    assert "section_start:" not in job_log, f"a malformed section marker; job log:\n{job_log}"
    commands = [line for line in job_log.splitlines() if re.match(r"^\s*::[a-z-]+", line)]
    assert commands == [], commands


def test_example_publishes_with_trusted_publishing_and_attestations(
    gitlab_ci_local: GitLabCiLocal, hatch_dists: Path, tmp_path: Path
) -> None:
    pipeline = example_with_image(gitlab_ci_local.action_image)
    with offline_world(tmp_path / "world", provider="gitlab", claims=claims_for(pipeline)) as world:
        project = make_project(tmp_path / "project", pipeline, hatch_dists)
        run = run_publish_job(gitlab_ci_local, project, job_variables(world))

        assert run.returncode == 0, run.log
        local = file_sha256s(hatch_dists)
        stored = {f.filename: f for f in world.warehouse.files}
        assert {name: f.sha256 for name, f in stored.items()} == local, run.log
        for name, stored_file in stored.items():
            # The Warehouse stand-in verified each attestation against the GitLab publisher at upload.
            assert stored_file.attestations, f"{name} was uploaded without attestations"
            assert stored_file.provenance is not None, name
            assert stored_file.publisher == DEFAULT_GITLAB_PUBLISHER, stored_file.publisher
        assert [m.publisher for m in world.warehouse.mints] == [DEFAULT_GITLAB_PUBLISHER]
        assert world.warehouse.errors == []

    _assert_gitlab_log(run.job_log)
    # INPUT_REPOSITORY_URL is how GitLab spells the input: no deprecation warning for it.
    assert "deprecated" not in run.job_log, run.job_log
    assert run.dotenv is not None, f"no dotenv report was collected; log:\n{run.log}"
    values = parse_dotenv_report(run.dotenv)
    assert set(values) == DOTENV_KEYS, sorted(values)
    assert values["PUBLISH_ACTION_EXIT_CODE"] == "0"
    assert sorted(_json_list(values, "PUBLISH_ACTION_UPLOADED")) == sorted(local)
    for key in ("PUBLISH_ACTION_SKIPPED", "PUBLISH_ACTION_FAILED", "PUBLISH_ACTION_NOT_TRIED"):
        assert _json_list(values, key) == [], key
    assert sorted(_json_list(values, "PUBLISH_ACTION_VERIFIED")) == sorted(local)
    # The stand-in is not PyPI: no release page.
    assert _json_list(values, "PUBLISH_ACTION_RELEASE_URLS") == []
    assert values["PUBLISH_ACTION_RELEASE_URL"] == ""
    assert values["PUBLISH_ACTION_LEFT_OUT"] == ""
    # One release, every file attested by the same GitLab publisher: Warehouse's "full-provenance".
    assert values["PUBLISH_ACTION_PROVENANCE_STATUS"] == "full-provenance"
    files = json.loads(values["PUBLISH_ACTION_FILES"])
    assert json.dumps(files, separators=(",", ":")) == values["PUBLISH_ACTION_FILES"]
    assert {f["filename"]: f["sha256"] for f in files} == local
    assert {(f["state"], f["attestation"], f["published"]) for f in files} == {("uploaded", "signed", "verified")}
    # The dotenv report is also copied back into the project (gitlab-ci-local's --artifacts-to-source).
    assert (tmp_path / "project" / "publish-action.env").read_text(encoding="utf-8") == run.dotenv
    assert run.summary is not None, f"no summary artifact was collected; log:\n{run.log}"
    for name in local:
        assert re.search(rf"^\| `{re.escape(name)}` \|.*\| uploaded \| signed \| verified \|", run.summary, re.M), (
            run.summary
        )


def test_publisher_for_another_ci_file_is_refused(
    gitlab_ci_local: GitLabCiLocal, hatch_dists: Path, tmp_path: Path
) -> None:
    """PyPI's publisher names another pipeline file: exit 4, nothing uploaded, and the message says which
    field of the trusted publisher does not match, in PyPI's words."""
    publisher = GitLabPublisher("octo-group", "sandbox-demo", "ci/release.yml", "pypi")
    pipeline = example_with_image(gitlab_ci_local.action_image)
    claims = claims_for(pipeline)
    with offline_world(tmp_path / "world", provider="gitlab", claims=claims, publisher=publisher) as world:
        project = make_project(tmp_path / "project", pipeline, hatch_dists)
        run = run_publish_job(gitlab_ci_local, project, job_variables(world))
        assert world.warehouse.files == []

    assert run.returncode != 0, run.log
    assert re.search(r"\bFAIL 4\b", run.log), f"the job did not fail with exit code 4; log:\n{run.log}"
    assert "top-level pipeline file path" in run.job_log, run.job_log
    assert ".gitlab-ci.yml" in run.job_log, run.job_log
    _assert_gitlab_log(run.job_log)
    # `when: always`: the report of a failed job is kept too.
    assert run.dotenv is not None, f"no dotenv report was collected; log:\n{run.log}"
    values = parse_dotenv_report(run.dotenv)
    assert values["PUBLISH_ACTION_EXIT_CODE"] == "4"
    assert _json_list(values, "PUBLISH_ACTION_UPLOADED") == []
    assert run.summary is not None, f"no summary artifact was collected; log:\n{run.log}"


def test_example_runs_the_images_entrypoint(gitlab_ci_local: GitLabCiLocal) -> None:
    """The example's script is the program the image's entrypoint runs (the job replaces the entrypoint)."""
    inspected = _run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}}", gitlab_ci_local.action_image],
        timeout=DOCKER_TIMEOUT_S,
    )
    assert inspected.returncode == 0, inspected.stderr
    entrypoint = " ".join(json.loads(inspected.stdout))
    assert f"    - {entrypoint}\n" in EXAMPLE.read_text(encoding="utf-8")


@pytest.mark.parametrize("example", ["gitlab-ci.yml", "gitlab-ci-pip.yml"])
def test_examples_pass_gitlab_schema(gitlab_ci_local_version: str, example: str, tmp_path: Path) -> None:
    """Both examples pass GitLab's CI schema (as gitlab-ci-local checks it) and plan build, then publish."""
    text = (REPO_ROOT / "examples" / example).read_text(encoding="utf-8")
    project = make_project(tmp_path / "project", text)
    variables = project.parent / "variables.yml"
    variables.write_text(json.dumps({"CI_COMMIT_TAG": TAG}), encoding="utf-8")
    listed = _run(
        [
            str(GITLAB_CI_LOCAL), "--list", "--no-color", "--home", str(tmp_path),
            "--variables-file", os.path.relpath(variables, project), "--ignore-predefined-vars", "CI_COMMIT_TAG",
        ],
        timeout=GCL_TIMEOUT_S,
        cwd=project,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "json schema validated" in listed.stdout + listed.stderr
    jobs = [line.split()[:3] for line in listed.stdout.splitlines() if line.startswith(("build ", "publish "))]
    assert jobs == [["build", "build", "on_success"], ["publish", "publish", "on_success"]], listed.stdout
