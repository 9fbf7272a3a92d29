"""Loopback HTTP servers for the Sigstore services, with per-service fault hooks.

Each service listens on its own 127.0.0.1 port (as Fulcio, Rekor and the TSA live on separate hosts), in a
daemon thread, speaking HTTP/1.1 with keep-alive like the real services behind their load balancers.
Before a request reaches the service, its `ServiceControl` may delay it (latency) or answer it with an
injected failure, so tests can script "Rekor answers 503 once" or a slow Fulcio.

Faults in the Warehouse stand-in's style (`tests/sandbox/_http.py`): `ServiceControl.faults` is a
`FaultPlan` whose endpoint names are the service names, `fulcio`, `rekor` and `tsa`, e.g.
`sigstore.faults.add("rekor", Fault(kind="rate_limit", seconds=1, times=1))`. All five kinds work as they
do there: `status`, `rate_limit` (429 with `Retry-After`), `delay` (then the request proceeds or meets the
next fault), `reset` (a TCP reset, no response bytes) and `malformed` (200 whose body is not what the service
sends), with `times` and `after`.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.sandbox._http import Fault, FaultKind, FaultPlan, _fault_response


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
    status: int
    injected: bool
    #: The kind of the `Fault` that answered (None: the service or a `fail_next`/`drop_next` did).
    fault: FaultKind | None = None
    #: `time.monotonic()` when the request had been read, before any delay.
    started: float = 0.0


@dataclass(frozen=True)
class _Failure:
    status: int | None  # None: drop the connection without answering
    body: bytes
    content_type: str


# A service's request handler: (method, path, headers, body) → response.
Handler = Callable[[str, str, dict[str, str], bytes], HttpResponse]


@dataclass
class ServiceControl:
    """Fault injection and observation for one service.

    `latency` (seconds) delays every request before it is handled; `fail_next` queues failures that
    answer the next requests instead of the service; `faults` (a `FaultPlan`, endpoint = `name`) injects
    `Fault`s as the Warehouse stand-in does; `requests` records every request, injected or not.
    """

    name: str
    latency: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    #: Faults for this service under the endpoint name `name`; `LoopbackSigstore` shares one plan between
    #: its three services.
    faults: FaultPlan = field(default_factory=FaultPlan)
    _failures: deque[_Failure] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int = 503, *, times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` requests with `status` and a JSON `{"code", "message"}` body."""
        body = json.dumps({"code": status, "message": message or f"injected failure ({self.name})"}).encode()
        with self._lock:
            self._failures.extend(_Failure(status, body, "application/json") for _ in range(times))

    def drop_next(self, *, times: int = 1) -> None:
        """Close the connection of the next `times` requests without answering (a reset mid-request)."""
        with self._lock:
            self._failures.extend(_Failure(None, b"", "") for _ in range(times))

    def add_fault(self, fault: Fault) -> Fault:
        """Attach `fault` to this service (the same as `faults.add(name, fault)`)."""
        return self.faults.add(self.name, fault)

    def reset(self) -> None:
        """Forget queued failures, this service's faults, latency and recorded requests."""
        with self._lock:
            self._failures.clear()
            self.requests.clear()
            self.latency = 0.0
        self.faults.clear(self.name)

    @property
    def pending_failures(self) -> int:
        """Failures queued but not yet served."""
        with self._lock:
            return len(self._failures)

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _record(
        self,
        method: str,
        path: str,
        status: int,
        injected: bool,
        *,
        fault: FaultKind | None = None,
        started: float = 0.0,
    ) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, status, injected, fault, started))


# Bodies above this are refused: nothing sigstore-python sends comes close.
_MAX_BODY = 16 * 1024 * 1024


def _handler_class(control: ServiceControl, handler: Handler) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"sandbox-{control.name}"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `control.requests` instead of stderr."""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._send(HttpResponse.json(413, {"code": 413, "message": "request too large"}))
                return
            body = self.rfile.read(length) if length else b""
            started = time.monotonic()
            if control.latency > 0:
                time.sleep(control.latency)
            delay, fault = control.faults._take(control.name, after=False)
            if delay:
                time.sleep(delay)
            if fault is not None:
                self._answer_fault(fault, started)
                return
            failure = control._next_failure()
            if failure is not None:
                if failure.status is None:
                    control._record(self.command, self.path, 0, injected=True, started=started)
                    self.close_connection = True
                    return
                control._record(self.command, self.path, failure.status, injected=True, started=started)
                self._send(HttpResponse(failure.status, failure.body, failure.content_type))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                response = handler(self.command, self.path, headers, body)
            except Exception as exc:  # a bug in the sandbox must surface as a 500, not a hung client
                response = HttpResponse.json(500, {"code": 500, "message": f"sandbox error: {exc!r}"})
            _, fault = control.faults._take(control.name, after=True)
            if fault is not None:
                # The service did the work (a log entry exists, a certificate was issued); the answer is lost.
                self._answer_fault(fault, started)
                return
            control._record(self.command, self.path, response.status, injected=False, started=started)
            self._send(response)

        def _answer_fault(self, fault: Fault, started: float) -> None:
            """Answer with `fault` as the Warehouse stand-in does; a reset is a TCP RST with no bytes."""
            answer = _fault_response(fault)
            status = answer.status if answer is not None else 0
            control._record(self.command, self.path, status, injected=True, fault=fault.kind, started=started)
            if answer is None:
                self.close_connection = True
                try:
                    # SO_LINGER 0 turns close() into a reset; detach so nothing flushes a FIN first.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    os.close(self.connection.detach())
                except OSError:
                    pass
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def _send(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = _serve
        do_POST = _serve

    return _RequestHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A real service's listen backlog, not socketserver's 5: signing many files at once opens many
    # connections at once, which Sigstore's services accept.
    request_queue_size = 511


class LoopbackServer:
    """One service on 127.0.0.1 with a free port, served from a daemon thread."""

    def __init__(self, control: ServiceControl, handler: Handler) -> None:
        """Bind at once (port 0: the OS picks a free port); serving starts with `start`."""
        self.control = control
        self._server = _Server(("127.0.0.1", 0), _handler_class(control, handler))
        # A short poll interval keeps `stop()` quick: shutdown waits for the loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{control.name}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Base URL, no trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (if started) and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
