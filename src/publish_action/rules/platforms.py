"""The platform tags PyPI accepts on wheels (Warehouse's ``_valid_platform_tag``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


# Platform tags PyPI accepts: a fixed list, then families that each carry a defined ABI.
_FIXED_PLATFORMS = frozenset(
    {
        "any",
        "win32",
        "win_arm64",
        "win_amd64",
        "win_ia64",
        "manylinux1_x86_64",
        "manylinux1_i686",
        "manylinux2010_x86_64",
        "manylinux2010_i686",
        "manylinux2014_x86_64",
        "manylinux2014_i686",
        "manylinux2014_aarch64",
        "manylinux2014_armv7l",
        "manylinux2014_ppc64",
        "manylinux2014_ppc64le",
        "manylinux2014_s390x",
        "linux_armv6l",
        "linux_armv7l",
    }
)


_MACOS = re.compile(r"macosx_(\d+)_(\d+)_(.*)")


_MACOS_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal", "universal2"}
)


#: macOS 11 and later are tagged ``macosx_<major>_0``; 10.x keeps its minor version.
_MACOS_MAJORS = frozenset({"11", "12", "13", "14", "15", "26"})


_LINUX = re.compile(r"(many|musl)linux_(\d+)_(\d+)_(.*)")


_MUSLLINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})


_MANYLINUX_ARCHES = _MUSLLINUX_ARCHES | {"ppc64"}


_IOS = re.compile(r"ios_(\d+)_(\d+)_(.*)_(iphoneos|iphonesimulator)")


_IOS_ARCHES = frozenset({"arm64", "x86_64"})


_ANDROID = re.compile(r"android_(\d+)_(.*)")


_ANDROID_ARCHES = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})


_EMSCRIPTEN = re.compile(r"pyemscripten_(\d+)_(\d+)_wasm32")


def platform_tag_allowed(tag: str) -> bool:
    """Whether PyPI accepts wheels with this platform tag."""
    if tag in _FIXED_PLATFORMS:
        return True
    if match := _MACOS.fullmatch(tag):
        major, minor, arch = match.groups()
        if arch in _MACOS_ARCHES and (major == "10" or (major in _MACOS_MAJORS and minor == "0")):
            return True
    if match := _LINUX.fullmatch(tag):
        libc, _major, _minor, arch = match.groups()
        return arch in (_MUSLLINUX_ARCHES if libc == "musl" else _MANYLINUX_ARCHES)
    if (match := _IOS.fullmatch(tag)) and match.group(3) in _IOS_ARCHES:
        return True
    if (match := _ANDROID.fullmatch(tag)) and match.group(2) in _ANDROID_ARCHES:
        return True
    return _EMSCRIPTEN.fullmatch(tag) is not None


__all__ = ["platform_tag_allowed"]
