"""The one loopback check behind plain-http Trusted Publishing, the password-over-http warning and doctor's
exemption of a job's own test index."""

from __future__ import annotations

import pytest

from publish_action.hosts import is_loopback, url_is_loopback


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/legacy/", True),
        ("http://127.8.9.10/", True),
        ("http://[::1]:3141/", True),
        ("http://localhost/", True),
        ("http://LocalHost:80/", True),
        ("http://pypi.localhost/", True),
        ("http://localhost.example.org/", False),
        ("http://10.0.0.1/", False),
        ("https://upload.pypi.org/legacy/", False),
        ("http://[::1/", False),  # unreadable
        ("not a url", False),
    ],
)
def test_loopback_hosts(url: str, loopback: bool) -> None:
    assert url_is_loopback(url) is loopback


def test_a_bare_host() -> None:
    assert is_loopback("::1") and is_loopback("[::1]") and not is_loopback("")
