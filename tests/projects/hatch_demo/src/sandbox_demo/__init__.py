"""A module that exists so the fixture project has something to package."""

from __future__ import annotations


def greet(name: str) -> str:
    """Return a greeting; the tests only need the package to be importable, not useful."""
    return f"hello, {name}"
