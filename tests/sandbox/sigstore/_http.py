"""The Sigstore services on the sandbox's one loopback HTTP framework (:mod:`tests.sandbox._http`), each with
its own control for latency and injected failures.

Each service listens on its own 127.0.0.1 port (as Fulcio, Rekor and the TSA live on separate hosts), in a
daemon thread, speaking HTTP/1.1 with keep-alive like the real services behind their load balancers.
Before a request reaches the service, its :class:`ServiceControl` may delay it (``latency``) or answer it
with a queued failure (``fail_next``, ``drop_next``).

Faults as the Warehouse stand-in takes them: ``ServiceControl.faults`` is the framework's ``FaultPlan``, whose
endpoint names are the service names, ``fulcio``, ``rekor`` and ``tsa``, e.g.
``sigstore.faults.add("rekor", Fault(kind="rate_limit", seconds=1, times=1))``: ``status``, ``rate_limit``
(429 with ``Retry-After``), ``delay``, ``reset`` (a TCP reset, no response bytes) and ``malformed``, with
``times`` and ``after``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.sandbox._http import Fault, FaultKind, FaultPlan, Request, ResetConnection, Response
from tests.sandbox._http import LoopbackServer as SandboxServer


@dataclass(frozen=True)
class HttpResponse:
    """What a service answers: status, body and content type."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, document: Any) -> HttpResponse:
        """A JSON answer."""
        return cls(status, json.dumps(document).encode())


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the service saw it (never the Authorization header: it carries a token)."""

    method: str
    path: str
    #: 0 when the connection was reset without an answer.
    status: int
    injected: bool
    #: The kind of the ``Fault`` that answered (None: the service or a ``fail_next``/``drop_next`` did).
    fault: FaultKind | None = None
    #: ``time.monotonic()`` when the request arrived, before any delay.
    started: float = 0.0


@dataclass(frozen=True)
class _Failure:
    status: int | None  # None: drop the connection without answering
    body: bytes


# A service's request handler: (method, path, headers, body) → response.
Handler = Callable[[str, str, dict[str, str], bytes], HttpResponse]


@dataclass
class ServiceControl:
    """Fault injection and observation for one service.

    ``latency`` (seconds) delays every request before it is handled; ``fail_next`` queues failures that
    answer the next requests instead of the service; ``faults`` (a ``FaultPlan``, endpoint = ``name``)
    injects ``Fault``s; ``requests`` lists every request, injected or not.
    """

    name: str
    latency: float = 0.0
    #: Faults for this service under the endpoint name ``name``; ``LoopbackSigstore`` shares one plan between
    #: its three services.
    faults: FaultPlan = field(default_factory=FaultPlan)
    _failures: deque[_Failure] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: SandboxServer | None = None

    def fail_next(self, status: int = 503, *, times: int = 1, message: str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` and a JSON ``{"code", "message"}`` body."""
        body = json.dumps({"code": status, "message": message or f"injected failure ({self.name})"}).encode()
        with self._lock:
            self._failures.extend(_Failure(status, body) for _ in range(times))

    def drop_next(self, *, times: int = 1) -> None:
        """Close the connection of the next ``times`` requests without answering (a reset mid-request)."""
        with self._lock:
            self._failures.extend(_Failure(None, b"") for _ in range(times))

    def add_fault(self, fault: Fault) -> Fault:
        """Attach ``fault`` to this service (the same as ``faults.add(name, fault)``)."""
        return self.faults.add(self.name, fault)

    def reset(self) -> None:
        """Forget queued failures, this service's faults, latency and recorded requests."""
        with self._lock:
            self._failures.clear()
            self.latency = 0.0
        if self._server is not None:
            self._server.requests.clear()
        self.faults.clear(self.name)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request this service was sent, in arrival order."""
        if self._server is None:
            return []
        return [
            RecordedRequest(
                r.method, r.path + (f"?{r.query}" if r.query else ""), r.status or 0, r.injected, r.fault, r.started
            )
            for r in self._server.requests.records
        ]

    @property
    def pending_failures(self) -> int:
        """Failures queued but not yet served."""
        with self._lock:
            return len(self._failures)

    def next_failure(self) -> _Failure | None:
        """The queued failure that answers the next request, if any (taken off the queue)."""
        with self._lock:
            return self._failures.popleft() if self._failures else None


class LoopbackServer(SandboxServer):
    """One service on 127.0.0.1 with a free port, served from a daemon thread."""

    def __init__(self, control: ServiceControl, handler: Handler) -> None:
        super().__init__(self._route)
        self.control = control
        self._handler = handler
        # One plan for the three services, each under its own endpoint name.
        self.faults = control.faults
        control._server = self

    def _route(self, request: Request) -> tuple[str, Callable[[], Response]]:
        control = self.control
        if control.latency > 0:
            time.sleep(control.latency)

        def answer() -> Response:
            failure = control.next_failure()
            if failure is not None:
                if failure.status is None:
                    raise ResetConnection
                return Response(failure.status, failure.body, "application/json", injected=True)
            headers = {name.lower(): value for name, value in request.headers.items()}
            target = request.path + (f"?{request.raw_query}" if request.raw_query else "")
            try:
                served = self._handler(request.method, target, headers, request.body)
            except Exception as exc:  # a bug in the sandbox must surface as a 500, not a hung client
                served = HttpResponse.json(500, {"code": 500, "message": f"sandbox error: {exc!r}"})
            return Response(served.status, served.body, served.content_type)

        return control.name, answer


__all__ = ["Handler", "HttpResponse", "LoopbackServer", "RecordedRequest", "ServiceControl"]
