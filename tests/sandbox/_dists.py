"""Tiny, valid distributions written directly (zipfile / tarfile) and the upload form clients send.

For stand-in tests that need a wheel or sdist in milliseconds. The conformance tests build real ones with
``python -m build`` instead (see ``tests/conformance``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name

__all__ = ["twine_fields", "upload_fields", "upload_file", "write_sdist", "write_wheel"]


def _metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nSummary: sandbox test distribution\n\n"


def write_wheel(dest: Path, name: str = "sandbox-demo", version: str = "1.0.0", *, payload: str = "") -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``dest`` (METADATA, WHEEL, RECORD with hashes).

    ``payload`` changes the module body, so equal names can get different bytes.
    """
    dist = canonicalize_name(name).replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f"VALUE = {payload!r}\n".encode(),
        f"{dist_info}/METADATA": _metadata(name, version).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: sandbox\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for arcname, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in files.items():
            info = zipfile.ZipInfo(arcname, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def write_sdist(dest: Path, name: str = "sandbox-demo", version: str = "1.0.0", *, payload: str = "") -> Path:
    """Write ``<name>-<version>.tar.gz`` (PEP 625 name) with ``PKG-INFO`` and one module."""
    dist = canonicalize_name(name).replace("-", "_")
    stem = f"{dist}-{version}"
    path = dest / f"{stem}.tar.gz"
    members = {
        f"{stem}/PKG-INFO": _metadata(name, version).encode(),
        f"{stem}/{dist}/__init__.py": f"VALUE = {payload!r}\n".encode(),
        f"{stem}/pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode(),
    }
    with tarfile.open(path, "w:gz") as tar:
        for arcname, data in members.items():
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            info.mtime = 1704067200
            tar.addfile(info, io.BytesIO(data))
    return path


def upload_fields(path: Path, *, name: str | None = None, version: str | None = None) -> dict[str, str]:
    """The legacy-upload form fields twine would send for ``path`` (without ``content``)."""
    data = path.read_bytes()
    filename = path.name
    if filename.endswith(".whl"):
        parts = filename.split("-")
        dist_name, dist_version, filetype, pyversion = parts[0], parts[1], "bdist_wheel", parts[2]
    else:
        stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
        dist_name, _, dist_version = stem.rpartition("-")
        filetype, pyversion = "sdist", "source"
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.4",
        "name": name or dist_name.replace("_", "-"),
        "version": version or dist_version,
        "filetype": filetype,
        "pyversion": pyversion,
        "summary": "sandbox test distribution",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "md5_digest": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


def twine_fields(path: Path) -> dict[str, str | list[str]]:
    """The form twine 7 sends for ``path``, read from the file's own metadata (repeated fields as lists)."""
    from twine.package import PackageFile
    from twine.repository import Repository

    metadata = PackageFile.from_filename(str(path), comment=None).metadata_dictionary()
    form: dict[str, str | list[str]] = {}
    for key, value in Repository._convert_metadata_to_list_of_tuples(metadata):
        if isinstance(value, tuple):  # a file part (gpg_signature): not sent by these helpers
            continue
        previous = form.get(key)
        if previous is None:
            form[key] = value
        else:
            form[key] = [*([previous] if isinstance(previous, str) else previous), value]
    form.update({":action": "file_upload", "protocol_version": "1"})
    return form


def upload_file(
    upload_url: str,
    path: Path,
    password: str,
    *,
    username: str = "__token__",
    fields: Mapping[str, str | list[str] | None] | None = None,
    content: bytes | None = None,
    accept_json: bool = True,
    verify: object = True,
    base_fields: Mapping[str, str | list[str]] | None = None,
    filename: str | None = None,
) -> httpx.Response:
    """POST ``path`` to a legacy upload URL the way twine does.

    The form is :func:`upload_fields` (or ``base_fields``, e.g. :func:`twine_fields`); ``fields`` override
    it (a None value removes the field, a list repeats it). ``filename`` sends another name than the file's.
    """
    base: dict[str, str | list[str] | None] = dict(base_fields if base_fields is not None else upload_fields(path))
    base.update(fields or {})
    form = {k: v for k, v in base.items() if v is not None}
    headers = {"Accept": "application/json"} if accept_json else {}
    body = path.read_bytes() if content is None else content
    with httpx.Client(verify=verify, timeout=30) as client:  # type: ignore[arg-type]
        return client.post(
            upload_url,
            data=form,
            files={"content": (filename or path.name, body, "application/octet-stream")},
            auth=(username, password),
            headers=headers,
        )
