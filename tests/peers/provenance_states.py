"""Run inside the Warehouse peer (``entrypoint shell python - PROJECT``, this file on standard input): every
release's provenance states as Warehouse itself computes them (``Project.provenance_statuses``), as one JSON
object on standard output, ``{version: [state, …]}``. Used by :meth:`WarehousePeer.provenance_states`."""

import json
import os
import sys

# Warehouse logs to standard output: the answer gets its own copy of it, and the logs go to standard error.
ANSWER = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

from warehouse.config import configure  # noqa: E402

CONFIG = configure()

from warehouse.db import Session  # noqa: E402
from warehouse.packaging.models import Project  # noqa: E402

session = Session(bind=CONFIG.registry["sqlalchemy.engine"])
project = session.query(Project).filter(Project.normalized_name == sys.argv[1]).one()
json.dump(
    {
        version: sorted(state.value for state in status.states)
        for version, status in project.provenance_statuses.items()
    },
    ANSWER,
)
ANSWER.close()
