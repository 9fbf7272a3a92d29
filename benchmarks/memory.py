"""Peak memory of a real upload: a small wheel versus a large one, side by side in one run.

Uploads are streamed from disk, so the peak resident memory of ``python -m publish_action`` must stay
near the small-file figure whatever the file size. The index is a real pypiserver on loopback.

    uv run python -m benchmarks.memory            # 300 MiB
    uv run python -m benchmarks.memory --mib 600
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from tests.fixtures.dists import make_big_wheel, make_wheels
from tests.fixtures.peers import start_pypiserver


def peak_rss(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, int]:
    """Run a command; return (peak RSS in bytes, seconds, exit code), sampling every 10 ms."""
    started = time.perf_counter()
    process = psutil.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.01)
    return peak, time.perf_counter() - started, int(process.returncode or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=300, help="size of the large wheel in MiB (default 300)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="publish-action-memory-") as tmp:
        root = Path(tmp)
        index = start_pypiserver(root / "server")
        try:
            small_dir, big_dir = root / "small" / "dist", root / "big" / "dist"
            make_wheels(small_dir, 1, name="memory-small")
            make_big_wheel(big_dir, options.mib * 1024 * 1024, name="memory-big")
            base = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "ACTIONS_"))}
            env = {
                **base,
                "INPUT_REPOSITORY-URL": index.upload_url,
                "INPUT_USER": index.username,
                "INPUT_PASSWORD": index.password,
                "INPUT_ATTESTATIONS": "false",
                # PyPI's index rules read every file too (digests, zip walk, metadata): memory must stay flat.
                "INPUT_INDEX-RULES": "pypi",
            }
            command = [sys.executable, "-m", "publish_action"]
            rows = []
            for label, folder in (("small", small_dir), (f"{options.mib} MiB", big_dir)):
                size = sum(path.stat().st_size for path in folder.iterdir())
                peak, seconds, code = peak_rss(command, env, folder.parent)
                if code != 0:
                    print(f"upload of the {label} wheel failed with exit code {code}", file=sys.stderr)
                    return 1
                rows.append((label, size, peak, seconds))
            stored = index.sha256s()
            assert len(stored) == 2, stored
        finally:
            index.close()

    print(f"{'wheel':>10} {'file size':>12} {'peak RSS':>10} {'time':>8}")
    for label, size, peak, seconds in rows:
        print(f"{label:>10} {size / 2**20:>9.1f} MiB {peak / 2**20:>6.1f} MiB {seconds:>7.2f}s")
    ratio = rows[1][2] / rows[0][2]
    print(f"peak RSS large/small: {ratio:.2f}x for a file {rows[1][1] / rows[0][1]:,.0f}x larger")
    return 0


if __name__ == "__main__":
    sys.exit(main())
