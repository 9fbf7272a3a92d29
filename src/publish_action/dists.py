"""Finding, checking and hashing the distributions of one publish, as a whole set, before any byte is sent.

Each file is opened and read once: that one pass yields its digests, its metadata file and what the index
rules need (:mod:`publish_action.rules`). The metadata is parsed and the upload fields are built by
:mod:`publish_action.metadata`. Every problem of the set is collected and raised at once so a maintainer can
fix them all in one go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from publish_action import metadata, rules
from publish_action.errors import PreflightError
from publish_action.metadata import DistKind
from publish_action.redact import shown_name
from publish_action.stopping import block_stop_signals

_CHUNK = 1024 * 1024
_SDIST_SUFFIXES = (".tar.gz", ".zip")
_IGNORED_SUFFIXES = (".attestation",)


@dataclass(frozen=True)
class Hashes:
    """Digests of a file. md5 and blake2 are ``None`` where the platform refuses them (FIPS)."""

    sha256: str
    md5: str | None
    blake2_256: str | None

    def by_name(self) -> dict[str, str | None]:
        """The digests by the names simple APIs use for them."""
        return {"sha256": self.sha256, "blake2_256": self.blake2_256, "md5": self.md5}

    def form_fields(self) -> list[tuple[str, str]]:
        """The digest fields of the upload form; absent digests are left out, never sent empty."""
        fields = [("sha256_digest", self.sha256)]
        if self.blake2_256:
            fields.append(("blake2_256_digest", self.blake2_256))
        if self.md5:
            fields.append(("md5_digest", self.md5))
        return fields


@dataclass(frozen=True)
class Distribution:
    """One checked distribution file, ready to upload."""

    path: Path
    kind: DistKind
    #: The project name as the metadata spells it, and its normalized form (PEP 503).
    name: str
    project: NormalizedName
    version: str
    size: int
    hashes: Hashes
    #: Multipart fields for the legacy upload API, from :func:`publish_action.metadata.upload_fields` (no digests).
    metadata_fields: tuple[tuple[str, str], ...] = field(repr=False)
    #: What PyPI's upload rules found in the file (with ``index-rules: pypi``). Whether a refusal among them
    #: stops the publish depends on the index: see :meth:`refusals`.
    findings: tuple[rules.Finding, ...] = ()

    def refusals(self, *, held_identical: bool) -> list[str]:
        """The lines of the findings the index would refuse this file for: all of them for a file the index
        does not hold; for one it holds byte for byte, those it checks before it finds the duplicate."""
        return [finding.line() for finding in rules.refusals(self.findings, held_identical=held_identical)]

    @property
    def filename(self) -> str:
        """The file's base name, which is also its name on the index."""
        return self.path.name


@dataclass(frozen=True)
class Plan:
    """The checked set: distributions in upload order, grouped by project, and what was set aside."""

    distributions: tuple[Distribution, ...]
    ignored: tuple[str, ...]
    #: Non-fatal findings (``twine check`` warnings) to show the user.
    warnings: tuple[str, ...]

    @property
    def projects(self) -> dict[NormalizedName, list[Distribution]]:
        """Distributions grouped by normalized project name, in upload order."""
        grouped: dict[NormalizedName, list[Distribution]] = {}
        for dist in self.distributions:
            grouped.setdefault(dist.project, []).append(dist)
        return grouped


