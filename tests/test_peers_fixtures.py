"""The real-peer fixtures work, and the index behaviour the upload code relies on is what we think it is.

Two halves:

* distribution fixtures (no servers): the builds are real, names and versions are rewritten, the legacy
  zip sdist is well formed, directly written wheels are valid and distinct, the big wheel is written
  with flat memory;
* peer indexes (``peers`` marker): twine uploads to pypiserver and devpi with the fixture credentials,
  files come back byte-identical, and the answers to re-uploads, bad credentials and simple-page queries
  are pinned, so a server upgrade that changes them fails here first rather than in the upload tests.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from tests.fixtures.dists import (
    DOTTED_NAME,
    DistCache,
    build_project,
    make_big_wheel,
    make_wheels,
)
from tests.fixtures.peers import (
    DEAD_FALLBACK,
    DevpiIndex,
    DevpiServer,
    PeerIndex,
    PypiServerIndex,
    ServerStartError,
    start_pypiserver,
)
from tests.fixtures.twine_client import run_twine

_BIN = Path(sys.executable).parent
_PEP691_JSON = "application/vnd.pypi.simple.v1+json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _twine(*args: str) -> subprocess.CompletedProcess[str]:
    """Run twine from this environment, never prompting and never asking a keyring."""
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", NO_COLOR="1")
    return run_twine(list(args), env, timeout=120)


def _twine_upload(index: PeerIndex, password: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return _twine(
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        index.upload_url,
        # In one argument each: a generated password may begin with "-", which argparse reads as an option.
        f"--username={index.username}",
        f"--password={password}",
        *map(str, files),
    )


def _legacy_upload(
    index: PeerIndex, path: Path, auth: tuple[str, str] | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A minimal legacy-protocol upload of a wheel, so tests see the server's raw answer (twine hides it)."""
    name, version, _, _ = parse_wheel_filename(path.name)
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "name": str(name),
        "version": str(version),
        "sha256_digest": _sha256(path),
    }
    files = {"content": (path.name, path.read_bytes(), "application/octet-stream")}
    return httpx.post(index.upload_url, data=data, files=files, auth=auth, headers=headers, timeout=30)


def _metadata(path: Path) -> email.message.Message:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.BytesParser().parsebytes(zf.read(name))


def _verify_record(path: Path) -> None:
    """Check a wheel's RECORD lists every member with the right sha256 and size (streamed, for big wheels)."""
    with zipfile.ZipFile(path) as zf:
        record_name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        rows = [line.split(",") for line in zf.read(record_name).decode().splitlines() if line]
        listed = {row[0] for row in rows}
        assert listed == set(zf.namelist())
        for arcname, hash_spec, size in rows:
            if arcname == record_name:
                assert (hash_spec, size) == ("", "")
                continue
            digest = hashlib.sha256()
            with zf.open(arcname) as member:
                while chunk := member.read(1 << 20):
                    digest.update(chunk)
            expected = "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
            assert hash_spec == expected, arcname
            assert int(size) == zf.getinfo(arcname).file_size, arcname


# ---------------------------------------------------------------------------------------------------------
# Distribution fixtures
# ---------------------------------------------------------------------------------------------------------


def test_hatch_dists_are_real_builds(hatch_dists: Path) -> None:
    names = sorted(p.name for p in hatch_dists.iterdir())
    assert names == ["sandbox_demo-1.0.0-py3-none-any.whl", "sandbox_demo-1.0.0.tar.gz"]
    meta = _metadata(hatch_dists / names[0])
    # hatchling 1.33 writes 2.5 by default; the point is a current version with an SPDX expression.
    assert meta["Metadata-Version"] in {"2.4", "2.5"}
    assert (meta["Name"], meta["Version"], meta["License-Expression"]) == ("sandbox-demo", "1.0.0", "MIT")
    assert meta["License-File"] == "LICENSE"


def test_setuptools_dists_carry_rich_metadata(setuptools_dists: Path) -> None:
    wheel = setuptools_dists / "sandbox_setuptools_demo-1.0.0-py3-none-any.whl"
    assert (setuptools_dists / "sandbox_setuptools_demo-1.0.0.tar.gz").is_file()
    meta = _metadata(wheel)
    assert meta["Metadata-Version"] == "2.4"
    assert meta["License-Expression"] == "Apache-2.0"
    assert "packaging>=24" in meta.get_all("Requires-Dist", [])
    assert meta.get_all("Provides-Extra") == ["cli"]


