"""How much the action's image adds to its base, and how long a cold ``docker run`` takes to exit.

    uv run python benchmarks/image_size.py [--image publish-action:local] [--runs 5] [--json out.json]

Needs a Docker engine and the image (``scripts/e2e-setup`` makes both). Measures:

- the size of the image and of its base (``docker image inspect``), and what the image adds;
- wall time from ``docker run`` to exit, first run and median of the following ones, for
  ``python -c pass`` in the image (the floor: container start plus interpreter start),
  ``--help``, and a token-mode dry run over one tiny wheel against a pypiserver on loopback
  (settings, plan, hashing, an existence check on the index, report).

"Cold" here means a new container each time: the image's layers are in the page cache after the first run,
as they are on a runner after the pull or build. Timings include the Docker CLI's own start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.dists import make_wheels  # noqa: E402 - needs ROOT on sys.path
from tests.fixtures.peers import start_pypiserver  # noqa: E402

_RUN_TIMEOUT_S = 120.0


def _inspect(image: str, template: str) -> str:
    return subprocess.run(
        ["docker", "image", "inspect", "--format", template, image],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


def _base_of(image: str) -> str | None:
    """The base image: the local tag e2e-setup builds on, when it exists (docker does not record the base)."""
    for candidate in (os.environ.get("PUBLISH_ACTION_BASE_IMAGE"), "publish-action-base:local"):
        if candidate:
            probe = subprocess.run(
                ["docker", "image", "inspect", candidate], capture_output=True, timeout=60, check=False
            )
            if probe.returncode == 0:
                return candidate
    return None


def _time_runs(command: list[str], runs: int, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``command`` ``runs`` times; the first and the median of the rest, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S, env=env, check=False)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    rest = times[1:] or times
    return {"first_s": round(times[0], 3), "median_s": round(statistics.median(rest), 3), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    """Print the figures (and write them as JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", default="publish-action:local")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    figures: dict[str, object] = {"image": args.image}
    size = int(_inspect(args.image, "{{.Size}}"))
    figures["image_bytes"] = size
    base = _base_of(args.image)
    base_size = int(_inspect(base, "{{.Size}}")) if base is not None else None
    if base is not None and base_size is not None:
        figures.update(base=base, base_bytes=base_size, added_bytes=size - base_size)

    docker = ["docker", "run", "--rm", "--network", "host"]
    figures["python_floor"] = _time_runs(
        [*docker, "--entrypoint", "/opt/venv/bin/python", args.image, "-c", "pass"], args.runs
    )
    figures["help"] = _time_runs([*docker, args.image, "--help"], args.runs)

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        make_wheels(work / "dist", 1)
        index = start_pypiserver(work / "pypiserver")
        try:
            env = {
                **os.environ,
                "INPUT_USER": index.username,
                "INPUT_PASSWORD": index.password,
                "INPUT_REPOSITORY-URL": index.upload_url,
                "INPUT_DRY-RUN": "true",
            }
            names = ["INPUT_USER", "INPUT_PASSWORD", "INPUT_REPOSITORY-URL", "INPUT_DRY-RUN"]
            command = [*docker, "--volume", f"{work}:{work}", "--workdir", str(work)]
            for name in names:
                command += ["--env", name]
            figures["dry_run"] = _time_runs([*command, args.image], args.runs, env=env)
        finally:
            index.close()

    mib = 1024 * 1024
    print(f"image {args.image}: {size / mib:.1f} MiB")
    if base is not None and base_size is not None:
        print(f"  base {base}: {base_size / mib:.1f} MiB, added {(size - base_size) / mib:.1f} MiB")
    for key in ("python_floor", "help", "dry_run"):
        timing = figures[key]
        assert isinstance(timing, dict)
        print(f"  docker run -> exit, {key}: first {timing['first_s']:.2f} s, median {timing['median_s']:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
