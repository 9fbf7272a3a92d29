"""Check that an index holds our distributions byte for byte, with provenance that verifies (self-test.yml).

    python .github/scripts/verify_on_index.py --index-url https://test.pypi.org/simple/ \
        --repository https://github.com/OWNER/REPO dist

For every distribution in the folder: the index's PEP 691 JSON page lists the file with the same sha256 and
a ``provenance`` URL; the provenance is downloaded and verified against the local file with
``pypi-attestations verify pypi --provenance-file`` (its ``pypi:`` form only knows pypi.org, so TestPyPI is
checked through a local file plus the downloaded provenance). Simple pages can lag behind an upload for a
little while, so the page is fetched again a bounded number of times before giving up.

Standard library only, apart from the ``pypi-attestations`` command on PATH.

For the offline sandbox (tests/e2e/test_act_self_test.py runs this workflow under act against loopback
stand-ins), two things differ, and neither can happen against TestPyPI or PyPI:

* plain ``http://`` is accepted for loopback hosts only (``127.0.0.1``, ``::1``, ``localhost``); every other
  URL must be https;
* ``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG`` (environment only, as for the action itself) names a Sigstore
  client trust config: the same ``pypi-attestations verify pypi`` command then runs with the verifier built
  from that config's trusted root instead of Sigstore production's. Never set it for a real index: PyPI and
  TestPyPI only accept attestations made with Sigstore's public instance, so production trust is the check.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_ATTEMPTS = 10
_PAUSE_S = 15.0
_TIMEOUT_S = 30.0

#: Environment only, as for the action: a Sigstore client trust config for a private instance (tests).
_TRUST_CONFIG_ENV = "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG"

#: ``python -c`` program: ``pypi-attestations`` with Sigstore's production verifier replaced by one trusting
#: the trust config named by its first argument; the remaining arguments are the command's own.
_CUSTOM_TRUST_CLI = """
import sys
from pathlib import Path

from pypi_attestations._cli import main
from sigstore.models import ClientTrustConfig
from sigstore.verify import Verifier

root = ClientTrustConfig.from_json(Path(sys.argv.pop(1)).read_text(encoding="utf-8")).trusted_root
Verifier.production = classmethod(lambda cls, offline=False: cls(trusted_root=root))
sys.argv[0] = "pypi-attestations"
main()
"""


def _normalize(name: str) -> str:
    """PEP 503 project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str:
    """The project name a wheel or sdist file name starts with."""
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
    return _normalize(stem.split("-", 1)[0])


def _loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _get(url: str, accept: str) -> bytes:
    parts = urlsplit(url)
    if not (parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))):
        raise SystemExit(f"refusing a URL that is neither https nor http on loopback: {url}")
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 - scheme checked above
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def _listed_files(index_url: str, project: str, wanted: set[str]) -> dict[str, dict[str, object]]:
    """The index's file entries for ``project``, fetched until every wanted name shows (bounded)."""
    url = f"{index_url.rstrip('/')}/{project}/"
    files: dict[str, dict[str, object]] = {}
    for attempt in range(1, _ATTEMPTS + 1):
        page = json.loads(_get(url, _SIMPLE_JSON))
        files = {str(entry["filename"]): entry for entry in page.get("files", [])}
        if wanted <= files.keys():
            return files
        print(f"{url}: {len(wanted - files.keys())} file(s) not listed yet (attempt {attempt}/{_ATTEMPTS})")
        if attempt < _ATTEMPTS:
            time.sleep(_PAUSE_S)
    return files


def main(argv: list[str] | None = None) -> int:
    """Check every distribution in the folder; print one line per problem; 0 when there is none."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--index-url", required=True, help="simple index root, e.g. https://test.pypi.org/simple/")
    parser.add_argument("--repository", required=True, help="URL of the repository that published the files")
    parser.add_argument("dist", type=Path, help="folder holding the distributions")
    args = parser.parse_args(argv)

    dists = sorted(p for p in args.dist.iterdir() if p.is_file() and p.name.endswith((".whl", ".tar.gz", ".zip")))
    if not dists:
        print(f"no distributions in {args.dist}")
        return 1
    verifier = ["pypi-attestations"]
    trust_config = os.environ.get(_TRUST_CONFIG_ENV, "")
    if trust_config:
        print(
            f"::warning title=self-test::{_TRUST_CONFIG_ENV} is set: provenance is verified against the Sigstore "
            f"instance in {trust_config}, not Sigstore production (offline sandbox only)"
        )
        verifier = [sys.executable, "-c", _CUSTOM_TRUST_CLI, trust_config]
    problems: list[str] = []
    by_project: dict[str, list[Path]] = {}
    for dist in dists:
        by_project.setdefault(_project_of(dist.name), []).append(dist)
    with tempfile.TemporaryDirectory() as scratch:
        for project, paths in by_project.items():
            listed = _listed_files(args.index_url, project, {p.name for p in paths})
            for dist in paths:
                entry = listed.get(dist.name)
                if entry is None:
                    problems.append(f"{dist.name}: not listed on {args.index_url}{project}/")
                    continue
                local = hashlib.sha256(dist.read_bytes()).hexdigest()
                hashes = entry.get("hashes")
                remote = hashes.get("sha256") if isinstance(hashes, dict) else None
                if remote != local:
                    problems.append(f"{dist.name}: the index has sha256 {remote}, the local file {local}")
                    continue
                provenance_url = entry.get("provenance")
                if not isinstance(provenance_url, str) or not provenance_url:
                    problems.append(f"{dist.name}: the index lists no provenance")
                    continue
                provenance = Path(scratch) / f"{dist.name}.provenance.json"
                provenance.write_bytes(_get(provenance_url, "application/json"))
                verify = subprocess.run(
                    [
                        *verifier,
                        "verify", "pypi",
                        "--repository", args.repository,
                        "--provenance-file", str(provenance),
                        str(dist),
                    ],
                    capture_output=True, text=True, timeout=300, check=False,
                )  # fmt: skip
                if verify.returncode != 0:
                    problems.append(f"{dist.name}: provenance does not verify: {verify.stderr.strip()}")
                else:
                    print(f"OK {dist.name}: on the index, sha256 matches, provenance verifies")
    for problem in problems:
        print(f"::error title=self-test::{problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
