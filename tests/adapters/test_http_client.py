"""The HTTP client over a scripted transport on virtual time: retries, pauses, spans, secrets."""

from __future__ import annotations

import json

import aiohttp
import anyio
import pytest

from adapters import (
    DEFAULT_RETRY,
    AuthError,
    ConfigError,
    HttpClient,
    HttpResponse,
    PermanentError,
    RateLimited,
    RetryPolicy,
    TransientError,
    http_priority,
)
from runtime import Priority, RateLimit, RateLimiter, describe
from runtime.testing import MockClock, wait_until_idle
from runtime.vault import Secret
from tests.adapters.conftest import Script, Spans, response

URL = "https://api.example.com/v1/items"


def _client(
    script: Script,
    clock: MockClock,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    spans: Spans | None = None,
    limiter: RateLimiter | None = None,
) -> HttpClient:
    return HttpClient(
        limiter or RateLimiter(RateLimit(rate=100, burst=10), clock=clock),
        clock=clock,
        retry=retry,
        send=script,
        tracer_provider=spans.provider if spans else None,
        rand=lambda: 0.0,
    )


async def test_request_server_errors_retried_with_backoff(clock: MockClock) -> None:
    script = Script(clock, [response(500), response(502), response(200, b"ok")])
    async with clock.autojump():
        result = await _client(script, clock).get(URL)
    assert result.body == b"ok"
    assert script.times() == [0.0, 0.5, 1.5]


async def test_request_retry_after_honoured_and_limiter_paused(clock: MockClock) -> None:
    limiter = RateLimiter(RateLimit(rate=100, burst=10), clock=clock)
    script = Script(clock, [response(429, headers={"Retry-After": "7"}), response(200)])
    async with clock.autojump():
        await _client(script, clock, limiter=limiter).get(URL)
    assert script.times() == [0.0, 7.0]
    assert limiter.statistics().paused_total == 1


async def test_request_rate_limit_pause_holds_other_requests(clock: MockClock) -> None:
    limiter = RateLimiter(RateLimit(rate=100, burst=10), clock=clock)
    script = Script(clock, [response(503, headers={"Retry-After": "20"}), response(200)])
    client = _client(script, clock, limiter=limiter, retry=RetryPolicy(max_attempts=1))
    async with clock.autojump():
        with pytest.raises(TransientError):
            await client.get(URL)
        await client.get(URL, priority=Priority.INTERACTIVE)
    assert script.times() == [0.0, 20.0]


async def test_request_auth_error_not_retried(clock: MockClock) -> None:
    script = Script(clock, [response(401)])
    async with clock.autojump():
        with pytest.raises(AuthError, match="401"):
            await _client(script, clock).get(URL)
    assert len(script.requests) == 1


async def test_request_permanent_error_not_retried(clock: MockClock) -> None:
    script = Script(clock, [response(404)])
    async with clock.autojump():
        with pytest.raises(PermanentError, match=r"GET https://api\.example\.com/v1/items"):
            await _client(script, clock).get(URL)
    assert len(script.requests) == 1


async def test_request_allowed_status_returned(clock: MockClock) -> None:
    script = Script(clock, [response(404, b"gone")])
    result = await _client(script, clock).get(URL, allow_status={404})
    assert (result.status, result.body) == (404, b"gone")


async def test_request_timeouts_become_transient_after_max_attempts(clock: MockClock) -> None:
    script = Script(clock, [TimeoutError()])
    async with clock.autojump():
        with pytest.raises(TransientError, match="no response within 30 s"):
            await _client(script, clock, retry=RetryPolicy(max_attempts=3)).get(URL)
    assert script.times() == [0.0, 0.5, 1.5]


@pytest.mark.parametrize(
    "failure",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientConnectionError("reset"),
        aiohttp.ClientPayloadError("truncated"),
        ConnectionResetError(),
    ],
)
async def test_request_connection_failures_retried(
    clock: MockClock, failure: BaseException
) -> None:
    script = Script(clock, [failure, response(200)])
    async with clock.autojump():
        assert (await _client(script, clock).get(URL)).status == 200
    assert len(script.requests) == 2


async def test_request_invalid_url_is_config_error(clock: MockClock) -> None:
    script = Script(clock, [aiohttp.InvalidURL("nonsense")])
    with pytest.raises(ConfigError, match="not a valid HTTP URL"):
        await _client(script, clock).get(URL)


async def test_request_unexpected_exception_propagates_unretried(clock: MockClock) -> None:
    script = Script(clock, [ZeroDivisionError()])
    with pytest.raises(ZeroDivisionError):
        await _client(script, clock).get(URL)
    assert len(script.requests) == 1


async def test_request_total_time_bounds_retries(clock: MockClock) -> None:
    script = Script(clock, [response(503, headers={"Retry-After": "300"})])
    policy = RetryPolicy(max_attempts=5, total=60.0)
    async with clock.autojump():
        with pytest.raises(TransientError) as caught:
            await _client(script, clock, retry=policy).get(URL)
    assert caught.value.retry_after == 300.0
    assert len(script.requests) == 1


async def test_request_post_not_retried_on_server_error(clock: MockClock) -> None:
    script = Script(clock, [response(500), response(201)])
    async with clock.autojump():
        with pytest.raises(TransientError):
            await _client(script, clock).post(URL, json={"name": "Anna"})
    assert len(script.requests) == 1