class _Digests:
    """sha256, md5 and blake2_256 fed together, chunk by chunk."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = _optional_hasher(lambda: hashlib.md5(usedforsecurity=False))
        self._blake2 = _optional_hasher(lambda: hashlib.blake2b(digest_size=32))

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        if self._blake2 is not None:
            self._blake2.update(chunk)

    def consume(self, stream: BinaryIO) -> None:
        while chunk := stream.read(_CHUNK):
            self.update(chunk)

    def hashes(self) -> Hashes:
        return Hashes(
            sha256=self._sha256.hexdigest(),
            md5=self._md5.hexdigest() if self._md5 is not None else None,
            blake2_256=self._blake2.hexdigest() if self._blake2 is not None else None,
        )


def hash_file(path: Path) -> Hashes:
    """Read ``path`` once in chunks and compute sha256, md5 and blake2_256 together."""
    digests = _Digests()
    with path.open("rb") as stream:
        digests.consume(stream)
    return digests.hashes()


def _read_once(path: Path, kind: DistKind) -> tuple[Hashes, rules.ArchiveFacts]:
    """Hash ``path`` and gather its metadata file and what the index rules need, from one open file and
    (for sdists) one read."""
    digests = _Digests()
    size = path.stat().st_size
    with path.open("rb") as stream:
        if path.name.endswith(".tar.gz"):
            facts = rules.read_sdist(stream, size, digests.update)
        else:
            digests.consume(stream)
            facts = rules.read_zip(stream, size, kind, metadata.wanted_members(path.name))
    return digests.hashes(), facts


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def _optional_hasher(make: Callable[[], _Hasher]) -> _Hasher | None:
    try:
        return make()
    except (ValueError, TypeError, AttributeError):
        # FIPS-restricted interpreters refuse md5 and may refuse blake2: send what we can.
        return None


def plan(
    packages_dir: Path, *, verify_metadata: bool, index_rules: rules.IndexRules = "none", max_workers: int = 4
) -> Plan:
    """Find and check every distribution in ``packages_dir``.

    ``index_rules="pypi"`` also holds every file to PyPI's upload rules (:mod:`publish_action.rules`); those
    include the long-description check, so ``twine check`` is then not run again.
    Raises :class:`PreflightError` listing every problem of the set; returns the ordered plan otherwise.
    """
    if not packages_dir.exists():
        raise PreflightError(
            "Distribution folder not found",
            f"'{packages_dir}' does not exist, so there is nothing to publish.",
            "build the distributions first (for example `python -m build`) or point `packages-dir` at the "
            "folder that holds them.",
        )
    if not packages_dir.is_dir():
        raise PreflightError(
            "packages-dir is not a folder",
            f"'{packages_dir}' is a file, but `packages-dir` names the folder holding the distributions.",
            "set `packages-dir` to the folder (for example `dist`).",
        )

    candidates: list[Path] = []
    ignored: list[str] = []
    problems: list[str] = []
    folder = packages_dir.resolve()
    for entry in sorted(packages_dir.iterdir()):
        shown = shown_name(entry.name)
        if entry.name.startswith(".") or entry.name.endswith(_IGNORED_SUFFIXES):
            ignored.append(shown)
        elif (problem := _entry_problem(entry, folder, pypi=index_rules == "pypi")) is not None:
            problems.append(f"{shown}: {problem}")
        elif entry.is_dir():
            problems.append(f"{shown}: a folder inside packages-dir; only distribution files belong there")
        elif entry.name.endswith(".whl") or entry.name.endswith(_SDIST_SUFFIXES):
            candidates.append(entry)
        else:
            problems.append(f"{shown}: not a distribution (expected a .whl wheel, or a .tar.gz or .zip sdist)")

    if not candidates and not problems:
        raise PreflightError(
            "No distributions found",
            f"'{packages_dir}' holds no wheel (.whl) or sdist (.tar.gz, .zip).",
            "build the distributions into this folder before publishing, or point `packages-dir` at the "
            "folder that holds them.",
        )

    with ThreadPoolExecutor(max_workers=max(1, max_workers), initializer=block_stop_signals) as pool:
        results = list(pool.map(lambda path: _check_one(path, verify_metadata, index_rules), candidates))

    dists: list[Distribution] = []
    warnings: list[str] = []
    for dist, file_problems, file_warnings in results:
        problems.extend(file_problems)
        warnings.extend(file_warnings)
        if dist is not None:
            dists.append(dist)
    problems.extend(_set_problems(dists))

    if problems:
        raise PreflightError(
            "Distributions failed the pre-flight checks",
            f"{len(problems)} problem(s) in '{packages_dir}'; nothing was uploaded.",
            "fix or remove the files named above, rebuild, and run again.",
            problems=sorted(problems),
        )
    return Plan(distributions=tuple(_upload_order(dists)), ignored=tuple(ignored), warnings=tuple(warnings))


def _check_one(
    path: Path, verify_metadata: bool, index_rules: rules.IndexRules
) -> tuple[Distribution | None, list[str], list[str]]:
    """Check one file alone; return it, or the problems that keep it from being uploaded."""
    name = path.name
    shown = shown_name(name)  # the name as messages print it
    try:
        size = path.stat().st_size
    except OSError as exc:  # gone, or unreadable, since the folder was listed
        return None, [f"{shown}: cannot be read ({exc.strerror or type(exc).__name__})"], []
    if size == 0:
        return None, [f"{shown}: the file is empty"], []

    kind: DistKind
    try:
        if name.endswith(".whl"):
            kind = "wheel"
            file_project, file_version, _build, _tags = parse_wheel_filename(name)
        else:
            kind = "sdist"
            file_project, file_version = parse_sdist_filename(name)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        return None, [f"{shown}: the file name is not a valid distribution name ({exc})"], []

    try:
        hashes, facts = _read_once(path, kind)
    except Exception as exc:  # the archive readers catch what corrupt files raise; this is the file system's
        return None, [f"{shown}: cannot be read as a {kind} ({type(exc).__name__}: {exc})"], []
    warnings: list[str] = []
    findings: tuple[rules.Finding, ...] = ()
    if index_rules == "pypi":
        # Kept with the file, not raised here: a file the index already holds byte for byte is a duplicate
        # for most of these rules, which only the look-up can tell.
        findings = tuple(rules.check_file(name, facts))
        warnings = [finding.line() for finding in findings if finding.warning]

    try:
        raw = metadata.parse(metadata.metadata_file(name, kind, facts))
        fields = metadata.upload_fields(raw, name, kind)
    except Exception as exc:
        # A file whose metadata cannot be read cannot be uploaded or compared: its PyPI findings (which say
        # why, where they can) stand in for the reader's words.
        refusals = [finding.line() for finding in findings if not finding.warning]
        if refusals:
            return None, refusals, warnings
        if isinstance(exc, metadata.MetadataError):
            return None, [f"{shown}: {exc}"], warnings
        return None, [f"{shown}: cannot be read as a {kind} ({type(exc).__name__}: {exc})"], warnings

    meta_name = raw.get("name", "")
    meta_version = raw.get("version", "")
    problems: list[str] = []
    if index_rules != "pypi":  # the rules compared the file name with the metadata already, in PyPI's terms
        problems.extend(_name_problems(name, file_project, file_version, meta_name, meta_version))
    if verify_metadata and index_rules != "pypi":  # the rules render the description themselves
        error, notes = metadata.check_description(raw)
        warnings = [f"{shown}: twine check: {note}" for note in notes]
        if error is not None:
            problems.append(f"{shown}: twine check: the long description would not render on PyPI ({error})")
    if problems:
        return None, problems, warnings

    dist = Distribution(
        path=path,
        kind=kind,
        name=meta_name,
        project=canonicalize_name(meta_name),
        version=meta_version,
        size=size,
        hashes=hashes,
        metadata_fields=fields,
        findings=findings,
    )
    return dist, [], warnings


#: What a distribution file name is made of: the name, version and tag grammar of wheels and sdists
#: (letters, digits, ``.``, ``_``, ``-``; ``+`` and ``!`` of local versions and epochs).
_FILE_NAME_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+!")


def _name_grammar_problem(name: str) -> str | None:
    """Why ``name`` cannot be a distribution file name on any index, or None."""
    if not name.isprintable():
        return (
            "the file name holds a control character, which no distribution file name may hold; rename the "
            "file (or fix what wrote it) and run again"
        )
    odd = sorted({char for char in name if char not in _FILE_NAME_CHARACTERS})
    if odd:
        listed = " ".join(repr(char) for char in odd)
        return (
            f"the file name holds {listed}, which no distribution file name may hold (only letters, digits and "
            ". _ - + !); rebuild it with a standard build tool, or rename it to the name the tool would give it"
        )
    return None


def _entry_problem(entry: Path, folder: Path, *, pypi: bool) -> str | None:
    """Why the folder entry cannot be published whatever it holds (its name, or where its link leads).

    With PyPI's rules, a name with a control character or a backslash is left to their file-name rule,
    which says it in Warehouse's terms."""
    problem = None
    if not (pypi and rules.breaks_filename_characters(entry.name)):
        problem = _name_grammar_problem(entry.name)
    if problem is None and entry.is_symlink():
        problem = _link_problem(entry, folder)
    return problem


