"""The fault matrix: every outside service by every way it can fail, each cell a whole publish.

Each cell is one in-process run of the action (``tests.helpers.run_action``) through the offline world
(``tests/sandbox/world.py``: GitHub OIDC issuer, Warehouse stand-in, loopback Sigstore) with Trusted
Publishing, attestations and ``skip-existing: true``, publishing one release of three small wheels, the first
of which the index already holds from an earlier run (so the simple API decides something in every cell).
One fault is injected into one service through the stand-ins' fault injection (``tests/sandbox/_http.py``'s
``Fault`` for the issuer and the Warehouse; the same ``Fault`` through ``LoopbackSigstore.faults`` for
Fulcio, Rekor and the TSA), and happens once (``times=1``):

* ``5xx``: an HTTP 503; ``429``: HTTP 429 with ``Retry-After: 1``; ``reset``: a TCP reset before any answer;
* ``hang``: the request is held for :data:`HANG` seconds, far past the request timeout, and then dropped
  without an answer (a ``delay`` and a ``reset`` on the same request: nothing is handled, so a late answer
  cannot hand out a token nobody reads);
* ``malformed``: HTTP 200 whose body is not the service's answer (JSON cut short).

Timeouts and the retry policy are shortened for the whole run (``publish_action.http.DEFAULT_POLICY`` and
``TIMEOUT``, ``publish_action.attestations.signing.SIGSTORE_TIMEOUT``; sigstore-python's own TSA timeout, which the
action does not govern, is shortened too), so the matrix takes well under a minute.

Every cell asserts: the exit code (and the ``exit-code`` output); exactly one ``::error`` annotation when the
run fails, with the expected title, none when it survives; that every injected fault really happened; that
every file is in exactly one of ``uploaded``/``skipped``/``failed``/``not-tried``, as expected, and that each
state is honest against what the stand-in holds (uploaded and skipped files are there with their sha256,
failed and not-tried ones are not); that the index accepted each file at most once and received no upload at
all when the run stopped before uploading; that every minted token reached the program (it was masked) and
was burnt; that nothing was signed when the run stopped before signing; that no run waits out a hang; that a
429's ``Retry-After`` is honoured; and that no secret shows (the suite-wide canary, through ``run_action``,
plus an explicit check).

The expectations live in :data:`EXPECTED`, one :class:`Cell` per (service, fault); the table in the report is
generated from it: ``uv run pytest tests/test_fault_matrix.py -s -k table`` or
``uv run python -m tests.test_fault_matrix``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest

from publish_action import dists, http
from publish_action.attestations import signing
from publish_action.errors import ExitCode
from publish_action.redact import redact_url
from tests.fixtures.dists import make_wheels
from tests.helpers import Run, run_in_world
from tests.sandbox import Fault
from tests.sandbox.sigstore import LoopbackSigstore
from tests.sandbox.world import World

pytestmark = pytest.mark.sandbox

#: How long a hung request is held before the stand-in drops it: far past every (shortened) timeout.
HANG = 5.0
#: Every request timeout of the run under test (connect, read, write, pool; Sigstore's connect and read).
TIMEOUT = 1.0
#: The ``Retry-After`` of the 429 column, in seconds.
RETRY_AFTER = 1
#: The retry policy of the run under test: production's attempts, short waits that still let a
#: ``Retry-After: 1`` be honoured in full, and deadlines that leave room for one timed-out attempt and more.
POLICY = http.RetryPolicy(attempts=5, base_delay=0.05, max_delay=1.5, budget=4.0, upload_floor=4.0)

Service = Literal["token", "audience", "mint", "burn", "upload", "simple", "fulcio", "rekor", "tsa"]
FaultName = Literal["5xx", "429", "reset", "hang", "malformed"]
Stage = Literal["look-up", "exchange", "signing", "upload"]

SERVICES: tuple[Service, ...] = ("token", "audience", "mint", "burn", "upload", "simple", "fulcio", "rekor", "tsa")
FAULTS: tuple[FaultName, ...] = ("5xx", "429", "reset", "hang", "malformed")

#: Where each service is, for people reading the table.
SERVICE_LABELS: dict[Service, str] = {
    "token": "GitHub OIDC token",
    "audience": "Warehouse audience",
    "mint": "Warehouse mint-token",
    "burn": "Warehouse burn-token",
    "upload": "Warehouse upload",
    "simple": "Warehouse simple API",
    "fulcio": "Sigstore Fulcio",
    "rekor": "Sigstore Rekor",
    "tsa": "Sigstore TSA",
}
FAULT_LABELS: dict[FaultName, str] = {
    "5xx": "503 once",
    "429": f"429 + Retry-After: {RETRY_AFTER}",
    "reset": "connection reset",
    "hang": f"hang {HANG:.0f}s > {TIMEOUT:.0f}s timeout",
    "malformed": "200, malformed body",
}

#: The exit code of a run that stops at each stage.
STAGE_CODES: dict[Stage, ExitCode] = {
    "look-up": ExitCode.UPLOAD,
    "exchange": ExitCode.AUTHENTICATION,
    "signing": ExitCode.ATTESTATIONS,
    "upload": ExitCode.UPLOAD,
}
#: The state of the three files (already on the index, first new file, second new file) by where the run stopped.
STAGE_STATES: dict[Stage | None, tuple[str, str, str]] = {
    None: ("skipped", "uploaded", "uploaded"),
    # Nothing could be compared, so nothing is known of any file: none was tried.
    "look-up": ("not tried", "not tried", "not tried"),
    "exchange": ("skipped", "not tried", "not tried"),
    "signing": ("skipped", "not tried", "not tried"),
    # The first new file goes alone (it may create the release); when it fails its project stops.
    "upload": ("skipped", "failed", "not tried"),
}


@dataclass(frozen=True)
class Cell:
    """What one (service, fault) must end in."""

    #: ``None``: the run survives the fault and publishes everything; else the stage where it stops.
    stops_at: Stage | None
    #: Why, in a few words (the table's footnote).
    why: str
    #: The one error annotation's title (``{index}`` is the index's display name, ``{first}`` the first new
    #: file); it must contain this text.
    title: str | None = None
    #: The fault keeps the token from being revoked, and the index's answer cannot tell (burn's 202 never does).
    token_left_live: bool = False

    @property
    def code(self) -> ExitCode:
        return ExitCode.OK if self.stops_at is None else STAGE_CODES[self.stops_at]

    @property
    def states(self) -> tuple[str, str, str]:
        return STAGE_STATES[self.stops_at]


def _survives(why: str, *, token_left_live: bool = False) -> Cell:
    return Cell(None, why, token_left_live=token_left_live)


_RETRIED = "retried, then published"
_RETRY_AFTER = f"retried after the {RETRY_AFTER}s Retry-After, then published"
_TIMED_OUT = f"abandoned after the {TIMEOUT:.0f}s timeout, retried, then published"
_NO_TSA = (
    "sigstore-python signs without a timestamp and only warns; PEP 740 attestations carry the Rekor entry, "
    "not TSA timestamps, and verify as before"
)
_LOOKED = "retried after looking at the index first (not there), stored once"

EXPECTED: dict[tuple[Service, FaultName], Cell] = {
    # The OIDC token is fetched by `id` (urllib3), which retries resets and honours Retry-After itself.
    ("token", "5xx"): _survives(_RETRIED),
    ("token", "429"): _survives(_RETRY_AFTER),
    ("token", "reset"): _survives(_RETRIED),
    ("token", "hang"): _survives(_TIMED_OUT),
    # A GET for a fresh token: trying again is harmless, and `id` reports the body as a transient failure.
    ("token", "malformed"): _survives("the cut-short JSON is retried like any token endpoint failure"),
    ("audience", "5xx"): _survives(_RETRIED),
    ("audience", "429"): _survives(_RETRY_AFTER),
    ("audience", "reset"): _survives(_RETRIED),
    ("audience", "hang"): _survives(_TIMED_OUT),
    ("audience", "malformed"): Cell(
        "exchange",
        "the index answered something other than {audience: …}",
        "{index} could not complete Trusted Publishing",
    ),
    ("mint", "5xx"): _survives("retried with a fresh OIDC token, then published"),
    ("mint", "429"): _survives(_RETRY_AFTER),
    ("mint", "reset"): _survives("retried with a fresh OIDC token, then published"),
    ("mint", "hang"): _survives(_TIMED_OUT),
    # A 200 that is not Warehouse's answer is the index's trouble, not a publisher that does not match.
    ("mint", "malformed"): Cell(
        "exchange",
        "the index answered something other than {token: …}",
        "{index} could not complete Trusted Publishing",
    ),
    # Revoking is a courtesy after the uploads: whatever happens, it never fails the run.
    ("burn", "5xx"): _survives("revocation retried; the token is revoked"),
    ("burn", "429"): _survives("revocation retried after Retry-After; the token is revoked"),
    ("burn", "reset"): _survives("revocation retried; the token is revoked"),
    ("burn", "hang"): _survives("revocation abandoned after the timeout and retried; the token is revoked"),
    ("burn", "malformed"): _survives(
        "a 2xx is all Warehouse's burn view ever says (202, whatever it did), so the run cannot tell; the token "
        "expires by itself",
        token_left_live=True,
    ),
    ("upload", "5xx"): _survives(_LOOKED),
    ("upload", "429"): _survives(f"{_LOOKED}, after the Retry-After"),
    ("upload", "reset"): _survives(_LOOKED),
    ("upload", "hang"): _survives(f"abandoned after the timeout; {_LOOKED}"),
    # Warehouse answers a JSON Accept with {"message", "code": "200 OK", "title"}; a body that is not even JSON
    # did not come from it, and the index does not list the file: it was not uploaded.
    ("upload", "malformed"): Cell(
        "upload", "an unreadable 200 is not an upload: the index does not list the file", "{first}"
    ),
    ("simple", "5xx"): _survives(_RETRIED),
    ("simple", "429"): _survives(_RETRY_AFTER),
    ("simple", "reset"): _survives(_RETRIED),
    ("simple", "hang"): _survives(_TIMED_OUT),
    # Neither a PEP 691 page nor HTML: nothing can be compared, and skip-existing needs the comparison.
    ("simple", "malformed"): Cell(
        "look-up",
        "the page is neither PEP 691 JSON nor HTML; skip-existing cannot compare",
        "Could not look up existing files on {index}",
    ),
    ("fulcio", "5xx"): _survives("certificate request retried with a fresh sigstore token"),
    ("fulcio", "429"): _survives(_RETRY_AFTER),
    ("fulcio", "reset"): _survives("certificate request retried with a fresh sigstore token"),
    ("fulcio", "hang"): _survives(_TIMED_OUT),
    ("fulcio", "malformed"): Cell(
        "signing", "no certificate could be read; the minted token is revoked", "Signing failed"
    ),
    ("rekor", "5xx"): _survives("the file is signed again, then published"),
    ("rekor", "429"): _survives(_RETRY_AFTER),
    ("rekor", "reset"): _survives("the file is signed again, then published"),
    ("rekor", "hang"): _survives(_TIMED_OUT),
    ("rekor", "malformed"): Cell(
        "signing", "no log entry could be read; the minted token is revoked", "Signing failed"
    ),
    ("tsa", "5xx"): _survives(_NO_TSA),
    ("tsa", "429"): _survives(_NO_TSA),
    ("tsa", "reset"): _survives(_NO_TSA),
    ("tsa", "hang"): _survives(_NO_TSA),
    ("tsa", "malformed"): _survives(_NO_TSA),
}


def _faults(fault: FaultName) -> list[Fault]:
    """The stand-in faults of one column, each happening once."""
    if fault == "5xx":
        return [Fault(kind="status", status=503, times=1)]
    if fault == "429":
        return [Fault(kind="rate_limit", seconds=RETRY_AFTER, times=1)]
    if fault == "reset":
        return [Fault(kind="reset", times=1)]
    if fault == "hang":
        # Both are taken by the same request: held, then dropped unanswered and unhandled.
        return [Fault(kind="delay", seconds=HANG, times=1), Fault(kind="reset", times=1)]
    return [Fault(kind="malformed", times=1)]


def _inject(world: World, service: Service, fault: FaultName) -> list[Fault]:
    plan = {
        "token": world.issuer.faults,
        "fulcio": world.sigstore.faults,
        "rekor": world.sigstore.faults,
        "tsa": world.sigstore.faults,
    }.get(service, world.warehouse.faults)
    return [plan.add(service, injected) for injected in _faults(fault)]


# -- the table ------------------------------------------------------------------------------------------------


def _cell_text(cell: Cell) -> str:
    if cell.stops_at is None:
        return "survived (0)" + (" ¹" if cell.token_left_live else "")
    title = (cell.title or "").replace("{index}", "<index>").replace("{first}", "<file>")
    return f"exit {int(cell.code)}: {title}"


def matrix_table() -> str:
    """The matrix as a Markdown table, with each cell's reason below it: generated from :data:`EXPECTED`."""
    lines = [
        "| service \\ fault | " + " | ".join(FAULT_LABELS[f] for f in FAULTS) + " |",
        "|---|" + "---|" * len(FAULTS),
    ]
    for service in SERVICES:
        cells = " | ".join(_cell_text(EXPECTED[service, fault]) for fault in FAULTS)
        lines.append(f"| {SERVICE_LABELS[service]} (`{service}`) | {cells} |")
    lines += ["", "¹ the token is left to expire by itself.", ""]
    for service in SERVICES:
        for fault in FAULTS:
            cell = EXPECTED[service, fault]
            states = ", ".join(cell.states)
            lines.append(f"- `{service}` x `{fault}`: {cell.why}; files: {states}")
    return "\n".join(lines)


