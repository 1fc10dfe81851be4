"""The HTTP client against a real aiohttp server on loopback: the aiohttp transport, timeouts,
refused connections and what goes over the wire. Backoff and pauses run on a `MockClock`
(autojump), so only the deliberately short request timeouts take real time."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

import anyio
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters import DEFAULT_RETRY, AuthError, HttpClient, RetryPolicy, TransientError
from runtime import RateLimit, RateLimiter, describe
from runtime.testing import MockClock
from runtime.vault import Secret
from tests.adapters.conftest import Spans

Step = Callable[[], web.Response | None]


@dataclass
class Peer:
    """A loopback server answering each hit with the next scripted step (the last repeats);
    a step returning None hangs until the test ends."""

    clock: MockClock
    steps: list[Step] = field(default_factory=list)
    hits: list[tuple[float, web.Request]] = field(default_factory=list)
    release: anyio.Event = field(default_factory=anyio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append((self.clock.now(), request))
        step = self.steps[min(len(self.hits), len(self.steps)) - 1]
        answer = step()
        if answer is None:
            await self.release.wait()
            return web.Response(status=504)
        return answer

    def times(self) -> list[float]:
        return [at for at, _ in self.hits]


def _status(code: int, **headers: str) -> Step:
    return lambda: web.Response(status=code, headers=headers, text=f"status {code}")


def _hang() -> Step:
    return lambda: None


@pytest.fixture
async def peer(clock: MockClock) -> AsyncIterator[tuple[Peer, str]]:
    state = Peer(clock)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        try:
            yield state, str(server.make_url("/v1/items"))
        finally:
            state.release.set()


def _client(
    clock: MockClock,
    spans: Spans | None = None,
    *,
    timeout: float = 30.0,
    retry: RetryPolicy = DEFAULT_RETRY,
    headers: Mapping[str, str | Secret[str]] | None = None,
) -> HttpClient:
    return HttpClient(
        RateLimiter(RateLimit(rate=100, burst=10), clock=clock),
        clock=clock,
        headers=headers,
        timeout=timeout,
        retry=retry,
        tracer_provider=spans.provider if spans else None,
        rand=lambda: 0.0,
    )


async def test_client_500_429_timeout_then_success(
    clock: MockClock, peer: tuple[Peer, str], spans: Spans
) -> None:
    server, url = peer
    server.steps = [_status(500), _status(429, **{"Retry-After": "3"}), _hang(), _status(200)]
    async with clock.autojump(), _client(clock, spans, timeout=0.5) as client:
        result = await client.get(url)
    assert (result.status, result.text()) == (200, "status 200")
    assert server.times() == [0.0, 0.5, 3.5, 5.5]
    statuses = [
        (span.attributes or {}).get("http.response.status_code") for span in spans.finished()
    ]
    assert statuses == [500, 429, None, 200]
    assert (spans.finished()[2].attributes or {})["error.type"] == "timeout"


async def test_client_hanging_peer_transient_after_retries(
    clock: MockClock, peer: tuple[Peer, str]
) -> None:
    server, url = peer
    server.steps = [_hang()]
    policy = RetryPolicy(max_attempts=3)
    with anyio.fail_after(5):
        async with clock.autojump(), _client(clock, timeout=0.1, retry=policy) as client:
            with pytest.raises(TransientError, match=r"no response within 0\.1 s"):
                await client.get(url)
    assert len(server.hits) == 3


async def test_client_401_not_retried(clock: MockClock, peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.steps = [_status(401)]
    async with clock.autojump(), _client(clock) as client:
        with pytest.raises(AuthError):
            await client.get(url)
    assert len(server.hits) == 1


async def test_client_connection_refused_transient(clock: MockClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with clock.autojump(), _client(clock, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(TransientError, match="connection failed"):
            await client.get(f"http://127.0.0.1:{port}/v1")


async def test_client_credentials_sent_but_never_shown(
    clock: MockClock, peer: tuple[Peer, str], spans: Spans
) -> None:
    server, url = peer
    server.steps = [_status(503)]
    token, key = "Bearer t0k3n-on-the-wire", "k3y-on-the-wire"
    async with (
        clock.autojump(),
        _client(clock, spans, headers={"Authorization": Secret(token)}) as client,
    ):
        with pytest.raises(TransientError) as caught:
            await client.get(url, params={"api_key": Secret(key), "page": 2})
    _, received = server.hits[0]
    assert received.headers["Authorization"] == token
    assert received.query["api_key"] == key
    assert received.headers["traceparent"].startswith("00-")
    shown = [str(caught.value), repr(caught.value), describe(caught.value), *spans.texts()]
    assert not [text for text in shown if token in text or key in text]
    assert "api_key=REDACTED&page=2" in str(caught.value)


async def test_client_closed_rejects_requests(clock: MockClock, peer: tuple[Peer, str]) -> None:
    server, url = peer
    server.steps = [_status(200)]
    client = _client(clock)
    await client.get(url)
    await client.aclose()
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get(url)
