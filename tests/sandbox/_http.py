"""The loopback HTTP machinery shared by the sandbox stand-ins.

A stand-in is a :class:`LoopbackServer` (stdlib ``ThreadingHTTPServer`` in a background thread, bound to
127.0.0.1 on a free port, optionally TLS with a throwaway ``trustme`` CA) plus a routing function that turns
a parsed :class:`Request` into a :class:`Response`. Everything around the routing is shared: the request log,
fault injection (:class:`Fault`, :class:`FaultPlan`) and raw socket control, so a fault can close the
connection without any response at all.

No framework on purpose: the real clients (twine, uv, httpx, id) must see plain HTTP/1.1 with exact status
lines, reason phrases and headers, and a reset must really be a TCP reset.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from tests import canary

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "LoopbackServer",
    "Request",
    "RequestLog",
    "RequestRecord",
    "ResetConnection",
    "Response",
    "TLSMaterial",
    "fault_response",
    "json_response",
]

#: The kinds of fault a stand-in can inject. See :class:`Fault`.
FaultKind = Literal["status", "delay", "rate_limit", "reset", "malformed"]

# Bodies are read whole; a bound keeps a runaway client from eating the machine's memory.
_MAX_BODY = 512 * 1024 * 1024


@dataclass
class Fault:
    """One injected misbehaviour of an endpoint.

    kind:
      * ``"status"``: answer ``status`` (default 503) with a small plain-text body.
      * ``"rate_limit"``: answer 429 with ``Retry-After: <seconds>`` (whole seconds, as servers send).
      * ``"delay"``: sleep ``seconds`` before handling; the request then proceeds (or meets the next fault).
      * ``"reset"``: close the TCP connection with a reset (SO_LINGER 0), no response bytes at all.
      * ``"malformed"``: answer 200 ``application/json`` whose body is not JSON.

    ``times`` is how many requests the fault hits before it is used up; ``None`` means every request.
    ``skip`` lets that many requests through untouched first.
    ``after=True`` lets the request be handled for real first (an upload is stored, a token minted) and
    only then replaces the answer with the fault: the "the server did it but you never heard" case that a
    client must survive by looking before retrying. ``after`` has no meaning for ``"delay"``.
    """

    kind: FaultKind
    status: int = 503
    seconds: float = 0.0
    times: int | None = None
    after: bool = False
    body: str | None = None
    #: Requests let through untouched before the fault starts to hit (``skip=2``: the third request is the
    #: first one it meets).
    skip: int = 0
    hits: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("status", "delay", "rate_limit", "reset", "malformed"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")
        # A delay with no bound on its length would hang a test until pytest-timeout; keep them short.
        if self.kind == "delay" and not 0 <= self.seconds <= 60:
            raise ValueError("delay seconds must be within [0, 60]")

    @property
    def exhausted(self) -> bool:
        """True once the fault has hit ``times`` requests."""
        return self.times is not None and self.hits >= self.times


class FaultPlan:
    """Faults per endpoint name, consumed in the order they were added. Thread-safe.

    >>> plan = FaultPlan()
    >>> plan.add("upload", Fault(kind="status", status=503, times=2))
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, list[Fault]] = {}

    def add(self, endpoint: str, fault: Fault) -> Fault:
        """Attach ``fault`` to ``endpoint`` (after any already there) and return it."""
        with self._lock:
            self._faults.setdefault(endpoint, []).append(fault)
        return fault

    def clear(self, endpoint: str | None = None) -> None:
        """Remove the faults of one endpoint, or of all endpoints."""
        with self._lock:
            if endpoint is None:
                self._faults.clear()
            else:
                self._faults.pop(endpoint, None)

    def pending(self, endpoint: str) -> list[Fault]:
        """The faults of ``endpoint`` that are not used up yet (a snapshot)."""
        with self._lock:
            return [f for f in self._faults.get(endpoint, []) if not f.exhausted]

    def _take(self, endpoint: str, *, after: bool) -> tuple[float, Fault | None]:
        """Consume what applies to one request: total delay, then the first live non-delay fault."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults.get(endpoint, []):
                if fault.exhausted:
                    continue
                # A request passes each fault once: in the phase the fault acts in (a delay's is before).
                its_phase = not after if fault.kind == "delay" else fault.after == after
                if its_phase and fault.skipped < fault.skip:
                    fault.skipped += 1
                    continue
                if fault.kind == "delay":
                    if not after:
                        delay += fault.seconds
                        fault.hits += 1
                    continue
                if fault.after != after or chosen is not None:
                    continue
                chosen = fault
                fault.hits += 1
        return delay, chosen


@dataclass(frozen=True)
class RequestRecord:
    """What the stand-in saw of one request and what it answered (``status`` None: connection reset)."""

    method: str
    path: str
    query: str
    endpoint: str
    status: int | None
    started: float
    duration: float
    headers: Mapping[str, str]
    fault: FaultKind | None = None
    #: The client's source port: equal ports on consecutive records mean a reused (keep-alive) connection.
    client_port: int = 0
    #: Answered (or reset) by an injected failure rather than by the stand-in's own handling.
    injected: bool = False


class RequestLog:
    """Every request a stand-in handled, in arrival order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Record one handled request."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._records.clear()

    @property
    def records(self) -> list[RequestRecord]:
        """A snapshot of the records."""
        with self._lock:
            return list(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def for_endpoint(self, endpoint: str) -> list[RequestRecord]:
        """The records of one endpoint (e.g. ``"upload"``)."""
        return [r for r in self.records if r.endpoint == endpoint]

    def count(self, endpoint: str, status: int | None = None) -> int:
        """How many requests reached ``endpoint`` (optionally: answered with ``status``)."""
        return sum(1 for r in self.for_endpoint(endpoint) if status is None or r.status == status)

    def endpoints(self) -> list[str]:
        """The endpoint names in arrival order (handy for asserting a whole conversation)."""
        return [r.endpoint for r in self.records]


@dataclass(frozen=True)
class Request:
    """A parsed request, as handed to a stand-in's router."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    client: tuple[str, int]
    #: The query string as sent (``query`` holds it parsed).
    raw_query: str = ""

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header value (case-insensitive name)."""
        value = self.headers.get(name)
        return default if value is None else str(value)

    def query_one(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    """A stand-in's answer. ``reason`` overrides the status line's reason phrase (Warehouse puts its
    error message there)."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    #: An injected failure (a test's ``fail_next``), not the stand-in's own answer.
    injected: bool = False


class ResetConnection(Exception):
    """Raised by a handler to end the request with a TCP reset and no answer (an injected drop)."""


def json_response(status: int, payload: Any, *, reason: str | None = None) -> Response:
    """A JSON response with ``Content-Type: application/json``."""
    return Response(
        status=status,
        body=json.dumps(payload).encode("utf-8"),
        content_type="application/json",
        reason=reason,
    )


class TLSMaterial:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost (via ``trustme``).

    ``ca_path`` is a PEM file clients can trust (``SSL_CERT_FILE`` for uv, ``verify=`` for httpx).
    """

    def __init__(self) -> None:
        import trustme

        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._dir = tempfile.TemporaryDirectory(prefix="sandbox-tls-")
        self.ca_path = Path(self._dir.name) / "sandbox-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the server side."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts only the sandbox CA."""
        ctx = ssl.create_default_context()
        self._ca.configure_trust(ctx)
        return ctx

    def cleanup(self) -> None:
        """Delete the CA file."""
        self._dir.cleanup()


Router = Callable[[Request], tuple[str, Callable[[], Response]]]
"""Maps a request to ``(endpoint name, handler)``; the handler runs only if no fault pre-empts it."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A real server's listen backlog (nginx: 511), not socketserver's 5: a client opening many connections at
    # once must not meet refusals the real service would never give.
    request_queue_size = 511
    # Port 0 asks the kernel for a free port; never reuse a port another test may still hold.
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], owner: LoopbackServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, on the worker thread, so a stalled client cannot block accept().
        ctx = self.owner._ssl_context
        if ctx is not None:
            try:
                request.settimeout(30)
                request = ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request are normal in fault tests; stay quiet instead of printing tracebacks.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # An idle keep-alive connection must not pin a worker thread forever.
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        # The request log is the record; stderr noise would only hide test output.
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, then the blank line.
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > _MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        owner = self.server.owner
        started = time.monotonic()
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers=self.headers,
            body=body,
            client=self.client_address,
            raw_query=split.query,
        )
        endpoint, handler = owner._router(request)

        delay, fault = owner.faults._take(endpoint, after=False)
        # Stopped while the request was held: it is never handled (nothing minted or stored) and ends unanswered.
        abandoned = bool(delay) and owner.stopped.wait(delay)
        response: Response | None = None
        dropped = False
        if fault is None and not abandoned:
            try:
                response = handler()
            except ResetConnection:
                dropped = True
            except Exception as exc:  # a bug in a stand-in must show up as a 500, not a hung client
                owner.errors.append(exc)
                response = Response(500, f"sandbox handler error: {type(exc).__name__}".encode())
            _, fault = owner.faults._take(endpoint, after=True)

        if fault is not None and not abandoned:
            response = fault_response(fault)
        status = response.status if response is not None else None
        # Record before answering: a client that reads the answer and then the log must find its request.
        owner.requests.append(
            RequestRecord(
                method=self.command,
                path=split.path,
                query=split.query,
                endpoint=endpoint,
                status=status,
                started=started,
                duration=time.monotonic() - started,
                headers=dict(self.headers.items()),
                fault=fault.kind if fault is not None else None,
                client_port=int(self.client_address[1]),
                injected=fault is not None or dropped or (response is not None and response.injected),
            )
        )
        if response is None:
            self._reset()
        else:
            # The secret canary notes which secrets this answer hands to the client, and when.
            canary.delivered(response.body, f"{self.command} {split.path}")
            self._send(response)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            # SO_LINGER with a zero timeout turns close() into a TCP RST: the client sees "connection reset
            # by peer", not a clean EOF. detach() + os.close() closes the descriptor at once: socket.close()
            # would wait for the handler's file objects, and the server's shutdown(SHUT_WR) would send a FIN
            # first.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        reason = response.reason
        if reason is not None:
            # The status line is latin-1; replace what does not fit, as Warehouse does.
            reason = reason.encode("iso-8859-1", "replace").decode("iso-8859-1").replace("\r", " ")
            reason = reason.replace("\n", " ")
        self.send_response(response.status, reason)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def fault_response(fault: Fault) -> Response | None:
    """The answer a fault gives instead of the handler's (None: reset the connection)."""
    if fault.kind == "reset":
        return None
    if fault.kind == "rate_limit":
        retry_after = str(max(0, round(fault.seconds)))
        return Response(429, (fault.body or "Too Many Requests").encode(), headers={"Retry-After": retry_after})
    if fault.kind == "malformed":
        return Response(200, (fault.body or '{"token": "pypi-tru').encode(), "application/json")
    return Response(fault.status, (fault.body or f"sandbox fault {fault.status}").encode())