def test_the_matrix_table_covers_every_cell() -> None:
    assert set(EXPECTED) == {(s, f) for s in SERVICES for f in FAULTS}
    for (service, fault), cell in EXPECTED.items():
        assert (cell.stops_at is None) == (cell.title is None), (service, fault)
    print("\n" + matrix_table())


# -- the run --------------------------------------------------------------------------------------------------


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every timeout of the run at :data:`TIMEOUT`, the retry policy at :data:`POLICY`."""
    import sigstore._internal.timestamp as sigstore_tsa

    monkeypatch.setattr(http, "DEFAULT_POLICY", POLICY)
    monkeypatch.setattr(http, "TIMEOUT", httpx.Timeout(TIMEOUT))
    monkeypatch.setattr(signing, "SIGSTORE_TIMEOUT", (TIMEOUT, TIMEOUT))
    # sigstore-python sends its TSA requests with its own fixed 5 s timeout, which the action cannot shorten.
    monkeypatch.setattr(sigstore_tsa, "CLIENT_TIMEOUT", TIMEOUT)


def _seed(world: World, wheel: Path) -> None:
    """Put ``wheel`` on the index as an earlier run would have (with an API token, no attestation)."""
    token = world.warehouse.add_api_token("maintainer", projects=("sandbox-demo",))
    (dist,) = [d for d in dists.plan(wheel.parent, verify_metadata=False).distributions if d.filename == wheel.name]
    data: dict[str, list[str]] = {}
    for key, value in ((":action", "file_upload"), ("protocol_version", "1"), *dist.metadata_fields):
        data.setdefault(key, []).append(value)
    for key, value in dist.hashes.form_fields():
        data.setdefault(key, []).append(value)
    with wheel.open("rb") as content:
        response = httpx.post(
            world.warehouse.upload_url,
            data=data,
            files={"content": (wheel.name, content, "application/octet-stream")},
            auth=("__token__", token),
            timeout=30,
        )
    assert response.status_code == 200, response.text
    world.warehouse.requests.clear()


def _run(world: World, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    return run_in_world(world, monkeypatch, capsys, workdir, skip_existing="true", packages_dir=str(workdir / "dist"))


def _unescape(value: str) -> str:
    for escaped, plain in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        value = value.replace(escaped, plain)
    return value


def _error_titles(run: Run) -> list[str]:
    titles = []
    for line in run.out.splitlines():
        if line.startswith("::error"):
            match = re.match(r"::error(?: title=([^:]*))?::", line)
            titles.append(_unescape(match.group(1) or "") if match else line)
    return titles


def _retry_waits(run: Run, world: World, service: Service) -> list[float]:
    """How long the run waited after the 429 before it asked again."""
    if service == "token":
        # `id` retries inside its own urllib3 call; the issuer's log shows when.
        # The index's and Sigstore's tokens are asked for at the same time: a retry is the next request for the
        # same audience (the query names it).
        records = world.issuer.requests.for_endpoint("token")
        waits = []
        for i, limited in enumerate(records):
            retry = next((r for r in records[i + 1 :] if r.query == limited.query), None)
            if limited.status == 429 and retry is not None:
                waits.append(retry.started - (limited.started + limited.duration))
        return waits
    # The action's own retry loop says how long it waits before the next attempt.
    return [
        float(match.group(1)) for match in re.finditer(r"failed \([^\n]*429[^\n]*\); retrying in ([0-9.]+)s", run.out)
    ]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("service", SERVICES)
def test_fault_matrix(
    service: Service,
    fault: FaultName,
    world: World,
    short_deadlines: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cell = EXPECTED[service, fault]
    on_index, first, second = make_wheels(tmp_path / "dist", 3, distinct_by="platform")
    names = [on_index.name, first.name, second.name]
    _seed(world, on_index)
    seeded = world.warehouse.file(on_index.name)
    seeded_at = seeded.upload_time
    injected = _inject(world, service, fault)
    index = redact_url(world.warehouse.upload_url)

    started = time.monotonic()
    run = _run(world, tmp_path, monkeypatch, capsys)
    elapsed = time.monotonic() - started
    where = f"{service} x {fault}:\n{run.out}"

    # The fault happened (a cell that never met its fault proves nothing), and no stand-in broke.
    assert all(f.exhausted for f in injected), f"fault not used up: {injected}\n{where}"
    assert world.warehouse.errors == [] and world.issuer.errors == [], where

    # The exit code, and one clear error exactly when the run fails.
    assert run.code == cell.code, where
    assert run.outputs["exit-code"] == str(int(cell.code)), where
    titles = _error_titles(run)
    if cell.title is None:
        assert titles == [], where
    else:
        expected_title = cell.title.format(index=index, first=first.name)
        assert len(titles) == 1, where
        assert expected_title in titles[0], where
        assert "no trusted publisher matching" not in run.out, where

    # Every file in exactly one state, the expected one.
    lists = {
        state: json.loads(run.outputs[key])
        for state, key in (
            ("uploaded", "uploaded"),
            ("skipped", "skipped"),
            ("failed", "failed"),
            ("not tried", "not-tried"),
        )
    }
    placed = [name for listed in lists.values() for name in listed]
    assert sorted(placed) == sorted(names), where
    records = {record["filename"]: record for record in json.loads(run.outputs["files"])}
    assert sorted(records) == sorted(names), where
    for name in names:
        (state,) = [state for state, listed in lists.items() if name in listed]
        assert records[name]["state"] == state, where
    assert tuple(records[name]["state"] for name in names) == cell.states, where

    # Each state is honest against what the index holds, and nothing was accepted twice.
    stored = {f.filename: f for f in world.warehouse.files}
    assert len(stored) == len(world.warehouse.files), "a file stored twice"
    for name, path in zip(names, (on_index, first, second), strict=True):
        state = records[name]["state"]
        if state in ("uploaded", "skipped"):
            assert name in stored, f"{name} is {state} but not on the index\n{where}"
            assert stored[name].sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), where
        elif path == on_index:
            # Not sent by this run: the index still holds the earlier run's copy, untouched.
            assert stored[name].upload_time == seeded_at and stored[name].attestations is None, where
        else:
            assert name not in stored, f"{name} is {state} but on the index\n{where}"
        if state == "uploaded":
            assert stored[name].attestations is not None, where
            assert records[name]["attestation"] == "signed", where
    accepted = [r for r in world.warehouse.requests.for_endpoint("upload") if r.status == 200 and r.fault is None]
    assert len(accepted) == len(lists["uploaded"]), f"the index accepted {len(accepted)} uploads\n{where}"
    if cell.stops_at in ("look-up", "exchange", "signing"):
        assert world.warehouse.requests.count("upload") == 0, where
        assert [f.filename for f in world.warehouse.files] == [on_index.name], where

    # Tokens: every one minted reached the program (it masked it) and was revoked.
    minted = world.warehouse.minted_tokens
    assert len(minted) == (0 if cell.stops_at in ("look-up", "exchange") else 1), where
    for token in minted:
        assert f"::add-mask::{token}" in run.out
        assert world.warehouse.token_is_live(token) is cell.token_left_live, where

    # Signing: nothing when the run stopped before it; one log entry per new file when it survived.
    if cell.stops_at in ("look-up", "exchange"):
        assert len(world.sigstore.log) == 0, where
    if cell.stops_at is None:
        assert len(world.sigstore.log) == 2, where

    # No run waits out a hang; a 429's Retry-After is waited for before the next attempt.
    assert elapsed < HANG, f"the run took {elapsed:.1f}s: it waited out a {HANG:.0f}s hang\n{where}"
    if fault == "429" and service != "tsa":
        waits = _retry_waits(run, world, service)
        assert waits, f"no retry after the 429\n{where}"
        assert min(waits) >= RETRY_AFTER * 0.9, f"Retry-After: {RETRY_AFTER} not honoured (waited {waits})\n{where}"

    # No secret in anything the user reads (the canary in run_action checks the same, suite-wide).
    visible = "\n".join(line for line in run.out.splitlines() if not line.startswith("::add-mask::"))
    for secret in [*world.issuer.issued_tokens, *minted]:
        assert secret not in visible
        assert secret not in run.summary
        assert all(secret not in value for value in run.outputs.values())


# -- the Sigstore stand-in's fault injection ------------------------------------------------------------------


def test_sigstore_stand_in_injects_every_fault_kind(make_sigstore_sandbox: object) -> None:
    """`LoopbackSigstore.faults` works as the Warehouse stand-in's: kinds, `times`, `after`, the log."""
    sandbox: LoopbackSigstore = make_sigstore_sandbox()  # type: ignore[operator]
    url = sandbox.rekor_url + "/api/v1/log"
    sandbox.faults.add("rekor", Fault(kind="status", status=502, times=1))
    sandbox.faults.add("rekor", Fault(kind="rate_limit", seconds=2, times=1))
    sandbox.faults.add("rekor", Fault(kind="malformed", times=1))
    with httpx.Client(timeout=5) as client:
        assert client.get(url).status_code == 502
        limited = client.get(url)
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
        malformed = client.get(url)
        assert malformed.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            malformed.json()
        assert client.get(url).json()["treeSize"] == 0

    sandbox.tsa.add_fault(Fault(kind="reset", times=1))
    with pytest.raises(httpx.TransportError) as reset:
        httpx.post(sandbox.tsa_url, content=b"x", headers={"Content-Type": "application/timestamp-query"})
    assert "reset" in str(reset.value).lower() or isinstance(reset.value, httpx.RemoteProtocolError)

    sandbox.fulcio.add_fault(Fault(kind="delay", seconds=0.3, times=1))
    began = time.monotonic()
    assert httpx.get(sandbox.fulcio_url + "/api/v2/trustBundle").status_code == 200
    assert time.monotonic() - began >= 0.3

    assert [(r.status, r.fault) for r in sandbox.rekor.requests] == [
        (502, "status"),
        (429, "rate_limit"),
        (200, "malformed"),
        (200, None),
    ]
    assert [(r.status, r.fault) for r in sandbox.tsa.requests] == [(0, "reset")]
    assert sandbox.faults.pending("rekor") == []
    # The older hooks still work alongside.
    sandbox.rekor.fail_next(503)
    assert httpx.get(url).status_code == 503
    assert sandbox.rekor.requests[-1].injected


