"""Our own metadata reading and upload form, held to twine's for real builds, and the one read per file.

twine is a dev dependency only: its ``PackageFile`` and form builder are the reference the fields we send
are compared with, for every real build of the fixtures (hatch 2.5 wheel and sdist, setuptools 2.4, the
dotted name, a legacy .zip sdist) and for :func:`make_wheels` files.
"""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.metadata import RawMetadata

from publish_action import dists, metadata
from publish_action.errors import PreflightError
from publish_action.rules.generic import description_findings
from tests.fixtures.dists import make_wheels


def _twine_fields(path: Path) -> list[tuple[str, str]]:
    from twine.package import PackageFile
    from twine.repository import Repository

    package = PackageFile.from_filename(str(path), comment=None)
    form = {
        key: value
        for key, value in package.metadata_dictionary().items()
        if key not in {"sha256_digest", "blake2_256_digest", "md5_digest"}
    }
    return [(str(key), str(value)) for key, value in Repository._convert_metadata_to_list_of_tuples(form)]  # type: ignore[arg-type]


def _ours(path: Path) -> tuple[tuple[str, str], ...]:
    (dist,) = [d for d in dists.plan(path.parent, verify_metadata=True).distributions if d.path == path]
    return dist.metadata_fields


def _by_field(fields: Iterator[tuple[str, str]] | list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> dict:
    """Fields grouped by name, values in order: twine's field order follows a set, so only this is stable."""
    grouped: dict[str, list[str]] = {}
    for key, value in fields:
        grouped.setdefault(key, []).append(value)
    return grouped


@pytest.mark.parametrize("fixture", ["hatch_dists", "setuptools_dists", "zip_dists", "dotted_dists"])
def test_upload_fields_match_twines_for_real_builds(fixture: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(fixture)
    files = sorted(folder.iterdir())
    assert {p.name.endswith(".whl") for p in files} == {True, False}
    for path in files:
        ours = _ours(path)
        assert _by_field(ours) == _by_field(_twine_fields(path)), path.name
        assert Counter(ours) == Counter(_twine_fields(path)), path.name


def test_upload_fields_match_twines_for_written_wheels(tmp_path: Path) -> None:
    for path in make_wheels(tmp_path, 2) + make_wheels(tmp_path, 3, name="other.pkg_x", distinct_by="platform"):
        assert _by_field(_ours(path)) == _by_field(_twine_fields(path)), path.name


def test_the_dotted_name_is_sent_in_its_safe_form(dotted_dists: Path) -> None:
    for path in dotted_dists.iterdir():
        fields = _by_field(_ours(path))
        assert fields["name"] == ["acme.tools-lib"]
        assert fields["pyversion"] == (["py3"] if path.suffix == ".whl" else ["source"])
        assert fields["filetype"] == (["bdist_wheel"] if path.suffix == ".whl" else ["sdist"])


def test_upload_fields_encode_lists_keywords_and_urls() -> None:
    raw: RawMetadata = {
        "metadata_version": "2.4",
        "name": "My_Project..x",
        "version": "1.0",
        "keywords": ["a", "b c"],
        "project_urls": {"Source": "https://example.com/s", "Docs": "https://example.com/d"},
        "classifiers": ["Programming Language :: Python", "Typing :: Typed"],
        "platforms": ["any"],
        "license_files": ["LICENSE", "NOTICE"],
        "import_names": ["my_project"],  # not a form field: never sent
    }
    fields = metadata.upload_fields(raw, "my_project-1.0-1-cp312-cp312-win_amd64.whl", "wheel")
    assert fields == (
        ("metadata_version", "2.4"),
        ("name", "My-Project..x"),
        ("version", "1.0"),
        ("platform", "any"),
        ("keywords", "a, b c"),
        ("classifiers", "Programming Language :: Python"),
        ("classifiers", "Typing :: Typed"),
        ("project_urls", "Source, https://example.com/s"),
        ("project_urls", "Docs, https://example.com/d"),
        ("license_file", "LICENSE"),
        ("license_file", "NOTICE"),
        ("pyversion", "cp312"),
        ("filetype", "bdist_wheel"),
    )
    assert metadata.safe_name("a b__c.d") == "a-b-c.d"
    assert metadata.python_version("x-1.0.tar.gz", "sdist") == "source"
    assert metadata.python_version("x-1.0-py2.py3-none-any.whl", "wheel") == "py2.py3"


def test_license_file_below_2_4_is_dropped_as_twine_drops_it() -> None:
    raw = metadata.parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1.0\nLicense-File: LICENSE\n")
    assert "license_files" not in raw
    raw = metadata.parse(b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nLicense-File: LICENSE\n")
    assert raw["license_files"] == ["LICENSE"]


def test_unknown_or_invalid_fields_are_refused_in_twines_words() -> None:
    with pytest.raises(metadata.MetadataError, match="unrecognized or malformed field 'x-custom'"):
        metadata.parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1.0\nX-Custom: y\n")
    with pytest.raises(metadata.MetadataError, match=r"^Invalid distribution metadata: .*version"):
        metadata.parse(b"Metadata-Version: 2.1\nName: x\nVersion: not a version\n")


def test_description_check_notes_what_twine_check_notes() -> None:
    assert _description_check({"description_content_type": "text/markdown", "description": "# Hi"}) == (
        None,
        [],
    )
    assert _description_check({"description": "Fine *text*."}) == (
        None,
        ["`long_description_content_type` missing. defaulting to `text/x-rst`."],
    )
    assert _description_check({"description_content_type": "text/x-rst", "description": "UNKNOWN\n"}) == (
        None,
        ["`long_description` missing."],
    )
    error, notes = _description_check(
        {"description_content_type": "text/x-rst", "description": "Title\n===\n\n.. broken:: directive\n"}
    )
    assert (error, notes) == (
        'the long description would not render on PyPI (line 4: Unknown directive type "broken")',
        [],
    )


def test_a_wheel_whose_metadata_folder_is_not_named_after_the_file_falls_back_to_the_one_there(
    tmp_path: Path,
) -> None:
    (wheel,) = make_wheels(tmp_path / "src", 1)
    renamed = tmp_path / "dist" / wheel.name
    renamed.parent.mkdir()
    stem = "-".join(wheel.name.split("-", 2)[:2])
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(renamed, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename.replace(f"{stem}.dist-info", "Other-1.0.dist-info"), source.read(info))
    assert _by_field(_ours(renamed)) == _by_field(_twine_fields(renamed))


def test_an_sdist_without_pkg_info_is_named_plainly(tmp_path: Path) -> None:
    folder = tmp_path / "dist"
    folder.mkdir()
    with tarfile.open(folder / "demo-1.0.tar.gz", "w:gz") as tar:
        for member in ("demo-1.0/setup.py", "demo-1.0/README"):
            info = tarfile.TarInfo(member)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"\n"))
    with pytest.raises(PreflightError) as raised:
        dists.plan(folder, verify_metadata=True)
    assert raised.value.problems == ["demo-1.0.tar.gz: the sdist has no demo-1.0/PKG-INFO file"]


# -- one open per file, in every mode ------------------------------------------------------------------

_RECORDING: list[str] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _RECORDING is not None and args and isinstance(args[0], (str, bytes, Path)):
        _RECORDING.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.mark.parametrize("fixture", ["hatch_dists", "zip_dists"])
@pytest.mark.parametrize("index_rules", ["none", "pypi"])
@pytest.mark.parametrize("verify_metadata", [True, False])
def test_pre_flight_opens_each_distribution_exactly_once(
    fixture: str, index_rules: str, verify_metadata: bool, request: pytest.FixtureRequest
) -> None:
    global _RECORDING
    folder: Path = request.getfixturevalue(fixture)
    files = sorted(str(p) for p in folder.iterdir())
    _RECORDING = []
    refused = fixture == "zip_dists" and index_rules == "pypi"  # PyPI takes no .zip sdists
    try:
        plan = dists.plan(folder, verify_metadata=verify_metadata, index_rules=index_rules)  # type: ignore[arg-type]
        assert len(plan.distributions) == len(files) == 2
        opened = [name for name in _RECORDING if name in files]
    finally:
        _RECORDING = None
    assert sorted(opened) == files
    # The refusal is held with the file until the look-up says whether the index holds it.
    refusals = [line for dist in plan.distributions for line in dist.refusals(held_identical=False)]
    assert bool(refusals) == refused


def _description_check(raw: dict[str, str]) -> tuple[str | None, list[str]]:
    """The generic rule set's description check, as (the render error, the notes)."""
    found = list(
        description_findings("example-1.0.tar.gz", raw.get("description"), raw.get("description_content_type"))
    )
    errors = [finding.reason for finding in found if not finding.warning]
    return (errors[0] if errors else None), [finding.reason for finding in found if finding.warning]
