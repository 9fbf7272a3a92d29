"""Pre-flight time for a release of 60 real-size wheels, with and without PyPI's index rules, side by side.

Each wheel looks like a compiled project's: a few hundred source files and one 3 MiB binary, about 4 MiB
in all. The runs alternate (generic checks, PyPI's rules, generic, ...) so that both see the same page
cache, and the median of each is reported with the ratio.

    uv run python -m benchmarks.preflight
    uv run python -m benchmarks.preflight --files 120 --rounds 5
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from publish_action import dists
from publish_action.rules import IndexRules

_PLATFORMS = (
    "manylinux_2_17_x86_64",
    "manylinux_2_17_aarch64",
    "manylinux_2_28_x86_64",
    "manylinux_2_28_aarch64",
    "musllinux_1_2_x86_64",
    "musllinux_1_2_aarch64",
    "macosx_10_9_x86_64",
    "macosx_11_0_arm64",
    "win_amd64",
    "win32",
    "win_arm64",
    "ios_13_0_arm64_iphoneos",
)
_INTERPRETERS = ("cp310", "cp311", "cp312", "cp313", "cp314")


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(path: Path, tag: str, seed: int, *, sources: int = 300, binary: int = 3 * 1024 * 1024) -> None:
    """A wheel of ``sources`` small Python files and one incompressible extension module."""
    rng = random.Random(seed)
    stem = "bench_project-1.0.0"
    members: list[tuple[str, bytes]] = []
    for index in range(sources):
        text = "".join(f"def function_{index}_{n}(value):\n    return value * {n}\n\n" for n in range(40))
        members.append((f"bench_project/module_{index}.py", text.encode()))
    members.append(("bench_project/_native.so", rng.randbytes(binary)))
    metadata = (
        "Metadata-Version: 2.4\nName: bench-project\nVersion: 1.0.0\nSummary: A benchmark project\n"
        "Author-email: Bench <bench@example.com>\nLicense-Expression: MIT\nLicense-File: LICENSE\n"
        "Classifier: Programming Language :: Python :: 3\nRequires-Dist: numpy>=2\nRequires-Python: >=3.10\n"
        "Project-URL: Source, https://example.com/bench\nDescription-Content-Type: text/x-rst\n\n"
        "Bench project\n=============\n\n" + "A paragraph of the long description.\n\n" * 50
    )
    members += [
        (f"{stem}.dist-info/METADATA", metadata.encode()),
        (f"{stem}.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()),
        (f"{stem}.dist-info/licenses/LICENSE", b"MIT License\n"),
    ]
    record = "".join(f"{name},{_digest(data)},{len(data)}\n" for name, data in members)
    members.append((f"{stem}.dist-info/RECORD", (record + f"{stem}.dist-info/RECORD,,\n").encode()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def time_plan(folder: Path, index_rules: IndexRules) -> float:
    started = time.perf_counter()
    dists.plan(folder, verify_metadata=True, index_rules=index_rules, max_workers=8)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60, help="how many wheels (default 60)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind (default 3)")
    options = parser.parse_args()
    tags = [f"{interp}-{interp}-{plat}" for plat in _PLATFORMS for interp in _INTERPRETERS]
    with tempfile.TemporaryDirectory(prefix="publish-action-preflight-") as tmp:
        folder = Path(tmp)
        if options.files > len(tags):
            parser.error(f"one release has at most {len(tags)} distinct wheels here")
        for index, tag in enumerate(tags[: options.files]):
            write_wheel(folder / f"bench_project-1.0.0-{tag}.whl", tag, index)
        total = sum(path.stat().st_size for path in folder.iterdir())
        count = len(list(folder.iterdir()))
        timings: dict[str, list[float]] = {"none": [], "pypi": []}
        time_plan(folder, "pypi")  # warm the page cache and the imports before measuring
        for _ in range(options.rounds):
            for kind in ("none", "pypi"):
                timings[kind].append(time_plan(folder, kind))  # type: ignore[arg-type]
    generic, pypi = (statistics.median(timings[kind]) for kind in ("none", "pypi"))
    print(f"{count} wheels, {total / 1024 / 1024:.0f} MiB, median of {options.rounds} alternating runs")
    for label, seconds in (
        ("generic checks (index-rules: none, description check)", generic),
        ("PyPI's index rules (index-rules: pypi)", pypi),
    ):
        print(f"  {label:<55} {seconds:6.2f} s  ({seconds / count * 1000:.0f} ms/file)")
    print(f"  ratio pypi / none: {pypi / generic:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
