"""Print the path of a uv to run, getting one when none is on PATH: uv's own wheel for this platform, as
uv.lock pins it (URL and sha256), downloaded with the standard library and checked before its binary is
unpacked into a cache folder.

Needs nothing but Python 3.10 or newer: no pip, no venv, and nothing installed into the system's Python
(Debian's is externally managed, and its python3 package has no pip). Used by scripts/demo and scripts/test.
Exits 1 with one line saying what to install when it cannot.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import stat
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PACKAGE = re.compile(
    r'^\[\[package\]\]\nname = "uv"\nversion = "(?P<version>[^"]+)"\n(?P<body>.*?)(?=^\[\[package\]\]|\Z)', re.M | re.S
)
_WHEEL = re.compile(r'\{ url = "(?P<url>[^"]+\.whl)", hash = "sha256:(?P<sha256>[0-9a-f]{64})"')


def fail(message: str) -> None:
    print(f"bootstrap_uv: {message}", file=sys.stderr)
    raise SystemExit(1)


def wanted_tags() -> list[str]:
    """Platform tag fragments a uv wheel for this machine carries, best first."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(machine, machine)
    if sys.platform == "darwin":
        return ["macosx_11_0_arm64"] if arch == "aarch64" else ["macosx_10_12_x86_64"]
    if sys.platform == "win32":
        return ["win_arm64"] if arch == "aarch64" else ["win_amd64"]
    musl = "musl" in (platform.libc_ver()[0] or "") or Path("/lib/ld-musl-x86_64.so.1").exists()
    if musl:
        return [f"musllinux_1_1_{arch}"]
    return [f"manylinux2014_{arch}", f"manylinux_2_17_{arch}", f"manylinux_2_28_{arch}"]


def locked_wheel() -> tuple[str, str, str]:
    """(version, URL, sha256) of the uv wheel uv.lock pins for this platform."""
    match = _PACKAGE.search((ROOT / "uv.lock").read_text(encoding="utf-8"))
    if match is None:
        fail("uv.lock pins no uv (it is a dev dependency): run from a checkout of publish-action")
    wheels = [(wheel["url"], wheel["sha256"]) for wheel in _WHEEL.finditer(match["body"])]
    for tag in wanted_tags():
        for url, sha256 in wheels:
            if tag in url.rsplit("/", 1)[-1]:
                return match["version"], url, sha256
    fail(f"uv.lock has no uv wheel for this platform ({sys.platform} {platform.machine()}); install uv by hand")
    raise AssertionError  # unreachable


def fetch(version: str, url: str, sha256: str) -> Path:
    """The uv binary of ``version``, from the cache or unpacked from the checked wheel."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "publish-action" / f"uv-{version}"
    binary = cache / ("uv.exe" if sys.platform == "win32" else "uv")
    if binary.is_file():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        wheel = Path(scratch) / "uv.whl"
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=120) as answer, wheel.open("wb") as out:  # noqa: S310 - https from uv.lock
                for chunk in iter(lambda: answer.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            fail(f"could not download {url} ({exc}); install uv by hand (https://docs.astral.sh/uv/)")
        if digest.hexdigest() != sha256:
            fail(f"{url} does not match the sha256 uv.lock pins; nothing was installed")
        with zipfile.ZipFile(wheel) as archive:
            member = next((name for name in archive.namelist() if name.endswith(f".data/scripts/{binary.name}")), None)
            if member is None:
                fail(f"{url} holds no {binary.name} binary")
            unpacked = Path(scratch) / binary.name
            with archive.open(member) as source, unpacked.open("wb") as target:
                shutil.copyfileobj(source, target)
        unpacked.chmod(unpacked.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        unpacked.replace(binary)
    return binary


def main() -> None:
    found = shutil.which("uv")
    if found:
        print(found)
        return
    version, url, sha256 = locked_wheel()
    print(f"bootstrap_uv: uv is not on PATH; fetching uv {version} as uv.lock pins it", file=sys.stderr)
    print(fetch(version, url, sha256))


if __name__ == "__main__":
    main()  # scripts/uv.sh picks a Python 3.10 or newer first
