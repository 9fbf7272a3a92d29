"""The steps of the reference pipeline that run as Python programs of their own (see ``benchmarks/pipeline.py``).

The reference action (pypa/gh-action-pypi-publish) runs a shell script that starts a separate interpreter
for each of these steps; ``benchmarks.pipeline`` starts this file the same way, by path, so that every step
pays its own interpreter start and imports, and nothing of the benchmark (or of publish-action) is loaded:

    python benchmarks/reference_steps.py read-input NAME     # one action input, as the script reads each
    python benchmarks/reference_steps.py exchange            # audience → GitHub OIDC token → mint-token
    python benchmarks/reference_steps.py attest DIR          # one Sigstore token, one signer, files in turn

``exchange`` prints the minted upload token on stdout (and its ``::add-mask::`` line on stderr), for the
caller to hand to twine. ``attest`` writes ``<dist>.publish.attestation`` next to each sdist and wheel in
``DIR``, one file after another with one signer, against the Sigstore instance named by
``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG`` (the offline world's) or Sigstore's production instance.

The steps are written for this benchmark from the reference action's documented behaviour; they are not
its code. One deliberate difference: the audience and mint-token URLs keep the scheme of
``repository-url`` (the offline world serves plain http on loopback), where the reference always uses https.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

TRUST_CONFIG_ENV = "PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG"


def read_input(name: str) -> str:
    """An action input as GitHub passes it: ``INPUT_<NAME>``, kebab-case first, then the snake_case spelling."""
    key = "INPUT_" + name.upper()
    return os.environ.get(key) or os.environ.get(key.replace("-", "_")) or ""


def exchange() -> str:
    """Trusted Publishing: the index's audience, a GitHub OIDC token for it, and a minted upload token."""
    import id as oidc_id
    import requests

    parts = urlsplit(read_input("repository-url"))
    base = f"{parts.scheme}://{parts.netloc}"
    audience_response = requests.get(f"{base}/_/oidc/audience", timeout=30)
    audience_response.raise_for_status()
    audience = audience_response.json()["audience"]
    github_token = oidc_id.detect_credential(audience=audience)
    if github_token is None:
        raise SystemExit("no GitHub OIDC token: the job needs `id-token: write`")
    mint_response = requests.post(f"{base}/_/oidc/mint-token", json={"token": github_token}, timeout=30)
    if not mint_response.ok:
        raise SystemExit(f"mint-token refused the exchange: HTTP {mint_response.status_code}")
    token = str(mint_response.json()["token"])
    print(f"::add-mask::{token}", file=sys.stderr)
    return token


def attest(packages_dir: Path) -> list[Path]:
    """Sign every sdist, then every wheel, of ``packages_dir`` in turn with one signer; return the files written."""
    from pypi_attestations import Attestation, Distribution
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken, detect_credential
    from sigstore.sign import SigningContext

    raw_token = detect_credential()  # audience "sigstore"
    if raw_token is None:
        raise SystemExit("no GitHub OIDC token for Sigstore: the job needs `id-token: write`")
    identity = IdentityToken(raw_token)
    trust_config_path = os.environ.get(TRUST_CONFIG_ENV)
    if trust_config_path:
        config = ClientTrustConfig.from_json(Path(trust_config_path).read_text(encoding="utf-8"))
    else:
        config = ClientTrustConfig.production()
    # PEP 740 attestations carry Rekor v1 entries.
    config.force_tlog_version = 1
    context = SigningContext.from_trust_config(config)

    dists = sorted(p.absolute() for p in packages_dir.glob("*.tar.gz"))
    dists += sorted(p.absolute() for p in packages_dir.glob("*.whl"))
    written: list[Path] = []
    with context.signer(identity, cache=True) as signer:
        for dist in dists:
            target = Path(f"{dist}.publish.attestation")
            if target.exists():
                raise SystemExit(f"{dist.name} already has a publish attestation: {target.name}")
            attestation = Attestation.sign(signer, Distribution.from_file(dist))
            target.write_text(attestation.model_dump_json(), encoding="utf-8")
            written.append(target)
    return written


def main(argv: list[str]) -> int:
    """Run one step; see the module docstring."""
    match argv:
        case ["read-input", name]:
            print(read_input(name), end="")
        case ["exchange"]:
            print(exchange())
        case ["attest", directory]:
            written = attest(Path(directory))
            print(f"{len(written)} attestations written", file=sys.stderr)
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
