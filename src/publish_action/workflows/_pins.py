"""The actions a generated workflow uses, pinned by commit SHA with the version they are tagged with.

The first three are the pins of this project's own workflows (a test keeps them equal); the artifact
actions are the commits their release tags name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    """``owner/repo@sha # version``."""

    repo: str
    sha: str
    version: str

    def uses(self) -> str:
        """The ``uses:`` value and its version comment, as a workflow line ends."""
        return f"{self.repo}@{self.sha} # {self.version}"


CHECKOUT = Pin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1")
SETUP_PYTHON = Pin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0")
SETUP_UV = Pin("astral-sh/setup-uv", "20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1")
UPLOAD_ARTIFACT = Pin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0")
DOWNLOAD_ARTIFACT = Pin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1")

ALL: tuple[Pin, ...] = (CHECKOUT, SETUP_PYTHON, SETUP_UV, UPLOAD_ARTIFACT, DOWNLOAD_ARTIFACT)

__all__ = ["ALL", "CHECKOUT", "DOWNLOAD_ARTIFACT", "SETUP_PYTHON", "SETUP_UV", "UPLOAD_ARTIFACT", "Pin"]
