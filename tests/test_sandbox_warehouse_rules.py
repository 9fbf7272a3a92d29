"""PyPI's upload rules in the Warehouse stand-in: one test per rule family, handcrafted bad files.

Every refusal is checked for Warehouse's status, its exact text (in the reason phrase and the JSON body, as
forklift answers) and for leaving nothing behind on the index. The texts are Warehouse's own
(``warehouse/forklift/legacy.py``, ``forklift/metadata.py``, ``utils/zipfiles.py``, ``utils/wheel.py``; where
Warehouse passes on a packaging, email-validator or trove-classifiers message, that library's). Valid
real-world shapes must still be accepted.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.fixtures.dists import DistCache, dist_cache, make_release, make_wheels  # noqa: F401 (fixture)
from tests.sandbox import GitHubClaims, GitHubPublisher, OIDCIssuer, Warehouse
from tests.sandbox._dists import twine_fields, upload_fields, upload_file, write_sdist, write_wheel
from tests.sandbox._forklift import valid_platform_tag, zip_framing_problem

pytestmark = pytest.mark.sandbox

CORE = "See https://packaging.python.org/specifications/core-metadata for more information."
ARCHIVES = "See https://docs.pypi.org/archives for more information"
WHEEL = "sandbox_demo-1.0.0-py3-none-any.whl"
DIST_INFO = "sandbox_demo-1.0.0.dist-info"
SDIST = "sandbox_demo-1.0.0.tar.gz"


@pytest.fixture
def token(warehouse: Warehouse, oidc_issuer: OIDCIssuer) -> str:
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": oidc_issuer.mint("pypi")}, timeout=10)
    assert response.status_code == 200, response.text
    minted: str = response.json()["token"]
    return minted


def assert_refused(warehouse: Warehouse, response: httpx.Response, status: int, reason: str) -> None:
    assert (response.status_code, response.reason_phrase) == (status, reason)
    assert response.json()["code"] == f"{status} {reason}"
    assert warehouse.files == []


# -- building bad files -----------------------------------------------------------------------------------

Members = list[tuple[str | zipfile.ZipInfo, bytes]]


def _metadata(extra: str = "", *, name: str = "sandbox-demo", version: str = "1.0.0") -> bytes:
    return f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nSummary: rules test\n{extra}\n".encode()


def wheel_members(
    *,
    dist: str = "sandbox_demo-1.0.0",
    metadata: bytes | None = None,
    extra: Members | None = None,
    drop: tuple[str, ...] = (),
    record: bytes | None = None,
) -> Members:
    """A valid pure wheel's members, RECORD last (``extra`` added before it; ``drop`` removes members whose
    name ends with one of the suffixes, RECORD included; ``record`` replaces RECORD's bytes)."""
    info = f"{dist}.dist-info"
    members: Members = [
        ("sandbox_demo/__init__.py", b"VALUE = 1\n"),
        (f"{info}/METADATA", metadata if metadata is not None else _metadata()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: rules-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        *(extra or []),
    ]
    rows = []
    for arcname, data in members:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{_name(arcname)},sha256={digest},{len(data)}")
    rows.append(f"{info}/RECORD,,")
    members.append((f"{info}/RECORD", record if record is not None else ("\n".join(rows) + "\n").encode()))
    return [m for m in members if not (drop and _name(m[0]).endswith(drop))]


def _name(member: str | zipfile.ZipInfo) -> str:
    return member.filename if isinstance(member, zipfile.ZipInfo) else member


def zip_bytes(members: Members, *, compression: int = zipfile.ZIP_DEFLATED, streamed: bool = False) -> bytes:
    """Members zipped with Python's zipfile; ``streamed`` writes to an unseekable sink (data descriptors)."""

    class Sink(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.buffer += data
            return len(data)

    sink: io.BytesIO | Sink = Sink() if streamed else io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one case
        with zipfile.ZipFile(sink, "w", compression=compression) as archive:
            for member, data in members:
                info = member if isinstance(member, zipfile.ZipInfo) else zipfile.ZipInfo(member, (2024, 1, 1, 0, 0, 0))
                if not isinstance(member, zipfile.ZipInfo):
                    info.compress_type = compression
                archive.writestr(info, data)
    return bytes(sink.buffer) if isinstance(sink, Sink) else sink.getvalue()


def tar_gz(members: list[tuple[str | tarfile.TarInfo, bytes]], *, compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member, data in members:
            info = member if isinstance(member, tarfile.TarInfo) else tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1704067200
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0) if compress else raw.getvalue()


def sdist_members(
    *, stem: str = "sandbox_demo-1.0.0", pkg_info: bool = True
) -> list[tuple[str | tarfile.TarInfo, bytes]]:
    members: list[tuple[str | tarfile.TarInfo, bytes]] = [
        (f"{stem}/pyproject.toml", b"[project]\n"),
        (f"{stem}/sandbox_demo/__init__.py", b"VALUE = 1\n"),
    ]
    if pkg_info:
        members.append((f"{stem}/PKG-INFO", _metadata()))
    return members


def _patch_local_size(data: bytes, member: str, delta: int) -> bytes:
    """Change the uncompressed size in ``member``'s local header only (the central directory keeps its own)."""
    at = data.index(b"PK\x03\x04" + data[4:4])  # first local header
    while True:
        name_len, extra_len = struct.unpack_from("<HH", data, at + 26)
        if data[at + 30 : at + 30 + name_len] == member.encode():
            (size,) = struct.unpack_from("<L", data, at + 22)
            return data[: at + 22] + struct.pack("<L", size + delta) + data[at + 26 :]
        (packed,) = struct.unpack_from("<L", data, at + 18)
        at += 30 + name_len + extra_len + packed


def _patch_end_count(data: bytes, delta: int) -> bytes:
    at = data.rindex(b"PK\x05\x06")
    on_disk, total = struct.unpack_from("<HH", data, at + 8)
    return data[: at + 8] + struct.pack("<HH", on_disk + delta, total + delta) + data[at + 12 :]


def _sparse_member(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.GNUTYPE_SPARSE
    return info


# -- the form and core metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"metadata_version": "2.0"}, f"'2.0' is not a valid metadata version. {CORE}"),
        ({"metadata_version": "2.6"}, f"'2.6' is not a valid metadata version. {CORE}"),
        ({"version": "1.0.0+local"}, "The use of local versions in '1.0.0+local' is not allowed. See "
         "https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers for "
         "more information."),
        ({"version": "dog"}, f"'dog' is invalid for 'version'. {CORE}"),
        ({"summary": "A" * 513}, f"'summary' field must be 512 characters or less. {CORE}"),
        ({"summary": "A\nB"}, f"'summary' must be a single line. {CORE}"),
        ({"author_email": "Dev <dev@example.invalid>"}, "'dev@example.invalid' is not a valid email address: The part "
         f"after the @-sign is a special-use or reserved name that cannot be used with email. {CORE}"),
        ({"maintainer_email": "dev@example..com"}, "'dev@example..com' is not a valid email address: An email address "
         f"cannot have two periods in a row. {CORE}"),
        ({"maintainer_email": "dev at example.com"}, "'dev' is not a valid email address: An email address must have "
         f"an @-sign. {CORE}"),
        ({"classifiers": ["Foo :: Bar", "Programming Language :: Python"]}, f"'Foo :: Bar' is not a valid classifier. {CORE}"),
        ({"classifiers": "Natural Language :: Ukranian"}, "The classifier 'Natural Language :: Ukranian' has been "
         f"deprecated, use one of ['Natural Language :: Ukrainian'] instead. {CORE}"),
        ({"classifiers": "License :: OSI Approved :: Intel Open Source License"}, "The classifier 'License :: OSI "
         f"Approved :: Intel Open Source License' has been deprecated. {CORE}"),
        ({"home_page": "example.com/project"}, f"'example.com/project' is not a valid url. {CORE}"),
        ({"download_url": "ftp://example.com/x.tar.gz"}, f"'ftp://example.com/x.tar.gz' is not a valid url. {CORE}"),
        ({"project_urls": "Source, git+ssh://example.com/repo"}, f"'git+ssh://example.com/repo' is not a valid url. {CORE}"),
        ({"project_urls": f"{'L' * 33}, https://example.com"}, f"'{'L' * 33}' must be 32 characters or less. {CORE}"),
        ({"project_urls": ", https://example.com"}, f"Must have a label. {CORE}"),
        ({"project_urls": "Docs, "}, f"Must have a URL. {CORE}"),
        ({"requires_dist": "dep @ https://example.com/dep-1.0.tar.gz"}, "Can't have direct dependency: dep @ "
         f"https://example.com/dep-1.0.tar.gz. {CORE}"),
        ({"requires_dist": "dep >="}, f"'dep >=' is invalid for 'requires-dist'. {CORE}"),
        ({"provides_dist": "dep @ https://example.com/dep.whl"}, "Can't have direct dependency: 'dep @ "
         f"https://example.com/dep.whl'. {CORE}"),
        ({"obsoletes_dist": "dep (("}, None),  # packaging's own parse message, checked by prefix below
        ({"requires_python": "=>3.10"}, f"'=>3.10' is invalid for 'requires-python'. {CORE}"),
        ({"dynamic": "Dynamic"}, f"Dynamic field 'dynamic' is not a valid dynamic field. {CORE}"),
        ({"dynamic": "Version"}, f"'version' is not allowed as a dynamic field. {CORE}"),
        ({"metadata_version": "2.1", "dynamic": "Summary"}, f"dynamic introduced in metadata version 2.2, not 2.1. {CORE}"),
        ({"license": "MIT", "license_expression": "MIT"}, "License is deprecated when License-Expression is present. "
         f"Only License-Expression should be present. {CORE}"),
        ({"description_content_type": "text/html"}, None),  # packaging lists the allowed types in set order
        ({"summary": ["one", "two"]}, f"'summary' has invalid data. {CORE}"),
        # Several problems: Warehouse names the version first, then fields alphabetically.
        ({"version": "1.0.0+x", "summary": "A" * 600}, "The use of local versions in '1.0.0+x' is not allowed. See "
         "https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers for "
         "more information."),
        ({"classifiers": "Foo :: Bar", "author_email": "a@b"}, "'a@b' is not a valid email address: The part after "
         f"the @-sign is not valid. It should have a period. {CORE}"),
    ],
)  # fmt: skip
def test_form_metadata_rules(
    warehouse: Warehouse, token: str, tmp_path: Path, fields: dict[str, str | list[str]], reason: str | None
) -> None:
    response = upload_file(warehouse.upload_url, write_wheel(tmp_path), token, fields=dict(fields))

    if reason is None:
        assert response.status_code == 400
        assert response.reason_phrase.endswith(CORE)
        assert warehouse.files == []
        return
    assert_refused(warehouse, response, 400, reason)


def test_form_checks_come_before_metadata_and_pick_fields_alphabetically(
    warehouse: Warehouse, token: str, tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path)
    both = {"filetype": "bdist_egg", "sha256_digest": "zz", "metadata_version": "9.9"}

    response = upload_file(warehouse.upload_url, wheel, token, fields=both)

    assert_refused(warehouse, response, 400, "Invalid value for filetype. Error: Use a known file type.")
    response = upload_file(
        warehouse.upload_url, wheel, token, fields={"blake2_256_digest": "zz", "sha256_digest": "zz"}
    )
    assert_refused(
        warehouse,
        response,
        400,
        "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest.",
    )


def test_unknown_placeholders_and_nul_characters_are_sanitized(
    warehouse: Warehouse, token: str, tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path)

    # (An author e-mail in which email.utils finds no address at all is not checked by Warehouse either.)
    fields = {"home_page": "UNKNOWN", "author": "a\x00b", "author_email": "not-an-address@"}
    response = upload_file(warehouse.upload_url, wheel, token, fields=dict(fields))

    assert response.status_code == 200, response.reason_phrase
    assert "home_page" not in warehouse.file(wheel.name).form
    assert warehouse.file(wheel.name).form["author"] == ["a\\x00b"]


# -- the long description ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"description": ".. invalid-directive::\n"},
            "The description failed to render in the default format of reStructuredText.",
        ),
        (
            {"description": "Title\n===\n\n`unclosed", "description_content_type": "text/x-rst"},
            "The description failed to render for 'text/x-rst'.",
        ),
        (
            {"description": "   \n", "description_content_type": "text/markdown; charset=UTF-8; variant=GFM"},
            "The description failed to render for 'text/markdown; charset=UTF-8; variant=GFM'.",
        ),
    ],
)
def test_description_must_render(
    warehouse: Warehouse, token: str, tmp_path: Path, fields: dict[str, str], reason: str
) -> None:
    # A bad file name too: the description is judged first, so its refusal is the one answered.
    response = upload_file(warehouse.upload_url, write_wheel(tmp_path), token, fields=fields, filename="x.egg")

    assert_refused(
        warehouse, response, 400, f"{reason} See https://pypi.org/help/#description-content-type for more information."
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"description": "Title\n=====\n\nSome *text*.\n"},
        {"description": "# Title\n\nSome `code`.\n", "description_content_type": "text/markdown"},
        {"description": "plain <b>text</b>", "description_content_type": "text/plain"},
    ],
)
def test_descriptions_that_render_are_accepted(
    warehouse: Warehouse, token: str, tmp_path: Path, fields: dict[str, str]
) -> None:
    assert upload_file(warehouse.upload_url, write_wheel(tmp_path), token, fields=fields).status_code == 200


