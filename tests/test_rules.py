"""PyPI's upload rules as pre-flight predicts them: zip framing, platform tags, metadata, release state.

The corpus tests (``test_index_rules_corpus.py``) hold real builds altered to break one rule each against the
whole publish; these test the rule functions themselves, on inputs small enough to build byte by byte, and
the one read each file gets.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from publish_action import archive, dists, rules
from publish_action.archive.zipframe import FramingError, check_framing
from publish_action.index import Index, IndexedFile, ProjectPage, project_page
from publish_action.rules.platforms import platform_tag_allowed

# -- zip framing ----------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes], *, comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        archive.comment = comment
    return buffer.getvalue()


def _framing(data: bytes) -> str | None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sizes = {info.orig_filename: (info.compress_size, info.file_size) for info in archive.infolist()}
        assert archive.fp is not None
        try:
            check_framing(archive.fp, sizes)  # type: ignore[arg-type]
        except FramingError as exc:
            return str(exc)
    return None


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then streams members with data descriptors, as some tools do."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def test_a_plain_zip_and_one_with_an_archive_comment_frame_cleanly() -> None:
    assert _framing(_zip({"pkg/a.py": b"a", "pkg/b.py": b"b" * 500})) is None
    # The end record's own comment is part of the record, not trailing data.
    assert _framing(_zip({"pkg/a.py": b"a"}, comment=b"built by hand")) is None


def test_zip64_headers_frame_cleanly() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        with archive.open("pkg/big.bin", "w", force_zip64=True) as member:
            member.write(b"z" * 4096)
        archive.writestr("pkg/small.txt", b"s")
    assert _framing(buffer.getvalue()) is None


def test_trailing_bytes_are_refused() -> None:
    assert "trailing data" in (_framing(_zip({"pkg/a.py": b"a"}) + b"appended") or "")


def test_a_data_descriptor_is_refused() -> None:
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w") as archive, archive.open("pkg/a.py", "w") as member:
        member.write(b"print('streamed')\n")
    assert "data descriptor" in (_framing(bytes(stream.data)) or "")


def test_a_central_directory_comment_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("pkg/a.py")
        info.comment = b"per-member comment"
        archive.writestr(info, b"a")
    assert "comment" in (_framing(buffer.getvalue()) or "")


def test_a_duplicate_member_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg/a.py", b"same bytes")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("pkg/a.py", b"same bytes")
    assert "twice" in (_framing(buffer.getvalue()) or "")


def test_a_local_header_that_disagrees_with_the_central_directory_is_refused() -> None:
    data = bytearray(_zip({"pkg/a.py": b"a" * 100}))
    # The local header's uncompressed size lives at offset 22; the central directory keeps the true one.
    data[22:26] = (1234).to_bytes(4, "little")
    assert "other sizes" in (_framing(bytes(data)) or "")


def test_a_control_character_in_a_member_name_is_refused() -> None:
    assert "control character" in (_framing(_zip({"pkg/a\x07.py": b"a"})) or "")


# -- platform tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "any",
        "win_amd64",
        "win_arm64",
        "manylinux1_x86_64",
        "manylinux2014_aarch64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_ppc64",
        "musllinux_1_2_riscv64",
        "macosx_10_9_x86_64",
        "macosx_11_0_arm64",
        "macosx_14_0_universal2",
        "macosx_26_0_arm64",
        "ios_13_0_arm64_iphoneos",
        "ios_13_0_x86_64_iphonesimulator",
        "android_21_arm64_v8a",
        "pyemscripten_2024_0_wasm32",
        "linux_armv7l",
    ],
)
def test_platform_tags_pypi_takes(tag: str) -> None:
    assert platform_tag_allowed(tag)


@pytest.mark.parametrize(
    "tag",
    [
        "linux_x86_64",
        "linux_aarch64",
        "musllinux_1_2_ppc64",  # ppc64 is manylinux-only
        "macosx_11_1_arm64",  # from macOS 11 on, only <major>_0
        "macosx_16_0_arm64",  # no such macOS
        "macosx_10_9_sparc",
        "ios_13_0_armv7_iphoneos",
        "android_21_mips",
        "emscripten_3_1_58_wasm32",
        "cygwin_x86_64",
    ],
)
def test_platform_tags_pypi_refuses(tag: str) -> None:
    assert not platform_tag_allowed(tag)


# -- one file, through its facts -------------------------------------------------------------------------

_METADATA = (
    "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.0\nSummary: A demo\n"
    "Author-email: Demo <demo@example.com>\nLicense-Expression: MIT\nLicense-File: LICENSE\n"
    "Classifier: Programming Language :: Python :: 3\nRequires-Dist: httpx>=0.27\n"
    "Project-URL: Source, https://example.com/demo\nDescription-Content-Type: text/x-rst\n\nDemo\n====\n\nText.\n"
)


def _wheel(path: Path, metadata: str = _METADATA, *, extra: dict[str, bytes] | None = None) -> Path:
    stem = "-".join(path.name.split("-", 2)[:2])
    members = {
        "demo_pkg/__init__.py": b"",
        f"{stem}.dist-info/METADATA": metadata.encode(),
        f"{stem}.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{stem}.dist-info/licenses/LICENSE": b"MIT",
        **(extra or {}),
    }
    members[f"{stem}.dist-info/RECORD"] = "".join(
        f"{name},,\n" for name in [*members, f"{stem}.dist-info/RECORD"]
    ).encode()
    path.write_bytes(_zip(members))
    return path


def _findings(path: Path) -> list[rules.Finding]:
    kind = "wheel" if path.name.endswith(".whl") else "sdist"
    with path.open("rb") as stream:
        if path.name.endswith(".tar.gz"):
            facts = archive.read_sdist(stream, path.stat().st_size, lambda _chunk: None)
        else:
            facts = archive.read_zip(stream, path.stat().st_size, kind, archive.wanted_members(path.name))
    return rules.check_file(path.name, facts)


def test_a_clean_wheel_breaks_no_rule(tmp_path: Path) -> None:
    assert _findings(_wheel(tmp_path / "demo_pkg-1.0-py3-none-any.whl")) == []


@pytest.mark.parametrize(
    ("change", "rule", "words"),
    [
        (("Summary: A demo", "Summary: " + "s" * 513), "summary-length", "513 characters"),
        (("demo@example.com", "demo@localhost"), "email-invalid", "'demo@localhost'"),
        (("Python :: 3\n", "Python :: 3\nClassifier: Made Up :: Thing\n"), "classifier-unknown", "'Made Up :: Thing'"),
        (
            ("Python :: 3\n", "Python :: 3\nClassifier: Natural Language :: Ukranian\n"),
            "classifier-deprecated",
            "use 'Natural Language :: Ukrainian' instead",
        ),
        (("https://example.com/demo", "ftp://example.com/demo"), "url-invalid", "'Source'"),
        (("httpx>=0.27", "httpx @ https://example.com/httpx.whl"), "direct-dependency", "points at a URL"),
        (("License-Expression: MIT\n", "License-Expression: MIT\nLicense: MIT\n"), "license-and-expression", "both"),
        (("License-File: LICENSE", "License-File: COPYING"), "license-file-missing", "licenses/COPYING"),
        (("Version: 1.0", "Version: 1.0+local"), "local-version", "'+local'"),
        (("Metadata-Version: 2.4", "Metadata-Version: 2.6"), "metadata-version", "2.6"),
        (("Requires-Dist: httpx>=0.27", "Requires-Dist: httpx>=>0.27"), "metadata-invalid", "Requires-Dist"),
        (("Python :: 3\n", "Python :: 3\nDynamic: Name\n"), "metadata-invalid", "dynamic"),
        (("Text.\n", "Text.\n\n.. broken:: directive\n"), "description-render", "line 6: unknown directive type"),
    ],
)
def test_each_metadata_rule(tmp_path: Path, change: tuple[str, str], rule: str, words: str) -> None:
    old, new = change
    assert old in _METADATA
    version = "1.0+local" if "+local" in new else "1.0"
    found = _findings(_wheel(tmp_path / f"demo_pkg-{version}-py3-none-any.whl", _METADATA.replace(old, new)))
    assert [f.rule for f in found] == [rule], found
    assert words.lower() in found[0].line().lower()
    assert found[0].line().startswith(f"demo_pkg-{version}-py3-none-any.whl: PyPI would refuse it: ")
    assert ". Fix: " in found[0].line()


def test_a_long_broken_description_is_reported_by_its_first_error_never_whole(tmp_path: Path) -> None:
    body = "Title\n=====\n\n" + "A fine paragraph.\n\n" * 200 + "  unexpected\n indentation\n"
    metadata = _METADATA.split("\n\n")[0] + "\n\n" + body
    (finding,) = _findings(_wheel(tmp_path / "demo_pkg-1.0-py3-none-any.whl", metadata))
    assert finding.rule == "description-render"
    assert "A fine paragraph" not in finding.line()
    assert len(finding.line()) < 600


def test_wheel_contents_rules(tmp_path: Path) -> None:
    bad_scripts = b"[console_scripts]\n../escape = demo_pkg:main\n"
    found = _findings(
        _wheel(
            tmp_path / "demo_pkg-1.0-py3-none-any.whl", extra={"demo_pkg-1.0.dist-info/entry_points.txt": bad_scripts}
        )
    )
    assert [f.rule for f in found] == ["wheel-entry-points"]
    assert "'../escape'" in found[0].reason


def test_names_and_tags_of_a_wheel(tmp_path: Path) -> None:
    found = _findings(_wheel(tmp_path / "Demo_Pkg-1.0-py3-none-linux_x86_64.whl"))
    assert sorted(f.rule for f in found) == ["platform-tag", "wheel-name-normalization"]


def test_an_sdist_must_have_its_pep_625_name(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "demo-pkg-1.0").mkdir(parents=True)
    (source / "demo-pkg-1.0" / "PKG-INFO").write_text(_METADATA.replace("License-File: LICENSE\n", ""))
    path = tmp_path / "demo-pkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source / "demo-pkg-1.0", arcname="demo-pkg-1.0")
    found = _findings(path)
    assert [f.rule for f in found] == ["sdist-filename"]
    assert "must be named demo_pkg-1.0.tar.gz" in found[0].reason


# -- one read per file -----------------------------------------------------------------------------------


def test_pre_flight_opens_each_file_once_and_hashes_what_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _wheel(tmp_path / "demo_pkg-1.0-py3-none-any.whl")
    opened: list[str] = []
    real_open = Path.open

    def counting_open(self: Path, *args: object, **kwargs: object) -> object:
        if self == wheel:
            opened.append(self.name)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", counting_open)
    hashes, facts = archive.read(wheel, "wheel")
    assert opened == [wheel.name]
    assert hashes == dists.hash_file(wheel)
    assert facts.names and facts.framing_error is None


def test_an_sdist_is_hashed_while_it_is_decompressed(tmp_path: Path) -> None:
    source = tmp_path / "demo_pkg-1.0"
    source.mkdir()
    (source / "PKG-INFO").write_text(_METADATA.replace("License-File: LICENSE\n", ""))
    path = tmp_path / "demo_pkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname="demo_pkg-1.0")
    path.write_bytes(path.read_bytes() + b"\0" * 700)  # bytes gzip leaves unread still count
    hashes, facts = archive.read(path, "sdist")
    assert hashes == dists.hash_file(path)
    assert "demo_pkg-1.0/PKG-INFO" in facts.members


# -- what the index already holds ------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _dist(filename: str, kind: str = "wheel", size: int = 10) -> SimpleNamespace:
    return SimpleNamespace(filename=filename, kind=kind, project="demo-pkg", version="1.0", size=size)


def _page(*files: tuple[str, int], status: str | None = "active") -> ProjectPage:
    return ProjectPage(
        {name: IndexedFile(name, None, upload_time=NOW - timedelta(days=age), size=100) for name, age in files},
        status,
    )


def _release_rules(page: ProjectPage, *dists_: SimpleNamespace, trusted: bool = True) -> list[tuple[str, str]]:
    findings = rules.check_release(list(dists_), {"demo-pkg": page}, trusted_publishing=trusted, now=NOW)
    return [(f.filename, f.rule) for f in findings]


def test_release_window_counts_from_the_first_file_of_the_release() -> None:
    page = _page(("demo_pkg-1.0-py3-none-any.whl", 15), ("demo_pkg-0.9-py3-none-any.whl", 400))
    wheel = _dist("demo_pkg-1.0-cp312-cp312-win_amd64.whl")
    assert _release_rules(page, wheel) == [(wheel.filename, "release-closed")]
    assert _release_rules(_page(("demo_pkg-1.0-py3-none-any.whl", 13)), wheel) == []
    # A file the index already holds is not new: identical re-uploads are not refused.
    held = _dist("demo_pkg-1.0-py3-none-any.whl")
    assert _release_rules(page, held) == []


def test_one_sdist_per_release() -> None:
    page = _page(("demo_pkg-1.0.tar.gz", 1))
    assert _release_rules(page, _dist("demo_pkg-1.0.zip", "sdist")) == [("demo_pkg-1.0.zip", "sdist-exists")]
    assert _release_rules(page, _dist("demo_pkg-1.0-py3-none-any.whl")) == []


def test_project_status() -> None:
    wheel = _dist("demo_pkg-1.0-py3-none-any.whl")
    assert _release_rules(_page(status="archived"), wheel) == [(wheel.filename, "project-archived")]
    assert _release_rules(_page(status="quarantined"), wheel) == [(wheel.filename, "project-quarantined")]
    # Quarantine stops Trusted Publishing; the project's own maintainers may still upload with a token.
    assert _release_rules(_page(status="quarantined"), wheel, trusted=False) == []
    assert _release_rules(_page(status="deprecated"), wheel) == []


def test_project_size_is_a_warning() -> None:
    big = _dist("demo_pkg-1.0-py3-none-any.whl", size=11 * 1024**3)
    (finding,) = rules.check_release([big], {"demo-pkg": _page()}, trusted_publishing=True, now=NOW)
    assert (finding.rule, finding.warning) == ("project-size", True)
    assert finding.line().startswith(f"{big.filename}: PyPI may refuse it: ")


def test_the_simple_page_gives_status_upload_times_and_sizes() -> None:
    body = {
        "meta": {"api-version": "1.4"},
        "name": "demo-pkg",
        "project-status": {"status": "archived"},
        "files": [
            {
                "filename": "demo_pkg-1.0.tar.gz",
                "url": "https://files.example/demo_pkg-1.0.tar.gz",
                "hashes": {"sha256": "ab" * 32},
                "size": 1234,
                "upload-time": "2026-11-01T10:00:00.123456Z",
            }
        ],
    }
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json=body, headers={"Content-Type": "application/vnd.pypi.simple.v1+json"})
    )
    with httpx.Client(transport=transport) as client:
        page = project_page(client, Index.from_urls("https://upload.pypi.org/legacy/"), "demo-pkg")
    held = page.files["demo_pkg-1.0.tar.gz"]
    assert page.status == "archived"
    assert held.size == 1234
    assert held.upload_time == datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)


def test_the_html_page_gives_the_status_from_its_meta_tag() -> None:
    page_html = (
        '<html><head><meta name="pypi:project-status" content="quarantined"></head>'
        '<body><a href="/f/demo_pkg-1.0.tar.gz#sha256=' + "cd" * 32 + '">demo_pkg-1.0.tar.gz</a></body></html>'
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, html=page_html))
    with httpx.Client(transport=transport) as client:
        page = project_page(client, Index.from_urls("http://127.0.0.1:9/"), "demo-pkg")
    assert page.status == "quarantined"
    assert page.files["demo_pkg-1.0.tar.gz"].sha256 == "cd" * 32
