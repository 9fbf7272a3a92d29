"""The soak: many releases through a proxy that breaks about a third of the upload requests in front of a
real pypiserver, with listings that lag behind the uploads, and re-runs. Nothing may be lost, corrupted or
stored twice, every state must be true, and no run may fail: each file meets at most two faults, fewer than
a retry loop's attempts, so every failure would be a false one.

The faults, per upload request of a file: 503 and 429 answered by the proxy (nothing forwarded), a reset
before forwarding, the answer lost after the index stored the file, and a 500 after the index stored it.
The figures are printed at the end (``-s`` shows them).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from publish_action import confirm
from tests.fixtures.dists import make_wheels
from tests.fixtures.faulty_proxy import FaultyProxy, UploadFault, proxy_inputs
from tests.fixtures.peers import PypiServerIndex
from tests.helpers import run_action

pytestmark = [pytest.mark.peers, pytest.mark.long]

RELEASES = 24
FILES = 6
#: Every fourth release is run again with skip-existing, as a maintainer re-runs a job.
RERUN_EVERY = 4
SEED = 20261207
KINDS = (
    UploadFault("", "status", status=503),
    UploadFault("", "status", status=429, retry_after="0"),
    UploadFault("", "reset"),
    UploadFault("", "lose-answer"),
    UploadFault("", "stored-then-status", status=500),
)


def test_soak_many_releases_through_faults_and_lagging_listings(
    pypiserver: PypiServerIndex,
    proxy: FaultyProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fast_retries: None,
) -> None:
    monkeypatch.setattr(confirm, "DEFAULT_POLICY", confirm.ConfirmPolicy(wait=10.0, first_delay=0.25, max_delay=1.0))
    chance = random.Random(SEED)
    local: dict[str, str] = {}
    planned: list[tuple[UploadFault, bool]] = []
    runs = 0
    started = time.monotonic()
    for release in range(RELEASES):
        work = tmp_path / f"release-{release}"
        wheels = make_wheels(work / "dist", FILES, name=f"soak-{release}", distinct_by="platform")
        local.update({path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in wheels})
        for wheel in wheels:
            count = chance.choices((0, 1, 2), weights=(65, 25, 10))[0]
            for order, kind in enumerate(chance.sample(KINDS, count)):
                fault = UploadFault(wheel.name, kind.kind, status=kind.status, retry_after=kind.retry_after)
                proxy.faults.append(fault)
                planned.append((fault, order == 0))
        proxy.listing_lag = chance.choice((0.0, 1.0, 2.5))
        inputs = proxy_inputs(pypiserver, proxy, **{"packages-dir": "dist", "max-parallel": "4"})

        run = run_action(monkeypatch, capsys, work, inputs)
        runs += 1

        where = f"release {release}:\n{run.out}"
        assert run.code == 0, where
        states = {record["filename"]: record["state"] for record in json.loads(run.outputs["files"])}
        assert states == dict.fromkeys((wheel.name for wheel in wheels), "uploaded"), where
        if release % RERUN_EVERY == RERUN_EVERY - 1:
            again = run_action(monkeypatch, capsys, work, {**inputs, "skip-existing": "true"})
            runs += 1
            assert again.code == 0, f"re-run of {where}\n{again.out}"
            states = {record["filename"]: record["state"] for record in json.loads(again.outputs["files"])}
            assert states == dict.fromkeys((wheel.name for wheel in wheels), "skipped"), again.out

        # The storage is the truth: every file there once, with the bytes sent; nothing else.
        assert pypiserver.sha256s() == local, where
        assert Counter(proxy.stored) == Counter(list(local)), "a file stored twice, or one never stored"

    # A file's first fault meets its first upload; a second one only a retry, which a file found on the index
    # after its first fault no longer needs.
    assert all(fault.times == 0 for fault, first in planned if first), "a first fault did not happen"
    injected = Counter(
        f"{fault.kind} {fault.status}" if fault.kind.endswith("status") else fault.kind
        for fault, _first in planned
        if fault.times == 0
    )
    requests = sum(1 for method, *_rest in proxy.log if method == "POST")
    faults = sum(injected.values())
    with capsys.disabled():
        print(
            f"\nsoak: {RELEASES} releases x {FILES} files, {runs} runs in {time.monotonic() - started:.0f}s; "
            f"{requests} upload requests, {faults} faults ({faults / requests:.0%}): "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(injected.items()))
            + "; no run failed"
        )
