"""The suite-wide secret canary: every secret the offline world hands out, and every text a user would read.

Every stand-in registers each secret the moment it exists (:func:`register`): the OIDC issuer's JWTs and its
runtime request token, the Warehouse stand-in's minted upload tokens, API tokens and account passwords, the
peer indexes' passwords, the Sigstore stand-in's test tokens, and the credentials a test passes as inputs
(``password``, userinfo in ``repository-url`` / ``check-url``). Every place a test reads what the program
showed checks it (:func:`assert_clean`): ``tests.helpers.run_action`` (log, ``GITHUB_OUTPUT``, step
summary), ``run_process``, and the e2e harness (``act`` and ``docker run`` output). The pytest hook at the
end of this module (a plugin registered in ``tests/conftest.py``) checks every test's failure report and
captured output as well, and rewrites them so that a report never prints a secret.

The one place a secret may appear is a line that is exactly ``::add-mask::<secret>`` (in ``act``'s log:
after act's ``[job/step]   | `` prefix). A finding names the kind of secret, a fingerprint (the first 12
hex digits of its sha256, never the value) and where it appeared, with the line redacted.

Masking order (:func:`mask_problems`): a JWT or minted token that an HTTP stand-in handed to the program
while a run was being watched must be masked, and its ``::add-mask::`` line must come before the first
non-mask line the program wrote after the stand-in sent it. This holds for runs that fail early too (a
refused exchange, an attestation failure, a refused first upload): the moment of hand-out, not the first
upload, is the reference.

A test that deliberately shows a registered secret somewhere says so with :func:`allow` (see
``tests/test_canary.py``); nothing else is exempt.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

__all__ = [
    "HANDED_OUT_KINDS",
    "Secret",
    "Transcript",
    "allow",
    "assert_clean",
    "assert_run_clean",
    "delivered",
    "find",
    "fingerprint",
    "mask_problems",
    "redact",
    "register",
    "register_basic",
    "register_inputs",
    "watch",
]

#: Shorter values would match ordinary text (a password ``x`` is everywhere); they are not registered.
MIN_LENGTH = 6
#: Values at least this long are found through their last ``_WINDOW`` characters in one pass over a text.
_WINDOW = 12

#: Kinds the program is handed over HTTP during a run and must mask at once.
OIDC_JWT = "OIDC token (JWT)"
MINTED_TOKEN = "minted upload token"
HANDED_OUT_KINDS = frozenset({OIDC_JWT, MINTED_TOKEN})

_MASK = "::add-mask::"
# act prints each line a step writes after a "[workflow/job]   | " prefix.
_ACT_PREFIX = re.compile(r"^\[[^\]\n]*\]\s+\|\s?")


def fingerprint(value: str) -> str:
    """What a report shows instead of a secret: 12 hex digits of its sha256 and its length."""
    return f"sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}, {len(value)} chars"


@dataclass(eq=False)
class Secret:
    """One registered secret. Its repr never shows the value."""

    value: str = field(repr=False)
    kind: str
    origin: str = ""

    @property
    def label(self) -> str:
        """``kind [fingerprint]`` (and where it came from)."""
        where = f" from {self.origin}" if self.origin else ""
        return f"{self.kind}{where} [{fingerprint(self.value)}]"


@dataclass
class Delivery:
    secret: Secret
    #: Characters the watched run had written when the stand-in sent the secret (None: no run watched).
    offset: int | None
    #: The request this answered (``"POST /_/oidc/mint-token"``), when the stand-in says.
    request: str | None = None

    def is_its_answer_line(self, line: str) -> bool:
        """True for the program's debug line about this very answer (``POST <url> → HTTP 200``).

        An HTTP client logs it when the status line arrives, before it reads the body holding the secret, so
        it is the one line that may come between the hand-out and the mask. It cannot hold the secret (the
        leak check holds for it as for every line).
        """
        if self.request is None:
            return False
        method, _, path = self.request.partition(" ")
        return re.search(rf"\b{re.escape(method)} \S*{re.escape(path)}(?:\?\S*)? → HTTP \d{{3}}\s*$", line) is not None


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.by_value: dict[str, Secret] = {}
        self.by_tail: dict[str, list[Secret]] = {}
        self.short: list[Secret] = []
        self.deliveries: list[Delivery] = []
        self.allowed: set[str] = set()
        self.transcript: Transcript | None = None


_REGISTRY = _Registry()


def register(value: str | None, kind: str, origin: str = "") -> str | None:
    """Register ``value`` as a secret of ``kind`` (idempotent); return it unchanged, for inline use."""
    if not value or len(value) < MIN_LENGTH:
        return value
    with _REGISTRY.lock:
        if value in _REGISTRY.by_value:
            return value
        secret = Secret(value, kind, origin)
        _REGISTRY.by_value[value] = secret
        if len(value) >= _WINDOW:
            _REGISTRY.by_tail.setdefault(value[-_WINDOW:], []).append(secret)
        else:
            _REGISTRY.short.append(secret)
    return value


def register_basic(username: str, password: str | None, kind: str, origin: str = "") -> None:
    """Register a password and the HTTP Basic credential (``base64(user:password)``) it makes."""
    if not password:
        return
    register(password, kind, origin)
    if len(password) >= MIN_LENGTH:
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        register(basic, f"{kind} (HTTP Basic)", origin)


def register_url_credentials(url: str | None, origin: str) -> None:
    """Register the password (and ``user:password``) embedded in a URL's userinfo, if any."""
    if not url or "@" not in url:
        return
    try:
        parts = urlsplit(url.strip())
        password = parts.password
        username = parts.username or ""
    except ValueError:
        return
    if password:
        for form in {password, unquote(password)}:
            register(form, "URL credential", origin)
        userinfo = parts.netloc.rpartition("@")[0]
        register(userinfo, "URL credential (userinfo)", origin)
        register_basic(unquote(username), unquote(password), "URL credential", origin)


