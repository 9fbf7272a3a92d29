"""Seed the Warehouse peer through Warehouse's own models, and report what it holds.

Runs inside the peer's container (``entrypoint seed``) with Warehouse's configuration in the environment.
Standard input is one JSON object; each key present is one step, done in this order:

``flags``      ``{"disallow-gitlab-oidc": false, …}``: Warehouse's admin flags, set as PyPI's admins have them
               (the migrations leave some providers switched off).
``user``       ``{"username", "email"}``: a user with a verified primary e-mail and TOTP 2FA, as PyPI
               requires of anyone who uploads with an API token. ``"token": true`` in it also makes a
               user-scoped API token (the answer's ``token``).
``projects``   ``[{"name", "status"?, "publishers"?: [publisher…]}]``: projects owned by that user;
               ``status`` is a Warehouse lifecycle status (``archived``, ``quarantine-enter``).
``pending``    ``[publisher + {"project"}]``: pending publishers added by that user.
``releases``   ``[{"project", "version", "created", "files": [{"filename", "content" (base64),
               "upload_time"}]}]``: files stored as forklift stores them (a Release and File rows with
               their digests and hash-derived paths, the bytes in the archive and the file store, a wheel's
               METADATA beside it), at the times given: how a release uploaded long ago sits on the index.
``inspect``    ``true``: the answer's ``state`` lists every project with its publishers, and every pending
               publisher.

A publisher is ``{"kind": "github", "repository": "owner/name", "owner_id", "workflow", "environment"}``,
``{"kind": "gitlab", "namespace", "project", "workflow_filepath", "environment"}`` or
``{"kind": "google", "email", "sub"}``. The answer (standard output) is one JSON object.
"""

import base64
import datetime
import hashlib
import io
import json
import os
import secrets
import sys
import zipfile

# Warehouse logs to standard output: the answer gets its own copy of it, and the logs go to standard error.
ANSWER = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

from warehouse.config import configure  # noqa: E402

# Warehouse's models import each other in an order that only a configured application resolves.
CONFIG = configure()

from packaging.utils import canonicalize_version, parse_sdist_filename, parse_wheel_filename  # noqa: E402
from passlib.hash import argon2  # noqa: E402
from warehouse.accounts.models import Email, User  # noqa: E402
from warehouse.admin.flags import AdminFlag  # noqa: E402
from warehouse.db import Session  # noqa: E402
from warehouse.macaroons import caveats  # noqa: E402
from warehouse.macaroons.services import DatabaseMacaroonService  # noqa: E402
from warehouse.oidc.models import (  # noqa: E402
    GitHubPublisher,
    GitLabPublisher,
    GooglePublisher,
    PendingGitHubPublisher,
    PendingGitLabPublisher,
    PendingGooglePublisher,
    PendingOIDCPublisher,
)
from warehouse.packaging.models import (  # noqa: E402
    Description,
    File,
    LifecycleStatus,
    Project,
    Release,
    Role,
)

GITLAB_ISSUER = "https://gitlab.com"
STORES = ("/var/opt/warehouse/packages-archive", "/var/opt/warehouse/packages")


def publisher_fields(spec):
    kind = spec["kind"]
    if kind == "github":
        owner, name = spec["repository"].split("/", 1)
        return (
            GitHubPublisher,
            PendingGitHubPublisher,
            {
                "repository_name": name,
                "repository_owner": owner,
                "repository_owner_id": spec["owner_id"],
                "workflow_filename": spec["workflow"],
                "environment": spec.get("environment", ""),
            },
        )
    if kind == "gitlab":
        return (
            GitLabPublisher,
            PendingGitLabPublisher,
            {
                "namespace": spec["namespace"],
                "project": spec["project"],
                "workflow_filepath": spec["workflow_filepath"],
                "environment": spec.get("environment", ""),
                "issuer_url": spec.get("issuer_url", GITLAB_ISSUER),
            },
        )
    if kind == "google":
        # An empty sub, as the form stores it, is the publisher for any account with that e-mail (None is not).
        return GooglePublisher, PendingGooglePublisher, {"email": spec["email"], "sub": spec.get("sub", "")}
    raise SystemExit(f"seed: unknown publisher kind {kind!r}")


def make_user(session, spec):
    user = User(
        username=spec["username"],
        name=spec["username"],
        # A real password hash (Warehouse counts an account without one as disabled); nobody logs in with it.
        password=argon2.hash(secrets.token_urlsafe(24)),
        is_active=True,
        totp_secret=os.urandom(20),
    )
    session.add(user)
    session.add(Email(user=user, email=spec["email"], primary=True, verified=True, public=False))
    session.flush()
    return user


def make_token(session, user):
    raw, _model = DatabaseMacaroonService(session).create_macaroon(
        location="pypi.org",
        description="publish-action tests",
        scopes=[caveats.RequestUser(user_id=str(user.id))],
        user_id=user.id,
        additional={"made_with_2fa": True},
    )
    return raw