# -- the file: name, type, sizes, release window ----------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("sandbox_demo-1.0.0.egg", "Invalid file extension: Use .tar.gz, .whl or .zip extension. See "
         "https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"),
        ("sandbox_demo-1.0.0-py3-none-any.WHL", "Invalid file extension: Extension .WHL is invalid for filetype "
         "bdist_wheel. See https://www.python.org/dev/peps/pep-0527 for more information."),
        ("sandbox_demo-1.0.0.tar.gz", "Invalid file extension: Extension .tar.gz is invalid for filetype "
         "bdist_wheel. See https://www.python.org/dev/peps/pep-0527 for more information."),
        ("sandbox_demo-1.0.0-py3-none-any\x7f.whl", "Cannot upload a file with non-printable characters (ordinals "
         "0-31) or the DEL character (ordinal 127) in the name."),
        ("sandbox_demo-1.0.0-py3\\none-any.whl", "Cannot upload a file with '/' or '\\' in the name."),
    ],
)  # fmt: skip
def test_filename_rules(warehouse: Warehouse, token: str, tmp_path: Path, filename: str, reason: str) -> None:
    response = upload_file(warehouse.upload_url, write_wheel(tmp_path), token, filename=filename)

    assert_refused(warehouse, response, 400, reason)


def test_content_part_must_not_be_an_image(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path)
    with httpx.Client(timeout=10) as client:
        response = client.post(
            warehouse.upload_url,
            data=upload_fields(wheel),
            files={"content": (wheel.name, wheel.read_bytes(), "image/png")},
            auth=("__token__", token),
            headers={"Accept": "application/json"},
        )

    assert_refused(warehouse, response, 400, "Invalid distribution file.")