async def test_request_post_retried_when_rate_limited(clock: MockClock) -> None:
    script = Script(clock, [response(429, headers={"Retry-After": "1"}), response(201)])
    async with clock.autojump():
        result = await _client(script, clock).post(URL, json={"name": "Anna"})
    assert result.status == 201
    assert len(script.requests) == 2


async def test_request_rate_limited_raised_after_attempts(clock: MockClock) -> None:
    script = Script(clock, [response(429, headers={"Retry-After": "2"})])
    async with clock.autojump():
        with pytest.raises(RateLimited) as caught:
            await _client(script, clock, retry=RetryPolicy(max_attempts=2)).get(URL)
    assert caught.value.retry_after == 2.0


async def test_request_json_body_and_params_encoded(clock: MockClock) -> None:
    script = Script(clock, [response(200, b'{"ok": true}')])
    client = _client(script, clock)
    result = await client.post(URL, params={"page": 2, "active": True}, json={"a": [1, "ü"]})
    _, sent = script.requests[0]
    assert sent.url == f"{URL}?page=2&active=true"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body is not None
    assert json.loads(sent.body) == {"a": [1, "ü"]}
    assert result.json() == {"ok": True}


async def test_response_json_invalid_is_permanent_error(clock: MockClock) -> None:
    script = Script(clock, [response(200, b"<html>token=abc</html>")])
    result = await _client(script, clock).get(URL)
    with pytest.raises(PermanentError, match="not JSON") as caught:
        result.json()
    assert "abc" not in str(caught.value)


async def test_request_span_follows_semantic_conventions(clock: MockClock, spans: Spans) -> None:
    script = Script(clock, [response(503), response(200)])
    async with clock.autojump():
        await _client(script, clock, spans=spans).get(URL, params={"page": 1})
    first, second = spans.finished()
    assert first.name == "GET"
    assert dict(first.attributes or {}) == {
        "http.request.method": "GET",
        "url.full": f"{URL}?page=1",
        "server.address": "api.example.com",
        "server.port": 443,
        "http.response.status_code": 503,
        "error.type": "503",
    }
    assert (second.attributes or {})["http.request.resend_count"] == 1
    assert "error.type" not in (second.attributes or {})
    for (_, sent), span in zip(script.requests, (first, second), strict=True):
        assert span.context is not None
        assert sent.headers["traceparent"].split("-")[1] == f"{span.context.trace_id:032x}"


async def test_request_span_on_transport_failure_names_vendor_type(
    clock: MockClock, spans: Spans
) -> None:
    script = Script(clock, [aiohttp.ServerDisconnectedError()])
    with pytest.raises(TransientError):
        await _client(script, clock, spans=spans, retry=RetryPolicy(max_attempts=1)).get(URL)
    (span,) = spans.finished()
    assert (span.attributes or {})["error.type"] == (
        "aiohttp.client_exceptions.ServerDisconnectedError"
    )


SECRETS = ("Bearer t0k3n-value-123", "k3y-value-456", "p4ss-value-789")


@pytest.mark.parametrize(
    "outcome",
    [response(401), response(500), response(429), TimeoutError(), ConnectionResetError()],
    ids=["401", "500", "429", "timeout", "reset"],
)
async def test_request_secrets_absent_from_errors_and_spans(
    clock: MockClock, spans: Spans, outcome: HttpResponse | BaseException
) -> None:
    script = Script(clock, [outcome])
    client = HttpClient(
        RateLimiter(RateLimit(rate=100, burst=10), clock=clock),
        clock=clock,
        headers={"Authorization": Secret(SECRETS[0])},
        retry=RetryPolicy(max_attempts=2),
        send=script,
        tracer_provider=spans.provider,
    )
    async with clock.autojump():
        with pytest.raises((TransientError, AuthError)) as caught:
            await client.get(
                "https://user:p4ss-value-789@api.example.com/v1",
                params={"api_key": Secret(SECRETS[1]), "account": Secret("acc-0001")},
            )
    _, sent = script.requests[0]
    assert sent.headers["Authorization"] == SECRETS[0]
    assert "k3y-value-456" in sent.url
    shown = [str(caught.value), repr(caught.value), describe(caught.value), repr(sent)]
    shown += spans.texts()
    for secret in (*SECRETS, "acc-0001"):
        assert not [text for text in shown if secret in text], secret
    assert caught.value.__cause__ is None


async def test_request_malformed_url_is_config_error(clock: MockClock) -> None:
    script = Script(clock, [response(200)])
    with pytest.raises(ConfigError, match="not a valid HTTP URL"):
        await _client(script, clock).get("http://[::1/v1?token=abc")
    assert script.requests == []


async def test_http_priority_interactive_overtakes_queued_background(clock: MockClock) -> None:
    limiter = RateLimiter(RateLimit(rate=1, burst=1), clock=clock)
    script = Script(clock, [response(200)])
    client = _client(script, clock, limiter=limiter)
    order: list[str] = []

    async def fetch(label: str) -> None:
        await client.get(f"{URL}/{label}")
        order.append(label)

    async def test_connection() -> None:
        with http_priority(Priority.INTERACTIVE):
            await fetch("test")

    async with clock.autojump(), anyio.create_task_group() as tg:
        await fetch("first")
        tg.start_soon(fetch, "sync-1")
        tg.start_soon(fetch, "sync-2")
        await wait_until_idle()
        tg.start_soon(test_connection)
    assert order == ["first", "test", "sync-1", "sync-2"]
