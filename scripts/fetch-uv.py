"""Fetch uv's binary from its hash-pinned wheel in installer.lock, without pip (native mode's fast start).

    python scripts/fetch-uv.py installer.lock DEST   # prints the path of the uv binary it put in DEST

The Python standard library only, for any runner's Python. The wheel is chosen from PyPI's simple page of uv
(PEP 691 JSON) among the files whose sha256 the lock pins, by this machine's platform tags; its bytes must
have that sha256 before anything is read from it; only the binary is taken out of it. Exits non-zero, saying
why on standard error, when it cannot: scripts/native-install then installs uv with pip instead. A runner
that names another index (PIP_INDEX_URL) is left to pip, which reads that setting.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
import sys
import urllib.request
import zipfile
from pathlib import Path

SIMPLE = "https://pypi.org/simple/uv/"
TIMEOUT = 30


def pins(lock: Path) -> tuple[str, set[str]]:
    """The version the lock pins uv at, and the sha256 of each of its files."""
    text = lock.read_text(encoding="utf-8")
    version = re.search(r"^uv==(\S+)", text, re.MULTILINE)
    if version is None:
        raise SystemExit(f"fetch-uv: {lock} pins no uv")
    return version.group(1), set(re.findall(r"--hash=sha256:([0-9a-f]{64})", text))


def wanted_tags() -> list[re.Pattern[str]]:
    """Patterns of the platform tags this machine runs, best first."""
    machine = platform.machine().lower()
    if sys.platform == "win32":
        arch = {"amd64": "win_amd64", "x86_64": "win_amd64", "arm64": "win_arm64", "x86": "win32"}.get(machine)
        return [re.compile(re.escape(arch) + "$")] if arch else []
    if sys.platform == "darwin":
        arch = "arm64" if machine in ("arm64", "aarch64") else "x86_64"
        return [re.compile(rf"macosx_(\d+)_(\d+)_{arch}$")]
    if sys.platform.startswith("linux"):
        arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
        escaped = re.escape(arch)
        if platform.libc_ver()[0] == "glibc":
            return [re.compile(rf"manylinux_(\d+)_(\d+)_{escaped}$"), re.compile(rf"manylinux2014_{escaped}$")]
        return [re.compile(rf"musllinux_(\d+)_(\d+)_{escaped}$")]
    return []


def fits(tag: str, pattern: re.Pattern[str]) -> bool:
    """Whether a wheel's platform tag runs here (glibc or macOS versions no newer than this machine's)."""
    found = pattern.match(tag)
    if found is None:
        return False
    if not found.groups():
        return True
    needed = (int(found.group(1)), int(found.group(2)))
    if sys.platform == "darwin":
        have = tuple(int(part) for part in (platform.mac_ver()[0] or "10.12").split(".")[:2])
        return needed <= have
    if tag.startswith("manylinux"):
        have = tuple(int(part) for part in platform.libc_ver()[1].split(".")[:2])
        return needed <= have
    return True


def choose(files: list[dict[str, object]], version: str, hashes: set[str]) -> dict[str, object]:
    """The pinned wheel of this version that runs here, by the best-fitting tag."""
    for pattern in wanted_tags():
        for entry in files:
            name = str(entry.get("filename", ""))
            digest = (entry.get("hashes") or {}).get("sha256")  # type: ignore[union-attr]
            if not name.startswith(f"uv-{version}-") or not name.endswith(".whl") or digest not in hashes:
                continue
            tags = name[: -len(".whl")].split("-")[-1].split(".")
            if any(fits(tag, pattern) for tag in tags):
                return entry
    raise SystemExit(f"fetch-uv: no pinned uv {version} wheel fits {sys.platform} {platform.machine()}")


def main() -> int:
    lock, dest = Path(sys.argv[1]), Path(sys.argv[2])
    if os.environ.get("PIP_INDEX_URL") or os.environ.get("UV_INDEX_URL"):
        print("fetch-uv: this runner names its own package index; pip installs uv from it", file=sys.stderr)
        return 1
    version, hashes = pins(lock)
    request = urllib.request.Request(SIMPLE, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - SIMPLE is https://
        page = json.load(answer)
    entry = choose(page.get("files", []), version, hashes)
    digest = str((entry["hashes"] or {})["sha256"])  # type: ignore[index]
    url = str(entry["url"])
    if not url.startswith("https://"):
        raise SystemExit(f"fetch-uv: the index links {entry['filename']} over {url.partition(':')[0]}, not https")
    with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:  # noqa: S310 - checked https:// above
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"fetch-uv: {entry['filename']} does not have the sha256 the lock pins")
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / str(entry["filename"])
    wheel.write_bytes(data)
    binary = "uv.exe" if sys.platform == "win32" else "uv"
    with zipfile.ZipFile(wheel) as archive:
        member = f"uv-{version}.data/scripts/{binary}"
        target = dest / binary
        target.write_bytes(archive.read(member))
    wheel.unlink()
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