def _link_problem(entry: Path, folder: Path) -> str | None:
    """Why the symbolic link ``entry`` cannot be published, or None when it points at a file inside
    ``folder`` (the resolved ``packages-dir``)."""
    target = entry.resolve()
    if not target.exists():
        return (
            f"a symbolic link to {shown_name(str(target))}, which does not exist; remove the link, or rebuild "
            "the file it should point at"
        )
    if not target.is_relative_to(folder):
        return (
            f"a symbolic link to {shown_name(str(target))}, outside packages-dir, and only files inside it are "
            "published; copy the file in instead (`cp --dereference`), or build into packages-dir"
        )
    return None


def _name_problems(
    filename: str, file_project: str, file_version: Version, meta_name: str, meta_version: str
) -> list[str]:
    """The file name must name the project and version of the metadata inside."""
    problems = []
    if canonicalize_name(meta_name) != file_project:
        problems.append(f"{filename}: the file name says project '{file_project}' but its metadata says '{meta_name}'")
    try:
        if Version(meta_version) != file_version:
            problems.append(
                f"{filename}: the file name says version {file_version} but its metadata says {meta_version}"
            )
    except InvalidVersion:
        problems.append(f"{filename}: the metadata version '{meta_version}' is not a valid version")
    return problems


def _set_problems(dists: Iterable[Distribution]) -> list[str]:
    """Checks across files: one sdist per release, one file per name."""
    problems: list[str] = []
    sdists: dict[tuple[str, str], list[str]] = {}
    for dist in dists:
        if dist.kind == "sdist":
            sdists.setdefault((dist.project, str(Version(dist.version))), []).append(dist.filename)
    for (project, version), names in sorted(sdists.items()):
        if len(names) > 1:
            problems.append(
                f"{', '.join(sorted(names))}: {len(names)} sdists for {project} {version}; an index accepts "
                "only one sdist per release (keep one format, .tar.gz preferred)"
            )
    return problems


def _upload_order(dists: Sequence[Distribution]) -> list[Distribution]:
    """Wheels before sdists, as twine and uv order them, then by file name for stable runs.

    Installers prefer wheels; if a publish stops half-way, a release with wheels and no sdist serves
    users better than the other way round.
    """
    return sorted(dists, key=lambda d: (d.project, d.kind != "wheel", d.filename))


__all__ = ["Distribution", "Hashes", "Plan", "hash_file", "plan"]
