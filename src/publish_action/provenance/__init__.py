"""The release's provenance grade, as PyPI grades it: predicted before the exchange from what the index
holds and what this run will upload, and read back from the index after the publish."""

from __future__ import annotations

from publish_action.provenance.grade import WARNED, Grade, State
from publish_action.provenance.read import GradeUnknown, Planned, offers_provenance, predict, read

__all__ = ["WARNED", "Grade", "GradeUnknown", "Planned", "State", "offers_provenance", "predict", "read"]
