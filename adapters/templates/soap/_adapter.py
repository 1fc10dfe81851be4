"""The adapter a SOAP template runs as: a thin driver around `_plan`'s and `_paging`'s decisions.

Settings are applied and the WSDL is read on first use (`connect`, or whatever comes first),
once per adapter instance, so a bad setting, an unreadable WSDL or a missing credential reaches
the actor from `connect` as ConfigError/AuthError, not as a crash in the factory. Each page is
one operation call: the template's own rate limit, then zeep builds the envelope and our
transport sends it through the integration's `HttpClient` (its limiter, retries on 5xx and
429 with `Retry-After`, timeouts, spans). A fault the server calls its own trouble is asked
again here with the same backoff, since the HTTP client cannot see inside a 500's body.
"""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel

from adapters._contract import Adapter, AdapterContext
from adapters._errors import ConfigError, PermanentError
from adapters._http import HeaderValue, RequestOptions, http_priority
from adapters._http_rules import RETRY_STATUSES, RetryPolicy, give_up, retry_wait
from adapters._http_transport import HttpResponse
from adapters._values import Batch, ConnectionInfo, HealthStatus, JsonValue, SyncKind, SyncRequest
from adapters.templates._auth import required
from adapters.templates._catalog import checked_health, require_entities
from adapters.templates._paging import (
    Page,
    PageState,
    Reply,
    advancing,
    read_page,
    same_origin,
    start,
)
from adapters.templates.soap._compiled import CompiledSoapTemplate
from adapters.templates.soap._faults import ServerFault
from adapters.templates.soap._plan import Call, EntityPlan, Setup, apply_settings, call_for
from adapters.templates.soap._results import check_shape
from runtime import Priority, RateLimit, RateLimiter, sleep
from runtime.vault import Secret

if TYPE_CHECKING:
    from adapters.templates.soap._zeep import SoapService, WsSecurity

SOAP_STATUSES = frozenset({400, 500})  # a fault's statuses: the reply is read, not raised
FAULT_RETRY = RetryPolicy(max_attempts=3, initial=1.0, max_delay=5.0, total=30.0)
"""Server faults asked again when the template declares no `backoff` (the HTTP client's own
policy, the integration's, is not ours to read): a little patience, then the sync resumes later."""


