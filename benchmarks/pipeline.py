"""Side by side in one run: the reference action's pipeline, publish-action, and the critical path.

One release of N distributions (1 sdist + N-1 platform wheels, every file attested) is published through
Trusted Publishing with PEP 740 attestations, in the offline world (tests/sandbox: GitHub OIDC issuer,
Warehouse stand-in, loopback Fulcio/Rekor/TSA) with the real services' latencies injected: GitHub OIDC
100 ms, audience 100 ms, mint 200 ms, Fulcio 300 ms, Rekor 400 ms, TSA 150 ms, upload 300 ms. Every run
gets a fresh world (empty index) and a fresh copy of the files, so nothing is reused or skipped, and every
run is checked against the index afterwards: exactly the N files stored, each with its attestation (which
the index verified against the loopback Sigstore and the publisher). A run that published less fails the
benchmark instead of being reported as fast.

    uv run python -m benchmarks.pipeline                          # N = 2, 15, 30, 60, 120; median of 3
    uv run python -m benchmarks.pipeline --sizes 2,15,60 --repeat 1
    uv run python -m benchmarks.pipeline --no-latency             # the same with no injected latency

Runs alternate (reference, publish-action, reference, publish-action, …) for each N. The default run (with
latency) adds a last row, "2, no latency": the fixed overhead of both pipelines. The table is Markdown:

    N                   files in the release (1 sdist + N-1 wheels)
    reference s         median wall time of the reference pipeline (below), from its first interpreter start
                        to the end of its upload
    publish-action s    median wall time of `python -m publish_action` with its defaults, start to exit
    critical path s     the sum of the injected latencies that no client can avoid (printed with its terms)
    ours/critical       publish-action s / critical path s (— without latency)
    bounded path s      the critical path with at most max-parallel uploads at a time after the first (8, the
                        default, or --max-parallel): ceil((N-1)/max-parallel) upload rounds instead of one
    ours/bounded        publish-action s / bounded path s
    reference/ours      reference s / publish-action s

The reference pipeline does what pypa/gh-action-pypi-publish does, in its order, each step a program of its
own as that action's shell script starts them (benchmarks/reference_steps.py and twine, all in this
environment): two interpreter starts for `python -m site` and six for reading the inputs; the Trusted
Publishing exchange (audience → GitHub OIDC token → mint-token); `python -m twine check`; attestations (one
Sigstore OIDC token, one signer, each file signed after the other and written as
`<file>.publish.attestation`); `python -m twine upload --attestations` (files one after another) with
`TWINE_USERNAME=__token__` and the minted token. The container start of a Docker action is not counted, for
either side.

The critical path: audience → GitHub OIDC token → mint → GitHub OIDC token (audience sigstore) → Fulcio →
one signature's timestamp and log entry (sigstore-python asks the TSA, then Rekor, one after the other) →
the first upload alone (it may create the release) → one round of the remaining uploads in parallel.
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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tests.fixtures.dists import make_release
from tests.sandbox import Fault
from tests.sandbox.world import World, offline_world

#: Injected latencies in seconds, the real services' (issue 11).
LATENCY: Mapping[str, float] = {
    "oidc": 0.1,
    "audience": 0.1,
    "mint": 0.2,
    "fulcio": 0.3,
    "rekor": 0.4,
    "tsa": 0.15,
    "upload": 0.3,
}
NO_LATENCY: Mapping[str, float] = dict.fromkeys(LATENCY, 0.0)

#: The critical path, in order: (latency name, what the round trip is).
CRITICAL_PATH: Sequence[tuple[str, str]] = (
    ("audience", "audience"),
    ("oidc", "GitHub OIDC token (audience pypi)"),
    ("mint", "mint-token"),
    ("oidc", "GitHub OIDC token (audience sigstore)"),
    ("fulcio", "Fulcio certificate"),
    ("tsa", "TSA timestamp"),
    ("rekor", "Rekor entry"),
    ("upload", "first upload alone"),
    ("upload", "one round of the other uploads"),
)

SIZES = (2, 15, 30, 60, 120)
PROJECT = "sandbox-demo"
VERSION = "1.0.0"
REFERENCE = "reference"
OURS = "publish-action"
STEPS = Path(__file__).with_name("reference_steps.py")
#: The inputs the reference action's script reads, each with an interpreter of its own.
REFERENCE_INPUTS = ("repository-url", "packages-dir", "verify-metadata", "skip-existing", "print-hash", "attestations")


#: publish-action's default ``max-parallel``: how many uploads run at once after the first.
UPLOAD_PARALLEL = 8


def critical_path(latency: Mapping[str, float], files: int) -> float:
    """Seconds of the unavoidable round trips for a release of ``files`` files (one upload round fewer for one file)."""
    terms = CRITICAL_PATH if files > 1 else CRITICAL_PATH[:-1]
    return sum(latency[name] for name, _ in terms)


def bounded_path(latency: Mapping[str, float], files: int, parallel: int | None = None) -> float:
    """The critical path when at most ``parallel`` uploads (default: publish-action's ``max-parallel``) run at once
    after the first: the other uploads take ``ceil((files - 1) / parallel)`` rounds instead of one."""
    parallel = parallel or int(OURS_INPUTS.get("max_parallel", UPLOAD_PARALLEL))
    rounds = -(-(files - 1) // parallel)
    return critical_path(latency, files) + max(rounds - 1, 0) * latency["upload"]


def explain_critical_path(latency: Mapping[str, float]) -> str:
    """The critical path's terms and sum, as printed with the table."""
    terms = [f"{what} {latency[name]:.2f}" for name, what in CRITICAL_PATH]
    return "\n".join(
        [
            f"Critical path = {critical_path(latency, 2):.2f} s for every N > 1, the sum of the injected latencies of",
            "  " + " + ".join(terms[:3]),
            "  + " + " + ".join(terms[3:5]),
            "  + " + " + ".join(terms[5:7]) + " (sigstore-python asks the TSA, then Rekor, for each signature)",
            "  + " + " + ".join(terms[7:]) + " (in parallel)",
        ]
    )


class Stored(Protocol):
    """What the check needs of a file the Warehouse stand-in stored."""

    @property
    def filename(self) -> str: ...

    @property
    def attestations(self) -> str | None: ...


def check_published(stored: Sequence[Stored], expected: Iterable[str], pipeline: str) -> int:
    """Fail unless exactly ``expected`` was stored, each file with one or more attestations; return the count."""
    names = sorted(expected)
    got = sorted(f.filename for f in stored)
    if got != names:
        missing = sorted(set(names) - set(got))
        extra = sorted(set(got) - set(names))
        raise AssertionError(
            f"{pipeline}: index holds {len(got)} of {len(names)} files (missing {missing}, extra {extra})"
        )
    for f in stored:
        attestations = json.loads(f.attestations) if f.attestations else []
        if not isinstance(attestations, list) or not attestations:
            raise AssertionError(f"{pipeline}: {f.filename} was stored without an attestation")
    return len(got)


@dataclass(frozen=True)
class Run:
    """One timed publish, checked against the index."""

    pipeline: str
    files: int
    seconds: float
    stored: int
    attested: int


@dataclass
class Row:
    """All runs of one release size."""

    files: int
    latency: Mapping[str, float]
    runs: list[Run] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The N column: the size, and "no latency" when nothing was injected."""
        with_latency = any(self.latency.values())
        return f"{self.files}" if with_latency else f"{self.files}, no latency"

    def median(self, pipeline: str) -> float:
        """Median seconds of ``pipeline``'s runs."""
        return statistics.median(r.seconds for r in self.runs if r.pipeline == pipeline)

    @property
    def critical(self) -> float:
        """The critical path of this row's size and latencies."""
        return critical_path(self.latency, self.files)


def inject(world: World, latency: Mapping[str, float]) -> None:
    """Put the latencies into the stand-ins' fault hooks (persistent delays on every request)."""
    if latency["oidc"]:
        world.issuer.faults.add("token", Fault(kind="delay", seconds=latency["oidc"]))
    for endpoint in ("audience", "mint", "upload"):
        if latency[endpoint]:
            world.warehouse.faults.add(endpoint, Fault(kind="delay", seconds=latency[endpoint]))
    world.sigstore.set_latency(fulcio=latency["fulcio"], rekor=latency["rekor"], tsa=latency["tsa"])


def _clean_environ() -> dict[str, str]:
    """This process's environment without anything a runner or an action input would set."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "ACTIONS_"))}


def _step(argv: Sequence[str], env: Mapping[str, str], cwd: Path, what: str, *, ok: Iterable[int] = (0,)) -> str:
    """Run one program; return its stdout; stop the benchmark (without printing stdout: it may hold a token)."""
    result = subprocess.run(list(argv), env=dict(env), cwd=cwd, check=False, capture_output=True, text=True)
    if result.returncode not in ok:
        errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("::add-mask::"))
        raise SystemExit(f"{what} failed with exit code {result.returncode}:\n{errors[-4000:]}")
    return result.stdout


def run_reference(root: Path, world: World) -> float:
    """The reference pipeline in ``root`` (files in ``root/dist``); return its wall time."""
    python = sys.executable
    env = {**_clean_environ(), **world.action_env()}
    dist = root / "dist"
    started = time.perf_counter()
    # `python -m site` exits 1-3 when user site-packages are disabled (as in a virtual environment); the path
    # is printed all the same.
    for flag in ("--user-base", "--user-site"):
        _step([python, "-m", "site", flag], env, root, f"python -m site {flag}", ok=range(4))
    for name in REFERENCE_INPUTS:
        _step([python, str(STEPS), "read-input", name], env, root, f"reading input {name}")
    token = _step([python, str(STEPS), "exchange"], env, root, "the Trusted Publishing exchange").strip()
    dists = sorted(str(p) for p in dist.iterdir())
    _step([python, "-m", "twine", "check", *dists], env, root, "twine check")
    _step([python, str(STEPS), "attest", str(dist)], env, root, "attestations")
    upload_env = {**env, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": token}
    everything = sorted(str(p) for p in dist.iterdir())  # the dists and their .publish.attestation files
    upload = [python, "-m", "twine", "upload", "--attestations", "--disable-progress-bar", "--non-interactive"]
    _step([*upload, "--repository-url", world.warehouse.upload_url, *everything], upload_env, root, "twine upload")
    return time.perf_counter() - started


#: Inputs given to publish-action besides its defaults (``--max-parallel`` sets one).
OURS_INPUTS: dict[str, str] = {}


def run_publish_action(root: Path, world: World) -> float:
    """publish-action with its defaults (and :data:`OURS_INPUTS`) in ``root`` (packages-dir ``dist``); return its
    wall time."""
    env = {**_clean_environ(), **world.action_env(**OURS_INPUTS)}
    started = time.perf_counter()
    _step([sys.executable, "-m", "publish_action"], env, root, "publish-action")
    return time.perf_counter() - started


RUNNERS: Mapping[str, Callable[[Path, World], float]] = {REFERENCE: run_reference, OURS: run_publish_action}


def measure(pipeline: str, template: Path, latency: Mapping[str, float]) -> Run:
    """One run of ``pipeline`` on a fresh copy of ``template``'s files in a fresh world, checked afterwards."""
    names = sorted(p.name for p in template.iterdir())
    with tempfile.TemporaryDirectory(prefix="publish-action-pipeline-") as tmp:
        root = Path(tmp)
        shutil.copytree(template, root / "dist")
        with offline_world(root / "world", project=PROJECT) as world:
            inject(world, latency)
            seconds = RUNNERS[pipeline](root, world)
            stored = list(world.warehouse.files)
    count = check_published(stored, names, pipeline)
    return Run(pipeline, len(names), seconds, count, sum(1 for f in stored if f.attestations))


def benchmark(
    sizes: Sequence[int],
    repeat: int,
    latency: Mapping[str, float],
    *,
    fixed_overhead: bool = False,
    warm_up: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Alternate the two pipelines ``repeat`` times for each size; with ``fixed_overhead`` add N=2 without latency."""
    plan: list[tuple[int, Mapping[str, float]]] = [(n, latency) for n in sizes]
    if fixed_overhead:
        plan.append((2, NO_LATENCY))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="publish-action-releases-") as tmp:
        templates: dict[int, Path] = {}
        for files in {n for n, _ in plan}:
            templates[files] = Path(tmp) / str(files)
            make_release(templates[files], files, name=PROJECT, version=VERSION)
        if warm_up:
            # Not counted: the first start of each program reads its files from disk.
            for pipeline in RUNNERS:
                measure(pipeline, templates[min(templates)], NO_LATENCY)
        for files, row_latency in plan:
            row = Row(files, row_latency)
            for _ in range(repeat):
                for pipeline in RUNNERS:
                    run = measure(pipeline, templates[files], row_latency)
                    row.runs.append(run)
                    if progress is not None:
                        progress(
                            f"  {row.label:>14}  {pipeline:>14}: {run.seconds:7.2f} s"
                            f"  ({run.stored} files, {run.attested} with attestations)"
                        )
            rows.append(row)
    return rows


def markdown_table(rows: Sequence[Row]) -> str:
    """The side-by-side table, one row per size."""
    lines = [
        "| N | reference s | publish-action s | critical path s | ours/critical | bounded path s | ours/bounded "
        "| reference/ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        reference, ours, critical = row.median(REFERENCE), row.median(OURS), row.critical
        bounded = bounded_path(row.latency, row.files)
        ratio = f"{ours / critical:.2f}" if critical else "—"
        bounded_ratio = f"{ours / bounded:.2f}" if bounded else "—"
        lines.append(
            f"| {row.label} | {reference:.2f} | {ours:.2f} | {critical:.2f} | {ratio} | {bounded:.2f} "
            f"| {bounded_ratio} | {reference / ours:.2f} |"
        )
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(n < 2 or n > 121 for n in sizes):
        raise argparse.ArgumentTypeError("sizes are comma-separated numbers from 2 to 121")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table (progress goes to stderr)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=list(SIZES), help="release sizes N, e.g. 2,15,60")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each pipeline per size")
    parser.add_argument("--no-latency", action="store_true", help="inject no latency")
    parser.add_argument(
        "--max-parallel", type=int, default=None, help="publish-action's max-parallel input (default: its default, 8)"
    )
    options = parser.parse_args(argv)
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")
    latency = NO_LATENCY if options.no_latency else LATENCY
    if options.max_parallel is not None:
        OURS_INPUTS["max_parallel"] = str(options.max_parallel)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    rows = benchmark(options.sizes, options.repeat, latency, fixed_overhead=not options.no_latency, progress=progress)
    injected = ", ".join(f"{name} {int(seconds * 1000)} ms" for name, seconds in LATENCY.items())
    print(f"Latencies: {injected}." if not options.no_latency else "Latencies: none injected.")
    print(explain_critical_path(latency))
    print(f"Median of {options.repeat} alternating run(s) per row; 1 sdist + N-1 wheels, every file attested.")
    print(f"publish-action's max-parallel: {OURS_INPUTS.get('max_parallel', UPLOAD_PARALLEL)}.")
    print()
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
