"""The retry policy: what is transient, how long to wait, Retry-After."""

from __future__ import annotations

import httpx
import pytest

from publish_action.http import RetryPolicy, retry_after, transient_reason, with_retries


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
    ],
)
def test_statuses(status: int, transient: bool) -> None:
    assert (transient_reason(httpx.Response(status)) is not None) is transient


def test_network_failures_are_transient_but_certificate_failures_are_not() -> None:
    assert transient_reason(httpx.ConnectError("connection refused")) is not None
    assert transient_reason(httpx.ReadTimeout("slow")) is not None
    assert transient_reason(httpx.RemoteProtocolError("peer closed connection")) is not None
    assert transient_reason(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")) is None


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Response(503)) is None


def test_backoff_grows_is_jittered_and_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1
    assert policy.delay(1, retry_after=5.0) == 5.0
    assert policy.delay(1, retry_after=500.0) == 8.0


def test_with_retries_retries_transient_answers_and_logs_each(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200)])
    slept: list[float] = []
    with caplog.at_level("WARNING", logger="publish_action"):
        response = with_retries("look-up", lambda: next(answers), policy=RetryPolicy(), sleep=slept.append)
    assert response.status_code == 200
    assert len(slept) == 2
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        "look-up: attempt 1 of 5 failed",
        "look-up: attempt 2 of 5 failed",
    ]


def test_with_retries_gives_up_after_the_attempt_budget() -> None:
    calls = []

    def fail() -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        with_retries("x", fail, policy=RetryPolicy(attempts=3), sleep=lambda _s: None)
    assert len(calls) == 3


def test_index_messages_from_warehouse_devpi_and_plain_pages() -> None:
    from publish_action.index_answers import index_message

    warehouse = httpx.Response(
        400,
        json={
            "message": "The server could not comply with the request since it is either malformed or otherwise "
            "incorrect.\n\n\nFile already exists ('a-1.0.tar.gz', with blake2_256 hash 'ab').\n\n",
            "code": "400 File already exists ('a-1.0.tar.gz', with blake2_256 hash 'ab').",
            "title": "Bad Request",
        },
    )
    assert index_message(warehouse) == "File already exists ('a-1.0.tar.gz', with blake2_256 hash 'ab')."
    devpi = httpx.Response(409, json={"message": "\n\n\n\n\n", "code": "409 a-1.0.tar.gz already exists", "title": "x"})
    assert index_message(devpi) == "a-1.0.tar.gz already exists"
    page = httpx.Response(
        403,
        html="<html><head><style>body {color: red}</style><title>Error: 403 Forbidden</title></head>"
        "<body><h1>Forbidden</h1><p>Sorry, the requested URL &#039;/&#039; caused an error</p></body></html>",
    )
    assert index_message(page) == "Forbidden Sorry, the requested URL '/' caused an error"
