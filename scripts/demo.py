"""Publish a freshly built package through the offline world, end to end, and show what a user sees.

The real ``python -m publish_action`` runs as a GitHub runner would run it: Trusted Publishing against the
loopback GitHub OIDC issuer and Warehouse stand-in, PEP 740 attestations signed with the loopback Sigstore
and verified by the index. Then the job summary and outputs are printed, and what the index now holds.

    scripts/demo            # publish once
    scripts/demo --again    # then publish the same folder to a second index (reuses the attestations)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fixtures.dists import build_project
from tests.helpers import parse_outputs
from tests.sandbox import GitHubPublisher, Warehouse
from tests.sandbox.world import offline_world


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--again", action="store_true", help="also publish the folder to a second index")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="publish-action-demo-") as tmp:
        root = Path(tmp)
        version = time.strftime("1.0.%Y%m%d%H%M%S")
        print(f"Building sandbox-demo {version} ...", flush=True)
        build_project("hatch", root / "dist", version=version)
        with offline_world(root) as world:
            # --again: a second index trusting the same publisher, as TestPyPI then PyPI in one job.
            second = Warehouse(world.issuer)
            second.add_publisher("sandbox-demo", GitHubPublisher("octo-org/sandbox-demo", "release.yml", "pypi"))
            second.attestation_verifier = world.sigstore.attestation_verifier()
            second.start()
            # Stand-ins both; named for the indexes they play, in the order a release job publishes.
            indexes = (
                [("TestPyPI", world.warehouse), ("PyPI", second)] if options.again else [("PyPI", world.warehouse)]
            )
            code = 0
            for number, (label, index) in enumerate(indexes, start=1):
                output, summary = root / f"output-{number}", root / f"summary-{number}.md"
                env = {
                    **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "ACTIONS_"))},
                    # The stand-in is Warehouse: hold the files to PyPI's upload rules, as for the real PyPI.
                    **world.action_env(repository_url=index.upload_url, index_rules="pypi"),
                    "GITHUB_OUTPUT": str(output),
                    "GITHUB_STEP_SUMMARY": str(summary),
                }
                print(
                    f"\n$ python -m publish_action   # publish {number}: to {label} (the stand-in at "
                    f"{index.upload_url}), as the action's step runs it\n",
                    flush=True,
                )
                code = _show_as_github_does(env, root)
                print(f"\n--- exit code {code}; job summary (GITHUB_STEP_SUMMARY) ---")
                print(summary.read_text() if summary.exists() else "(none)")
                print("--- step outputs (GITHUB_OUTPUT) ---")
                for name, value in parse_outputs(output.read_text() if output.exists() else "").items():
                    print(f"  {name} = {value}")
                if code != 0:
                    break
            second.stop()
            for label, index in indexes:
                print(f"--- {label} (the stand-in) now holds ---")
                for stored in index.files:
                    attested = "with a verified attestation" if stored.attestations else "without attestation"
                    print(
                        f"  {stored.filename}  sha256 {stored.sha256[:16]}…  published by "
                        f"{stored.publisher.repository if stored.publisher else '?'} ({attested})"
                    )
                print(
                    f"  minted tokens: {len(index.minted_tokens)}, all revoked: "
                    f"{not any(index.token_is_live(t) for t in index.minted_tokens)}"
                )
    return code


def _show_as_github_does(env: dict[str, str], cwd: Path) -> int:
    """Run the step and print its log as GitHub shows it: ``::add-mask::`` lines are commands to the runner,
    never shown (and each carries a whole token), so they are counted instead."""
    masks = 0
    with subprocess.Popen(
        [sys.executable, "-m", "publish_action"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as step:
        assert step.stdout is not None
        for line in step.stdout:
            if line.startswith("::add-mask::"):
                masks += 1
                continue
            print(line, end="", flush=True)
    print(f"({masks} ::add-mask:: command(s) to the runner left out: GitHub never shows them)")
    return step.returncode


if __name__ == "__main__":
    sys.exit(main())
