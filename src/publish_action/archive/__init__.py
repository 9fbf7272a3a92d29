"""Each distribution file read once: its digests, and the facts of its archive that the metadata reader and
the rule sets judge (:func:`read`).

A wheel is hashed in one sequential read; its central directory, its record framing and the few small
members the rules look at (``WHEEL``, ``METADATA``, ``RECORD``, ``entry_points.txt``) are then read from the
same open file, a few header reads per member. An sdist is hashed *while* it is decompressed: the digest
readers sit under the tar stream, so the file is read exactly once. Member data is never held in memory,
except the small members named above, so memory does not grow with the file's size.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from publish_action.archive.digests import Digests, Hashes
from publish_action.archive.zipframe import FramingError, check_framing

#: Larger "small" members than this are not read: no real METADATA or RECORD comes near it.
_MEMBER_LIMIT = 32 * 1024 * 1024
_COMPRESSIONS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 93: "zstandard"}


@dataclass
class ArchiveFacts:
    """The facts of one distribution archive that the upload rules are checked against."""

    kind: Literal["wheel", "sdist"]
    #: How the file is packed: wheels and legacy sdists are zips, PEP 625 sdists gzip-compressed tars.
    format: Literal["zip", "tar"]
    #: Why the file cannot be read as the archive its name promises; ``None`` when it can.
    unreadable: str | None = None
    is_zip: bool = False
    is_tar: bool = False
    size: int = 0
    names: tuple[str, ...] = ()
    uncompressed_size: int = 0
    #: Members compressed with a method PyPI does not take, with the method's name.
    odd_compression: tuple[tuple[str, str], ...] = ()
    framing_error: str | None = None
    sparse_members: tuple[str, ...] = ()
    #: Small members read whole, by archive path.
    members: dict[str, bytes] = field(default_factory=dict)
    #: The error behind ``unreadable``, for callers that word it themselves.
    fault: BaseException | None = field(default=None, repr=False, compare=False)

    @property
    def top_level(self) -> str:
        """The one folder every member lives under ("" when there is none)."""
        if not self.names:
            return ""
        try:
            return os.path.commonpath(self.names)
        except ValueError:  # absolute and relative names mixed
            return ""


class _Tee:
    """A read-only stream that feeds every byte it hands out to ``sink`` (the digests)."""

    def __init__(self, stream: BinaryIO, sink: Callable[[bytes], None]) -> None:
        self._stream = stream
        self._sink = sink

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._sink(data)
        return data


def read_sdist(stream: BinaryIO, size: int, sink: Callable[[bytes], None]) -> ArchiveFacts:
    """Decompress the ``.tar.gz`` in ``stream`` once, feeding every raw byte to ``sink`` on the way."""
    facts = ArchiveFacts(kind="sdist", format="tar", size=size)
    tee = _Tee(stream, sink)
    names: list[str] = []
    sparse: list[str] = []
    try:
        with tarfile.open(fileobj=tee, mode="r|gz") as tar:  # type: ignore[call-overload]
            for member in tar:
                names.append(member.name)
                if member.issparse():
                    sparse.append(member.name)
                if member.isfile() and top_level_pkg_info(member.name):
                    extracted = tar.extractfile(member)
                    if extracted is not None and member.size <= _MEMBER_LIMIT:
                        facts.members[member.name] = extracted.read()
        facts.is_tar = True
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        facts.unreadable = f"it is not a gzip-compressed tar archive ({_describe(exc)})"
        facts.fault = exc
    # Whatever the tar stream left (padding, or anything appended) still belongs to the digests.
    while tee.read(1024 * 1024):
        pass
    facts.names = tuple(names)
    facts.sparse_members = tuple(sparse)
    stream.seek(0)
    facts.is_zip = zipfile.is_zipfile(stream)
    return facts


def read_zip(
    stream: BinaryIO, size: int, kind: Literal["wheel", "sdist"], wanted: Callable[[str], bool]
) -> ArchiveFacts:
    """Read the zip structure of the already hashed file in ``stream``; ``wanted`` picks members to read."""
    facts = ArchiveFacts(kind=kind, format="zip", size=size)
    stream.seek(0)
    facts.is_tar = _is_tar(stream)
    stream.seek(0)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        facts.unreadable = f"it is not a zip archive ({_describe(exc)})"
        facts.fault = exc
        return facts
    facts.is_zip = True
    with archive:
        infos = archive.infolist()
        facts.names = tuple(info.filename for info in infos)
        facts.uncompressed_size = sum(info.file_size for info in infos)
        facts.odd_compression = tuple(
            (info.filename, _COMPRESSION_NAMES.get(info.compress_type, f"method {info.compress_type}"))
            for info in infos
            if info.compress_type not in _COMPRESSIONS
        )
        try:
            check_framing(stream, {info.orig_filename: (info.compress_size, info.file_size) for info in infos})
        except FramingError as exc:
            facts.framing_error = str(exc)
        for info in infos:
            if wanted(info.filename) and info.file_size <= _MEMBER_LIMIT:
                try:
                    facts.members[info.filename] = archive.read(info)
                except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, zlib.error) as exc:
                    facts.unreadable = f"its member {info.filename} cannot be read ({_describe(exc)})"
                    facts.fault = exc
    return facts


def read(path: Path, kind: Literal["wheel", "sdist"]) -> tuple[Hashes, ArchiveFacts]:
    """Hash ``path`` and gather what the metadata reader and the rule sets need, from one open file and
    (for sdists) one read."""
    digests = Digests()
    size = path.stat().st_size
    with path.open("rb") as stream:
        if path.name.endswith(".tar.gz"):
            facts = read_sdist(stream, size, digests.update)
        else:
            digests.consume(stream)
            facts = read_zip(stream, size, kind, wanted_members(path.name))
    return digests.hashes(), facts


def wanted_members(filename: str) -> Callable[[str], bool]:
    """The small members of zip ``filename`` read whole: a wheel's ``WHEEL``, ``METADATA``, ``RECORD`` and
    ``entry_points.txt`` in the ``.dist-info`` its file name names, plus any top-level
    ``*.dist-info/METADATA`` (its metadata when the folder is named otherwise); a zip sdist's ``PKG-INFO``."""
    if not filename.endswith(".whl"):
        return top_level_pkg_info
    stem = "-".join(filename.split("-", 2)[:2])
    named = {f"{stem}.dist-info/{part}" for part in ("WHEEL", "METADATA", "RECORD", "entry_points.txt")}
    return lambda name: name in named or top_level_dist_info_metadata(name)


def top_level_pkg_info(name: str) -> bool:
    """``<folder>/PKG-INFO``: where an sdist keeps its metadata."""
    return name.count("/") == 1 and name.endswith("/PKG-INFO")


def top_level_dist_info_metadata(name: str) -> bool:
    """``<something>.dist-info/METADATA`` at the top of a wheel."""
    folder, _, leaf = name.partition("/")
    return leaf == "METADATA" and folder.endswith(".dist-info")


def _is_tar(stream: BinaryIO) -> bool:
    try:
        return tarfile.is_tarfile(stream)
    except (OSError, EOFError, zlib.error):
        return False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = [
    "ArchiveFacts",
    "Hashes",
    "read",
    "read_sdist",
    "read_zip",
    "top_level_dist_info_metadata",
    "top_level_pkg_info",
    "wanted_members",
]
