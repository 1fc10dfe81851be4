"""The HTTP client's decisions as tables: statuses, pauses, backoff, retry permission, URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from adapters import (
    RETRY_STATUSES,
    AuthError,
    IntegrationError,
    PermanentError,
    RateLimited,
    RetryPolicy,
    TransientError,
    backoff,
    classify_status,
    error_type,
    give_up,
    join_url,
    limiter_pause,
    may_retry,
    param_text,
    retry_wait,
    server_address,
    with_query,
)
from config import RetryConfig

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
NO_HEADERS: dict[str, str] = {}


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after"),
    [
        (200, NO_HEADERS, None, None),
        (204, NO_HEADERS, None, None),
        (304, NO_HEADERS, None, None),
        (400, NO_HEADERS, PermanentError, None),
        (401, NO_HEADERS, AuthError, None),
        (403, NO_HEADERS, AuthError, None),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}, RateLimited, 30.0),
        (403, {"Retry-After": "60"}, RateLimited, 60.0),
        (404, NO_HEADERS, PermanentError, None),
        (408, NO_HEADERS, TransientError, None),
        (409, NO_HEADERS, PermanentError, None),
        (422, NO_HEADERS, PermanentError, None),
        (425, NO_HEADERS, TransientError, None),
        (429, NO_HEADERS, RateLimited, None),
        (429, {"Retry-After": "7"}, RateLimited, 7.0),
        (429, {"retry-after": "Sat, 01 Mar 2025 12:00:20 GMT"}, RateLimited, 20.0),
        (429, {"RateLimit": "limit=100, remaining=0, reset=9"}, RateLimited, 9.0),
        (429, {"Retry-After": "soon"}, RateLimited, None),
        (500, NO_HEADERS, TransientError, None),
        (501, NO_HEADERS, PermanentError, None),
        (502, NO_HEADERS, TransientError, None),
        (503, {"Retry-After": "2"}, TransientError, 2.0),
        (504, NO_HEADERS, TransientError, None),
        (505, NO_HEADERS, PermanentError, None),
        (522, NO_HEADERS, PermanentError, None),
    ],
)
def test_classify_status_table(
    status: int,
    headers: dict[str, str],
    kind: type[IntegrationError] | None,
    retry_after: float | None,
) -> None:
    error = classify_status(status, headers, NOW)
    if kind is None:
        assert error is None
        return
    assert type(error) is kind
    assert str(status) in str(error)
    if isinstance(error, TransientError):
        assert error.retry_after == retry_after


def test_classify_status_retry_on_decides_what_is_transient() -> None:
    assert type(classify_status(522, NO_HEADERS, NOW, retry_on={522})) is TransientError
    assert type(classify_status(500, NO_HEADERS, NOW, retry_on={522})) is PermanentError
    assert type(classify_status(429, NO_HEADERS, NOW, retry_on=())) is RateLimited
    assert type(classify_status(401, NO_HEADERS, NOW, retry_on={401})) is AuthError


def test_retry_policy_from_config_same_defaults_as_config() -> None:
    policy = RetryPolicy.from_config(RetryConfig(max_attempts=3, initial_backoff=2.0))
    assert (policy.max_attempts, policy.initial, policy.max_delay) == (3, 2.0, 60.0)
    assert frozenset(RetryConfig().retry_on_status) == RETRY_STATUSES
    assert policy.retry_on_status == RETRY_STATUSES


def test_classify_status_message_names_request_and_reason() -> None:
    error = classify_status(404, NO_HEADERS, NOW, context="GET https://x.example/a: ")
    assert str(error) == "GET https://x.example/a: HTTP 404 Not Found"


def test_classify_status_unknown_code_has_no_reason() -> None:
    assert str(classify_status(499, NO_HEADERS, NOW)) == "HTTP 499"


def test_classify_status_auth_message_asks_to_reconnect() -> None:
    assert "reconnect" in str(classify_status(401, NO_HEADERS, NOW))


@pytest.mark.parametrize(
    ("status", "headers", "pause"),
    [
        (200, NO_HEADERS, None),
        (200, {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "30"}, None),
        (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}, 30.0),
        (202, {"Retry-After": "5"}, None),
        (429, {"Retry-After": "5"}, 5.0),
        (429, NO_HEADERS, None),
        (503, {"Retry-After": "8"}, 8.0),
        (500, {"Retry-After": "8"}, None),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"}, 12.0),
    ],
)
def test_limiter_pause_table(status: int, headers: dict[str, str], pause: float | None) -> None:
    assert limiter_pause(status, headers, NOW) == pause


def test_backoff_doubles_up_to_max_delay() -> None:
    policy = RetryPolicy(initial=0.5, max_delay=3.0, jitter=0.5)
    assert [backoff(policy, n, rand=0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_takes_a_share_off() -> None:
    policy = RetryPolicy(initial=2.0, jitter=0.5)
    assert backoff(policy, 1, rand=0.999999) == pytest.approx(1.0, abs=1e-5)
    assert backoff(RetryPolicy(initial=2.0, jitter=1.0), 1, rand=0.5) == 1.0


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, 1.0), (0.2, 1.0), (5.0, 5.0)],
)
def test_retry_wait_never_undercuts_retry_after(retry_after: float | None, expected: float) -> None:
    assert retry_wait(RetryPolicy(initial=1.0), 1, retry_after, rand=0.0) == expected


@pytest.mark.parametrize(
    ("failures", "elapsed", "wait", "expected"),
    [(1, 0.0, 1.0, False), (4, 10.0, 8.0, False), (5, 0.0, 1.0, True), (2, 100.0, 30.0, True)],
)
def test_give_up_bounds_attempts_and_total_time(
    failures: int, elapsed: float, wait: float, expected: bool
) -> None:
    assert give_up(RetryPolicy(max_attempts=5, total=120.0), failures, elapsed, wait) is expected


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"initial": -1.0}, {"max_delay": float("inf")}, {"jitter": 1.5}],
)
def test_retry_policy_invalid_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]  # fields built as data


@pytest.mark.parametrize(
    ("method", "error", "idempotent", "expected"),
    [
        ("GET", TransientError("x"), None, True),
        ("GET", RateLimited(1), None, True),
        ("GET", AuthError("x"), None, False),
        ("GET", PermanentError("x"), None, False),
        ("GET", ValueError("bug"), None, False),
        ("PUT", TransientError("x"), None, True),
        ("delete", TransientError("x"), None, True),
        ("POST", TransientError("x"), None, False),
        ("POST", RateLimited(1), None, True),
        ("POST", TransientError("x"), True, True),
        ("PATCH", TransientError("x"), None, False),
        ("GET", TransientError("x"), False, False),
    ],
)
def test_may_retry_table(
    method: str, error: BaseException, idempotent: bool | None, expected: bool
) -> None:
    assert may_retry(method, error, idempotent) is expected


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        ("https://x.example/api/", "/v1/items", "https://x.example/api/v1/items"),
        ("https://x.example/api", "v1/items", "https://x.example/api/v1/items"),
        ("https://x.example/api", "https://other.example/a", "https://other.example/a"),
        ("", "https://x.example/a", "https://x.example/a"),
    ],
)
def test_join_url_table(base: str, url: str, expected: str) -> None:
    assert join_url(base, url) == expected


def test_with_query_appends_encoded_pairs() -> None:
    assert with_query("https://x.example/a", [("q", "a b"), ("n", "1")]) == (
        "https://x.example/a?q=a+b&n=1"
    )
    assert with_query("https://x.example/a?x=1", [("y", "2")]) == "https://x.example/a?x=1&y=2"
    assert with_query("https://x.example/a", []) == "https://x.example/a"


def test_param_text_booleans_lower_case() -> None:
    assert [param_text(v) for v in (True, False, 3, 1.5, "s")] == ["true", "false", "3", "1.5", "s"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/v1", ("api.example.com", 443)),
        ("http://127.0.0.1:8080/x", ("127.0.0.1", 8080)),
        ("http://[::1]:81/", ("::1", 81)),
        ("ftp://files.example/x", ("files.example", None)),
    ],
)
def test_server_address_table(url: str, expected: tuple[str, int | None]) -> None:
    assert server_address(url) == expected


def test_error_type_timeout_and_qualified_names() -> None:
    assert error_type(TimeoutError()) == "timeout"
    assert error_type(aiohttp.ServerTimeoutError()) == "timeout"
    assert error_type(aiohttp.ServerDisconnectedError()) == (
        "aiohttp.client_exceptions.ServerDisconnectedError"
    )
