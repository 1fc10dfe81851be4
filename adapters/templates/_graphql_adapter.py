"""The adapter a GraphQL template runs as: a thin driver around `_graphql_paging`'s decisions.

Each page is one JSON POST (`{"query", "variables"}`) through the integration's shared
`HttpClient`: its rate limiter, its retries of transient failures (the request is a read, so
it is retried like a GET), its spans. The answer goes to `graphql_problem`; a rate-limit or
retry code there asks that page again (never the whole sync) after the wait the error gives
(Monday.com's `retry_in_seconds`), pausing the integration's limiter so its other requests
wait too, within the template's (or the default) backoff budget; beyond it the page's error
is raised and the sync resumes from its checkpoint next time. Settings and credentials are
applied on first use, as for REST templates, so a bad setting or a missing token is reported
by `connect` as ConfigError or AuthError rather than crashing the factory.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

from adapters._contract import Adapter, AdapterContext, AdapterSpec
from adapters._errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RateLimited,
    TransientError,
)
from adapters._http import DEFAULT_RETRY, RequestOptions
from adapters._http_rules import RETRY_STATUSES, RetryPolicy, give_up, retry_wait
from adapters._http_transport import HttpResponse
from adapters._values import Batch, ConnectionInfo, HealthStatus, JsonValue, SyncKind, SyncRequest
from adapters.templates._auth import Credentials, OAuth2Tokens, is_static, static_credentials
from adapters.templates._catalog import catalog_spec, checked_health, require_entities
from adapters.templates._graphql_compiled import CompiledGraphQL, GraphQLStream
from adapters.templates._graphql_errors import graphql_problem
from adapters.templates._graphql_paging import (
    GraphQLPage,
    GraphQLState,
    PartitionKey,
    graphql_after,
    graphql_checkpoint,
    graphql_partitions,
    graphql_request,
    graphql_resume,
    graphql_variable,
    read_graphql_page,
)
from adapters.templates._model import ClientCredentialsAuth, NoPages, RefreshTokenAuth, Scalar
from adapters.templates._paging import advancing, interpolate, whole_number
from adapters.templates._records import read_path
from adapters.templates._settings import check_settings
from config import IntegrationType
from runtime import Priority, RateLimit, RateLimiter, sleep

# Answers read for their `errors` rather than turned into an error by the client.
_READ_STATUSES = frozenset({400, 429})


@dataclass(frozen=True, slots=True)
class _Setup:
    """The template applied to this integration's settings."""

    values: Mapping[str, Scalar]
    url: str
    timeout: float
    page_sizes: Mapping[str, int]
    headers: Mapping[str, str]


