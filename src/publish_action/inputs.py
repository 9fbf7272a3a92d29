"""The action's inputs by name, and the command line that takes the same names.

Kept apart from :mod:`publish_action.settings` and free of heavy imports, so that ``--help`` answers at
once: validation (pydantic) is loaded only when a run starts.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class InputSpec:
    """One input: its name in ``action.yml`` and the deprecated spelling still accepted."""

    name: str
    field: str
    help: str
    deprecated_alias: str | None = None
    is_bool: bool = False

    @property
    def env_name(self) -> str:
        """The variable GitHub sets for this input (upper-cased, hyphens kept)."""
        return "INPUT_" + self.name.upper()

    @property
    def plain_env_name(self) -> str:
        """The same with underscores (``INPUT_REPOSITORY_URL``): outside GitHub, where variable names cannot
        hold a hyphen (GitLab CI, most shells)."""
        return "INPUT_" + self.name.upper().replace("-", "_")


INPUTS: tuple[InputSpec, ...] = (
    InputSpec("user", "user", "user name for the index; __token__ with an API token or Trusted Publishing"),
    InputSpec("password", "password", "password or API token; leave empty for Trusted Publishing"),
    InputSpec("repository-url", "repository_url", "the index's upload URL", "repository_url"),
    InputSpec("packages-dir", "packages_dir", "folder holding the distributions", "packages_dir"),
    InputSpec("verify-metadata", "verify_metadata", "check metadata as twine check does", "verify_metadata", True),
    InputSpec(
        "skip-existing",
        "skip_existing",
        "skip files the index already holds byte for byte",
        "skip_existing",
        True,
    ),
    InputSpec(
        "verbose",
        "verbose",
        "show each file's progress (false: only warnings, errors and the report; debug logging adds every request)",
        is_bool=True,
    ),
    InputSpec("print-hash", "print_hash", "print sha256, md5 and blake2_256 of each file", "print_hash", True),
    InputSpec("attestations", "attestations", "sign PEP 740 attestations (Trusted Publishing only)", is_bool=True),
    InputSpec(
        "build-provenance",
        "build_provenance",
        "also sign an SLSA Provenance v1 attestation of this workflow run for each file (GitHub Actions only)",
        is_bool=True,
    ),
    InputSpec("check-url", "check_url", "simple index URL used to look up existing files (derived when empty)"),
    InputSpec("dry-run", "dry_run", "check and look up everything, upload nothing", is_bool=True),
    InputSpec(
        "check-only",
        "check_only",
        "pre-flight alone, for a build job: the index's upload rules and a look-up, no credential, nothing sent",
        is_bool=True,
    ),
    InputSpec("max-parallel", "max_parallel", "how many files upload at the same time after the first one"),
    InputSpec(
        "index-rules",
        "index_rules",
        "upload rules checked before anything is sent: auto (PyPI's for PyPI and TestPyPI), pypi, or none",
    ),
    InputSpec(
        "verify-published",
        "verify_published",
        "after the upload, confirm that the index serves every file with its sha256 (and provenance): auto (on "
        "wherever a simple API is known), true, or false",
    ),
    InputSpec(
        "outputs-file",
        "outputs_file",
        "also write the outputs to this file as NAME=value lines (a GitLab dotenv report; default on GitLab CI: "
        "publish-action.env)",
    ),
    InputSpec(
        "summary-file",
        "summary_file",
        "also write the summary to this Markdown file (default on GitLab CI: publish-action-summary.md)",
    ),
)


def parser() -> argparse.ArgumentParser:
    """The command line: one ``--<input>`` flag per input."""
    parser = argparse.ArgumentParser(
        prog="publish-action",
        usage=(
            "%(prog)s [--INPUT VALUE ...]\n"
            "       %(prog)s init [options]\n"
            "       %(prog)s doctor [options] [WORKFLOW ...]"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Publish Python distributions to PyPI, TestPyPI or any package index.\n\n"
            "commands:\n"
            "  (none)   publish: every flag below is also read from the INPUT_<NAME> variable GitHub sets for\n"
            "           the action's input of the same name (INPUT_REPOSITORY-URL); outside GitHub also with\n"
            "           underscores (INPUT_REPOSITORY_URL)\n"
            "  init     write a release workflow for Trusted Publishing, and PUBLISHING.md\n"
            "  doctor   check release workflows against what Trusted Publishing needs\n"
            "  check    pre-flight alone: PyPI's upload rules for built distributions, offline (run it where\n"
            "           you build); with --index also against what the index holds\n\n"
            "`publish-action init --help`, `doctor --help` and `check --help` describe their options."
        ),
    )
    for spec in INPUTS:
        parser.add_argument(
            f"--{spec.name}", dest=spec.field, metavar="BOOL" if spec.is_bool else "VALUE", help=spec.help
        )
    return parser


__all__ = ["INPUTS", "InputSpec", "parser"]
