"""Run the loopback Sigstore as a process.

    python -m tests.sandbox.sigstore --jwks-url http://127.0.0.1:PORT/.well-known/jwks
    python -m tests.sandbox.sigstore --jwks-file jwks.json [--workdir DIR] [--rekor-latency 0.4]

Prints `PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG=<path>` (and the service URLs) on stdout once serving, then
runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.sandbox.sigstore._fulcio import KeySource
from tests.sandbox.sigstore._sandbox import LoopbackSigstore


def _jwks_from_url(url: str) -> KeySource:
    """Fetch the issuer's JWKS for every token, so an issuer started later or rotating keys still works."""

    def fetch() -> Mapping[str, Any]:
        response = httpx.get(url, timeout=5.0)
        response.raise_for_status()
        document: Mapping[str, Any] = response.json()
        return document

    return fetch


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sandbox.sigstore",
        description="Run the loopback Sigstore (Fulcio, Rekor v1, TSA) on 127.0.0.1.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--jwks-url", help="URL of the OIDC issuer's JWKS (fetched per token)")
    source.add_argument("--jwks-file", type=Path, help="a JWKS JSON file")
    parser.add_argument("--workdir", type=Path, help="where to write trust_config.json (default: a temp dir)")
    parser.add_argument("--cert-minutes", type=float, default=10.0, help="leaf certificate lifetime")
    parser.add_argument("--fulcio-latency", type=float, default=0.0, help="seconds added to each Fulcio request")
    parser.add_argument("--rekor-latency", type=float, default=0.0, help="seconds added to each Rekor request")
    parser.add_argument("--tsa-latency", type=float, default=0.0, help="seconds added to each TSA request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start, announce, serve until told to stop."""
    args = _parser().parse_args(argv)
    token_keys: KeySource = _jwks_from_url(args.jwks_url) if args.jwks_url else json.loads(args.jwks_file.read_text())
    sandbox = LoopbackSigstore(token_keys, workdir=args.workdir, cert_lifetime=timedelta(minutes=args.cert_minutes))
    sandbox.set_latency(fulcio=args.fulcio_latency, rekor=args.rekor_latency, tsa=args.tsa_latency)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with sandbox:
        print(f"PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG={sandbox.trust_config_path}")
        print(f"SIGSTORE_SANDBOX_FULCIO_URL={sandbox.fulcio_url}")
        print(f"SIGSTORE_SANDBOX_REKOR_URL={sandbox.rekor_url}")
        print(f"SIGSTORE_SANDBOX_TSA_URL={sandbox.tsa_url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
