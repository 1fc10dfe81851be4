"""The shared HTTP client: one per integration, polite to the peer, safe to trace.

Every attempt first takes a token from the integration's `RateLimiter` (interactive calls ahead
of background syncs), then goes out through the transport with a per-request timeout inside an
OpenTelemetry client span. Failures become our error taxonomy at the transport edge; transient
ones are retried by tenacity with jittered exponential backoff that never undercuts the peer's
`Retry-After`, bounded in attempts and in total time (both on the injected `Clock`). A 429/503
or an exhausted quota pauses the whole limiter, so other requests of the integration wait too.

Credentials may be passed as `Secret` in headers and query parameters; they are revealed only
in the request handed to the transport. Spans and messages carry the redacted URL, never the
headers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TypedDict, Unpack

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from adapters._errors import ConfigError, TransientError
from adapters._http_rules import (
    RetryPolicy,
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
from adapters._http_transport import (
    AiohttpTransport,
    HttpRequest,
    HttpResponse,
    Send,
    SessionFactory,
    translate,
)
from adapters._redact import redact_url
from adapters._values import JsonValue
from runtime import SYSTEM_CLOCK, Clock, Priority, RateLimiter, sleep
from runtime.vault import Secret

TRACER_NAME = "integration_hub.http"
DEFAULT_RETRY = RetryPolicy()

ParamValue = str | int | float | bool | Secret[str]
HeaderValue = str | Secret[str]


_PRIORITY: ContextVar[Priority] = ContextVar("http_priority", default=Priority.BACKGROUND)


@contextmanager
def http_priority(priority: Priority) -> Iterator[None]:
    """Requests made inside (in this task and tasks it starts) take `priority` unless they
    name one: the actor wraps a user's "Test connection" in `http_priority(INTERACTIVE)`."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


class RequestOptions(TypedDict, total=False):
    params: Mapping[str, ParamValue]
    headers: Mapping[str, HeaderValue]
    json: JsonValue
    body: bytes
    priority: Priority
    timeout: float
    retry: RetryPolicy
    idempotent: bool
    allow_status: Collection[int]


class HttpClient:
    """HTTP for one integration. Pass `send` (or a `session_factory`) to replace the transport."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        clock: Clock = SYSTEM_CLOCK,
        base_url: str = "",
        headers: Mapping[str, HeaderValue] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        send: Send | None = None,
        session_factory: SessionFactory | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._limiter = limiter
        self._clock = clock
        self._base_url = base_url
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._retry = retry
        self._transport = None if send is not None else AiohttpTransport(session_factory)
        self._send: Send = send if send is not None else self._transport_send
        self._tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
        self._wall_clock = wall_clock
        self._rand = rand

    async def get(self, url: str, **options: Unpack[RequestOptions]) -> HttpResponse:
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Unpack[RequestOptions]) -> HttpResponse:
        return await self.request("POST", url, **options)

    async def request(
        self, method: str, url: str, **options: Unpack[RequestOptions]
    ) -> HttpResponse:
        """Send with retries; returns a response below 400 (or in `allow_status`), else raises
        the `IntegrationError` its status or failure stands for."""
        request = self._prepare(method.upper(), url, options)
        policy = options.get("retry", self._retry)
        idempotent = options.get("idempotent")
        priority = options.get("priority", _PRIORITY.get())
        allowed = frozenset(options.get("allow_status", ()))
        started = self._clock.now()

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            hint = error.retry_after if isinstance(error, TransientError) else None
            return retry_wait(policy, state.attempt_number, hint, self._rand())

        def stop(state: RetryCallState) -> bool:
            elapsed = self._clock.now() - started
            return give_up(policy, state.attempt_number, elapsed, state.upcoming_sleep)

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda error: may_retry(method, error, idempotent)),
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                resends = attempt.retry_state.attempt_number - 1
                return await self._attempt(request, policy, priority, resends, allowed)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _prepare(self, method: str, url: str, options: RequestOptions) -> HttpRequest:
        params = options.get("params", {})
        secret_keys = {key for key, value in params.items() if isinstance(value, Secret)}
        pairs = [(key, _reveal_param(value)) for key, value in params.items()]
        try:
            full = with_query(join_url(self._base_url, url), pairs)
        except ValueError:
            raise ConfigError(f"{method} {redact_url(url)}: not a valid HTTP URL") from None
        headers = {
            name: value.reveal() if isinstance(value, Secret) else value
            for name, value in {**self._headers, **options.get("headers", {})}.items()
        }
        body = options.get("body")
        if "json" in options:
            body = json.dumps(options["json"], separators=(",", ":")).encode()
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        return HttpRequest(
            method=method,
            url=full,
            shown=redact_url(full, secret_keys),
            headers=headers,
            body=body,
            timeout=options.get("timeout", self._timeout),
        )

    async def _attempt(
        self,
        request: HttpRequest,
        policy: RetryPolicy,
        priority: Priority,
        resends: int,
        allowed: frozenset[int],
    ) -> HttpResponse:
        await self._limiter.acquire(priority=priority)
        with self._tracer.start_as_current_span(
            request.method,
            kind=SpanKind.CLIENT,
            attributes=_span_attributes(request, resends),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            response = await self._send_traced(span, request)
            span.set_attribute("http.response.status_code", response.status)
            now = self._wall_clock()
            pause = limiter_pause(response.status, response.headers, now)
            if pause is not None:
                self._limiter.pause_for(pause)
                span.add_event("rate_limiter.paused", {"seconds": pause})
            if response.status >= 400:
                span.set_attribute("error.type", str(response.status))
                span.set_status(Status(StatusCode.ERROR))
            context = f"{request.method} {request.shown}: "
            problem = classify_status(
                response.status,
                response.headers,
                now,
                context=context,
                retry_on=policy.retry_on_status,
            )
            if problem is not None and response.status not in allowed:
                raise problem
            return response

    async def _send_traced(self, span: Span, request: HttpRequest) -> HttpResponse:
        """Send with the span's trace context; a transport failure leaves as our error."""
        headers = dict(request.headers)
        propagate.inject(headers)
        try:
            return await self._send(replace(request, headers=headers))
        except Exception as error:
            translated = translate(error, request)
            span.set_attribute("error.type", error_type(error))
            shown = type(error).__name__ if translated is None else translated.message
            span.set_status(Status(StatusCode.ERROR, shown))
            if translated is None:
                raise
            raise translated from None

    async def _transport_send(self, request: HttpRequest) -> HttpResponse:
        assert self._transport is not None
        return await self._transport.send(request)

    async def _sleep(self, seconds: float) -> None:
        await sleep(self._clock, seconds)


def _reveal_param(value: ParamValue) -> str:
    return value.reveal() if isinstance(value, Secret) else param_text(value)


def _span_attributes(request: HttpRequest, resends: int) -> dict[str, str | int]:
    host, port = server_address(request.url)
    attributes: dict[str, str | int] = {
        "http.request.method": request.method,
        "url.full": request.shown,
        "server.address": host,
    }
    if port is not None:
        attributes["server.port"] = port
    if resends:
        attributes["http.request.resend_count"] = resends
    return attributes
