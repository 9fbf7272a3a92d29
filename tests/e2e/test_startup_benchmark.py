"""benchmarks/startup.py measures what it says: each native install path makes a venv that imports the
locked set, the container is timed to its first request, and the image's layers and distributions add up."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import startup

from tests.e2e._harness import ActionImage
from tests.fixtures.dists import make_wheels

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["uv", "pip"])
def test_each_native_path_installs_the_locked_set_from_nothing(mode: str, tmp_path: Path) -> None:
    seconds = startup.native_setup(mode, tmp_path)  # raises unless the venv imports httpx, sigstore, …
    assert 0 < seconds < 300
    assert not (tmp_path / f"venv-{mode}").exists()
    assert not (tmp_path / f"venv-{mode}.installer").exists(), "the installer's folder and cache are left behind"


def test_the_container_is_timed_to_its_first_request(action_image: ActionImage, tmp_path: Path) -> None:
    make_wheels(tmp_path / "dist", 1)
    seconds = startup.container_to_first_request(action_image.tag, tmp_path)
    assert 0 < seconds < 60


def test_the_image_is_measured_by_layer_and_distribution(action_image: ActionImage) -> None:
    layers = startup.layers(action_image.tag)
    assert any("/opt/venv" in created for _, created in layers)
    sizes = startup.package_sizes(action_image.tag)
    assert {"httpx", "sigstore", "pydantic-settings", "id"} <= {name.lower() for name in sizes}
    assert sum(layer for layer, created in layers if "/opt/venv" in created) >= sum(sizes.values()) * 0.9
