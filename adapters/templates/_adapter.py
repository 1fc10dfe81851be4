"""The adapter a REST template runs as: a thin driver around `_paging`'s decisions.

It sends what `page_request` says through the integration's shared `HttpClient` (which takes
the rate limiter's token, retries the page on transient errors with backoff that honours
`Retry-After`, and maps statuses to the error taxonomy), and hands each response to
`read_page`. Everything that needs the integration's settings or credentials happens on first
use, not in the constructor, so a bad setting or a missing token is reported by `connect` as a
ConfigError or AuthError (the actor's "stop and ask", not a crash and a restart).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

from adapters._contract import Adapter, AdapterContext
from adapters._errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RateLimited,
)
from adapters._http import DEFAULT_RETRY, RequestOptions
from adapters._http_rules import RETRY_STATUSES, RetryPolicy, give_up, join_url
from adapters._http_transport import HttpResponse
from adapters._values import Batch, ConnectionInfo, HealthStatus, SyncKind, SyncRequest
from adapters.templates._auth import (
    Credentials,
    OAuth2Tokens,
    is_static,
    query_names,
    static_credentials,
)
from adapters.templates._catalog import checked_health, require_entities
from adapters.templates._checks import Stream
from adapters.templates._compiled import CompiledTemplate
from adapters.templates._model import (
    Backoff,
    ClientCredentialsAuth,
    Errors,
    NoPages,
    RefreshTokenAuth,
    RestTemplate,
    Scalar,
)
from adapters.templates._paging import (
    Page,
    PageState,
    Reply,
    advancing,
    finished,
    interpolate,
    page_request,
    query_string,
    read_page,
    same_origin,
    start,
    whole_number,
)
from adapters.templates._settings import check_settings
from runtime import Priority, RateLimit, RateLimiter, parse_retry_after


@dataclass(frozen=True, slots=True)
class _Setup:
    """The template applied to this integration's settings."""

    values: Mapping[str, Scalar]
    base_url: str
    timeout: float
    page_sizes: Mapping[str, int]
    headers: Mapping[str, Mapping[str, str]]