class SoapTemplateAdapter(Adapter):
    """Runs one SOAP template for one integration (`soap_template_spec` makes a subclass per
    template, named after it)."""

    template: ClassVar[CompiledSoapTemplate]

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        rules = self.template.template
        self._setup_value: Setup | None = None
        self._service_value: SoapService | None = None
        self._loading = anyio.Lock()
        limit = rules.rate_limit
        self._limiter = (
            None
            if limit is None
            else RateLimiter(RateLimit(limit.rate, limit.period, limit.burst), clock=context.clock)
        )
        backoff = rules.backoff
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
        await self._check()
        service = await self._service()
        return ConnectionInfo(peer=urlsplit(service.address).netloc or self.name)

    async def disconnect(self) -> None:
        """Forget the WSDL: the next use reads it again (a service may have changed)."""
        self._service_value = None
        await anyio.lowlevel.checkpoint()

    async def health_check(self) -> HealthStatus:
        """Test Connection: the template's check call (see `checked_health`)."""
        return await checked_health(self.context.clock, self._check)

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        entities = self.template.template.entities
        require_entities(self.name, request.entities, entities)
        setup = self._setup()
        for entity in request.entities:
            plan = setup.entities[entity]
            state: PageState | None = start(plan.stream, request.checkpoint(entity), request.kind)
            previous: tuple[str, ...] = ()
            while state is not None:
                page = await self._page(plan, state)
                previous = advancing(entity, previous, page.records, page.next is not None)
                yield Batch(entity, page.records, page.checkpoint, complete=page.next is None)
                state = page.next

    # -- driving ----------------------------------------------------------------------------

    def _setup(self) -> Setup:
        if self._setup_value is None:
            self._setup_value = apply_settings(
                self.template, self.context.settings, self.context.integration_id
            )
        return self._setup_value

    async def _service(self) -> SoapService:
        """The WSDL, read once per adapter (concurrent first uses wait for one reading)."""
        async with self._loading:
            if self._service_value is None:
                self._service_value = await self._load()
            return self._service_value

    async def _load(self) -> SoapService:
        # zeep (with requests) takes half a second to import: only SOAP integrations pay it.
        from adapters.templates.soap._zeep import Binding, Documents, load_service  # noqa: PLC0415

        setup = self._setup()
        template = self.template.template
        self._auth_headers()  # a missing credential is an AuthError before anything is sent
        documents = Documents(setup.wsdl, self._fetch, self.template.home)
        try:
            service = await load_service(
                documents,
                Binding(setup.service, setup.port, setup.endpoint),
                post=self._post,
                strict=template.strict,
                wsse=self._ws_security(setup),
                adapter=self.name,
                rules=template.faults,
                secrets=self._secrets,
            )
        except PermanentError as error:  # the WSDL URL answers 404 and the like
            raise ConfigError(f"{self.name}: the WSDL {setup.wsdl.shown()}: {error}") from None
        wanted = [plan.operation for plan in setup.entities.values()]
        wanted += [plan.next_operation for plan in setup.entities.values() if plan.next_operation]
        wanted += [setup.check.operation] if setup.check is not None else []
        missing = sorted({name for name in wanted if name not in service.operations})
        if missing:
            raise ConfigError(
                f"{self.name}: the service has no operation {missing[0]!r}; it has "
                f"{', '.join(sorted(service.operations))}"
            )
        return service

    async def _check(self) -> str:
        """The check call; returns what was asked, for the health detail."""
        setup = self._setup()
        if setup.check is not None:
            await self._call(setup.check, Priority.INTERACTIVE)
            return setup.check.operation
        plan = setup.entities[setup.check_entity]
        await self._page(plan, start(plan.stream, None, SyncKind.FULL), Priority.INTERACTIVE)
        return f"the first page of {plan.name}"

    async def _page(
        self, plan: EntityPlan, state: PageState, priority: Priority = Priority.BACKGROUND
    ) -> Page:
        result = await self._call(call_for(plan, state), priority)
        check_shape(result, plan.stream, adapter=self.name)
        return read_page(plan.stream, state, plan.page_size, Reply(result, {}, ""))

    async def _call(self, call: Call, priority: Priority) -> JsonValue:
        """One operation call; a server fault is asked again with backoff."""
        with http_priority(priority):
            service = await self._service()
            if self._limiter is not None:
                await self._limiter.acquire(priority=priority)
            policy = self._retry or FAULT_RETRY
            clock = self.context.clock
            started, failures = clock.now(), 0
            while True:
                try:
                    return await service.call(call.operation, call.arguments)
                except ServerFault:
                    failures += 1
                    wait = retry_wait(policy, failures, None, random.random())
                    if give_up(policy, failures, clock.now() - started, wait):
                        raise
                    await sleep(clock, wait)

    # -- the wire ---------------------------------------------------------------------------

    async def _post(self, address: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        options: RequestOptions = {
            "body": body,
            "headers": {**headers, **self._auth_headers()},
            "timeout": self._setup().timeout,
            "allow_status": SOAP_STATUSES,
            "idempotent": True,  # the template's operations read
        }
        if self._retry is not None:
            options["retry"] = self._retry
        return await self.context.http.post(address, **options)

    async def _fetch(self, url: str) -> bytes:
        """A WSDL or schema document; credentials go only to the WSDL's own host."""
        wsdl = self._setup().wsdl.url
        own = wsdl is not None and same_origin(url, wsdl)
        options: RequestOptions = {
            "headers": self._auth_headers() if own else {},
            "timeout": self._setup().timeout,
        }
        if self._retry is not None:
            options["retry"] = self._retry
        response = await self.context.http.get(url, **options)
        return response.body

    def _auth_headers(self) -> dict[str, HeaderValue]:
        if self._setup().auth != "basic":
            return {}
        auth = self.template.template.auth
        user = required(self.context, auth.username, self.name).reveal()
        password = required(self.context, auth.password, self.name).reveal()
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": Secret(f"Basic {pair}")}

    def _ws_security(self, setup: Setup) -> WsSecurity | None:
        if not setup.auth.startswith("ws_security"):
            return None
        from adapters.templates.soap._zeep import WsSecurity  # noqa: PLC0415  (as in `_load`)

        auth = self.template.template.auth
        return WsSecurity(
            required(self.context, auth.username, self.name),
            required(self.context, auth.password, self.name),
            digest=setup.auth == "ws_security_digest",
        )

    def _secrets(self) -> list[str]:
        return [secret.reveal() for secret in self.context.credentials.values()]