def test_per_test_dist_dirs_are_private_copies(hatch_dists: Path, dist_cache: DistCache, tmp_path: Path) -> None:
    cached = {p.name: p for p in dist_cache.get("hatch")}
    for path in hatch_dists.iterdir():
        assert path.parent == tmp_path / "dist-hatch"
        assert path != cached[path.name]
        assert path.read_bytes() == cached[path.name].read_bytes()
    # Changing the test's copy must not reach the cache other tests copy from.
    (hatch_dists / "sandbox_demo-1.0.0.tar.gz").write_bytes(b"")
    assert cached["sandbox_demo-1.0.0.tar.gz"].stat().st_size > 0


@pytest.mark.parametrize("kind", ["hatch", "setuptools"])
def test_dotted_name_filenames_per_backend(dist_cache: DistCache, kind: str) -> None:
    built = dist_cache.get(kind, name=DOTTED_NAME, version="2.3.4")
    assert sorted(p.name for p in built) == ["acme_tools_lib-2.3.4-py3-none-any.whl", "acme_tools_lib-2.3.4.tar.gz"]
    wheel_name, wheel_version, _, _ = parse_wheel_filename(built[0].name)
    sdist_name, sdist_version = parse_sdist_filename(built[1].name)
    assert wheel_name == sdist_name == canonicalize_name(DOTTED_NAME) == "acme-tools-lib"
    assert str(wheel_version) == str(sdist_version) == "2.3.4"
    # The metadata keeps the name as written; only filenames are normalised.
    assert _metadata(built[0])["Name"] == DOTTED_NAME