def make_project(session, user, spec):
    project = Project(name=spec["name"])
    status = spec.get("status")
    if status:
        project.lifecycle_status = LifecycleStatus(status)
    session.add(project)
    session.add(Role(user=user, project=project, role_name="Owner"))
    for publisher in spec.get("publishers", []):
        model, _pending, fields = publisher_fields(publisher)
        # One publisher may serve several projects (Warehouse keeps each publisher once).
        row = session.query(model).filter_by(**fields).one_or_none()
        if row is None:
            row = model(**fields)
            session.add(row)
        row.projects.append(project)
    session.flush()
    return project


def make_pending(session, user, spec):
    _model, pending, fields = publisher_fields(spec)
    session.add(pending(project_name=spec["project"], added_by=user, **fields))
    session.flush()


def _metadata_of_wheel(filename, data):
    stem = "-".join(filename.split("-", 2)[:2])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".dist-info/METADATA") and name.split("/", 1)[0].lower() == f"{stem}.dist-info".lower():
                return archive.read(name)
    return None


def _store(path, data):
    for root in STORES:
        target = os.path.join(root, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)


def make_release(session, spec):
    project = session.query(Project).filter(Project.normalized_name == spec["project"].lower()).one()
    created = datetime.datetime.fromisoformat(spec["created"]).replace(tzinfo=None)
    release = Release(
        project=project,
        version=spec["version"],
        canonical_version=canonicalize_version(spec["version"]),
        created=created,
        description=Description(content_type=None, raw="", html="", rendered_by="seed"),
        summary=spec.get("summary"),
    )
    session.add(release)
    for item in spec["files"]:
        filename = item["filename"]
        data = base64.b64decode(item["content"])
        blake2 = hashlib.blake2b(data, digest_size=32).hexdigest()
        wheel = filename.endswith(".whl")
        if wheel:
            python_version = next(iter(parse_wheel_filename(filename)[3])).interpreter
        else:
            parse_sdist_filename(filename)
            python_version = "source"
        path = "/".join([blake2[:2], blake2[2:4], blake2[4:], filename])
        metadata = _metadata_of_wheel(filename, data) if wheel else None
        row = File(
            release=release,
            filename=filename,
            python_version=python_version,
            packagetype="bdist_wheel" if wheel else "sdist",
            size=len(data),
            md5_digest=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            sha256_digest=hashlib.sha256(data).hexdigest(),
            blake2_256_digest=blake2,
            metadata_file_sha256_digest=hashlib.sha256(metadata).hexdigest() if metadata else None,
            metadata_file_blake2_256_digest=(
                hashlib.blake2b(metadata, digest_size=32).hexdigest() if metadata else None
            ),
            path=path,
            upload_time=datetime.datetime.fromisoformat(item["upload_time"]).replace(tzinfo=None),
            uploaded_via="publish-action seed",
        )
        session.add(row)
        _store(path, data)
        if metadata:
            _store(path + ".metadata", metadata)
    project.total_size = (project.total_size or 0) + sum(len(base64.b64decode(f["content"])) for f in spec["files"])
    session.flush()


def _describe(publisher):
    fields = {
        column: getattr(publisher, column)
        for column in (
            "repository_owner",
            "repository_name",
            "workflow_filename",
            "namespace",
            "project",
            "workflow_filepath",
            "email",
            "environment",
        )
        if hasattr(publisher, column) and not callable(getattr(publisher, column))
    }
    return {"kind": type(publisher).__name__, **fields}


def inspect(session):
    projects = {
        project.normalized_name: {
            "status": project.lifecycle_status.value if project.lifecycle_status else None,
            "publishers": [_describe(p) for p in project.oidc_publishers],
            "releases": sorted(release.version for release in project.releases),
        }
        for project in session.query(Project).all()
    }
    pending = [{"project_name": p.project_name, **_describe(p)} for p in session.query(PendingOIDCPublisher).all()]
    return {"projects": projects, "pending": pending}


def main():
    spec = json.load(sys.stdin)
    session = Session(bind=CONFIG.registry["sqlalchemy.engine"])
    answer = {}
    user = None
    for flag, enabled in spec.get("flags", {}).items():
        session.query(AdminFlag).filter(AdminFlag.id == flag).one().enabled = enabled
    if "user" in spec:
        user = make_user(session, spec["user"])
        if spec["user"].get("token"):
            answer["token"] = make_token(session, user)
    if user is None and ("projects" in spec or "pending" in spec):
        user = session.query(User).order_by(User.date_joined).first()
    for project in spec.get("projects", []):
        make_project(session, user, project)
    for pending in spec.get("pending", []):
        make_pending(session, user, pending)
    for release in spec.get("releases", []):
        make_release(session, release)
    session.commit()
    if spec.get("inspect"):
        answer["state"] = inspect(session)
    session.close()
    json.dump(answer, ANSWER)
    ANSWER.close()


if __name__ == "__main__":
    main()
