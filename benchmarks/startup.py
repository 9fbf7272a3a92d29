"""The seconds before the program does anything: native mode's set-up, the container's start, the image.

    uv run python benchmarks/startup.py [--runs 3] [--image publish-action:local] [--skip-native] [--json out.json]

Side by side in one run:

- **native set-up, cold**: ``scripts/native-install`` (what action.yml runs) into a new folder, with pip
  (``python -m venv`` then ``pip install --require-hashes`` of the locked set, no download cache) and with uv
  (uv's own hash-pinned wheel, then ``uv pip install --require-hashes`` with a cache of this run only),
  interleaved, each run from nothing: every wheel is downloaded from PyPI again;
- **the container**: wall time from ``docker run`` to the first request the program sends (a dry run
  against a loopback index that answers 404), first run and median of the others;
- **the image**: its size over its base, by layer (``docker history``), and what each installed
  distribution takes in its virtual environment, largest first.

The native figures need PyPI to be reachable; the container figures need a Docker engine and the image
(``scripts/e2e-setup`` makes both). Figures go to stdout as a Markdown table (and to ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.dists import make_wheels  # noqa: E402 - needs ROOT on sys.path

_TIMEOUT_S = 600.0
_MIB = 1024 * 1024


def runner_python() -> str:
    """The interpreter a runner's job would find on PATH: the one this venv was made from (it has pip, as
    setup-python's and the runner images' interpreters do), unless PUBLISH_ACTION_BENCH_PYTHON names one."""
    return os.environ.get("PUBLISH_ACTION_BENCH_PYTHON") or getattr(sys, "_base_executable", sys.executable)


def native_setup(mode: str, folder: Path) -> float:
    """Seconds ``scripts/native-install MODE`` takes to make a venv in ``folder``, from nothing."""
    venv = folder / f"venv-{mode}"
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    started = time.perf_counter()
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "native-install"), mode, runner_python(), str(venv)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"native-install {mode} failed:\n{result.stdout}{result.stderr}")
    python = venv / "bin" / "python"
    check = subprocess.run(
        [str(python), "-c", "import httpx, pydantic_settings, sigstore, id"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check.returncode != 0:
        raise SystemExit(f"the venv {mode} made cannot import the locked set:\n{check.stderr}")
    shutil.rmtree(venv)
    return elapsed


class _FirstRequest(BaseHTTPRequestHandler):
    """Answers 404 to everything and notes when the first request came."""

    first: float | None = None

    def do_GET(self) -> None:
        if type(self).first is None:
            type(self).first = time.perf_counter()
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


def container_to_first_request(image: str, work: Path) -> float:
    """Seconds from ``docker run`` of a dry run to the first request the program sends to the index."""
    handler = type("Handler", (_FirstRequest,), {"first": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    inputs = {
        "INPUT_USER": "__token__",
        "INPUT_PASSWORD": "pypi-startup-benchmark",
        "INPUT_REPOSITORY-URL": f"http://127.0.0.1:{port}/legacy/",
        "INPUT_CHECK-URL": f"http://127.0.0.1:{port}/simple/",
        "INPUT_DRY-RUN": "true",
    }
    command = ["docker", "run", "--rm", "--network", "host", "--volume", f"{work}:{work}", "--workdir", str(work)]
    for name in inputs:
        command += ["--env", name]
    try:
        started = time.perf_counter()
        subprocess.run(
            [*command, image],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            env={**os.environ, **inputs},
            check=False,
        )
        first = handler.first
    finally:
        server.shutdown()
        server.server_close()
    if first is None:
        raise SystemExit("the container sent no request to the loopback index")
    return first - started


def layers(image: str) -> list[tuple[int, str]]:
    """(bytes, instruction) for each layer of the image, newest first."""
    out = subprocess.run(
        ["docker", "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = []
    for line in out.splitlines():
        size, _, created = line.partition("\t")
        found.append((int(size), " ".join(created.split())[:110]))
    return found


_PACKAGE_SIZES = r"""
import json, pathlib, sysconfig
from importlib import metadata
root = pathlib.Path(sysconfig.get_paths()["purelib"])
sizes = {}
for dist in metadata.distributions():
    total = 0
    for file in dist.files or ():
        path = pathlib.Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    sizes[dist.metadata["Name"]] = total
print(json.dumps(sizes))
"""


def package_sizes(image: str) -> dict[str, int]:
    """Bytes each distribution installed in the image's venv takes (its RECORD's files, bytecode included)."""
    out = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "/opt/venv/bin/python", image, "-c", _PACKAGE_SIZES],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return {str(name): int(size) for name, size in json.loads(out).items()}


def _image_bytes(image: str) -> int:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return int(out.strip())


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables, and write the figures as JSON when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", default="publish-action:local")
    parser.add_argument("--base", default=os.environ.get("PUBLISH_ACTION_BASE_IMAGE", "publish-action-base:local"))
    parser.add_argument("--skip-native", action="store_true")
    parser.add_argument("--skip-container", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures: dict[str, object] = {}

    if not args.skip_native:
        times: dict[str, list[float]] = {"pip": [], "uv": []}
        with tempfile.TemporaryDirectory() as scratch:
            for _ in range(args.runs):
                for mode in ("pip", "uv"):  # interleaved, so both meet the same network and disk
                    times[mode].append(native_setup(mode, Path(scratch)))
        figures["native_setup_s"] = {mode: [round(value, 2) for value in values] for mode, values in times.items()}
        pip, uv = statistics.median(times["pip"]), statistics.median(times["uv"])
        print("| native set-up, cold | median | runs |\n|---|---:|---|")
        for mode, values in times.items():
            print(f"| {mode} | {statistics.median(values):.2f} s | {', '.join(f'{v:.2f}' for v in values)} |")
        print(f"\nuv / pip: {uv / pip:.2f}\n")

    if not args.skip_container:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            make_wheels(work / "dist", 1)
            runs = [container_to_first_request(args.image, work) for _ in range(args.runs + 1)]
        figures["container_to_first_request_s"] = [round(value, 3) for value in runs]
        print(
            f"container, docker run to the first request: first {runs[0]:.2f} s, "
            f"median of the next {args.runs} {statistics.median(runs[1:]):.2f} s\n"
        )
        size, base = _image_bytes(args.image), _image_bytes(args.base)
        figures.update(image_bytes=size, base_bytes=base, added_bytes=size - base)
        added = (size - base) / _MIB
        print(f"image {args.image}: {size / _MIB:.1f} MiB; base {base / _MIB:.1f} MiB; added {added:.1f} MiB\n")
        print("| layer | MiB |\n|---|---:|")
        for layer_bytes, created in layers(args.image):
            if layer_bytes:
                print(f"| `{created}` | {layer_bytes / _MIB:.1f} |")
        sizes = package_sizes(args.image)
        figures["package_bytes"] = sizes
        print("\n| installed distribution | MiB |\n|---|---:|")
        for name, package_bytes in sorted(sizes.items(), key=lambda item: -item[1])[:25]:
            print(f"| {name} | {package_bytes / _MIB:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
