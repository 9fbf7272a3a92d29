"""A file's digests, as simple APIs and the upload form name them, computed in one read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_CHUNK = 1024 * 1024


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


class Digests:
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
    digests = Digests()
    with path.open("rb") as stream:
        digests.consume(stream)
    return digests.hashes()


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def _optional_hasher(make: Callable[[], _Hasher]) -> _Hasher | None:
    try:
        return make()
    except (ValueError, TypeError, AttributeError):
        # FIPS-restricted interpreters refuse md5 and may refuse blake2: send what we can.
        return None


__all__ = ["Digests", "Hashes", "hash_file"]
