"""The action's image publishing from Google Cloud: ``docker run`` on a machine whose metadata server hands out
the service account's identity tokens (the stand-in, named by ``GCE_METADATA_HOST``), no GitHub in sight.

Trusted Publishing with the service account's token, attestations signed with its Sigstore certificate and
verified by the Warehouse stand-in against the Google publisher, and the outputs and summary as files.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e._harness import ActionImage, docker_run
from tests.fixtures.dists import make_wheels
from tests.sandbox.warehouse import GooglePublisher
from tests.sandbox.world import offline_world


def test_the_image_publishes_from_google_cloud(action_image: ActionImage, tmp_path: Path) -> None:
    make_wheels(tmp_path / "dist", 2)
    with offline_world(tmp_path / "world", provider="google") as world:
        env = world.action_env(index_rules="pypi", outputs_file="out/publish.env", summary_file="out/summary.md")
        assert not any(name.startswith(("GITHUB_", "ACTIONS_")) for name in env)
        (tmp_path / "out").mkdir()
        result = docker_run(action_image.tag, env=env, mounts=[tmp_path], workdir=tmp_path)
        stored = list(world.warehouse.files)

    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert sorted(f.filename for f in stored) == sorted(p.name for p in (tmp_path / "dist").glob("*.whl"))
    assert all(f.attestations and isinstance(f.publisher, GooglePublisher) for f in stored)
    assert all(f.provenance is not None for f in stored)
    assert "Signing 2 distribution(s) with Sigstore for service account " in log
    # Outside GitHub: no workflow command at all (a `::add-mask::` line would show the token it masks).
    assert not any(line.lstrip().startswith("::") for line in log.splitlines()), log
    lines = (tmp_path / "out" / "publish.env").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines)
    assert values["PUBLISH_ACTION_EXIT_CODE"] == "0"
    assert sorted(json.loads(values["PUBLISH_ACTION_VERIFIED"])) == sorted(f.filename for f in stored)
    assert "| Attestation |" in (tmp_path / "out" / "summary.md").read_text()
