"""Index URLs derived from the upload URL, and reading the simple API (PEP 691 JSON and PEP 503 HTML)."""

from __future__ import annotations

import httpx
import pytest

from publish_action.index import Index, IndexLookupError, existing_files


@pytest.mark.parametrize(
    ("upload", "check", "kind"),
    [
        ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/", "pypi"),
        ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/", "testpypi"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/simple/", "other"),
        ("https://pypi.example.org/legacy/", "https://pypi.example.org/simple/", "other"),
        ("http://127.0.0.1:3141/alice/dev/", "http://127.0.0.1:3141/alice/dev/+simple/", "other"),
        ("https://gitlab.example/api/v4/projects/7/packages/pypi/", None, "other"),
    ],
)
def test_check_url_is_derived_for_known_layouts(upload: str, check: str | None, kind: str) -> None:
    index = Index.from_urls(upload)
    assert index.check_url == check
    assert index.kind == kind


def test_explicit_check_url_wins() -> None:
    index = Index.from_urls("https://upload.pypi.org/legacy/", "https://mirror.example/simple/")
    assert index.check_url == "https://mirror.example/simple/"


def test_release_pages_only_where_the_index_has_them() -> None:
    assert Index.from_urls("https://upload.pypi.org/legacy/").release_url("demo", "1.0") == (
        "https://pypi.org/project/demo/1.0/"
    )
    assert Index.from_urls("https://test.pypi.org/legacy/").release_url("demo", "1.0") == (
        "https://test.pypi.org/project/demo/1.0/"
    )
    assert Index.from_urls("http://127.0.0.1:8080/").release_url("demo", "1.0") is None


def _client(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_pep691_json_is_asked_for_and_read() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            headers={"Content-Type": "application/vnd.pypi.simple.v1+json"},
            json={
                "meta": {"api-version": "1.1"},
                "name": "demo",
                "files": [
                    {
                        "filename": "demo-1.0.tar.gz",
                        "url": "../../files/demo-1.0.tar.gz",
                        "hashes": {"sha256": "ab" * 32},
                    },
                ],
            },
        )

    files = existing_files(_client(handler), Index.from_urls("http://127.0.0.1:9/legacy/"), "demo")
    assert files["demo-1.0.tar.gz"].sha256 == "ab" * 32
    assert seen[0].url == "http://127.0.0.1:9/simple/demo/"
    assert seen[0].headers["Accept"].startswith("application/vnd.pypi.simple.v1+json")


def test_pep503_html_hash_fragments_are_read() -> None:
    page = (
        '<html><body><a href="/packages/demo-1.0-py3-none-any.whl#sha256=' + "cd" * 32 + '">x</a>'
        '<a href="/packages/demo-1.0.tar.gz#md5=00">y</a></body></html>'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html"}, text=page)

    files = existing_files(_client(handler), Index.from_urls("http://127.0.0.1:9/"), "demo")
    assert files["demo-1.0-py3-none-any.whl"].sha256 == "cd" * 32
    assert files["demo-1.0.tar.gz"].sha256 is None


def test_unknown_project_means_no_files() -> None:
    files = existing_files(_client(lambda request: httpx.Response(404)), Index.from_urls("http://127.0.0.1:9/"), "x")
    assert files == {}


def test_an_error_page_is_a_lookup_error() -> None:
    with pytest.raises(IndexLookupError, match="HTTP 401"):
        existing_files(_client(lambda request: httpx.Response(401)), Index.from_urls("http://127.0.0.1:9/"), "x")


def test_credentials_in_the_url_never_show() -> None:
    index = Index.from_urls("https://ci-bot:s3cret-canary@pypi.example.org/legacy/")
    assert "s3cret-canary" not in index.origin
    assert "s3cret-canary" not in index.display_name
    assert "s3cret-canary" not in (index.check_url or "")
    assert index.origin == "https://pypi.example.org"
