"""Finding, checking and hashing the distributions of one publish, as a whole set, before any byte is sent.

Each file is opened and read once: that one pass yields its digests, its metadata file and what the index
rules need (:mod:`publish_action.rules`). The metadata is parsed and the upload fields are built by
:mod:`publish_action.metadata`. Every problem of the set is collected and raised at once so a maintainer can
fix them all in one go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.metadata import RawMetadata
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from publish_action import archive, metadata, rules
from publish_action.archive.digests import Hashes, hash_file
from publish_action.errors import PreflightError
from publish_action.metadata import DistKind
from publish_action.redact import shown_name
from publish_action.stopping import block_stop_signals

_CHUNK = 1024 * 1024
_SDIST_SUFFIXES = (".tar.gz", ".zip")
_IGNORED_SUFFIXES = (".attestation",)


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


def plan(
    packages_dir: Path, *, verify_metadata: bool, index_rules: rules.IndexRules = "none", max_workers: int = 4
) -> Plan:
    """Find and check every distribution in ``packages_dir``.

    Each file is held to the rule sets :func:`publish_action.rules.selected` picks: PyPI's upload rules with
    ``index_rules="pypi"`` (which include the long-description check), the generic ones otherwise.
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

    rule_sets = rules.selected(index_rules, verify_metadata=verify_metadata)
    candidates: list[Path] = []
    ignored: list[str] = []
    problems: list[str] = []
    folder = packages_dir.resolve()
    for entry in sorted(packages_dir.iterdir()):
        shown = shown_name(entry.name)
        if entry.name.startswith(".") or entry.name.endswith(_IGNORED_SUFFIXES):
            ignored.append(shown)
        elif (problem := _entry_problem(entry, folder, rule_sets)) is not None:
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

    return _judge(
        candidates, rule_sets, ignored=ignored, problems=problems, where=str(packages_dir), workers=max_workers
    )


def plan_files(
    files: Sequence[Path], *, verify_metadata: bool, index_rules: rules.IndexRules = "none", max_workers: int = 4
) -> Plan:
    """Check the distribution files named (``publish-action check dist/*.whl``), as :func:`plan` checks a
    folder's: each must exist and be a wheel or an sdist."""
    rule_sets = rules.selected(index_rules, verify_metadata=verify_metadata)
    problems: list[str] = []
    candidates: list[Path] = []
    for path in files:
        shown = shown_name(str(path))
        if not path.is_file():
            problems.append(f"{shown}: no such file")
        elif not (path.name.endswith(".whl") or path.name.endswith(_SDIST_SUFFIXES)):
            problems.append(f"{shown}: not a distribution (expected a .whl wheel, or a .tar.gz or .zip sdist)")
        elif (problem := _entry_problem(path, path.resolve().parent, rule_sets)) is not None:
            problems.append(f"{shown}: {problem}")
        else:
            candidates.append(path)
    where = ", ".join(sorted({str(path.parent) for path in files})) or "."
    return _judge(candidates, rule_sets, ignored=[], problems=problems, where=where, workers=max_workers)


def _judge(
    candidates: Sequence[Path],
    rule_sets: Sequence[rules.RuleSet],
    *,
    ignored: list[str],
    problems: list[str],
    where: str,
    workers: int,
) -> Plan:
    """Check each candidate file and the set as a whole; raise every problem at once."""
    with ThreadPoolExecutor(max_workers=max(1, workers), initializer=block_stop_signals) as pool:
        results = list(pool.map(lambda path: _check_one(path, rule_sets), candidates))

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
            f"{len(problems)} problem(s) in '{where}'; nothing was uploaded.",
            "fix or remove the files named above, rebuild, and run again.",
            problems=sorted(problems),
        )
    return Plan(distributions=tuple(_upload_order(dists)), ignored=tuple(ignored), warnings=tuple(warnings))


def _check_one(path: Path, rule_sets: Sequence[rules.RuleSet]) -> tuple[Distribution | None, list[str], list[str]]:
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
        hashes, facts = archive.read(path, kind)
    except Exception as exc:  # the archive readers catch what corrupt files raise; this is the file system's
        return None, [f"{shown}: cannot be read as a {kind} ({type(exc).__name__}: {exc})"], []

    parsed: metadata.Parsed | None = None
    raw: RawMetadata | None = None
    unreadable: str | None = None
    try:
        parsed = metadata.read(name, kind, facts)
        raw = metadata.strict(parsed)
        fields = metadata.upload_fields(raw, name, kind)
    except metadata.MetadataError as exc:
        unreadable = f"{shown}: {exc}"
    except Exception as exc:
        unreadable = f"{shown}: cannot be read as a {kind} ({type(exc).__name__}: {exc})"
    if unreadable is not None:
        raw = None

    file = rules.FileFacts(name, kind, file_project, file_version, facts, parsed, raw)
    kept: list[rules.Finding] = []
    problems: list[str] = []
    warnings: list[str] = []
    for rule_set in rule_sets:
        found = rule_set.check(file)
        warnings.extend(finding.line() for finding in found if finding.warning)
        if rule_set.after_lookup:
            # Kept with the file, not raised here: a file the index already holds byte for byte is a
            # duplicate for most of these rules, which only the look-up can tell.
            kept.extend(found)
        else:
            problems.extend(finding.line() for finding in found if not finding.warning)

    if unreadable is not None:
        # A file whose metadata cannot be read cannot be uploaded or compared: the refusals of the sets
        # judged later (which say why, where they can) stand in for the reader's words.
        refusals = [finding.line() for finding in kept if not finding.warning]
        return None, problems + (refusals or [unreadable]), warnings
    if problems or raw is None:
        return None, problems, warnings

    dist = Distribution(
        path=path,
        kind=kind,
        name=raw.get("name", ""),
        project=canonicalize_name(raw.get("name", "")),
        version=raw.get("version", ""),
        size=size,
        hashes=hashes,
        metadata_fields=fields,
        findings=tuple(kept),
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


def _entry_problem(entry: Path, folder: Path, rule_sets: Sequence[rules.RuleSet]) -> str | None:
    """Why the folder entry cannot be published whatever it holds (its name, or where its link leads).

    A name a rule set judges itself (PyPI's file-name rule, in Warehouse's terms) is left to it."""
    problem = None
    if not any(rule_set.judges_name(entry.name) for rule_set in rule_sets):
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


__all__ = ["Distribution", "Hashes", "Plan", "hash_file", "plan", "plan_files"]
