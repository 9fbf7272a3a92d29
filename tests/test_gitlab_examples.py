"""The GitLab CI examples say what a GitLab job needs, pinned, and nothing GitLab would refuse.

``tests/e2e/test_gitlab_ci_local.py`` runs ``examples/gitlab-ci.yml`` end to end; these checks read both
examples as GitLab reads them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = ROOT / "examples" / "gitlab-ci.yml"
PIP = ROOT / "examples" / "gitlab-ci-pip.yml"
EXAMPLES = (CONTAINER, PIP)

#: The runner `export`s every variable in the job's shell: a name must be a shell identifier.
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_DOCKERFILE_BASE = re.compile(r"^ARG BASE=(?P<image>\S+)$", re.MULTILINE)


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _image(job: dict[str, Any], top: dict[str, Any]) -> str:
    image = job["image"]
    name = image["name"] if isinstance(image, dict) else image
    assert isinstance(name, str)
    # `$NAME` from the file's own variables, as GitLab expands `image:`.
    return re.sub(r"\$(\w+)", lambda m: str(top.get("variables", {})[m[1]]), name)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_variable_names_are_ones_gitlab_can_export(path: Path) -> None:
    data = _load(path)
    names = list(data.get("variables", {}))
    for job in data.values():
        if isinstance(job, dict):
            names += list(job.get("variables", {}) or {})
            names += list(job.get("id_tokens", {}) or {})
    assert names, path
    assert [n for n in names if not _VARIABLE_NAME.fullmatch(n)] == []
    # Comments show inputs too: those must be spelled as GitLab can carry them.
    text = path.read_text(encoding="utf-8")
    assert re.findall(r"\bINPUT_[A-Z0-9_]*-[A-Z0-9_-]*", text) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_publish_job_has_id_tokens_environment_and_reports(path: Path) -> None:
    data = _load(path)
    publish = data["publish"]
    assert publish["id_tokens"] == {"PYPI_ID_TOKEN": {"aud": "pypi"}, "SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    assert publish["environment"] == "pypi"
    assert publish["rules"] == [{"if": "$CI_COMMIT_TAG"}] == data["build"]["rules"]
    assert publish["needs"] == [{"job": "build", "artifacts": True}]
    assert data["build"]["artifacts"] == {"paths": ["dist/"]}
    assert publish["artifacts"] == {
        "when": "always",
        "paths": ["publish-action-summary.md"],
        "reports": {"dotenv": "publish-action.env"},
    }
    text = path.read_text(encoding="utf-8").lower()
    assert "password" not in text
    assert "token:" not in text.replace("_id_token:", "")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_images_are_pinned_by_digest(path: Path) -> None:
    data = _load(path)
    base = _DOCKERFILE_BASE.search((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    assert base is not None
    for name, job in data.items():
        if not isinstance(job, dict) or "image" not in job:
            continue
        image = _image(job, data)
        if image.startswith("ghcr.io/OWNER/publish-action@"):
            # The release's own line of image-digest.txt goes here.
            assert image == "ghcr.io/OWNER/publish-action@sha256:<64 hex digits>", name
        else:
            assert _DIGEST.search(image), f"{name}: {image} is not pinned by digest"
            # The one python:3.12-slim digest the project documents (the Dockerfile's base).
            assert image == base["image"], f"{name}: {image}"


def test_container_example_replaces_the_entrypoint_with_the_program() -> None:
    publish = _load(CONTAINER)["publish"]
    assert publish["image"]["entrypoint"] == [""]
    # The image's ENTRYPOINT, run by the job's shell (the e2e test compares it with the built image's).
    assert publish["script"] == ["/opt/venv/bin/python -m publish_action"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "-m", "publish_action"]' in dockerfile


def test_pip_example_installs_as_the_native_mode_does() -> None:
    publish = _load(PIP)["publish"]
    assert publish["variables"]["PUBLISH_ACTION_COMMIT"] == "<40 hex digits>"
    script = "\n".join(publish["script"])
    # What action.yml's native mode runs: hash-locked wheels only, our code from the pinned commit's src/.
    assert re.search(
        r"-m pip install .*--require-hashes --no-deps --only-binary=:all: -r \"\$source_dir/requirements.lock\"",
        script,
    ), script
    assert 'PYTHONPATH="$source_dir/src" "$PUBLISH_ACTION_HOME/venv/bin/python" -m publish_action' in script
    assert "archive/{}.tar.gz" in script
    # Native mode's pip path (its fallback) installs the same way.
    native = (ROOT / "scripts" / "native-install").read_text(encoding="utf-8")
    assert '--require-hashes --no-deps \\\n    --only-binary=:all: -r "$here/requirements.lock"' in native
    assert 'bash "$action_dir/scripts/native-install" auto' in (ROOT / "action.yml").read_text(encoding="utf-8")


def test_the_gitlab_page_shows_the_examples_publish_job() -> None:
    """The GitLab page's job is the example's publish job (comments and flow style aside)."""
    readme = (ROOT / "docs" / "gitlab-and-google.md").read_text(encoding="utf-8")
    section = readme.split("## GitLab CI/CD\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(?P<yaml>.*?)```", section, re.DOTALL)
    assert block is not None, "no YAML block in the README's GitLab CI/CD section"
    assert yaml.safe_load(block["yaml"]) == {"publish": _load(CONTAINER)["publish"]}
