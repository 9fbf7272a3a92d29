"""Zip framing as PyPI accepts it: every record read in file order must agree with the central directory.

Installers read a wheel through its central directory; other tools stream its local headers. PyPI refuses
archives where the two views could differ (https://docs.pypi.org/archives), so this walks the records from
the first byte to the last, as a streaming reader would, and compares what it finds with the central
directory that :mod:`zipfile` parsed. Only headers are read; member data is skipped with seeks, so the walk
costs a few reads per member whatever the archive's size.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_END64_LOCATOR = b"PK\x06\x07"

_ZIP64_EXTRA = 0x0001
_UNICODE_PATH_EXTRA = 0x7075
#: Extra fields that must appear at most once in a local header.
_SINGLE_EXTRAS = frozenset({_ZIP64_EXTRA, _UNICODE_PATH_EXTRA})
_ZIP64_EXTRA_SIZES = frozenset({0, 8, 16, 24, 28})
_SENTINEL32 = 0xFFFFFFFF
_DATA_DESCRIPTOR_FLAG = 0x08


class FramingError(Exception):
    """The archive's records do not frame one unambiguous set of members; the message says how."""


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise FramingError("a record is cut short before the end of the file")
    return data


def _unprintable(name: bytes) -> bool:
    return any(byte < 0x20 or byte == 0x7F for byte in name)


def _local_header(stream: BinaryIO, central: dict[str, tuple[int, int]]) -> bytes:
    flags, method, compressed, size, name_len, extra_len = struct.unpack("<2xHH8xLLHH", _read(stream, 26))
    name = _read(stream, name_len)
    extra = _read(stream, extra_len)
    if _unprintable(name):
        raise FramingError("a member name holds a control character")
    seen: set[int] = set()
    while extra:
        if len(extra) < 4:
            raise FramingError("a local header has a truncated extra field")
        field_id, field_len = struct.unpack("<HH", extra[:4])
        if field_len + 4 > len(extra):
            raise FramingError("a local header has an extra field longer than its header")
        if field_id in _SINGLE_EXTRAS and field_id in seen:
            raise FramingError("a local header repeats its zip64 or Unicode-path extra field")
        seen.add(field_id)
        body = extra[4 : 4 + field_len]
        if field_id == _ZIP64_EXTRA:
            if field_len not in _ZIP64_EXTRA_SIZES:
                raise FramingError("a zip64 extra field has an impossible length")
            if field_len == 0:
                if _SENTINEL32 in (compressed, size):
                    raise FramingError("a zip64 member does not say its size")
            elif field_len == 8:
                if method != 0:
                    raise FramingError("a compressed zip64 member gives only one of its two sizes")
                (size64,) = struct.unpack("<Q", body[:8])
                compressed = size64
                if size == _SENTINEL32:
                    size = size64
            else:
                if size == _SENTINEL32:
                    (size,) = struct.unpack("<Q", body[:8])
                (compressed,) = struct.unpack("<Q", body[8:16])
        elif field_id == _UNICODE_PATH_EXTRA:
            unicode_name = body[5:]
            if _unprintable(unicode_name):
                raise FramingError("a member's Unicode path holds a control character")
            try:
                unicode_name.decode("utf-8")
            except UnicodeDecodeError:
                raise FramingError("a member's Unicode path is not valid UTF-8") from None
        extra = extra[4 + field_len :]
    if flags & _DATA_DESCRIPTOR_FLAG:
        raise FramingError("a member is followed by a data descriptor (the archive was written as a stream)")
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise FramingError("a member name is not valid UTF-8") from None
    if text not in central:
        raise FramingError(f"the member {text!r} has a local header but no central-directory entry")
    if central[text] != (compressed, size):
        raise FramingError(f"the local header of {text!r} gives other sizes than the central directory")
    stream.seek(compressed, os.SEEK_CUR)
    return name


def check_framing(stream: BinaryIO, central: dict[str, tuple[int, int]]) -> None:
    """Walk every record of the zip in ``stream``; raise :class:`FramingError` at the first ambiguity.

    ``central`` maps each central-directory name (as :mod:`zipfile` decoded it) to its compressed and
    uncompressed sizes. The stream position is restored afterwards.
    """
    start = stream.tell()
    try:
        stream.seek(0)
        _walk(stream, central)
    finally:
        stream.seek(start)


def _walk(stream: BinaryIO, central: dict[str, tuple[int, int]]) -> None:
    local_names: set[bytes] = set()
    central_names: set[bytes] = set()
    directory_start: int | None = None
    directory_count = 0
    directory_size = 0
    end64_at: int | None = None
    locator_seen = False
    declared: tuple[int, int, int] | None = None  # records, size, offset from the zip64 end record
    while True:
        signature = _read(stream, 4)
        if signature == _END and end64_at is not None and not locator_seen:
            raise FramingError("a zip64 end record is not followed by its locator")
        if signature == _CENTRAL:
            if directory_start is None:
                directory_start = stream.tell() - 4
            directory_count += 1
            name_len, extra_len, comment_len = struct.unpack("<24xHHH12x", _read(stream, 42))
            if comment_len:
                raise FramingError("a central-directory entry carries a comment")
            name = _read(stream, name_len)
            extra = _read(stream, extra_len)
            if _unprintable(name):
                raise FramingError("a member name holds a control character")
            directory_size += 46 + len(name) + len(extra)
            if name in central_names:
                raise FramingError(f"the central directory lists {name.decode('utf-8', 'replace')!r} twice")
            if name not in local_names:
                raise FramingError("a central-directory entry has no local header before it")
            central_names.add(name)
        elif signature == _LOCAL:
            name = _local_header(stream, central)
            if name in local_names:
                raise FramingError(f"the archive holds {name.decode('utf-8', 'replace')!r} twice")
            local_names.add(name)
        elif signature == _END:
            if directory_start is None:
                directory_start = stream.tell() - 4
            on_disk, records, size, offset, comment_len = struct.unpack("<4xHHLLH", _read(stream, 18))
            if on_disk != records:
                raise FramingError("the end record spans several disks")
            stream.seek(comment_len, os.SEEK_CUR)
            if not (locator_seen and declared is not None):
                declared = (records, size, offset)
            if declared[0] != directory_count:
                raise FramingError("the end record counts another number of members than the central directory")
            if declared[2] != directory_start:
                raise FramingError("the end record points at another central-directory offset")
            if declared[1] != directory_size:
                raise FramingError("the end record gives another central-directory size")
            break
        elif signature == _END64:
            end64_at = stream.tell() - 4
            record_size, on_disk64, records64, size64, offset64 = struct.unpack("<Q12xQQQQ", _read(stream, 52))
            if on_disk64 != records64:
                raise FramingError("the zip64 end record spans several disks")
            if record_size != 44:
                raise FramingError("the zip64 end record carries extensible data")
            declared = (records64, size64, offset64)
        elif signature == _END64_LOCATOR:
            _read(stream, 16)
            locator_seen = True
        else:
            raise FramingError("the archive holds a record of an unknown kind")
    if local_names != central_names:
        raise FramingError("local headers and central directory list different members")
    here = stream.tell()
    stream.seek(0, os.SEEK_END)
    if stream.tell() != here:
        raise FramingError("bytes follow the end of the archive (trailing data)")
