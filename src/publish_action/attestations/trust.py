"""Which Sigstore instance this run trusts: production through TUF, or a custom client trust config file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from publish_action.attestations import _sigstore_compat as compat
from publish_action.attestations.failures import (
    UNREACHABLE_FIX,
    OutOfAttempts,
    describe_failure,
    first_line_of,
    retrying,
)
from publish_action.errors import AttestationError
from publish_action.http import RetryPolicy, default_policy
from publish_action.settings import SIGSTORE_TRUST_CONFIG_ENV

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig
    from sigstore.verify import Verifier

logger = logging.getLogger("publish_action")


@dataclass(frozen=True)
class SigstoreTrust:
    """The Sigstore instance this run signs with and verifies against."""

    config: ClientTrustConfig
    #: True when the trust config came from ``PUBLISH_ACTION_SIGSTORE_TRUST_CONFIG`` (not Sigstore production).
    custom: bool

    def verifier(self) -> Verifier:
        """The run's verifier, trusting exactly this instance's roots.

        One for the run: it checks the run's signing certificate (chain, SCT, identity policy) once and then
        only what differs per attestation (see :func:`._sigstore_compat.certificate_once_verifier`).
        """
        return self._verifier

    @cached_property
    def _verifier(self) -> Verifier:
        return compat.certificate_once_verifier(self.config.trusted_root)


def load_trust(path: Path | None, *, offline: bool = False, policy: RetryPolicy | None = None) -> SigstoreTrust:
    """Sigstore production (refreshed through TUF unless ``offline``), or the trust config file at ``path``.

    Rekor v1 is forced: PEP 740 attestations carry v1 log entries only. A custom file is announced: it exists
    for private Sigstore deployments and tests, and the public indexes refuse what it signs.
    """
    from sigstore.models import ClientTrustConfig

    if path is None:
        try:
            config = retrying(
                "updating Sigstore's trust root",
                lambda: ClientTrustConfig.production(offline=offline),
                policy or default_policy(),
            )
        except OutOfAttempts as exc:
            raise AttestationError(
                "Sigstore could not be reached",
                f"{exc.what} failed {exc.attempts} time(s); the last failure: {exc.reason}. Nothing was uploaded.",
                UNREACHABLE_FIX,
            ) from exc
        except Exception as exc:
            raise AttestationError(
                "Sigstore's trust root cannot be loaded",
                f"the production trust root could not be updated through TUF ({describe_failure(exc)}). "
                "Nothing was uploaded.",
                "re-run the job; if it persists, set `attestations: false` and report it with this message.",
            ) from exc
        config.force_tlog_version = 1
        return SigstoreTrust(config=config, custom=False)

    try:
        config = ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))
        config.force_tlog_version = 1
        _ = config.signing_config  # refuses a config without a Rekor v1 log now, not half-way through
    except Exception as exc:
        raise AttestationError(
            "The Sigstore trust config cannot be used",
            f"{SIGSTORE_TRUST_CONFIG_ENV} names '{path}', which could not be read as a Sigstore client trust "
            f"config offering a Rekor v1 log ({type(exc).__name__}: {first_line_of(exc)}).",
            f"unset {SIGSTORE_TRUST_CONFIG_ENV} to use Sigstore's production instance, or point it at a valid "
            "client trust config file.",
        ) from exc
    logger.warning(
        "Using the Sigstore instance described by %s (%s). Custom trust configs are for private Sigstore "
        "deployments and tests: PyPI and TestPyPI only accept attestations made with Sigstore's production "
        "instance and will refuse these.",
        SIGSTORE_TRUST_CONFIG_ENV,
        path,
    )
    return SigstoreTrust(config=config, custom=True)
