"""What the Warehouse peer is seeded with for the end-to-end tests, and the names the tests use.

Trusted Publishing is switched on for GitHub, GitLab and Google, as on PyPI. One user (verified e-mail, TOTP 2FA, a user-scoped API token) owns every project:

- :data:`TP_PROJECT` and :data:`RERUN_PROJECT` with the trusted publishers our issuers' default claims
  match: GitHub (``octo-org/sandbox-demo``, ``release.yml``, environment ``pypi``), GitLab
  (``octo-group/sandbox-demo``, ``.gitlab-ci.yml``, ``pypi``) and Google (the default service account);
- a pending GitHub publisher for :data:`PENDING_PROJECT`, which does not exist yet (workflow
  :data:`PENDING_WORKFLOW`), and a stale one for :data:`TP_PROJECT`, which does (workflow
  :data:`STALE_PENDING_WORKFLOW`);
- :data:`ARCHIVED_PROJECT`, archived, and :data:`QUARANTINED_PROJECT`, quarantined (with the publishers);
- :data:`SDIST_PROJECT`, empty, for the release that gets a second sdist;
- :data:`GRADE_PROJECT`, empty, with the GitHub publisher and a second one for :data:`GRADE_OTHER_WORKFLOW`,
  for the provenance grades;
- the refusal corpus's projects (:data:`CORPUS_PROJECTS`), empty;
- MarkupSafe 3.0.2 as PyPI holds it: a release created on 2024-10-18 (long closed to new files) whose
  wheels' names are not normalized (``MarkupSafe-…``), :data:`OLD_RELEASE_FILES` of its real files
  downloaded from PyPI with their upload times, stored as forklift stores files.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from tests.sandbox.gitlab_issuer import GitLabClaims
from tests.sandbox.google_metadata import GoogleClaims
from tests.sandbox.oidc_issuer import GitHubClaims
from tests.sandbox.warehouse import GitHubPublisher, GitLabPublisher, GooglePublisher, Publisher, Warehouse

OWNER = "peer-owner"
TP_PROJECT = "peer-tp-demo"
RERUN_PROJECT = "peer-rerun-demo"
PENDING_PROJECT = "peer-new-demo"
PENDING_WORKFLOW = "new-project.yml"
STALE_PENDING_WORKFLOW = "stale-pending.yml"
ARCHIVED_PROJECT = "peer-archived-demo"
QUARANTINED_PROJECT = "peer-quarantined-demo"
SDIST_PROJECT = "peer-sdist-demo"
GRADE_PROJECT = "peer-grade-demo"
GRADE_OTHER_WORKFLOW = "nightly.yml"
OLD_PROJECT = "markupsafe"
OLD_VERSION = "3.0.2"
#: Four of MarkupSafe 3.0.2's 61 files (its sdist and three wheels), enough to hold each kind of name.
OLD_RELEASE_FILES = (
    "markupsafe-3.0.2.tar.gz",
    "MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "MarkupSafe-3.0.2-cp313-cp313-macosx_11_0_arm64.whl",
    "MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl",
)
#: A wheel of the same release that the peer does not hold: a new file for a closed release.
OLD_RELEASE_NEW_FILE = "MarkupSafe-3.0.2-cp312-cp312-win_amd64.whl"
PYPI_SIMPLE = "https://pypi.org/simple/"
#: The projects the refusal corpus builds its files from.
CORPUS_PROJECTS = ("sandbox-demo", "sandbox-setuptools-demo")


@dataclass(frozen=True)
class RealFile:
    """One file of a real release on PyPI."""

    filename: str
    sha256: str
    upload_time: str
    content: bytes


@cache
def pypi_release(project: str, version: str) -> dict[str, dict[str, Any]]:
    """The simple API (PEP 691) entries of one release on the real PyPI, by file name."""
    response = httpx.get(
        f"{PYPI_SIMPLE}{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=60
    ).raise_for_status()
    return {
        entry["filename"]: entry
        for entry in response.json()["files"]
        if entry["filename"].lower().startswith(f"{project}-{version}".lower())
    }


def download(project: str, version: str, filename: str, folder: Path | None = None) -> RealFile:
    """One real file from PyPI, checked against the sha256 its simple API lists (and kept in ``folder``)."""
    entry = pypi_release(project, version)[filename]
    cached = folder / filename if folder is not None else None
    if cached is not None and cached.exists():
        data = cached.read_bytes()
    else:
        data = httpx.get(entry["url"], timeout=120, follow_redirects=True).raise_for_status().content
    if hashlib.sha256(data).hexdigest() != entry["hashes"]["sha256"]:
        raise AssertionError(f"{filename} from PyPI does not match the sha256 its simple API lists")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
    return RealFile(filename, entry["hashes"]["sha256"], entry["upload-time"], data)


def github_publisher(claims: GitHubClaims | None = None, **changes: str) -> dict[str, str]:
    claims = claims or GitHubClaims()
    spec = {
        "kind": "github",
        "repository": claims.repository,
        "owner_id": claims.repository_owner_id,
        "workflow": claims.workflow_file,
        "environment": claims.environment or "",
    }
    return {**spec, **changes}


def gitlab_publisher(claims: GitLabClaims | None = None) -> dict[str, str]:
    claims = claims or GitLabClaims()
    return {
        "kind": "gitlab",
        "namespace": claims.namespace_path,
        "project": claims.project_name,
        "workflow_filepath": claims.ci_config_path,
        "environment": claims.environment or "",
    }


def google_publisher(claims: GoogleClaims | None = None) -> dict[str, str]:
    return {"kind": "google", "email": (claims or GoogleClaims()).email}


def trust_spec() -> dict[str, Any]:
    """The projects and publishers of the seed (no user, no files): what :func:`standin_like_the_seed`
    gives the stand-in too."""
    publishers = [github_publisher(), gitlab_publisher(), google_publisher()]
    return {
        "projects": [
            {"name": TP_PROJECT, "publishers": publishers},
            {"name": RERUN_PROJECT, "publishers": publishers},
            {"name": ARCHIVED_PROJECT, "status": "archived"},
            {"name": QUARANTINED_PROJECT, "status": "quarantine-enter", "publishers": publishers},
            {"name": SDIST_PROJECT},
            {
                "name": GRADE_PROJECT,
                "publishers": [github_publisher(), github_publisher(workflow=GRADE_OTHER_WORKFLOW)],
            },
            {"name": "MarkupSafe"},
            # The projects of the refusal corpus (tests/fixtures/bad_dists.py), so no case creates one.
            {"name": CORPUS_PROJECTS[0]},
            {"name": CORPUS_PROJECTS[1]},
        ],
        "pending": [
            {**github_publisher(workflow=PENDING_WORKFLOW), "project": PENDING_PROJECT},
            {**github_publisher(workflow=STALE_PENDING_WORKFLOW), "project": TP_PROJECT},
        ],
    }


def seed_spec(cache_dir: Path | None = None) -> dict[str, Any]:
    """The whole seed, as ``tests/peers/warehouse_image/seed.py`` reads it."""
    old = [download(OLD_PROJECT, OLD_VERSION, name, cache_dir) for name in OLD_RELEASE_FILES]
    return {
        # PyPI takes GitLab's tokens; Warehouse's migrations leave that provider switched off.
        "flags": {"disallow-gitlab-oidc": False},
        "user": {"username": OWNER, "email": f"{OWNER}@example.org", "token": True},
        **trust_spec(),
        "releases": [
            {
                "project": OLD_PROJECT,
                "version": OLD_VERSION,
                "created": min(item.upload_time for item in old),
                "files": [
                    {
                        "filename": item.filename,
                        "content": base64.b64encode(item.content).decode(),
                        "upload_time": item.upload_time,
                    }
                    for item in old
                ],
            }
        ],
    }


def _standin_publisher(spec: dict[str, str]) -> Publisher:
    if spec["kind"] == "github":
        return GitHubPublisher(spec["repository"], spec["workflow"], spec["environment"], spec["owner_id"])
    if spec["kind"] == "gitlab":
        return GitLabPublisher(spec["namespace"], spec["project"], spec["workflow_filepath"], spec["environment"])
    return GooglePublisher(spec["email"])


#: Warehouse's lifecycle statuses (what the seed sets) as the PEP 792 statuses the simple API shows.
_PEP_792_STATUS = {"archived": "archived", "quarantine-enter": "quarantined"}


def standin_like_the_seed(warehouse: Warehouse) -> Warehouse:
    """Give the stand-in the seed's projects, publishers and pending publishers (:func:`trust_spec`)."""
    spec = trust_spec()
    for project in spec["projects"]:
        status = project.get("status")
        warehouse.add_project(project["name"], status=_PEP_792_STATUS[status] if status else None)
        for publisher in project.get("publishers", ()):
            warehouse.add_publisher(project["name"], _standin_publisher(publisher))
    for pending in spec["pending"]:
        # Set directly: the stale pending publisher names a project that exists, which add_pending_publisher
        # (rightly, as Warehouse's form does) refuses; the seed makes it through the models, as this does.
        warehouse.pending_publishers[_standin_publisher(pending)] = pending["project"]
    return warehouse


