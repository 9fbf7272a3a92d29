"""Release workflows: ``init`` writes one that satisfies Trusted Publishing, ``doctor`` checks one.

:mod:`.init` and :mod:`.doctor` are the two faces, :mod:`.cli` their command lines and :mod:`.selfcheck`
the check the action makes of the workflow running it. Nothing here is imported by the publish itself
except :mod:`.selfcheck`, and that only from the front door.
"""
