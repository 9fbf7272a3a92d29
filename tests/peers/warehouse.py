"""The real Warehouse as a test peer: started by ``scripts/warehouse-peer``, seeded, read back, stopped.

The peer is PyPI's own code at a pinned commit in its development configuration (see the script's header):
the real audience and mint-token views with the real publisher look-up and claim checks (the JWT's
signature is not checked: :class:`~tests.sandbox.oidc_issuer.OIDCIssuer` covers that), the real forklift,
simple API and integrity API (uploaded attestations are stored, not verified against Sigstore: the loopback
Sigstore covers that). :class:`PeerWorld` puts it together with our OIDC issuer and the loopback Sigstore,
as :class:`~tests.sandbox.world.World` does with the Warehouse stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.sandbox.oidc_issuer import GitHubClaims, OIDCIssuer
from tests.sandbox.sigstore import LoopbackSigstore
from tests.sandbox.world import Issuer, action_env, job_env

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "warehouse-peer"
#: Where the Warehouse source comes from (read once at import: the tests' clean environment drops every
#: ``PUBLISH_ACTION_*`` variable before each test).
SOURCE_ENV = "PUBLISH_ACTION_WAREHOUSE_SOURCE"
_SOURCE = os.environ.get(SOURCE_ENV)
#: The script's state folder (logs, the corpus table), as ``scripts/warehouse-peer`` names it.
STATE_DIR = Path(os.environ.get("PUBLISH_ACTION_E2E_STATE", "/var/tmp/publish-action-e2e")) / "warehouse"
#: A cold build (debootstrap, Warehouse's requirements, its migrations) takes a few minutes; a cached start
#: takes seconds.
START_TIMEOUT_S = 1500.0
SEED_TIMEOUT_S = 120.0
_HTTP = httpx.Timeout(30.0)


class PeerError(RuntimeError):
    """The Warehouse peer could not be built, started, seeded or read."""


@dataclass
class WarehousePeer:
    """One running Warehouse container."""

    name: str
    url: str
    files_url: str
    audience: str = "pypi"

    @property
    def upload_url(self) -> str:
        return f"{self.url}/legacy/"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"

    def seed(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Run the peer's seed script (``tests/peers/warehouse_image/seed.py``) with ``spec``."""
        done = subprocess.run(
            [str(SCRIPT), "seed", self.name],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=SEED_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise PeerError(f"seeding the Warehouse peer failed ({done.returncode}):\n{done.stderr[-4000:]}")
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def sql(self, query: str, **values: str) -> list[list[str]]:
        """Rows of a query on the peer's database, each a list of text fields. ``values`` are psql variables
        (``:'name'`` in the query quotes one as a literal), never spliced into the text."""
        variables = [arg for name, value in values.items() for arg in ("-v", f"{name}={value}")]
        done = subprocess.run(
            [
                "docker", "exec", "-i", self.name, "/opt/peer/entrypoint", "shell", "sh", "-c",
                'exec psql "postgresql${DATABASE_URL#postgresql+psycopg}" -At -F "	" -v ON_ERROR_STOP=1 "$@"', "psql",
                *variables,
            ],
            input=query,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise PeerError(f"query failed: {query}\n{done.stderr}")
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def project_json(self, project: str) -> dict[str, Any] | None:
        """The project's PEP 691 simple page, or None when the index has no such project."""
        response = httpx.get(
            f"{self.simple_url}{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=_HTTP
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        page: dict[str, Any] = response.json()
        return page

    def files(self, project: str) -> dict[str, str]:
        """sha256 by file name of what the project's simple page lists."""
        page = self.project_json(project) or {"files": []}
        return {entry["filename"]: entry["hashes"]["sha256"] for entry in page["files"]}

    def provenance(self, project: str, version: str, filename: str) -> httpx.Response:
        """The integrity API's answer for one file."""
        return httpx.get(
            f"{self.url}/integrity/{project}/{version}/{filename}/provenance",
            headers={"Accept": "application/vnd.pypi.integrity.v1+json"},
            timeout=_HTTP,
        )

    def provenance_states(self, project: str) -> dict[str, list[str]]:
        """Each release's provenance states as Warehouse's own models compute them (``tests/peers/
        provenance_states.py``, run in the container), by version."""
        done = subprocess.run(
            ["docker", "exec", "-i", self.name, "/opt/peer/entrypoint", "shell", "python", "-", project],
            input=(Path(__file__).parent / "provenance_states.py").read_text(encoding="utf-8"),
            capture_output=True,
            text=True,
            timeout=SEED_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise PeerError(f"reading the provenance states failed ({done.returncode}):\n{done.stderr[-4000:]}")
        states: dict[str, list[str]] = json.loads(done.stdout)
        return states

    def logs(self, tail: int = 200) -> str:
        done = subprocess.run(
            ["docker", "logs", "--tail", str(tail), self.name], capture_output=True, text=True, timeout=60, check=False
        )
        return done.stdout + done.stderr

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop", self.name], capture_output=True, timeout=120, check=False)


def start_peer(name: str, *, audience: str = "pypi") -> WarehousePeer:
    """Build (cached) and start the peer (``audience``: ``pypi`` as PyPI, ``testpypi`` as TestPyPI); raise
    :class:`PeerError` with the script's words if it cannot."""
    env = dict(os.environ)
    if _SOURCE:
        env[SOURCE_ENV] = _SOURCE
    done = subprocess.run(
        [str(SCRIPT), "start", "--name", name, "--audience", audience],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise PeerError(f"scripts/warehouse-peer start exited {done.returncode}:\n{done.stderr[-6000:]}")
    facts = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return WarehousePeer(name=facts["name"], url=facts["url"], files_url=facts["files"], audience=facts["audience"])


@dataclass
class PeerWorld:
    """A job's offline world around the real Warehouse: our OIDC issuer (GitHub Actions' claims, or GitLab's
    or Google's issuer) and the loopback Sigstore, with the peer as the index."""

    issuer: Issuer
    peer: WarehousePeer
    sigstore: LoopbackSigstore
    provider: str = "github"

    def action_env(self, **inputs: str) -> dict[str, str]:
        """As :meth:`tests.sandbox.world.World.action_env`, with ``repository-url`` the peer's."""
        return action_env(job_env(self.issuer, self.peer.audience), self.sigstore, self.peer.upload_url, inputs)


@contextmanager
def peer_world(
    peer: WarehousePeer, workdir: Path, *, claims: GitHubClaims | None = None, issuer: Issuer | None = None,
    provider: str = "github", issuers: Sequence[str] = (),
) -> Iterator[PeerWorld]:  # fmt: skip
    """Start an issuer (a GitHub one with ``claims`` unless ``issuer`` is given, started by the caller) and
    a loopback Sigstore trusting it; stop them on exit."""
    own = issuer is None
    the_issuer: Issuer = OIDCIssuer(claims) if issuer is None else issuer
    if own:
        the_issuer.start()
    try:
        if provider == "github":
            sigstore = LoopbackSigstore(the_issuer.jwks, workdir=workdir / "sigstore").start()
        else:
            (iss,) = issuers
            sigstore = LoopbackSigstore({iss: the_issuer.jwks}, workdir=workdir / "sigstore", issuers=(iss,)).start()
        try:
            yield PeerWorld(the_issuer, peer, sigstore, provider)
        finally:
            sigstore.stop()
    finally:
        if own:
            the_issuer.stop()


@dataclass
class SeededPeer:
    """The session's peer with what the seed made (names of the tests' projects, the user's API token)."""

    peer: WarehousePeer
    token: str
    facts: dict[str, Any] = field(default_factory=dict)
