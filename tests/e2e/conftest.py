"""Fixtures of the end-to-end tests: a Docker engine that answers and the action's image, once per session.

Without a usable engine these tests skip with the reason on a developer's machine and FAIL on CI
(``CI=true``), where ``.ci/run`` provides one through ``scripts/e2e-setup``: a container test that silently
did not run would pass for the wrong reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e._harness import (
    ACT_TIMEOUT_S,
    REPO_ROOT,
    SETUP_TIMEOUT_S,
    ActionImage,
    docker_problem,
    in_ci,
    run_setup,
    snapshot_action,
)
from tests.peers.seed import seed_spec
from tests.peers.warehouse import PeerError, SeededPeer, WarehousePeer, start_peer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an e2e test (``-m "not e2e"`` leaves them all out).

    The first of them pays for the session's image (on a fresh machine: installing Docker, debootstrap and
    the build, a few minutes), which pytest-timeout counts against that test: hence the longer limit.
    """
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.timeout(SETUP_TIMEOUT_S + ACT_TIMEOUT_S))


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Make sure a Docker engine answers; on CI start one with ``scripts/e2e-setup --engine`` if needed."""
    problem = docker_problem()
    if problem is not None and in_ci():
        setup = run_setup(REPO_ROOT / "scripts" / "e2e-setup", "--engine")
        problem = docker_problem()
        if problem is not None:
            pytest.fail(
                f"CI=true but Docker is unusable: {problem}\n"
                f"scripts/e2e-setup --engine exited {setup.returncode}:\n{setup.stderr}",
                pytrace=False,
            )
    if problem is not None:
        pytest.skip(f"Docker is unusable here ({problem}); run scripts/e2e-setup as root to get an engine")


@pytest.fixture(scope="session")
def action_image(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> ActionImage:
    """The action's image built from a snapshot of this checkout (base image made locally if missing)."""
    source = snapshot_action(tmp_path_factory.mktemp("action-source"))
    setup = run_setup(source / "scripts" / "e2e-setup")
    if setup.returncode != 0:
        pytest.fail(f"scripts/e2e-setup exited {setup.returncode}:\n{setup.stderr[-4000:]}", pytrace=False)
    key = run_setup(source / "scripts" / "e2e-setup", "--key").stdout.strip()
    assert key, "scripts/e2e-setup --key printed nothing"
    return ActionImage(tag=f"publish-action:build-{key}", source=source)


@pytest.fixture(scope="session")
def warehouse_peer(docker_engine: None) -> Iterator[WarehousePeer]:
    """The real Warehouse (``scripts/warehouse-peer``), one container for the session, seeded once.

    Building it on a fresh machine takes a few minutes (the first test pays for it); it never skips where a
    Docker engine answers: a failure to build or start fails the test with the script's words.
    """
    try:
        peer = start_peer(f"publish-action-warehouse-pytest-{os.getpid()}")
    except PeerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def seeded_peer(warehouse_peer: WarehousePeer) -> SeededPeer:
    """The peer with the state :data:`tests.peers.seed.SEED` describes, and the user's API token."""
    answer = warehouse_peer.seed(seed_spec())
    return SeededPeer(warehouse_peer, token=answer["token"])
