"""Trying an integration before it is saved: the setup wizard's Test Connection and sample.

A probe builds the adapter from the input exactly as an actor would (same validation, same
HTTP client, rate limiter and retry policy), uses it once under a deadline, and closes it. It
stores nothing: credentials live only for the call. The wizard may probe before the user has
chosen an id or a name, so those get placeholders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass

import anyio

from actors._integrations import IntegrationService
from actors._messages import TestResult
from adapters import (
    Adapter,
    AdapterContext,
    HttpClient,
    Registry,
    RetryPolicy,
    SyncKind,
    SyncRequest,
)
from config import IntegrationInput
from runtime import SYSTEM_CLOCK, Clock, RateLimit, RateLimiter, describe
from runtime.store import JsonObject
from runtime.vault import Secret

PROBE_TIMEOUT = 20.0  # seconds for a whole probe: the wizard is waiting
SAMPLE_LIMIT = 20
MAX_FIELDS = 500
PLACEHOLDERS = {"id": "wizard-probe", "name": "Wizard probe"}
UNLIMITED = RateLimit(rate=1000.0, period=1.0, burst=1000)


@dataclass(frozen=True, slots=True)
class Sample:
    """The first records of an entity as the source has them, and their dotted field paths."""

    entity: str
    fields: tuple[str, ...]
    records: tuple[JsonObject, ...]


class Probe:
    def __init__(
        self,
        integrations: IntegrationService,
        registry: Registry,
        *,
        clock: Clock = SYSTEM_CLOCK,
        timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._integrations = integrations
        self._registry = registry
        self._clock = clock
        self._timeout = timeout

    async def test(self, data: Mapping[str, object]) -> TestResult:
        """Connect and check health once. Bad input raises `InvalidIntegration`; a peer that
        refuses is a result with `ok` False and a detail safe to show."""
        spec = self._input(data)
        started = self._clock.now()
        try:
            with anyio.fail_after(self._timeout):
                async with self._connected(spec) as adapter:
                    status = await adapter.health_check()
        except TimeoutError:
            return TestResult(False, self._clock.now() - started, "no answer in time")
        except Exception as error:
            return TestResult(False, self._clock.now() - started, describe(error))
        return TestResult(status.ok, status.latency, status.detail)

    async def sample(
        self, data: Mapping[str, object], entity: str, *, limit: int = SAMPLE_LIMIT
    ) -> Sample:
        """Up to `limit` records of `entity` from the first batches of a full sync. Adapter
        errors propagate (the caller shows them); bad input raises `InvalidIntegration`."""
        spec = self._input(data)
        records: list[JsonObject] = []
        with anyio.fail_after(self._timeout):
            async with self._connected(spec) as adapter:
                request = SyncRequest((entity,), SyncKind.FULL)
                async with aclosing(adapter.sync(request)) as batches:
                    async for batch in batches:
                        records.extend(r.data for r in batch.records if not r.deleted)
                        if len(records) >= limit or batch.complete:
                            break
        kept = tuple(records[:limit])
        return Sample(entity, field_paths(kept), kept)

    def _input(self, data: Mapping[str, object]) -> IntegrationInput:
        return self._integrations.validate({**PLACEHOLDERS, **data})

    @asynccontextmanager
    async def _connected(self, spec: IntegrationInput) -> AsyncIterator[Adapter]:
        config = spec.to_config()
        limiter = RateLimiter(_limit(spec), clock=self._clock)
        retry = RetryPolicy.from_config(config.retry_policy)
        credentials = {k: Secret(v.get_secret_value()) for k, v in spec.credentials.items()}
        async with HttpClient(limiter, clock=self._clock, retry=retry) as http:
            context = AdapterContext(
                config.id, config.settings, credentials, http, limiter, self._clock
            )
            adapter = self._registry.get(config.adapter).factory(context)
            await adapter.connect()
            try:
                yield adapter
            finally:
                with anyio.CancelScope(shield=True):
                    await adapter.disconnect()


def _limit(spec: IntegrationInput) -> RateLimit:
    limits = spec.rate_limits
    return UNLIMITED if limits is None else RateLimit(limits.rate, limits.period, limits.burst)


def field_paths(records: tuple[JsonObject, ...]) -> tuple[str, ...]:
    """Every dotted path to a leaf value in `records`, in first-seen order (lists are leaves)."""
    seen: dict[str, None] = {}
    for record in records:
        _collect(record, "", seen)
        if len(seen) >= MAX_FIELDS:
            break
    return tuple(seen)[:MAX_FIELDS]


def _collect(value: Mapping[str, object], prefix: str, seen: dict[str, None]) -> None:
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            _collect(item, f"{path}.", seen)
        else:
            seen.setdefault(path, None)
