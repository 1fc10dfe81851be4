"""Test-only adapters and the tools the fault tests drive the hub with.

- `FakePeer` + `FakeAdapter`: an outside system the test holds in its hand (records, and
  faults switched on and off: connect fails, credentials refused, a sync that hangs or
  crashes after its first batch); every connect attempt is noted with its (virtual) time.
- `PagesAdapter`: a small REST adapter paging through `tests.actors.upstream` over real
  HTTP with the shared `HttpClient` (keyset pages, `after=<last id>`).
- `counted`: the services with a store that knows when one of its calls is in flight, and
  `autojump`, which moves a `MockClock` only when nothing is: the SQLite store works in a
  worker thread, and `MockClock.autojump()` counts a task waiting for a thread as blocked,
  so virtual time would run ahead (to the relay's next poll, a health probe, a restart)
  during every store call, and restart delays measured in virtual time would mean nothing.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any, cast

import anyio
import anyio.to_thread

from actors._integrations import IntegrationService
from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    AuthError,
    Batch,
    ConnectionInfo,
    HealthStatus,
    JsonObject,
    SourceRecord,
    SyncRequest,
    TransientError,
)
from api._services import Services
from config import IntegrationType
from runtime import sleep
from runtime.store import Store
from runtime.testing import MockClock
from runtime.vault import Secret

ENTITY = "items"
TOKEN_FIELD = "api_token"


def item_records(count: int) -> dict[str, JsonObject]:
    return {f"item-{n:05d}": {"name": f"Item {n}", "rev": 0} for n in range(count)}


# -- an outside system the test controls ------------------------------------------------------


@dataclass
class FakePeer:
    """What the fake adapters of one integration talk to; the test flips its faults."""

    records: dict[str, JsonObject] = field(default_factory=lambda: item_records(30))
    page_size: int = 10
    connect_fails: bool = False  # TransientError from connect
    accepted_token: str | None = None  # AuthError from connect unless the credential is this
    hangs_left: int = 0  # syncs that hang for ever after their first batch
    crashes_left: int = 0  # syncs that raise an unexpected error after their first batch
    connects: list[float] = field(default_factory=list)  # clock time of every connect attempt
    syncs: int = 0

    def sorted_ids(self) -> list[str]:
        return sorted(self.records)


class FakeAdapter(Adapter):
    """Pages through `peer.records` in id order; the checkpoint is the offset reached and
    whether the pass was done (a done pass starts the next one from the beginning)."""

    name = "fake"

    def __init__(self, context: AdapterContext, peer: FakePeer) -> None:
        super().__init__(context)
        self.peer = peer

    async def connect(self) -> ConnectionInfo:
        peer = self.peer
        peer.connects.append(self.context.clock.now())
        await sleep(self.context.clock, 0)
        if peer.connect_fails:
            raise TransientError("connection refused by the peer (test fault)")
        if peer.accepted_token is not None:
            token = self.context.credential(TOKEN_FIELD)
            if token.reveal() != peer.accepted_token:
                raise AuthError(f"the peer refused the {TOKEN_FIELD} (HTTP 401)")
        return ConnectionInfo(peer="fake peer", account="test")

    async def health_check(self) -> HealthStatus:
        await sleep(self.context.clock, 0)
        return HealthStatus(True, 0.0, "fake peer answers")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        peer = self.peer
        peer.syncs += 1
        ids = peer.sorted_ids()
        cursor = request.checkpoint(ENTITY)
        offset = 0 if cursor is None or cursor.get("done") else int(cast(int, cursor["offset"]))
        first = True
        while True:
            end = min(len(ids), offset + peer.page_size)
            done = end >= len(ids)
            records = tuple(SourceRecord(key, peer.records[key]) for key in ids[offset:end])
            yield Batch(ENTITY, records, {"offset": end, "done": done}, complete=done)
            if first and peer.hangs_left > 0:
                peer.hangs_left -= 1
                await anyio.sleep_forever()
            if first and peer.crashes_left > 0:
                peer.crashes_left -= 1
                raise RuntimeError("the fake adapter has a bug (test fault)")
            first = False
            if done:
                return
            offset = end


def fake_spec(name: str, peer: FakePeer) -> AdapterSpec:
    return AdapterSpec(
        name=name,
        title=f"Fake {name}",
        description="A test peer whose faults the test switches.",
        icon="🧪",
        kind=IntegrationType.REST,
        factory=lambda context: FakeAdapter(context, peer),
        settings_schema={"type": "object"},
        credential_fields=(TOKEN_FIELD,),
        entities=(ENTITY,),
    )


# -- a REST adapter over real HTTP ------------------------------------------------------------


class PagesAdapter(Adapter):
    """GET {base_url}/items?after=&limit= -> {"items": [{"id": ...}, ...], "next": id | null}."""

    name = "pages"

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        self.base_url = str(context.settings["base_url"])
        self.page_size = int(cast(int, context.settings.get("page_size", 100)))
        self.timeout = float(cast(float, context.settings.get("timeout", 1.0)))

    def _headers(self) -> Mapping[str, Secret[str]]:
        return {"Authorization": self.context.credential(TOKEN_FIELD)}

    async def connect(self) -> ConnectionInfo:
        await self.context.http.get(f"{self.base_url}/ping", timeout=self.timeout)
        return ConnectionInfo(peer=self.base_url)

    async def health_check(self) -> HealthStatus:
        started = self.context.clock.now()
        await self.context.http.get(f"{self.base_url}/ping", timeout=self.timeout)
        return HealthStatus(True, self.context.clock.now() - started, "pong")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        cursor = request.checkpoint(ENTITY)
        after = "" if cursor is None or cursor.get("done") else str(cursor["after"])
        while True:
            response = await self.context.http.get(
                f"{self.base_url}/items",
                params={"after": after, "limit": self.page_size},
                headers=self._headers(),
                timeout=self.timeout,
            )
            page = cast(dict[str, Any], response.json())
            items = cast(list[dict[str, Any]], page["items"])
            records = tuple(
                SourceRecord(str(item["id"]), {k: v for k, v in item.items() if k != "id"})
                for item in items
            )
            done = page["next"] is None
            if records:
                after = records[-1].external_id
            yield Batch(ENTITY, records, {"after": after, "done": done}, complete=done)
            if done:
                return


PAGES_SPEC = AdapterSpec(
    name="pages",
    title="Paged REST (test)",
    description="Pages through the fault tests' fake upstream.",
    icon="🧪",
    kind=IntegrationType.REST,
    factory=PagesAdapter,
    settings_schema={"type": "object"},
    credential_fields=(TOKEN_FIELD,),
    entities=(ENTITY,),
)


# -- virtual time that waits for the store's thread ---------------------------------------------


class _InFlight:
    """Forwards to a store, counting the calls that have not returned yet."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            try:
                return await attribute(*args, **kwargs)
            finally:
                self.calls -= 1

        return counted


def counted(services: Services) -> tuple[Services, Callable[[], bool]]:
    """The services over a store that counts its calls in flight, and a `busy()` that is
    True while one is (or while a worker thread of anyio's default limiter is busy: the
    demo adapter computes its world there)."""
    store = _InFlight(services.store)
    typed = cast(Store, store)
    registry = services.registry
    integrations = IntegrationService(typed, services.vault, registry.available)

    def busy() -> bool:
        threads = anyio.to_thread.current_default_thread_limiter().borrowed_tokens
        return store.calls > 0 or threads > 0

    return replace(services, store=typed, integrations=integrations), busy


def autojump(clock: MockClock, busy: Callable[[], bool]) -> AbstractAsyncContextManager[MockClock]:
    """`clock.autojump`, standing still while `busy()` (the store's worker thread is working)."""
    return clock.autojump(busy)