def test_project_size_limit(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    first = write_wheel(tmp_path)
    assert upload_file(warehouse.upload_url, first, token).status_code == 200
    warehouse.project_size_limit = first.stat().st_size + 100
    sdist = write_sdist(tmp_path)

    response = upload_file(warehouse.upload_url, sdist, token)

    assert (response.status_code, response.reason_phrase) == (
        400,
        "Project size too large. Limit for project 'sandbox-demo' total size is 0 GB. See "
        "https://docs.pypi.org/project-management/storage-limits#requesting-a-project-size-limit-increase",
    )
    assert [f.filename for f in warehouse.files] == [first.name]
    # A project's own, larger limit wins over the index's.
    warehouse.projects["sandbox-demo"].total_size_limit = 10 * 1024 * 1024
    assert upload_file(warehouse.upload_url, sdist, token).status_code == 200


def test_file_size_limit_is_named_first_when_both_trip_in_the_same_chunk(
    warehouse: Warehouse, token: str, tmp_path: Path
) -> None:
    wheel = write_wheel(tmp_path)
    warehouse.file_size_limit = 1024 * 1024
    warehouse.project_size_limit = 1024 * 1024
    padded = wheel.read_bytes() + b"\0" * (2 * 1024 * 1024)
    no_digests = {
        "md5_digest": None,
        "sha256_digest": None,
        "blake2_256_digest": hashlib.blake2b(padded, digest_size=32).hexdigest(),
    }

    response = upload_file(warehouse.upload_url, wheel, token, content=padded, fields=dict(no_digests))

    assert response.reason_phrase.startswith("File too large. Limit for project 'sandbox-demo' is 1 MB.")
    assert warehouse.files == []


def test_release_window_of_fourteen_days(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    wheel, sdist = write_wheel(tmp_path), write_sdist(tmp_path)
    assert upload_file(warehouse.upload_url, wheel, token).status_code == 200
    before = warehouse.file(wheel.name).upload_time

    warehouse.age_release("sandbox-demo", "1.0.0", days=13)
    assert warehouse.file(wheel.name).upload_time == pytest.approx(before - 13 * 86400)
    (tmp_path / "v2").mkdir()
    newer = write_wheel(tmp_path / "v2", version="1.0.1")
    assert upload_file(warehouse.upload_url, newer, token).status_code == 200
    warehouse.age_release("sandbox-demo", "1.0", days=2)  # same release, another spelling: 15 days now

    response = upload_file(warehouse.upload_url, sdist, token)

    assert (response.status_code, response.reason_phrase) == (
        400,
        "Uploading new files to releases older than 14 days is not allowed.",
    )
    assert sdist.name not in {f.filename for f in warehouse.files}
    # The simple API shows the moved upload time, which is what a client reads the window from.
    page = httpx.get(f"{warehouse.simple_url}sandbox-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    times = {f["filename"]: f["upload-time"] for f in page.json()["files"]}
    assert times[wheel.name] < times[newer.name]


# -- the archive ------------------------------------------------------------------------------------------

ArchiveCase = tuple[str, Callable[[], bytes], str]


def _bomb() -> bytes:
    return zip_bytes(wheel_members(extra=[("sandbox_demo/zeros.bin", b"\0" * (65 * 1024 * 1024))]))


def _duplicated() -> bytes:
    members = wheel_members()
    return zip_bytes([members[0], *members])


def _commented() -> bytes:
    info = zipfile.ZipInfo("sandbox_demo/notes.py", (2024, 1, 1, 0, 0, 0))
    info.comment = b"note"
    return zip_bytes(wheel_members(extra=[(info, b"NOTES = 1\n")]))


def _polyglot() -> bytes:
    return tar_gz(sdist_members()) + zip_bytes([("x.txt", b"x")])


WHEEL_CASES: list[ArchiveCase] = [
    ("not-a-zip", lambda: tar_gz(sdist_members()), "File is not a zipfile"),
    ("truncated", lambda: zip_bytes(wheel_members())[:-30], "File is not a zipfile"),
    ("zip-and-tar", _polyglot, "File is both a zip and a tar file"),
    ("bzip2", lambda: zip_bytes(wheel_members(), compression=zipfile.ZIP_BZIP2),
     "File does not use a supported compression type"),
    ("bomb", _bomb, "File exceeds compression ratio of 50"),
    ("no-wheel-file", lambda: zip_bytes(wheel_members(drop=("/WHEEL",))),
     f"WHEEL not found at {DIST_INFO}/WHEEL"),
    ("data-descriptor", lambda: zip_bytes(wheel_members(), streamed=True),
     f"ZIP archive not accepted: ZIP contains a data descriptor. {ARCHIVES}"),
    ("trailing-data", lambda: zip_bytes(wheel_members()) + b"more", f"ZIP archive not accepted: Trailing data. {ARCHIVES}"),
    ("prepended-data", lambda: b"#!/bin/sh\n" + zip_bytes(wheel_members()),
     f"ZIP archive not accepted: Unknown record signature. {ARCHIVES}"),
    ("central-comment", _commented, f"ZIP archive not accepted: Comment in central directory. {ARCHIVES}"),
    ("duplicate-name", _duplicated, f"ZIP archive not accepted: Duplicate filename in local headers. {ARCHIVES}"),
    ("control-char-name", lambda: zip_bytes(wheel_members(extra=[("sandbox_demo/a\x01.py", b"")])),
     f"ZIP archive not accepted: Invalid character in filename. {ARCHIVES}"),
    ("local-size", lambda: _patch_local_size(zip_bytes(wheel_members()), "sandbox_demo/__init__.py", 1),
     f"ZIP archive not accepted: Mis-matched file size. {ARCHIVES}"),
    ("end-record-count", lambda: _patch_end_count(zip_bytes(wheel_members()), 1),
     f"ZIP archive not accepted: Mismatched central directory records. {ARCHIVES}"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "build", "detail"), WHEEL_CASES, ids=[c[0] for c in WHEEL_CASES])
def test_wheel_archive_rules(
    warehouse: Warehouse, token: str, tmp_path: Path, case: str, build: Callable[[], bytes], detail: str
) -> None:
    path = tmp_path / WHEEL
    path.write_bytes(build())

    response = upload_file(warehouse.upload_url, path, token)

    assert_refused(warehouse, response, 400, f"Invalid distribution file. {detail}")


SDIST_CASES: list[ArchiveCase] = [
    ("not-a-tar", lambda: zip_bytes([("sandbox_demo-1.0.0/PKG-INFO", _metadata())]), "File is not a tarfile"),
    ("not-gzipped", lambda: tar_gz(sdist_members(), compress=False), "None"),
    ("truncated-gzip", lambda: (lambda data: data[: len(data) // 2])(tar_gz(sdist_members())), "None"),
    ("sparse-member", lambda: tar_gz([*sdist_members(), (_sparse_member("sandbox_demo-1.0.0/hole.bin"), b"")]),
     f"tar archive not accepted: Sparse members are not allowed. {ARCHIVES}"),
    ("no-top-level", lambda: tar_gz([("PKG-INFO", _metadata()), ("setup.py", b"")]),
     "Incorrect number of top-level directories in sdist"),
    ("no-pkg-info", lambda: tar_gz(sdist_members(pkg_info=False)), "PKG-INFO not found at sandbox_demo-1.0.0/PKG-INFO"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "build", "detail"), SDIST_CASES, ids=[c[0] for c in SDIST_CASES])
def test_sdist_archive_rules(
    warehouse: Warehouse, token: str, tmp_path: Path, case: str, build: Callable[[], bytes], detail: str
) -> None:
    path = tmp_path / SDIST
    path.write_bytes(build())

    response = upload_file(warehouse.upload_url, path, token)

    assert_refused(warehouse, response, 400, f"Invalid distribution file. {detail}")


def test_zip_sdist_layout_is_checked_before_its_name(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    path = tmp_path / "sandbox_demo-1.0.0.zip"
    path.write_bytes(zip_bytes([("a/PKG-INFO", _metadata()), ("b/setup.py", b"")]))
    response = upload_file(warehouse.upload_url, path, token)
    assert_refused(
        warehouse, response, 400, "Invalid distribution file. Incorrect number of top-level directories in sdist"
    )

    # A single member is its own "top-level directory": PKG-INFO is then looked for inside it.
    path.write_bytes(zip_bytes([("sandbox_demo-1.0.0/PKG-INFO", _metadata())]))
    response = upload_file(warehouse.upload_url, path, token)
    assert_refused(
        warehouse,
        response,
        400,
        "Invalid distribution file. PKG-INFO not found at sandbox_demo-1.0.0/PKG-INFO/PKG-INFO",
    )

    path.write_bytes(zip_bytes([("sandbox_demo-1.0.0/PKG-INFO", _metadata()), ("sandbox_demo-1.0.0/setup.py", b"")]))
    response = upload_file(warehouse.upload_url, path, token)
    assert_refused(
        warehouse,
        response,
        400,
        "Filename 'sandbox_demo-1.0.0.zip' is invalid, should be 'sandbox_demo-1.0.0.tar.gz'.",
    )


def test_zip_walker_accepts_an_end_record_comment_and_zip64() -> None:
    data = zip_bytes(wheel_members())
    archive = zipfile.ZipFile(io.BytesIO(data))
    sizes = {m.orig_filename: (m.compress_size, m.file_size) for m in archive.infolist()}
    assert zip_framing_problem(data, sizes) is None

    commented = io.BytesIO(data)
    with zipfile.ZipFile(commented, "a") as archive:
        archive.comment = b"built by hand"
    assert zip_framing_problem(commented.getvalue(), sizes) is None

    forced = io.BytesIO()
    with (
        zipfile.ZipFile(forced, "w", allowZip64=True) as archive,
        archive.open(zipfile.ZipInfo("big.bin", (2024, 1, 1, 0, 0, 0)), "w", force_zip64=True) as out,
    ):
        out.write(b"x" * 10)
    reread = zipfile.ZipFile(io.BytesIO(forced.getvalue()))
    zip64_sizes = {m.orig_filename: (m.compress_size, m.file_size) for m in reread.infolist()}
    assert zip_framing_problem(forced.getvalue(), zip64_sizes) is None
    assert zip_framing_problem(forced.getvalue()[:-1], zip64_sizes) == "Malformed zip file"


# -- sdist and wheel specifics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "fields", "reason"),
    [
        ("Sandbox-Demo-1.0.0.tar.gz", {}, "Filename 'Sandbox-Demo-1.0.0.tar.gz' is invalid, should be "
         "'sandbox_demo-1.0.0.tar.gz'."),
        ("sandbox_demo-1.0.tar.gz", {"version": "1.0.0"}, "Filename 'sandbox_demo-1.0.tar.gz' is invalid, should be "
         "'sandbox_demo-1.0.0.tar.gz'."),
        ("other_lib-1.0.0.tar.gz", {}, "Start filename for 'sandbox-demo' with 'sandbox_demo'."),
        ("sandbox_demo.tar.gz", {}, "Invalid source distribution filename: sandbox_demo.tar.gz"),
    ],
)  # fmt: skip
def test_sdist_filename_pep_625(
    warehouse: Warehouse, token: str, tmp_path: Path, filename: str, fields: dict[str, str], reason: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(tar_gz(sdist_members(stem="sandbox_demo-1.0.0")))
    form = {**upload_fields(path, name="sandbox-demo", version="1.0.0"), **fields}

    response = upload_file(warehouse.upload_url, path, token, base_fields=form)

    assert_refused(warehouse, response, 400, reason)


def test_license_files_must_be_in_the_archive(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    wheel = tmp_path / WHEEL
    wheel.write_bytes(zip_bytes(wheel_members()))
    response = upload_file(warehouse.upload_url, wheel, token, fields={"license_file": "LICENSE"})
    assert_refused(
        warehouse,
        response,
        400,
        f"License-File LICENSE does not exist in distribution file {WHEEL} at {DIST_INFO}/licenses/LICENSE",
    )

    sdist = tmp_path / SDIST
    sdist.write_bytes(tar_gz([*sdist_members(), ("sandbox_demo-1.0.0/LICENSES/MIT.txt", b"MIT")]))
    response = upload_file(warehouse.upload_url, sdist, token, fields={"license_file": ["LICENSES/MIT.txt", "COPYING"]})
    assert_refused(
        warehouse,
        response,
        400,
        f"License-File COPYING does not exist in distribution file {SDIST} at sandbox_demo-1.0.0/COPYING",
    )


@pytest.mark.parametrize("platform", ["linux_x86_64", "macosx_11_1_arm64", "musllinux_1_2_ppc64", "win_x86", "cygwin"])
def test_unsupported_platform_tags(warehouse: Warehouse, token: str, tmp_path: Path, platform: str) -> None:
    filename = f"sandbox_demo-1.0.0-cp312-cp312-{platform}.whl"
    path = tmp_path / filename
    path.write_bytes(zip_bytes(wheel_members()))

    response = upload_file(warehouse.upload_url, path, token, fields={"pyversion": "cp312"})

    assert_refused(warehouse, response, 400, f"Binary wheel '{filename}' has an unsupported platform tag '{platform}'.")


@pytest.mark.parametrize(
    "platform",
    [
        "any", "win32", "win_amd64", "win_arm64", "manylinux1_x86_64", "manylinux2014_aarch64",
        "manylinux_2_17_x86_64", "manylinux_2_28_ppc64", "musllinux_1_2_riscv64", "linux_armv7l",
        "macosx_10_9_x86_64", "macosx_10_15_universal2", "macosx_11_0_arm64", "macosx_26_0_arm64",
        "ios_13_0_arm64_iphoneos", "ios_13_0_x86_64_iphonesimulator", "android_21_arm64_v8a",
        "pyemscripten_2024_0_wasm32",
    ],
)  # fmt: skip
def test_supported_platform_tags(platform: str) -> None:
    assert valid_platform_tag(platform)


def test_unsupported_platform_tag_set() -> None:
    for platform in ("linux_x86_64", "macosx_12_1_arm64", "musllinux_1_1_ppc64", "android_21_mips", "ios_13_0_arm64"):
        assert not valid_platform_tag(platform), platform


@pytest.mark.parametrize(
    ("filename", "members", "reason"),
    [
        ("Sandbox_Demo-1.0.0-py3-none-any.whl", wheel_members(dist="Sandbox_Demo-1.0.0"),
         "Filename 'Sandbox_Demo-1.0.0-py3-none-any.whl' should contain the normalized project name 'sandbox_demo', "
         "not 'Sandbox_Demo'."),
        (WHEEL, wheel_members(drop=("/RECORD",)),
         f"Wheel '{WHEEL}' does not contain the required RECORD file: {DIST_INFO}/RECORD"),
        (WHEEL, wheel_members(record=b"\xff\xfe not utf-8"),
         f"Wheel '{WHEEL}' does not contain the required RECORD file: {DIST_INFO}/RECORD"),
        (WHEEL, wheel_members(extra=[(f"{DIST_INFO}/entry_points.txt", b"[console_scripts]\nrun\n")]),
         f"Wheel '{WHEEL}' has invalid entry points defined in the entry_points.txt file"),
        (WHEEL, wheel_members(extra=[(f"{DIST_INFO}/entry_points.txt", b"[console_scripts]\n../evil = m:f\n")]),
         f"Wheel '{WHEEL}' has invalid entry points defined in the entry_points.txt file"),
        (WHEEL, wheel_members(extra=[(f"{DIST_INFO}/entry_points.txt", b"[gui_scripts]\nx = \xff\n")]),
         f"Wheel '{WHEEL}' has invalid entry points defined in the entry_points.txt file"),
        (WHEEL, wheel_members(extra=[(f"{DIST_INFO}/entry_points.txt", b"[console_scripts]\na: m:f\n")]),
         f"Wheel '{WHEEL}' has invalid entry points defined in the entry_points.txt file"),
        (WHEEL, wheel_members(drop=("/METADATA",)),
         f"Wheel '{WHEEL}' does not contain the required METADATA file: {DIST_INFO}/METADATA"),
    ],
)  # fmt: skip
def test_wheel_content_rules(
    warehouse: Warehouse, token: str, tmp_path: Path, filename: str, members: Members, reason: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(zip_bytes(members))

    response = upload_file(warehouse.upload_url, path, token)

    assert_refused(warehouse, response, 400, reason)


def test_record_mismatch_and_valid_entry_points_are_accepted(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    # RECORD listing a file that is not there only earns an e-mail on PyPI; other entry point groups are free.
    entry_points = b"[console_scripts]\nsandbox-demo = sandbox_demo:main\n[other.group]\n../odd = m:f\n"
    members = wheel_members(extra=[(f"{DIST_INFO}/entry_points.txt", entry_points)])
    members = [(m, d + b"ghost.py,,\n" if _name(m).endswith("/RECORD") else d) for m, d in members]
    path = tmp_path / WHEEL
    path.write_bytes(zip_bytes(members))

    assert upload_file(warehouse.upload_url, path, token).status_code == 200


# -- the project: status, creation ------------------------------------------------------------------------

_NOT_TOKEN = (
    "The given token isn't allowed to upload to project 'sandbox-demo'. See https://pypi.org/help/#project-name for "
    "more information."
)


@pytest.mark.parametrize("status", ["archived", "quarantined"])
def test_trusted_publishing_refused_for_archived_and_quarantined_projects(
    warehouse: Warehouse, oidc_issuer: OIDCIssuer, tmp_path: Path, status: str
) -> None:
    warehouse.add_project("sandbox-demo", status=status)
    # The exchange still mints (warehouse/oidc/views.py does not look at the project's status) ...
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": oidc_issuer.mint("pypi")}, timeout=10)
    assert response.status_code == 200
    # ... but the project's ACL gives its publishers no upload permission.
    upload = upload_file(warehouse.upload_url, write_wheel(tmp_path), response.json()["token"])

    assert_refused(warehouse, upload, 403, _NOT_TOKEN)


def test_archived_refuses_users_and_quarantined_lets_owners_upload(warehouse: Warehouse, tmp_path: Path) -> None:
    api_token = warehouse.add_api_token("owner", projects=("sandbox-demo",))
    warehouse.add_project("sandbox-demo", owners=("owner",), status="archived")
    response = upload_file(warehouse.upload_url, write_wheel(tmp_path), api_token)
    assert_refused(
        warehouse,
        response,
        403,
        "The user 'owner' isn't allowed to upload to project 'sandbox-demo'. See https://pypi.org/help/#project-name "
        "for more information.",
    )

    warehouse.projects["sandbox-demo"].status = "quarantined"
    assert upload_file(warehouse.upload_url, write_wheel(tmp_path), api_token).status_code == 200


def test_simple_api_reports_the_project_status(warehouse: Warehouse, tmp_path: Path) -> None:
    api_token = warehouse.add_api_token("owner", projects=("sandbox-demo",))
    warehouse.add_project("sandbox-demo", owners=("owner",))
    assert upload_file(warehouse.upload_url, write_wheel(tmp_path), api_token).status_code == 200
    page = f"{warehouse.simple_url}sandbox-demo/"
    as_json = {"Accept": "application/vnd.pypi.simple.v1+json"}

    for status in ("active", "deprecated", "archived", "quarantined"):
        warehouse.projects["sandbox-demo"].status = status
        body = httpx.get(page, headers=as_json).json()
        assert body["project-status"] == {"status": status}
        assert f'<meta name="pypi:project-status" content="{status}">' in httpx.get(page).text
        # Quarantine hides the files and the project from the index; other statuses hide nothing.
        assert len(body["files"]) == (0 if status == "quarantined" else 1)
        index = httpx.get(warehouse.simple_url, headers=as_json).json()
        assert ("sandbox-demo" in [p["name"] for p in index["projects"]]) == (status != "quarantined")

    with pytest.raises(ValueError, match="status must be one of"):
        warehouse.add_project("other", status="frozen")


def test_a_refused_first_upload_creates_no_project(warehouse: Warehouse, tmp_path: Path) -> None:
    api_token = warehouse.add_api_token("newcomer")
    wheel = write_wheel(tmp_path, "brand-new")
    before = set(warehouse.projects)

    response = upload_file(warehouse.upload_url, wheel, api_token, fields={"summary": "x\ny"})

    assert_refused(warehouse, response, 400, f"'summary' must be a single line. {CORE}")
    assert set(warehouse.projects) == before
    assert upload_file(warehouse.upload_url, wheel, api_token).status_code == 200
    assert warehouse.projects["brand-new"].owners == {"newcomer"}


def test_a_refused_upload_keeps_the_project_name(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    response = upload_file(
        warehouse.upload_url, write_wheel(tmp_path), token, fields={"name": "Sandbox_Demo", "summary": "a\nb"}
    )

    assert response.status_code == 400
    assert warehouse.projects["sandbox-demo"].name == "sandbox-demo"


# -- valid real-world shapes ------------------------------------------------------------------------------


@pytest.fixture
def both_publishers(warehouse: Warehouse, oidc_issuer: OIDCIssuer) -> str:
    """A minted token for both fixture projects (hatch and setuptools)."""
    warehouse.add_publisher("sandbox-setuptools-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
    oidc_issuer.claims = GitHubClaims()
    response = httpx.post(f"{warehouse.url}/_/oidc/mint-token", json={"token": oidc_issuer.mint("pypi")}, timeout=10)
    minted: str = response.json()["token"]
    return minted


def test_real_builds_are_accepted(
    warehouse: Warehouse,
    both_publishers: str,
    dist_cache: DistCache,  # noqa: F811
    tmp_path: Path,
) -> None:
    # hatchling: Metadata 2.5 wheel + sdist with License-Expression and License-File; setuptools: Metadata 2.4
    # wheel with a license file, classifiers, URLs, extras and a console script, and its sdist.
    paths = dist_cache.copy_to(tmp_path / "hatch", "hatch") + dist_cache.copy_to(tmp_path / "st", "setuptools")

    for path in paths:
        form = twine_fields(path)
        response = upload_file(warehouse.upload_url, path, both_publishers, base_fields=form)
        assert response.status_code == 200, (path.name, response.reason_phrase)

    assert sorted(f.filename for f in warehouse.files) == sorted(p.name for p in paths)
    wheel = warehouse.file("sandbox_setuptools_demo-1.0.0-py3-none-any.whl")
    assert wheel.form["metadata_version"] == ["2.4"]
    assert wheel.form["license_file"]


def test_many_platform_wheels_and_a_universal_wheel_are_accepted(
    warehouse: Warehouse, token: str, tmp_path: Path
) -> None:
    wheels = make_wheels(tmp_path / "platforms", 30, distinct_by="platform")
    universal = tmp_path / "sandbox_demo-1.0.0-py2.py3-none-any.whl"
    universal.write_bytes(zip_bytes(wheel_members()))

    for path in [*wheels, universal]:
        response = upload_file(warehouse.upload_url, path, token, base_fields=twine_fields(path))
        assert response.status_code == 200, (path.name, response.reason_phrase)

    assert len(warehouse.files) == 31


@pytest.mark.long
def test_the_largest_release_make_release_writes_is_accepted(warehouse: Warehouse, token: str, tmp_path: Path) -> None:
    # One sdist and a wheel for every platform/interpreter combination the fixtures know: the release the
    # side-by-side benchmark publishes at its largest size.
    paths = make_release(tmp_path / "release", 121)
    assert paths[0].name == "sandbox_demo-1.0.0.tar.gz"
    for path in paths:
        response = upload_file(warehouse.upload_url, path, token, base_fields=twine_fields(path))
        assert response.status_code == 200, (path.name, response.reason_phrase)

    assert sorted(f.filename for f in warehouse.files) == sorted(p.name for p in paths)
    assert {f.version for f in warehouse.files} == {"1.0.0"}