def test_sigstore_fault_after_the_service_acted(make_sigstore_sandbox: object) -> None:
    """`after=True`: the service handles the request for real (here Fulcio answers), then the answer is lost."""
    sandbox: LoopbackSigstore = make_sigstore_sandbox()  # type: ignore[operator]
    sandbox.fulcio.add_fault(Fault(kind="status", status=500, times=1, after=True))
    assert httpx.get(sandbox.fulcio_url + "/api/v2/trustBundle").status_code == 500
    assert httpx.get(sandbox.fulcio_url + "/api/v2/trustBundle").status_code == 200
    assert [(r.status, r.injected) for r in sandbox.fulcio.requests] == [(500, True), (200, False)]


if __name__ == "__main__":
    print(matrix_table())


# -- one loop per operation ------------------------------------------------------------------------------------

#: The requests one operation of each service is: how a persistent fault's requests are counted.
_OPERATION_REQUESTS: dict[Service, str] = {
    "token": "the OIDC token requests for the index's audience",
    "audience": "the audience requests",
    "mint": "the mint-token requests",
    "simple": "the requests for the project's page",
    "upload": "the uploads of the first new file",
}


@pytest.mark.parametrize("fault", ["5xx", "malformed"])
@pytest.mark.parametrize("service", list(_OPERATION_REQUESTS))
def test_a_persistent_fault_costs_one_loops_attempts_never_more(
    service: Service,
    fault: FaultName,
    world: World,
    short_deadlines: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every request to the service fails the same way. An operation's loop may spend its attempts on it; no
    # loop around that one may start them again (before, a garbled token endpoint cost 5 x 5 requests).
    make_wheels(tmp_path / "dist", 2, distinct_by="platform")
    kind: Fault = Fault(kind="status", status=503) if fault == "5xx" else Fault(kind="malformed")
    plan = world.issuer.faults if service == "token" else world.warehouse.faults
    plan.add(service, kind)

    run = _run(world, tmp_path, monkeypatch, capsys)

    assert run.code != ExitCode.OK, run.out
    if service == "token":
        audience = world.warehouse.audience
        sent = [r for r in world.issuer.requests.for_endpoint("token") if f"audience={audience}" in r.query]
    else:
        sent = list(world.warehouse.requests.for_endpoint(service))
    assert 1 <= len(sent) <= POLICY.attempts, (
        f"{_OPERATION_REQUESTS[service]}: {len(sent)}, more than one loop's {POLICY.attempts} attempts\n{run.out}"
    )
    if service in ("token", "audience", "mint"):
        assert world.warehouse.requests.count("upload") == 0
