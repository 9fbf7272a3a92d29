"""Shared pytest configuration: a clean environment for every test and the fixture plugins."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.canary",
    "tests.fixtures.peers",
    "tests.fixtures.faulty_proxy",
    "tests.sandbox.fixtures",
    "tests.sandbox.world",
    "tests.sandbox.sigstore.fixtures",
]

_LEAKY_PREFIXES = ("GITHUB_", "ACTIONS_", "INPUT_", "RUNNER_", "PUBLISH_ACTION_", "TWINE_", "UV_PUBLISH_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strip every variable that changes the action's behaviour, so no test sees the host's CI context."""
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) or name in {"PYPI_ID_TOKEN", "SIGSTORE_ID_TOKEN"}:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_real_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every in-process run waits milliseconds between retries and between confirmation rounds, never the
    production seconds: attempt counts, deadlines and the confirmation's total wait stay as in production.
    A test of the waits themselves passes its own policy (or sets these again)."""
    from publish_action import confirm, http

    monkeypatch.setattr(http, "DEFAULT_POLICY", http.RetryPolicy(base_delay=0.01, max_delay=0.05))
    monkeypatch.setattr(confirm, "DEFAULT_POLICY", confirm.ConfirmPolicy(first_delay=0.05, max_delay=0.25))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten every backoff of the run under test to milliseconds (attempt counts stay as in production)."""
    from publish_action import http

    monkeypatch.setattr(http, "DEFAULT_POLICY", http.RetryPolicy(base_delay=0.02, max_delay=0.1, budget=10.0))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` run first (after any shuffling): with parallel workers, one started last would
    keep a single worker busy after the others ran out of tests."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
