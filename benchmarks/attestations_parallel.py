"""Trusted Publishing + attestations + upload of many small distributions: default run versus serial.

Both runs go through the whole offline world with the latencies of the real services injected
(GitHub OIDC 100 ms, mint 200 ms, Fulcio 300 ms, Rekor 400 ms, upload 300 ms), side by side in one run,
each with a fresh index and a fresh copy of the distributions (so nothing is reused or skipped).

    uv run python -m benchmarks.attestations_parallel            # 60 files
    uv run python -m benchmarks.attestations_parallel --files 20
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fixtures.dists import make_wheels
from tests.sandbox import Fault
from tests.sandbox.world import offline_world

LATENCY = {"oidc": 0.1, "mint": 0.2, "fulcio": 0.3, "rekor": 0.4, "upload": 0.3}


def timed_publish(root: Path, files: int, max_parallel: str | None) -> tuple[float, int, int]:
    """Publish ``files`` fresh wheels; return (seconds, files stored, attestations stored)."""
    dist = root / "dist"
    make_wheels(dist, files, name="sandbox-demo")
    with offline_world(root) as world:
        world.issuer.faults.add("token", Fault(kind="delay", seconds=LATENCY["oidc"]))
        world.warehouse.faults.add("mint", Fault(kind="delay", seconds=LATENCY["mint"]))
        world.warehouse.faults.add("upload", Fault(kind="delay", seconds=LATENCY["upload"]))
        world.sigstore.set_latency(fulcio=LATENCY["fulcio"], rekor=LATENCY["rekor"])
        inputs = {"verbose": "false", "print_hash": "false"}
        if max_parallel is not None:
            inputs["max_parallel"] = max_parallel
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "ACTIONS_"))},
            **world.action_env(**inputs),
        }
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "publish_action"], env=env, cwd=root, check=False, capture_output=True, text=True
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:])
            raise SystemExit(f"publish failed with exit code {result.returncode}")
        stored = world.warehouse.files
        return elapsed, len(stored), sum(1 for f in stored if f.attestations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60)
    options = parser.parse_args()
    rows = []
    for label, max_parallel in (("default", None), ("max-parallel: 1", "1")):
        with tempfile.TemporaryDirectory(prefix="publish-action-bench-") as tmp:
            seconds, stored, attested = timed_publish(Path(tmp), options.files, max_parallel)
        rows.append((label, seconds, stored, attested))
        print(f"{label:>16}: {seconds:7.2f}s  ({stored} files, {attested} with attestations)", flush=True)
    print(
        f"speed-up of the default run: {rows[1][1] / rows[0][1]:.1f}x at {options.files} files "
        f"(latencies: {', '.join(f'{k} {int(v * 1000)} ms' for k, v in LATENCY.items())})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
