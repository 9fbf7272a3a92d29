"""What a host in a URL is, for the decisions that depend on it: only loopback, for now."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` and its subdomains (RFC 6761), 127.0.0.0/8, ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_is_loopback(url: str) -> bool:
    """Whether ``url`` names a loopback host (False for a URL that cannot be read)."""
    try:
        return is_loopback(urlsplit(url.strip()).hostname or "")
    except ValueError:
        return False


__all__ = ["is_loopback", "url_is_loopback"]
