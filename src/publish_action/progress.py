"""What a person watching the run sees move: each upload's bytes, and the phases that take a while.

The stages report to a :class:`Progress`; :class:`NoProgress` (CI logs, anything not a terminal) shows
nothing, so a log keeps exactly its lines. The report room draws bars in a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import BinaryIO, Protocol


class FileProgress(Protocol):
    """The progress of one file's upload."""

    def restart(self) -> None:
        """A new attempt: nothing of the file is sent yet."""
        ...

    def advance(self, sent: int) -> None:
        """``sent`` more bytes of the file were handed to the connection."""
        ...

    def finish(self) -> None:
        """The file's upload is over (whatever its outcome)."""
        ...


class Progress(Protocol):
    """Where the stages report what moves."""

    def file(self, filename: str, size: int) -> FileProgress:
        """The progress of uploading ``filename`` (``size`` bytes)."""
        ...

    def phase(self, title: str) -> AbstractContextManager[None]:
        """A phase (signing, the confirmation) that lasts as long as the ``with`` block."""
        ...


class _Nothing:
    def restart(self) -> None:
        pass

    def advance(self, sent: int) -> None:
        pass

    def finish(self) -> None:
        pass


class NoProgress:
    """Shows nothing: the log's lines say what happened."""

    def file(self, filename: str, size: int) -> FileProgress:
        return _Nothing()

    def phase(self, title: str) -> AbstractContextManager[None]:
        return nullcontext()


class CountingReader:
    """A binary file that tells ``on_read`` how many bytes each read returned; what an HTTP client needs of
    a file to stream it with a known length (``read``, ``seek``, ``tell``, ``fileno``) is passed through."""

    def __init__(self, file: BinaryIO, on_read: Callable[[int], None]) -> None:
        self._file = file
        self._on_read = on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        if chunk:
            self._on_read(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()


__all__ = ["CountingReader", "FileProgress", "NoProgress", "Progress"]