class TemplateAdapter(Adapter):
    """Runs one REST template for one integration (`template_spec` makes a subclass per
    template, named after it)."""

    template: ClassVar[CompiledTemplate]

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        rules = self.template.template
        self._ready: _Setup | None = None
        self._tokens: OAuth2Tokens | None = None
        self._limiter = None if rules.rate_limit is None else _limiter(rules, context)
        self._retry = _retry_policy(rules.errors)
        errors = rules.errors
        self._own_rate_limited = frozenset(errors.rate_limited) - {429}
        self._allowed = frozenset({*errors.fail, *errors.ignore, *self._own_rate_limited})
        self._query_names = query_names(rules.auth)

    # -- the contract -----------------------------------------------------------------------

    async def connect(self) -> ConnectionInfo:
        await self._check()
        return ConnectionInfo(peer=urlsplit(self._setup().base_url).netloc or self.name)

    async def health_check(self) -> HealthStatus:
        """Test Connection: the template's check request (see `checked_health`)."""
        return await checked_health(self.context.clock, self._check)

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        streams = self.template.streams
        require_entities(self.name, request.entities, streams)
        for entity in request.entities:
            stream = streams[entity]
            state: PageState | None = start(stream, request.checkpoint(entity), request.kind)
            previous: tuple[str, ...] = ()
            while state is not None:
                page = await self._page(stream, state)
                previous = advancing(entity, previous, page.records, page.next is not None)
                yield Batch(entity, page.records, page.checkpoint, complete=page.next is None)
                state = page.next

    # -- driving -----------------------------------------------------------------------

    def _setup(self) -> _Setup:
        if self._ready is None:
            self._ready = self._apply_settings()
        return self._ready

    def _apply_settings(self) -> _Setup:
        compiled, context = self.template, self.context
        values = check_settings(
            compiled.settings_model,
            context.settings,
            adapter=self.name,
            integration=context.integration_id,
        )
        base_url = interpolate(compiled.template.base_url, values).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{self.name}: the base URL is not an http:// or https:// URL")
        sizes = {
            name: int(whole_number(stream.paginator.page_size, values))
            for name, stream in compiled.streams.items()
            if not isinstance(stream.paginator, NoPages)
        }
        headers = {
            name: {key: interpolate(value, values) for key, value in stream.headers.items()}
            for name, stream in compiled.streams.items()
        }
        auth = compiled.template.auth
        if isinstance(auth, ClientCredentialsAuth | RefreshTokenAuth):
            self._tokens = OAuth2Tokens(auth, context, values, self.name)
        timeout = whole_number(compiled.template.timeout, values)
        return _Setup(values, base_url, timeout, sizes, headers)

    async def _check(self) -> str:
        """Send the check request; returns what was asked, for the health detail."""
        setup = self._setup()
        check = self.template.template.check
        if check is not None and check.path is not None:
            pairs = [
                (key, interpolate(str(value), setup.values)) for key, value in check.params.items()
            ]
            url = self._url(setup, interpolate(check.path, setup.values), pairs)
            defaults = self.template.template.defaults.headers
            headers = {key: interpolate(value, setup.values) for key, value in defaults.items()}
            await self._get(url, headers, Priority.INTERACTIVE)
            return f"GET {check.path}"
        name = check.stream if check is not None and check.stream else ""
        name = name or next(iter(self.template.streams))
        stream = self.template.streams[name]
        await self._page(stream, start(stream, None, SyncKind.FULL), Priority.INTERACTIVE)
        return f"the first page of {name}"

    async def _page(
        self, stream: Stream, state: PageState, priority: Priority = Priority.BACKGROUND
    ) -> Page:
        setup = self._setup()
        size = setup.page_sizes.get(stream.name, 1)
        path, pairs = page_request(stream, state, size, setup.values)
        url = self._url(setup, path, pairs)
        response = await self._get(url, setup.headers[stream.name], priority)
        if response.status in self.template.template.errors.ignore:
            return finished(state)
        body = response.json() if response.body.strip() else None  # 204: no records
        reply = Reply(body, response.headers, url)
        return read_page(stream, state, size, reply, drop_params=self._query_names)

    def _url(self, setup: _Setup, path: str, pairs: list[tuple[str, str]]) -> str:
        url = join_url(setup.base_url, path)
        if not same_origin(url, setup.base_url):
            raise PermanentError(f"{self.name}: the peer pointed at another host; not followed")
        if not pairs:
            return url
        return f"{url}{'&' if urlsplit(url).query else '?'}{query_string(pairs)}"

    async def _get(self, url: str, headers: Mapping[str, str], priority: Priority) -> HttpResponse:
        """One page: the template's own limit, the credentials, the client's retries; a
        refused OAuth2 token is renewed once and the page asked again."""
        if self._limiter is not None:
            await self._limiter.acquire(priority=priority)
        credentials = await self._credentials()
        try:
            return await self._send(url, headers, credentials, priority)
        except AuthError:
            if self._tokens is None or not credentials.generation:
                raise
            await self._tokens.refused(credentials.generation)
        return await self._send(url, headers, await self._credentials(), priority)

    async def _send(
        self,
        url: str,
        headers: Mapping[str, str],
        credentials: Credentials,
        priority: Priority,
    ) -> HttpResponse:
        options: RequestOptions = {
            "headers": {**headers, **credentials.headers},
            "params": credentials.params,
            "timeout": self._setup().timeout,
            "allow_status": self._allowed,
            "priority": priority,
        }
        if self._retry is not None:
            options["retry"] = self._retry
        policy = self._retry or DEFAULT_RETRY
        started = self.context.clock.now()
        attempt = 0
        while True:
            attempt += 1
            response = await self.context.http.get(url, **options)
            status = response.status
            if status in self.template.template.errors.fail:
                raise PermanentError(f"{self.name}: GET {urlsplit(url).path}: HTTP {status}")
            if status not in self._own_rate_limited:
                return response
            # A status the template says means "rate limited" (429 is the client's own case).
            hint = parse_retry_after(response.headers.get("retry-after", ""), datetime.now(UTC))
            wait = policy.initial if hint is None else hint
            elapsed = self.context.clock.now() - started
            if give_up(policy, attempt, elapsed, wait):
                raise RateLimited(wait, f"{self.name}: HTTP {status}: rate limited")
            self.context.limiter.pause_for(wait)  # the next attempt waits in the limiter

    async def _credentials(self) -> Credentials:
        auth = self.template.template.auth
        if is_static(auth):
            return static_credentials(auth, self.context, self.name)
        self._setup()
        assert self._tokens is not None
        return await self._tokens.credentials()


def _limiter(rules: RestTemplate, context: AdapterContext) -> RateLimiter:
    assert rules.rate_limit is not None
    limit = rules.rate_limit
    return RateLimiter(RateLimit(limit.rate, limit.period, limit.burst), clock=context.clock)


def _retry_policy(errors: Errors) -> RetryPolicy | None:
    """The template's own retry policy, or None for the integration's (the client's default)."""
    if errors.retry is None and errors.backoff is None:
        return None
    backoff = errors.backoff or Backoff()
    return RetryPolicy(
        max_attempts=backoff.attempts,
        initial=backoff.initial,
        max_delay=backoff.max,
        total=backoff.total,
        retry_on_status=RETRY_STATUSES if errors.retry is None else frozenset(errors.retry),
    )