#: The peer's GitHub publisher rows (trusted and pending) with the owner id the seed script's ``inspect``
#: leaves out: owner, repository, workflow, environment, owner id (tab-separated psql rows).
GITHUB_OWNER_IDS_SQL = (
    "SELECT repository_owner, repository_name, workflow_filename, environment, repository_owner_id "
    "FROM github_oidc_publishers UNION ALL "
    "SELECT repository_owner, repository_name, workflow_filename, environment, repository_owner_id "
    "FROM pending_github_oidc_publishers"
)


def standin_like_the_peer(warehouse: Warehouse, state: dict[str, Any], github_owner_ids: list[list[str]]) -> Warehouse:
    """Give the stand-in the peer's trust as it is now (``state``: the seed script's ``inspect``), which
    earlier tests change: a pending publisher used to create its project is gone, the project and its new
    publisher are there, a stale pending publisher the peer dropped when it was used is dropped here too, and
    publishers other tests registered are there as well. ``github_owner_ids``: the rows of
    :data:`GITHUB_OWNER_IDS_SQL`, for the one field of a GitHub publisher ``inspect`` does not show.
    """
    owner_ids = {tuple(row[:4]): row[4] for row in github_owner_ids}

    def publisher(row: dict[str, Any]) -> Publisher:
        kind = str(row["kind"]).removeprefix("Pending")
        environment = row.get("environment") or ""
        if kind == "GitHubPublisher":
            key = (row["repository_owner"], row["repository_name"], row["workflow_filename"], environment)
            owner_id = owner_ids.get(key)
            assert owner_id is not None, f"no owner id on the peer for {row}"
            repository = f"{row['repository_owner']}/{row['repository_name']}"
            return GitHubPublisher(repository, row["workflow_filename"], environment, owner_id)
        if kind == "GitLabPublisher":
            return GitLabPublisher(row["namespace"], row["project"], row["workflow_filepath"], environment)
        assert kind == "GooglePublisher", f"a publisher kind the stand-in does not know: {row}"
        return GooglePublisher(row["email"])

    for name, project in sorted(state["projects"].items()):
        status = project.get("status")
        warehouse.add_project(name, status=_PEP_792_STATUS[status] if status else None)
        for row in project.get("publishers", ()):
            warehouse.add_publisher(name, publisher(row))
    for row in state["pending"]:
        # Set directly, as in standin_like_the_seed: a stale one names a project that exists.
        warehouse.pending_publishers[publisher(row)] = row["project_name"]
    return warehouse