def test_zip_sdist_is_a_legacy_zip_twine_accepts(zip_dists: Path) -> None:
    names = sorted(p.name for p in zip_dists.iterdir())
    assert names == ["sandbox_demo-1.0.0-py3-none-any.whl", "sandbox_demo-1.0.0.zip"]
    with zipfile.ZipFile(zip_dists / "sandbox_demo-1.0.0.zip") as zf:
        members = zf.namelist()
        assert all(m.startswith("sandbox_demo-1.0.0/") for m in members)
        pkg_info = email.parser.BytesParser().parsebytes(zf.read("sandbox_demo-1.0.0/PKG-INFO"))
    assert (pkg_info["Name"], pkg_info["Version"]) == ("sandbox-demo", "1.0.0")
    result = _twine("check", "--strict", str(zip_dists / "sandbox_demo-1.0.0.zip"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout


def test_build_project_rewrites_version_and_reports_failures(tmp_path: Path) -> None:
    built = build_project("hatch", tmp_path / "out", version="0.0.1.dev3")
    assert [p.name for p in built] == ["sandbox_demo-0.0.1.dev3-py3-none-any.whl", "sandbox_demo-0.0.1.dev3.tar.gz"]
    with pytest.raises(ValueError, match="unknown project kind"):
        build_project("flit", tmp_path / "x")
    # An invalid version makes the backend fail; the error must carry the build's own output.
    with pytest.raises(RuntimeError, match=r"(?s)build of .* failed.*not-a-version"):
        build_project("hatch", tmp_path / "bad", version="not-a-version")


def test_make_wheels_by_version(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "a", 5, version_prefix="2.1")
    assert [p.name for p in wheels] == [f"sandbox_demo-2.1.{i}-py3-none-any.whl" for i in range(5)]
    for path in wheels:
        _verify_record(path)
        meta = _metadata(path)
        assert meta["Metadata-Version"] == "2.1"
        assert meta["Name"] == "sandbox-demo"
        assert path.name.startswith(f"sandbox_demo-{meta['Version']}-")


def test_make_wheels_by_platform_share_one_release(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path, 50, name=DOTTED_NAME, distinct_by="platform")
    assert len({p.name for p in wheels}) == 50
    releases = {parse_wheel_filename(p.name)[:2] for p in wheels}
    assert releases == {(canonicalize_name(DOTTED_NAME), parse_wheel_filename(wheels[0].name)[1])}
    tags = {str(t) for p in wheels for t in parse_wheel_filename(p.name)[3]}
    assert "cp312-cp312-win_amd64" in tags
    for path in wheels[:3]:
        _verify_record(path)
    with pytest.raises(ValueError, match="at most 120"):
        make_wheels(tmp_path / "more", 121, distinct_by="platform")


def test_make_wheels_is_deterministic_and_salt_changes_bytes_only(tmp_path: Path) -> None:
    first = make_wheels(tmp_path / "a", 3, payload_size=4096)
    again = make_wheels(tmp_path / "b", 3, payload_size=4096)
    salted = make_wheels(tmp_path / "c", 3, payload_size=4096, salt="x")
    assert [p.name for p in first] == [p.name for p in again] == [p.name for p in salted]
    assert [_sha256(p) for p in first] == [_sha256(p) for p in again]
    assert not {_sha256(p) for p in first} & {_sha256(p) for p in salted}
    # The payload is stored uncompressed, so the size the caller asks for is the size they get.
    assert all(p.stat().st_size > 4096 for p in first)


def test_all_fixture_dists_pass_twine_check(
    hatch_dists: Path, setuptools_dists: Path, zip_dists: Path, dotted_dists: Path, tmp_path: Path
) -> None:
    files = [p for d in (hatch_dists, setuptools_dists, zip_dists, dotted_dists) for p in d.iterdir()]
    files += make_wheels(tmp_path / "v", 2) + make_wheels(tmp_path / "p", 2, distinct_by="platform")
    files.append(make_big_wheel(tmp_path / "big", 1024))
    result = _twine("check", "--strict", *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == len(files)


def test_make_big_wheel_streams_with_flat_memory(tmp_path: Path) -> None:
    size = 160 * 1024 * 1024
    # A fresh interpreter, so its peak RSS is this wheel's cost alone, not whatever the test run did before.
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from tests.fixtures.dists import make_big_wheel\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"path = make_big_wheel(Path(sys.argv[1]), {size})\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(path, base, peak)\n"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    path_text, base_kib, peak_kib = proc.stdout.split()
    wheel = Path(path_text)
    assert wheel.name == "sandbox_big-1.0.0-py3-none-any.whl"
    assert size < wheel.stat().st_size < size + 64 * 1024
    # ru_maxrss is KiB on Linux. Writing 160 MiB may add a few chunk-sized buffers, never the payload.
    assert int(peak_kib) - int(base_kib) < 32 * 1024, (base_kib, peak_kib)
    _verify_record(wheel)
    assert _metadata(wheel)["Name"] == "sandbox-big"


# ---------------------------------------------------------------------------------------------------------
# Peer indexes
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.peers
def test_twine_upload_round_trip(peer_index: PeerIndex, hatch_dists: Path, setuptools_dists: Path) -> None:
    files = sorted(hatch_dists.iterdir()) + sorted(setuptools_dists.iterdir())
    assert peer_index.sha256s() == {}
    result = _twine_upload(peer_index, peer_index.password, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert peer_index.sha256s() == {p.name: _sha256(p) for p in files}
    for path in files:
        assert peer_index.download(path.name) == path.read_bytes()
    with pytest.raises(LookupError):
        peer_index.download("sandbox_demo-9.9.9.tar.gz")


@pytest.mark.peers
def test_legacy_zip_dotted_and_platform_wheels_upload(
    peer_index: PeerIndex, zip_dists: Path, dotted_dists: Path, tmp_path: Path
) -> None:
    files = sorted(zip_dists.iterdir()) + sorted(dotted_dists.iterdir())
    files += make_wheels(tmp_path / "plat", 4, name="sandbox-plat", distinct_by="platform")
    result = _twine_upload(peer_index, peer_index.password, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert peer_index.sha256s() == {p.name: _sha256(p) for p in files}
    # The dotted project is listed under its normalised name; other spellings redirect there.
    page = httpx.get(f"{peer_index.simple_url}acme-tools-lib/", timeout=30)
    assert page.status_code == 200
    assert "acme_tools_lib-1.0.0-py3-none-any.whl" in page.text
    other = httpx.get(f"{peer_index.simple_url}acme.tools_lib/", timeout=30)
    assert other.status_code in {301, 302}
    assert other.headers["location"].endswith("/acme-tools-lib/")


@pytest.mark.peers
def test_wrong_password_and_missing_auth_are_refused(peer_index: PeerIndex, hatch_dists: Path) -> None:
    files = sorted(hatch_dists.iterdir())
    result = _twine_upload(peer_index, peer_index.password + "-wrong", files)
    assert result.returncode != 0
    assert re.search(r"40[13]", result.stdout + result.stderr), result.stdout + result.stderr
    assert peer_index.sha256s() == {}

    wheel = files[0]
    wrong = _legacy_upload(peer_index, wheel, (peer_index.username, "not-the-password"))
    missing = _legacy_upload(peer_index, wheel, None)
    # pypiserver tells "unknown credentials" (403) from "no credentials" (401); devpi says 401 to both.
    expected_wrong = 403 if isinstance(peer_index, PypiServerIndex) else 401
    assert wrong.status_code == expected_wrong
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Basic realm="pypi"'
    assert peer_index.sha256s() == {}


@pytest.mark.peers
def test_reupload_answers(peer_index: PeerIndex, tmp_path: Path) -> None:
    (wheel,) = make_wheels(tmp_path / "a", 1)
    (changed,) = make_wheels(tmp_path / "b", 1, salt="changed")
    auth = (peer_index.username, peer_index.password)
    first = _legacy_upload(peer_index, wheel, auth)
    assert first.status_code == 200
    identical = _legacy_upload(peer_index, wheel, auth)
    different = _legacy_upload(peer_index, changed, auth)
    different_as_twine = _legacy_upload(peer_index, changed, auth, headers={"User-Agent": "twine/7.0.0"})
    if isinstance(peer_index, PypiServerIndex):
        # pypiserver has no notion of "identical": any existing filename is a conflict, 400 for twine.
        assert identical.status_code == 409
        assert "already exists" in identical.text
        assert different.status_code == 409
        assert different_as_twine.status_code == 400
    else:
        assert identical.status_code == 200
        assert identical.reason_phrase == "Upload of identical file to non volatile index."
        assert different.status_code == 409
        assert different.reason_phrase == f"{wheel.name} already exists in non-volatile index"
        assert different_as_twine.status_code == 409
    # Whatever the answer, the first file's bytes are what stays stored.
    assert peer_index.sha256s() == {wheel.name: _sha256(wheel)}


@pytest.mark.peers
def test_devpi_json_errors_when_asked(devpi: DevpiIndex, tmp_path: Path) -> None:
    (wheel,) = make_wheels(tmp_path / "a", 1)
    (changed,) = make_wheels(tmp_path / "b", 1, salt="changed")
    auth = (devpi.username, devpi.password)
    assert _legacy_upload(devpi, wheel, auth).status_code == 200
    conflict = _legacy_upload(devpi, changed, auth, headers={"Accept": "application/json"})
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/json"
    body = conflict.json()
    # Pyramid's error JSON: the explanation is in "title" and "code", "message" is only whitespace.
    assert body["title"] == f"{wheel.name} already exists in non-volatile index"
    assert body["code"] == f"409 {wheel.name} already exists in non-volatile index"
    assert body["message"].strip() == ""


@pytest.mark.peers
def test_neither_server_checks_the_sent_digest(peer_index: PeerIndex, tmp_path: Path) -> None:
    (wheel,) = make_wheels(tmp_path, 1)
    name, version, _, _ = parse_wheel_filename(wheel.name)
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "name": str(name),
        "version": str(version),
        "sha256_digest": "0" * 64,
    }
    response = httpx.post(
        peer_index.upload_url,
        data=data,
        files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
        auth=(peer_index.username, peer_index.password),
        timeout=30,
    )
    # Unlike PyPI, a wrong digest is accepted: only a post-upload hash comparison catches corruption.
    assert response.status_code == 200
    assert peer_index.sha256s() == {wheel.name: _sha256(wheel)}


@pytest.mark.peers
def test_simple_pages(peer_index: PeerIndex, hatch_dists: Path) -> None:
    files = sorted(hatch_dists.iterdir())
    assert _twine_upload(peer_index, peer_index.password, files).returncode == 0

    unknown = httpx.get(f"{peer_index.simple_url}no-such-project/", timeout=30)
    unknown_json = httpx.get(f"{peer_index.simple_url}no-such-project/", headers={"Accept": _PEP691_JSON}, timeout=30)
    if isinstance(peer_index, PypiServerIndex):
        # pypiserver's default fallback: an unknown project is sent on to another index (ours: a dead port).
        for answer in (unknown, unknown_json):
            assert answer.status_code == 303
            assert answer.headers["Location"] == f"{DEAD_FALLBACK}no-such-project/"
    else:
        assert unknown.status_code == 404
        assert unknown_json.status_code == 404

    html = httpx.get(f"{peer_index.simple_url}sandbox-demo/", timeout=30)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=UTF-8"
    for path in files:
        assert f"/{path.name}#sha256={_sha256(path)}" in html.text

    as_json = httpx.get(f"{peer_index.simple_url}sandbox-demo/", headers={"Accept": _PEP691_JSON}, timeout=30)
    assert as_json.status_code == 200
    if isinstance(peer_index, PypiServerIndex):
        # No PEP 691: the Accept header is ignored and HTML comes back.
        assert as_json.headers["content-type"] == "text/html; charset=UTF-8"
        assert unknown_json.headers["content-type"] == "text/html; charset=UTF-8"
    else:
        assert as_json.headers["content-type"] == _PEP691_JSON
        listed = {f["filename"]: f["hashes"]["sha256"] for f in as_json.json()["files"]}
        assert listed == {p.name: _sha256(p) for p in files}
        assert unknown_json.headers["content-type"] == "text/plain; charset=UTF-8"
        # devpi labels HTML answers to other explicit Accept values "text_html" (sic): judge by body, not type.
        other = httpx.get(
            f"{peer_index.simple_url}sandbox-demo/",
            headers={"Accept": "application/vnd.pypi.simple.latest+json"},
            timeout=30,
        )
        assert other.headers["content-type"] == "text_html"
        assert other.text.startswith("<!DOCTYPE html>")


@pytest.mark.peers
def test_pypiserver_fixture_shape(pypiserver: PypiServerIndex) -> None:
    assert pypiserver.upload_url == pypiserver.base_url + "/"
    assert pypiserver.simple_url == pypiserver.base_url + "/simple/"
    assert pypiserver.base_url.startswith("http://127.0.0.1:")
    assert pypiserver.username == "alice"
    assert len(pypiserver.password) >= 16
    assert list(pypiserver.packages_dir.iterdir()) == []
    assert isinstance(pypiserver, PeerIndex)
    # Downloads are open: no credentials needed to read the index.
    assert httpx.get(pypiserver.simple_url, timeout=30).status_code == 200


@pytest.mark.peers
def test_devpi_fresh_index_is_empty_and_non_volatile(
    devpi_server: DevpiServer, devpi: DevpiIndex, tmp_path: Path
) -> None:
    assert devpi.simple_url == f"{devpi_server.base_url}/alice/dev/+simple/"
    assert devpi.upload_url == f"{devpi_server.base_url}/alice/dev/"
    assert isinstance(devpi, PeerIndex)
    (wheel,) = make_wheels(tmp_path, 1)
    assert _legacy_upload(devpi, wheel, (devpi.username, devpi.password)).status_code == 200
    assert devpi.sha256s() == {wheel.name: _sha256(wheel)}

    config = httpx.get(devpi.upload_url, headers={"Accept": "application/json"}, timeout=30).json()["result"]
    assert (config["volatile"], config["bases"]) == (False, [])
    fresh = devpi_server.fresh_index("dev")
    assert fresh.simple_url == devpi.simple_url
    assert fresh.sha256s() == {}


@pytest.mark.peers
def test_server_that_cannot_start_fails_with_its_log(tmp_path: Path) -> None:
    # An option pypiserver does not know makes it exit at once; the error must say why, from its own output.
    with pytest.raises(ServerStartError, match=r"(?s)pypiserver exited with code 2.*--no-such-option"):
        start_pypiserver(tmp_path, extra_args=["--no-such-option"])
