"""Getting ready to sign while the index is still being talked to.

Signing needs Sigstore's trust root, a ``sigstore`` OIDC token, a key and a Fulcio certificate: round trips
that do not depend on the index. Once every file has passed
pre-flight and the look-ups, they run in a background thread while the token exchange runs in the main one.
Nothing is signed ahead: the signatures (the public log entries) are made only after the exchange succeeded,
so a refused exchange still means nothing was signed. The thread also loads sigstore-python and
pypi-attestations (a third of a second of imports), so that cost overlaps the exchange's round trips instead
of coming before them.

The thread's log lines are held back and replayed when signing starts, so they land in the log group they
belong to rather than in the middle of the exchange's.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from publish_action.attestations.signing import SigningSession
from publish_action.attestations.trust import SigstoreTrust, load_trust
from publish_action.http import RetryPolicy, default_policy
from publish_action.identity.github import GitHubContext
from publish_action.stopping import abandoned_when, block_stop_signals

logger = logging.getLogger("publish_action")

#: Seconds :meth:`SigningAhead.close` waits for the thread: its next request is never started, so this only
#: bounds the wait for one in flight.
CLOSE_WAIT = 5.0


class SigningAhead:
    """A signing session being prepared in a background thread; :meth:`session` waits for it."""

    def __init__(
        self,
        *,
        trust_config: Path | None,
        context: GitHubContext,
        mask: Callable[[str], None],
        detect: Callable[[str], str | None] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._trust_config = trust_config
        self._context = context
        self._mask = mask
        self._detect = detect
        self._policy = policy or default_policy()
        self._trust: SigstoreTrust | None = None
        self._session: SigningSession | None = None
        self._error: BaseException | None = None
        self._held = _HeldBack()
        self._taken = False
        self._abandoned = False
        #: Set by :meth:`close`: the thread starts no new request, and ends with its one in flight.
        self._abandon = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._prepare,), name="sigstore-ahead", daemon=True
        )

    def start(self) -> SigningAhead:
        """Load what both threads use here, then start loading the signing libraries and preparing in the
        background; returns without waiting for any import or request."""
        _load_shared_libraries()
        logger.addFilter(self._held)
        self._held.thread = self._thread
        self._thread.start()
        return self

    def _prepare(self) -> None:
        block_stop_signals()
        with abandoned_when(self._abandon):
            self._prepare_session()

    def _prepare_session(self) -> None:
        try:
            _load_signing_libraries()
            self._trust = load_trust(self._trust_config, policy=self._policy)
            session = SigningSession(
                trust=self._trust,
                context=self._context,
                mask=self._mask,
                detect=self._detect,
                policy=self._policy,
            )
            self._session = session
            session.prepare()
        except BaseException as exc:
            self._error = exc
        finally:
            with self._lock:
                if self._abandoned:
                    # Nobody waits for this any more: let go of the key and the certificate, and of the lines.
                    self._held.release(replay=False)
                    if self._session is not None:
                        self._session.close()

    def trust(self) -> SigstoreTrust:
        """The trust root, waiting for it; raises what loading it raised."""
        self._wait()
        if self._trust is None:
            assert self._error is not None
            raise self._error
        return self._trust

    def session(self) -> SigningSession:
        """The prepared session (key and certificate ready), waiting for it; raises what preparing raised.

        The thread's held-back log lines are replayed first, where the caller is logging now.
        """
        self._wait()
        self._taken = True
        if self._error is not None:
            raise self._error
        assert self._session is not None
        return self._session

    def close(self) -> None:
        """Let go: the thread starts no new request and is waited for (at most :data:`CLOSE_WAIT` seconds,
        for a request in flight); a session nobody took is closed (its certificate is never used) and its
        lines are dropped. Nothing it did leaves a trace on the index or in the transparency log.
        """
        if not self._taken:
            self._abandon.set()
        self._thread.join(CLOSE_WAIT)
        with self._lock:
            if self._thread.is_alive():
                # Still waiting for an answer: it lets go of what it holds when that comes.
                self._abandoned = True
                logger.debug("Signing prepared ahead: a request was still in flight when the run let go of it")
                return
        if self._taken:
            return
        self._held.release(replay=False)
        if self._session is not None and self._error is None:
            self._session.close()
            logger.info("Nothing was signed: the signing certificate fetched during the exchange was not used")

    def _wait(self) -> None:
        self._thread.join()
        self._held.release()


def _load_shared_libraries() -> None:
    """Import, in the calling thread, what the exchange running beside the background thread may import too.

    Python takes a lock per module while importing it, and a submodule's lock before its parent's: a thread
    importing ``requests.adapters`` (for sigstore-python) while another imports ``requests`` (for ``id``, to
    read the index's OIDC token) can each wait for the other, and Python then breaks the deadlock by raising
    in one of them or by handing it a module still half made. Loaded here first, the exchange imports
    nothing the background thread's libraries import: the rest of them (:func:`_load_signing_libraries`) are
    theirs alone.
    """
    import netrc  # noqa: F401 - requests reads ~/.netrc on its first request

    import id  # noqa: F401
    import requests  # noqa: F401
    import urllib3  # noqa: F401


def _load_signing_libraries() -> None:
    """Import sigstore-python, pypi-attestations and what they sign with: in the background thread, first."""
    import cryptography.hazmat.backends.openssl  # noqa: F401 - the key is made with it
    import pypi_attestations  # noqa: F401
    import sigstore.errors
    import sigstore.models
    import sigstore.oidc
    import sigstore.sign
    import sigstore.verify  # noqa: F401
    import tuf.ngclient  # noqa: F401 - Sigstore production's trust root is refreshed through TUF


class _HeldBack(logging.Filter):
    """Holds the background thread's log records back until :meth:`release` replays them, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.thread: threading.Thread | None = None
        self.records: list[logging.LogRecord] = []
        self._released = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self._released or self.thread is None or record.thread != self.thread.ident:
            return True
        self.records.append(record)
        return False

    def release(self, *, replay: bool = True) -> None:
        if self._released:
            return
        logger.removeFilter(self)
        self._released = True
        for record in self.records if replay else ():
            logger.handle(record)
        self.records.clear()
