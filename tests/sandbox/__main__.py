"""Run an identity provider's stand-in (GitHub by default) and the Warehouse stand-in as a process.

    python -m tests.sandbox [--provider github|gitlab|google] [--tls] [--port N] [--issuer-port N]
                            [--project NAME] [--pending] [--repository PATH] [--workflow FILE]
                            [--environment ENV] [--email ADDR] [--sub ID]
                            [--env-file PATH] [--audience AUD] [--token-lifetime S]

Once both servers listen it prints ``export NAME=value`` lines (shell-quoted, flushed) and, with
``--env-file``, writes the same lines to that file (atomically: the file appears complete or not at all,
so a script can wait for it). Then it serves until Ctrl-C or SIGTERM. The variables:

* the job's: GitHub ``ACTIONS_ID_TOKEN_REQUEST_URL``, ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``, ``GITHUB_*``, ...;
  GitLab ``GITLAB_CI``, ``CI_*``, ``<AUDIENCE>_ID_TOKEN`` and ``SIGSTORE_ID_TOKEN`` (tokens made at start,
  living ``GitLabClaims.lifetime``); Google ``GCE_METADATA_HOST``
* ``SANDBOX_REPOSITORY_URL`` (legacy upload URL), ``SANDBOX_INDEX_URL`` (simple index),
  ``SANDBOX_WAREHOUSE_URL``, ``SANDBOX_ISSUER_URL``, ``SANDBOX_JWKS_URL``, ``SANDBOX_PROJECT``
* with ``--tls``: ``SANDBOX_CA_FILE`` and ``SSL_CERT_FILE`` (the CA to trust; uv reads ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tests.sandbox.fixtures import DEFAULT_PROJECT, DEFAULT_PUBLISHER, start_sandbox
from tests.sandbox.gitlab_issuer import GitLabIssuer
from tests.sandbox.google_metadata import GoogleClaims, GoogleMetadataServer
from tests.sandbox.oidc_issuer import OIDCIssuer
from tests.sandbox.warehouse import GitHubPublisher, GitLabPublisher, GooglePublisher, Publisher, Warehouse

_GITLAB_DEFAULT = ("octo-group/sandbox-demo", ".gitlab-ci.yml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--provider", choices=("github", "gitlab", "google"), default="github", help="the job's identity"
    )
    parser.add_argument("--tls", action="store_true", help="serve the index over https (throwaway CA)")
    parser.add_argument("--port", type=int, default=0, help="index port (default: a free one)")
    parser.add_argument("--issuer-port", type=int, default=0, help="issuer port (default: a free one)")
    parser.add_argument("--project", default=DEFAULT_PROJECT, help="project the publisher may publish")
    parser.add_argument("--pending", action="store_true", help="register a pending publisher (no project yet)")
    parser.add_argument(
        "--repository", help=f"publisher repository (GitHub: {DEFAULT_PUBLISHER.repository}; GitLab project path)"
    )
    parser.add_argument("--workflow", help="publisher workflow file (GitLab: the CI file path)")
    parser.add_argument("--email", default=GoogleClaims().email, help="Google publisher service account")
    parser.add_argument("--sub", default="", help="Google publisher subject (default: any)")
    parser.add_argument("--environment", default=DEFAULT_PUBLISHER.environment, help="publisher environment")
    parser.add_argument("--audience", default="pypi", help="what /_/oidc/audience answers")
    parser.add_argument("--token-lifetime", type=int, default=900, help="minted token lifetime, seconds")
    parser.add_argument("--env-file", type=Path, help="also write the export lines to this file")
    return parser


def export_lines(issuer: OIDCIssuer | GitLabIssuer | GoogleMetadataServer, index: Warehouse, project: str) -> list[str]:
    """The ``export NAME=value`` lines describing a running sandbox."""
    env = issuer.env(audiences=(index.audience, "sigstore")) if isinstance(issuer, GitLabIssuer) else issuer.env()
    env.update(
        {
            "SANDBOX_WAREHOUSE_URL": index.url,
            "SANDBOX_REPOSITORY_URL": index.upload_url,
            "SANDBOX_INDEX_URL": index.simple_url,
            "SANDBOX_ISSUER_URL": issuer.url,
            "SANDBOX_PROJECT": project,
        }
    )
    if not isinstance(issuer, GoogleMetadataServer):
        env["SANDBOX_JWKS_URL"] = issuer.jwks_url
    if index.ca_path is not None:
        env["SANDBOX_CA_FILE"] = str(index.ca_path)
        env["SSL_CERT_FILE"] = str(index.ca_path)
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Start, announce, serve until a signal; returns the exit code."""
    args = _parser().parse_args(argv)
    issuer: OIDCIssuer | GitLabIssuer | GoogleMetadataServer
    if args.provider == "github":
        publisher: Publisher = GitHubPublisher(
            repository=args.repository or DEFAULT_PUBLISHER.repository,
            workflow=args.workflow or DEFAULT_PUBLISHER.workflow,
            environment=args.environment,
        )
        issuer, index = start_sandbox(
            project=args.project,
            publisher=publisher,  # type: ignore[arg-type]
            pending=args.pending,
            tls=args.tls,
            audience=args.audience,
            warehouse_port=args.port,
            issuer_port=args.issuer_port,
        )
    else:
        if args.provider == "gitlab":
            namespace, _, project = (args.repository or _GITLAB_DEFAULT[0]).rpartition("/")
            publisher = GitLabPublisher(namespace, project, args.workflow or _GITLAB_DEFAULT[1], args.environment)
            issuer = GitLabIssuer(port=args.issuer_port)
            index = Warehouse(gitlab_issuer=issuer, audience=args.audience, tls=args.tls, port=args.port)
        else:
            publisher = GooglePublisher(args.email, args.sub)
            issuer = GoogleMetadataServer(port=args.issuer_port)
            index = Warehouse(google_issuer=issuer, audience=args.audience, tls=args.tls, port=args.port)
        if args.pending:
            index.add_pending_publisher(args.project, publisher)
        else:
            index.add_publisher(args.project, publisher)
        issuer.start()
        try:
            index.start()
        except BaseException:
            issuer.stop()
            raise
    index.token_lifetime = args.token_lifetime
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        lines = export_lines(issuer, index, args.project)
        text = "\n".join(lines) + "\n"
        if args.env_file is not None:
            _write_atomically(args.env_file, text)
        sys.stdout.write(text)
        sys.stdout.flush()
        # Bounded waits so a signal is noticed promptly on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        index.stop()
        issuer.stop()
        print(
            f"sandbox stopped: {len(index.requests)} index requests, {len(index.files)} files stored",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