_S = TypeVar("_S", bound="LoopbackServer")


class LoopbackServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread, with a request log and fault plan.

    Subclasses (the stand-ins) pass a router. Use as a context manager or call :meth:`start` /
    :meth:`stop`. ``port=0`` (default) picks a free port.
    """

    def __init__(self, router: Router, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        self._router = router
        self.host = host
        self._requested_port = port
        self.tls: TLSMaterial | None = TLSMaterial() if tls else None
        self._ssl_context = self.tls.server_context() if self.tls else None
        self.faults = FaultPlan()
        self.requests = RequestLog()
        #: Exceptions raised by handlers (each also answered 500); tests may assert it stays empty.
        self.errors: list[BaseException] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        #: Set by :meth:`stop`: a request still held by a delay then ends unanswered, as at a real server
        #: that went away, instead of answering (and handing out a secret) during some later test.
        self.stopped = threading.Event()

    @property
    def port(self) -> int:
        """The bound port (only after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        """``https`` with TLS, else ``http``."""
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash, e.g. ``http://127.0.0.1:43121``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path | None:
        """The PEM file of the CA to trust in TLS mode, else None."""
        return self.tls.ca_path if self.tls else None

    def start(self) -> None:
        """Bind and serve in a background thread."""
        if self._server is not None:
            return
        self.stopped.clear()
        self._server = _Server((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is None:
            return
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        if self.tls is not None:
            self.tls.cleanup()

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
