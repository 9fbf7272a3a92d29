"""Everything the user reads: log lines, GitHub workflow commands, step outputs and the job summary.

Stages return values (:class:`~publish_action.outcomes.RunResult` and the file outcomes in it) and log
progress through the ``publish_action`` logger. Here, :mod:`.outputs` and :mod:`.summary` are pure
functions of the result, :mod:`.targets` holds how a terminal, a GitHub runner and a GitLab job are written
for, and :mod:`.reporter` writes lines and the final report for one of them. Secrets never reach it: the
credential types do not print themselves and tokens are masked before the first line is written.
"""

from __future__ import annotations

from publish_action.report.reporter import LogHandler, Reporter

__all__ = ["LogHandler", "Reporter"]