def register_inputs(inputs: Mapping[str, str], origin: str) -> None:
    """Register the credentials among a run's inputs (``password``, URL userinfo); names any case/spelling."""
    for name, value in inputs.items():
        key = name.lower().replace("_", "-").removeprefix("input-")
        if key == "password":
            register(value, "password input", origin)
            users = [v for n, v in inputs.items() if n.lower().replace("_", "-").removeprefix("input-") == "user"]
            register_basic(users[0] if users and users[0] else "__token__", value, "password input", origin)
        elif key in ("repository-url", "check-url"):
            register_url_credentials(value, origin)


def allow(value: str) -> None:
    """Exempt one secret from every check, for a test that shows it on purpose (say why at the call)."""
    with _REGISTRY.lock:
        _REGISTRY.allowed.add(value)


def find(text: str) -> list[tuple[Secret, int]]:
    """Every registered secret in ``text`` with its start offset, in text order (allowed ones left out)."""
    if not text:
        return []
    hits: list[tuple[Secret, int]] = []
    with _REGISTRY.lock:
        short = list(_REGISTRY.short)
        allowed = set(_REGISTRY.allowed)
    tails = _REGISTRY.by_tail
    for secret in short:
        start = text.find(secret.value)
        while start != -1:
            hits.append((secret, start))
            start = text.find(secret.value, start + 1)
    get = tails.get
    for end in range(_WINDOW, len(text) + 1):
        candidates = get(text[end - _WINDOW : end])
        if candidates:
            for secret in list(candidates):
                start = end - len(secret.value)
                if start >= 0 and text.startswith(secret.value, start):
                    hits.append((secret, start))
    return sorted((hit for hit in hits if hit[0].value not in allowed), key=lambda hit: hit[1])


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``«kind sha256:…»``."""
    hits = find(text)
    if not hits:
        return text
    out: list[str] = []
    position = 0
    for secret, start in hits:
        if start < position:
            continue  # overlapping with one already replaced
        out.append(text[position:start])
        out.append(f"«{secret.kind} {fingerprint(secret.value)}»")
        position = start + len(secret.value)
    out.append(text[position:])
    return "".join(out)


def _line_at(text: str, offset: int) -> tuple[int, str]:
    """The 1-based number and the text of the line holding ``offset``."""
    begin = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text.count("\n", 0, offset) + 1, text[begin : end if end != -1 else len(text)]


def _is_mask_line(line: str, value: str | None = None) -> bool:
    body = _ACT_PREFIX.sub("", line.rstrip("\r"), count=1)
    if value is None:
        return body.startswith(_MASK)
    return body == _MASK + value


def _excerpt(line: str, limit: int = 240) -> str:
    shown = redact(line).strip()
    return shown if len(shown) <= limit else shown[:limit] + "…"


def leaks(text: str, where: str, *, mask_lines: bool = True) -> list[str]:
    """One message per registered secret in ``text`` outside a ``::add-mask::<secret>`` line."""
    problems: list[str] = []
    for secret, start in find(text):
        number, line = _line_at(text, start)
        if mask_lines and _is_mask_line(line, secret.value):
            continue
        inside = " (a mask line carrying more than the secret)" if _is_mask_line(line) else ""
        problems.append(f"{secret.label} appeared in {where}, line {number}{inside}: {_excerpt(line)}")
    return problems


def assert_clean(texts: Mapping[str, str], *, mask_lines: Iterable[str] = ()) -> None:
    """Fail (without showing any secret) if a registered secret is in any of ``texts`` (where → text).

    Only the texts named in ``mask_lines`` (logs) may carry ``::add-mask::<secret>`` lines.
    """
    allowed = set(mask_lines)
    problems = [problem for where, text in texts.items() for problem in leaks(text, where, mask_lines=where in allowed)]
    if problems:
        raise AssertionError(
            "secret canary: " + "\n  ".join(["a secret the program must never show was shown:", *problems])
        )


# -- watched runs: when a stand-in hands a secret over, and what the program had written by then ----------------


class Transcript:
    """A text stream that records what is written (stdout and stderr interleaved) and passes it on."""

    def __init__(self, target: Any, shared: _Shared) -> None:
        self._target = target
        self._shared = shared

    def write(self, text: str) -> int:
        with self._shared.lock:
            self._shared.starts.append((self._shared.length, threading.get_ident()))
            self._shared.chunks.append(text)
            self._shared.length += len(text)
            self._target.write(text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        # flush, encoding, isatty, fileno, …: whatever the stream underneath answers.
        return getattr(self._target, name)

    def offset(self) -> int:
        with self._shared.lock:
            return self._shared.length

    def text(self) -> str:
        with self._shared.lock:
            return "".join(self._shared.chunks)

    def writer_at(self, offset: int) -> int | None:
        """The thread that wrote the character at ``offset``."""
        with self._shared.lock:
            starts = list(self._shared.starts)
        index = bisect.bisect_right(starts, (offset, float("inf"))) - 1
        return starts[index][1] if index >= 0 else None


@dataclass
class _Shared:
    lock: threading.Lock = field(default_factory=threading.Lock)
    chunks: list[str] = field(default_factory=list)
    #: (offset, thread) of each chunk: which thread wrote which part of the output.
    starts: list[tuple[int, int]] = field(default_factory=list)
    length: int = 0


@dataclass
class Watch:
    """One watched run: its interleaved output (in-process runs) and the secrets handed out meanwhile."""

    first_delivery: int
    transcript: Transcript | None = None
    handed_out: list[Delivery] = field(default_factory=list)
    #: The output of a run that was not captured through a transcript (a separate process).
    static_text: str = ""

    def text(self) -> str:
        return self.transcript.text() if self.transcript is not None else self.static_text


@contextmanager
def watch(*, capture_streams: bool = False) -> Iterator[Watch]:
    """Watch one run: which secrets the stand-ins hand out during it, and (``capture_streams``: an
    in-process run) sys.stdout/sys.stderr interleaved, so each hand-out has an offset in the output."""
    with _REGISTRY.lock:
        run = Watch(first_delivery=len(_REGISTRY.deliveries))
    saved = (sys.stdout, sys.stderr)
    if capture_streams:
        shared = _Shared()
        run.transcript = Transcript(sys.stdout, shared)
        sys.stdout = run.transcript  # type: ignore[assignment]
        sys.stderr = Transcript(saved[1], shared)  # type: ignore[assignment]
        with _REGISTRY.lock:
            _REGISTRY.transcript = run.transcript
    try:
        yield run
    finally:
        if capture_streams:
            sys.stdout, sys.stderr = saved
            with _REGISTRY.lock:
                _REGISTRY.transcript = None
        with _REGISTRY.lock:
            run.handed_out = _REGISTRY.deliveries[run.first_delivery :]


def delivered(body: bytes | str, request: str | None = None) -> None:
    """Called by the HTTP stand-ins just before they send ``body`` (the answer to ``request``, ``"METHOD
    /path"``): note every registered secret in it."""
    if not body or len(body) > 256 * 1024:
        return
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    hits = find(text)
    if not hits:
        return
    with _REGISTRY.lock:
        offset = _REGISTRY.transcript.offset() if _REGISTRY.transcript is not None else None
        for secret, _ in hits:
            _REGISTRY.deliveries.append(Delivery(secret, offset, request))


def mask_problems(run: Watch, where: str) -> list[str]:
    """Each JWT or minted token handed out during ``run`` is masked before the first line written after it.

    With an interleaved transcript, "after it" counts the lines of the thread that received the secret (the
    one that wrote its mask): a token minted again while other threads upload may follow their lines.
    """
    text = run.text()
    starts: list[int] = []
    position = 0
    lines = text.split("\n")
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    first_mask: dict[str, int] = {}
    for index, line in enumerate(lines):
        if _is_mask_line(line):
            first_mask.setdefault(_ACT_PREFIX.sub("", line.rstrip("\r"), count=1)[len(_MASK) :], index)
    problems: list[str] = []
    seen: set[str] = set()
    for delivery in run.handed_out:
        secret = delivery.secret
        if secret.kind not in HANDED_OUT_KINDS or secret.value in seen:
            continue
        seen.add(secret.value)
        mask = first_mask.get(secret.value)
        if mask is None:
            problems.append(f"{secret.label} was handed to the program but never masked in {where}")
            continue
        if delivery.offset is None:
            continue
        transcript = run.transcript
        receiver = transcript.writer_at(starts[mask]) if transcript is not None else None
        following = next(
            (
                i
                for i in range(len(lines))
                if starts[i] >= delivery.offset
                and lines[i]
                and not _is_mask_line(lines[i])
                and not delivery.is_its_answer_line(lines[i])
                and (receiver is None or transcript is None or transcript.writer_at(starts[i]) == receiver)
            ),
            None,
        )
        if following is not None and following < mask:
            problems.append(
                f"{secret.label} was masked on line {mask + 1} of {where}, after line {following + 1}, the first "
                f"line written once the program had it: {_excerpt(lines[following])}"
            )
    return problems


def assert_run_clean(run: Watch, texts: Mapping[str, str], *, mask_lines: Iterable[str], github: bool) -> None:
    """:func:`assert_clean` for the texts of one run, and (on a GitHub runner) :func:`mask_problems`."""
    assert_clean(texts, mask_lines=mask_lines)
    if github:
        problems = mask_problems(run, "the log")
        if problems:
            raise AssertionError("secret canary: " + "\n  ".join(["a secret was not masked in time:", *problems]))


# -- the pytest hook: failure reports and captured output -------------------------------------------------------


def _report_leaks(text: str, where: str) -> list[str]:
    """Secrets in a report, except right after ``::add-mask::`` (a test showing the run's log on failure)."""
    problems: list[str] = []
    for secret, start in find(text):
        if text[max(0, start - len(_MASK)) : start] == _MASK:
            continue
        number, line = _line_at(text, start)
        problems.append(f"{secret.label} appeared in {where}, line {number}: {_excerpt(line)}")
    return problems


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Check each phase's failure report (exception text) and captured output; never print a secret."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    problems: list[str] = []
    longrepr_text = ""
    if report.longrepr is not None and not report.skipped:
        longrepr_text = report.longreprtext
        problems += _report_leaks(longrepr_text, f"the {report.when} report (exception text)")
    sections = []
    for title, content in report.sections:
        # Each phase's report repeats the sections of the phases before it: judge only this phase's own.
        if title.endswith(f" {report.when}"):
            problems += _report_leaks(content, title)
        sections.append((title, redact(content)))
    report.sections = sections
    if longrepr_text and find(longrepr_text):
        report.longrepr = redact(longrepr_text)
    if problems:
        note = "secret canary: a registered secret appeared outside a mask line\n  " + "\n  ".join(problems)
        if report.failed and report.longrepr is not None:
            report.longrepr = (
                f"{report.longrepr if isinstance(report.longrepr, str) else redact(longrepr_text)}\n\n{note}"
            )
        else:
            report.outcome = "failed"
            report.longrepr = note
