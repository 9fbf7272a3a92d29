"""Sizes as people read them, shared by the log, the summary and the index rules."""

from __future__ import annotations


def describe_size(size: int) -> str:
    """A human-readable size."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


__all__ = ["describe_size"]
