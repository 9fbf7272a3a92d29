"""A module that exists so the setuptools fixture project has something to package."""

from __future__ import annotations


def main() -> int:
    """Console-script entry point; prints one line so the script is demonstrably wired."""
    print("sandbox-setuptools-demo")
    return 0