class GraphQLTemplateAdapter(Adapter):
    """Runs one GraphQL template for one integration (`graphql_template_spec` makes a
    subclass per template, named after it)."""

    template: ClassVar[CompiledGraphQL]

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        rules = self.template.template
        self._ready: _Setup | None = None
        self._tokens: OAuth2Tokens | None = None
        limit = rules.rate_limit
        self._limiter = (
            None
            if limit is None
            else RateLimiter(RateLimit(limit.rate, limit.period, limit.burst), clock=context.clock)
        )
        backoff = rules.errors.backoff
        self._retry = (
            None
            if backoff is None
            else RetryPolicy(
                max_attempts=backoff.attempts,
                initial=backoff.initial,
                max_delay=backoff.max,
                total=backoff.total,
                retry_on_status=RETRY_STATUSES,
            )
        )

    # -- the contract -----------------------------------------------------------------------

    async def connect(self) -> ConnectionInfo:
        account = await self._check()
        return ConnectionInfo(peer=urlsplit(self._setup().url).netloc or self.name, account=account)

    async def health_check(self) -> HealthStatus:
        """Test Connection: the template's check (see `checked_health`)."""

        async def check() -> str:
            await self._check()
            check = self.template.template.check
            return "the check query" if check is not None and check.query else "the first page"

        return await checked_health(self.context.clock, check)

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        streams = self.template.streams
        require_entities(self.name, request.entities, streams)
        for entity in request.entities:
            stream = streams[entity]
            partitions = await self._partitions(stream)
            saved = request.checkpoint(entity)
            state = graphql_resume(stream, saved, request.kind, partitions, now=time.time())
            if state is None:  # nothing (left) to read
                yield Batch(entity, (), graphql_checkpoint(request.kind, None), complete=True)
                continue
            previous: tuple[str, ...] = ()
            while state is not None:
                page = await self._page(stream, state)
                previous = advancing(entity, previous, page.records, page.next is not None)
                following = graphql_after(state, page.next, partitions)
                checkpoint = graphql_checkpoint(request.kind, following)
                yield Batch(entity, page.records, checkpoint, complete=following is None)
                state = following

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
        rules = compiled.template
        url = interpolate(rules.url, values)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{self.name}: the URL is not an http:// or https:// URL")
        sizes = {
            name: int(whole_number(stream.paginator.page_size, values))
            for name, stream in compiled.streams.items()
            if not isinstance(stream.paginator, NoPages)
        }
        headers = {"Accept": "application/json"}
        headers |= {key: interpolate(value, values) for key, value in rules.headers.items()}
        if isinstance(rules.auth, ClientCredentialsAuth | RefreshTokenAuth):
            self._tokens = OAuth2Tokens(rules.auth, context, values, self.name)
        return _Setup(values, url, whole_number(rules.timeout, values), sizes, headers)

    async def _check(self) -> str | None:
        """Send the check; returns the account its answer names, if the template says where."""
        setup = self._setup()
        check = self.template.template.check
        if check is not None and check.query is not None:
            variables = {
                name: graphql_variable(value, setup.values)
                for name, value in check.variables.items()
            }
            data = await self._ask(check.query, variables, Priority.INTERACTIVE)
            account = None if check.account is None else read_path(data, check.account)
            return None if account is None else str(account)[:200]
        name = check.stream if check is not None and check.stream else None
        stream = self._first_stream(name)
        state = graphql_resume(stream, None, SyncKind.FULL, [])
        assert state is not None  # not a stream run per parent record (checked at load)
        await self._page(stream, state, Priority.INTERACTIVE)
        return None

    def _first_stream(self, name: str | None) -> GraphQLStream:
        streams = self.template.streams
        if name is not None:
            return streams[name]
        return next(stream for stream in streams.values() if stream.for_each is None)

    async def _partitions(self, stream: GraphQLStream) -> list[PartitionKey]:
        """The keys of the parent records a stream runs for (none without `for_each`)."""
        each = stream.for_each
        if each is None:
            return []
        parent = self.template.streams[each.stream]
        items: list[Mapping[str, JsonValue]] = []
        state: GraphQLState | None = GraphQLState(SyncKind.FULL)
        previous: tuple[str, ...] = ()
        while state is not None:
            page = await self._page(parent, state)
            previous = advancing(parent.name, previous, page.records, page.next is not None)
            items.extend(page.items)
            state = graphql_after(state, page.next, [])
        return graphql_partitions(items, each, stream.name)

    async def _page(
        self, stream: GraphQLStream, state: GraphQLState, priority: Priority = Priority.BACKGROUND
    ) -> GraphQLPage:
        setup = self._setup()
        size = setup.page_sizes.get(stream.name, 1)
        query, variables = graphql_request(stream, state, size, setup.values)
        data = await self._ask(query, variables, priority)
        return read_graphql_page(stream, state, size, data, now=time.time())

    async def _ask(
        self, query: str, variables: Mapping[str, JsonValue], priority: Priority
    ) -> JsonValue:
        """One query's `data`; a rate-limited or retryable answer is asked again after its
        wait, as long as the backoff budget lasts."""
        if self._limiter is not None:
            await self._limiter.acquire(priority=priority)
        payload: dict[str, JsonValue] = {"query": query, "variables": dict(variables)}
        policy = self._retry or DEFAULT_RETRY
        clock = self.context.clock
        started, attempt = clock.now(), 0
        while True:
            attempt += 1
            response = await self._post(payload, priority)
            body = _body(response)
            problem = graphql_problem(
                response.status,
                response.headers,
                body,
                self.template.template.errors,
                adapter=self.name,
                now=_wall_clock(),
            )
            if problem is None:
                assert isinstance(body, Mapping)
                data: JsonValue = body["data"]
                return data
            if not isinstance(problem, TransientError):
                raise problem
            wait = retry_wait(policy, attempt, problem.retry_after, random.random())
            if give_up(policy, attempt, clock.now() - started, wait):
                raise problem
            if isinstance(problem, RateLimited):
                self.context.limiter.pause_for(wait)  # the next attempt waits in the limiter
            else:
                await sleep(clock, wait)

    async def _post(self, payload: dict[str, JsonValue], priority: Priority) -> HttpResponse:
        """One attempt; a refused OAuth2 token is renewed once and the request sent again."""
        credentials = await self._credentials()
        try:
            return await self._send(payload, credentials, priority)
        except AuthError:
            if self._tokens is None or not credentials.generation:
                raise
            await self._tokens.refused(credentials.generation)
        return await self._send(payload, await self._credentials(), priority)

    async def _send(
        self, payload: dict[str, JsonValue], credentials: Credentials, priority: Priority
    ) -> HttpResponse:
        setup = self._setup()
        options: RequestOptions = {
            "headers": {**setup.headers, **credentials.headers},
            "params": credentials.params,
            "json": payload,
            "timeout": setup.timeout,
            "allow_status": _READ_STATUSES,
            "priority": priority,
            "idempotent": True,  # a query reads: retried as a GET would be
        }
        if self._retry is not None:
            options["retry"] = self._retry
        return await self.context.http.post(setup.url, **options)

    async def _credentials(self) -> Credentials:
        auth = self.template.template.auth
        if is_static(auth):
            return static_credentials(auth, self.context, self.name)
        self._setup()
        assert self._tokens is not None
        return await self._tokens.credentials()


def _body(response: HttpResponse) -> JsonValue:
    """The answer as JSON; a refusal that is not JSON is judged by its status alone."""
    if response.status >= 400:
        try:
            return response.json()
        except PermanentError:
            return None
    return response.json()


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def graphql_template_spec(compiled: CompiledGraphQL) -> AdapterSpec:
    """The catalog entry and factory of a GraphQL template."""
    return catalog_spec(compiled, GraphQLTemplateAdapter, IntegrationType.GRAPHQL, compiled.streams)
