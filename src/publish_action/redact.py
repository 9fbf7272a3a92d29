"""Everything that hides secrets in text and makes text from outside safe to print.

Two kinds of danger meet here. Secrets (OIDC tokens, minted upload tokens, passwords in URLs) must never
be shown, whatever library put them into an error message. And text that comes from outside (an index's
error page, a Sigstore error, a field of a distribution's metadata) must not be able to speak to the
runner: GitHub reads any log line that starts with ``::`` as a workflow command (``::add-mask::``,
``::error``, ``::set-output``), so a newline inside such text could forge one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: Anything shaped like a JWT: a base64url header starting ``{"``, a dot, a payload, maybe a signature.
_JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
#: PyPI API tokens and minted upload tokens (macaroons behind a ``pypi-`` prefix).
_PYPI_TOKEN = re.compile(r"pypi-[A-Za-z0-9_-]{16,}")
#: The user information of any URL in free text: ``scheme://user:secret@``.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")
#: C0 and C1 control characters and DEL: line breaks, escapes, anything a terminal or runner interprets.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

HIDDEN = "***"


def redact_url(url: object) -> str:
    """``url`` without user information, query string or fragment: safe to show, even when malformed."""
    text = str(url)
    try:
        parts = urlsplit(text)
        host = parts.netloc.rpartition("@")[2]
        # What remains may still hold a token where a URL was expected (a path, a scheme-less value).
        return hide_secrets(urlunsplit((parts.scheme, host, parts.path, "", "")))
    except ValueError:
        return hide_secrets(text.partition("?")[0])


def hide_secrets(text: str) -> str:
    """``text`` with URL credentials, JWT-shaped strings and PyPI tokens replaced by ``***``."""
    text = _USERINFO.sub(lambda match: f"{match.group('scheme')}{HIDDEN}@", text)
    text = _JWT_SHAPE.sub(HIDDEN, text)
    return _PYPI_TOKEN.sub(HIDDEN, text)


def one_line(text: str) -> str:
    """``text`` on one line: every run of control characters (line breaks included) becomes one space."""
    return _CONTROL.sub(" ", text).strip()


def without_controls(text: str) -> str:
    """``text`` with each control character (line breaks included) replaced by a space, indentation kept."""
    return _CONTROL.sub(lambda match: " " * len(match.group()), text)


def outside_text(text: str, limit: int = 400) -> str:
    """Text from outside, ready to print: secrets hidden, on one line, at most ``limit`` characters.

    Secrets are hidden before the text is cut, so that no piece of a token survives the cut unrecognised.
    """
    shown = one_line(hide_secrets(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def first_line(text: str, limit: int = 300) -> str:
    """The first line of ``text``, secrets hidden, cut to ``limit``: what failed, never a whole body."""
    lines = text.strip().splitlines()
    return outside_text(lines[0], limit) if lines else ""


def shown_name(name: str) -> str:
    """A file name as it may be printed: each control or other unprintable character escaped (``\\n``,
    ``\\x1b``), so that a name never breaks a log line, a table row or an output value."""
    if name.isprintable():
        return name
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in name)


__all__ = [
    "HIDDEN",
    "first_line",
    "hide_secrets",
    "one_line",
    "outside_text",
    "redact_url",
    "shown_name",
    "without_controls",
]
