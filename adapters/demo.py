"""The demo adapter: a make-believe ERP with customers and invoices, no network, no credentials.

It gives the embedded default something real to show: each sync sees the next generation of
a deterministic world (`_demo_world`), so between syncs records change, disappear and appear.
Its checkpoints name the generation, the kind of pass, the page and the offset reached; a sync
resumed from one yields exactly the rest of that pass, and one resumed from an entity's last
checkpoint (`done`) starts the next generation. A full pass lists every record; an incremental
pass lists what the generation added or changed, then tombstones for what it deleted.

A generation costs about half a millisecond to compute from the one before; an adapter that
starts far into the demo's life (after a restart, months of syncs) computes them in a worker
thread so the event loop stays free.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

import anyio.to_thread
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from adapters._contract import Adapter, AdapterContext, AdapterSpec
from adapters._demo_world import ENTITIES, World, WorldCache, WorldParams
from adapters._errors import ConfigError, PermanentError
from adapters._values import (
    Batch,
    ConnectionInfo,
    HealthStatus,
    JsonObject,
    SourceRecord,
    SyncKind,
    SyncRequest,
    WebhookEvent,
    WebhookRequest,
    WebhookResult,
)
from config import IntegrationType, describe_validation_error
from runtime import sleep

MAX_GENERATION = 100_000


class DemoSettings(BaseModel):
    """How much data the demo makes and how fast it changes."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Demo ERP settings")

    seed: int = Field(42, description="Same seed, same data.")
    customers: int = Field(200, ge=0, le=100_000, description="Customers at the start.")
    invoices: int = Field(500, ge=0, le=1_000_000, description="Invoices at the start.")
    page_size: int = Field(100, ge=1, le=10_000, description="Records per batch.")
    change_rate: float = Field(0.05, ge=0, le=1, description="Share changed per sync.")
    delete_rate: float = Field(0.01, ge=0, le=1, description="Share deleted per sync.")
    add_rate: float = Field(0.02, ge=0, le=1, description="Share of the start size added per sync.")
    start_date: date = Field(date(2025, 1, 1), description="The demo world's first day.")
    page_delay: float = Field(0.0, ge=0, le=60, description="Seconds before each batch.")


class _Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    generation: int = Field(ge=0, le=MAX_GENERATION)
    kind: Literal["full", "incremental"]
    page: int = Field(ge=0)
    offset: int = Field(ge=0)
    done: bool


@dataclass(frozen=True, slots=True)
class Position:
    """Where a pass starts: its generation, the first record and the number of the first page."""

    generation: int
    offset: int = 0
    page: int = 0


def resume_at(checkpoint: JsonObject | None, kind: SyncKind) -> Position:
    """The position after `checkpoint`; a finished pass moves on to the next generation, and a
    pass of the other kind starts its generation over (its offsets mean other records)."""
    if checkpoint is None:
        return Position(0)
    try:
        cursor = _Checkpoint.model_validate(dict(checkpoint))
    except pydantic.ValidationError as error:
        fields = ", ".join(p.field or "(root)" for p in describe_validation_error(error))
        raise ConfigError(f"demo checkpoint is not one of ours (bad fields: {fields})") from None
    if cursor.done:
        return Position(cursor.generation + 1)
    if cursor.kind != kind.value:
        return Position(cursor.generation)
    return Position(cursor.generation, cursor.offset, cursor.page + 1)


def listing(world: World, entity: str, kind: SyncKind) -> tuple[SourceRecord, ...]:
    """A pass's records in order: all of them, or this generation's changes and tombstones."""
    records = world.entities[entity]
    if kind is SyncKind.FULL or world.generation == 0:
        return tuple(SourceRecord(key, record) for key, record in records.items())
    changes = world.changes[entity]
    touched = changes.added | changes.changed
    return (
        *(SourceRecord(key, record) for key, record in records.items() if key in touched),
        *(SourceRecord(key, {}, deleted=True) for key in changes.deleted),
    )


def paginate(
    entity: str,
    records: tuple[SourceRecord, ...],
    start: Position,
    kind: SyncKind,
    page_size: int,
) -> Iterator[Batch]:
    """Batches from `start` to the end of the pass; always at least one, the last `complete`."""
    offset, page = start.offset, start.page
    while True:
        end = min(len(records), offset + page_size)
        done = end >= len(records)
        checkpoint = {
            "generation": start.generation,
            "kind": kind.value,
            "page": page,
            "offset": end,
            "done": done,
        }
        yield Batch(entity, records[offset:end], checkpoint, complete=done)
        if done:
            return
        offset, page = end, page + 1


class DemoAdapter(Adapter):
    name = "demo"

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        self.settings = _settings(context)
        self._worlds = WorldCache(
            WorldParams(
                seed=self.settings.seed,
                customers=self.settings.customers,
                invoices=self.settings.invoices,
                change_rate=self.settings.change_rate,
                delete_rate=self.settings.delete_rate,
                add_rate=self.settings.add_rate,
                start=self.settings.start_date,
            )
        )

    async def connect(self) -> ConnectionInfo:
        await sleep(self.context.clock, 0)
        return ConnectionInfo(peer="demo data generator", account=f"seed {self.settings.seed}")

    async def health_check(self) -> HealthStatus:
        started = self.context.clock.now()
        await sleep(self.context.clock, 0)
        latency = self.context.clock.now() - started
        return HealthStatus(True, latency, f"generated data, seed {self.settings.seed}")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        unknown = [entity for entity in request.entities if entity not in ENTITIES]
        if unknown:
            raise ConfigError(
                f"the demo has no entity {unknown[0]!r}; it has {', '.join(ENTITIES)}"
            )
        for entity in request.entities:
            start = resume_at(request.checkpoint(entity), request.kind)
            world = await anyio.to_thread.run_sync(self._worlds.at, start.generation)
            records = listing(world, entity, request.kind)
            for batch in paginate(entity, records, start, request.kind, self.settings.page_size):
                await sleep(self.context.clock, self.settings.page_delay)
                yield batch

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """A JSON body of customers and invoices becomes their records (`DemoWebhook`)."""
        return webhook_result(request.body)


class DemoWebhook(BaseModel):
    """What the demo's webhook carries (JSON): records of either entity, each an object with
    an `id` (its external id), ids that were deleted, and optionally an event's name, e.g.
    `{"event": "customer.updated", "customers": [{"id": "K10001", "name": "…"}],
    "deleted": {"invoices": ["R-1"]}}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(None, max_length=200, description="The event's id (as Stripe sends).")
    event: str | None = Field(None, min_length=1, max_length=200)
    customers: tuple[dict[str, pydantic.JsonValue], ...] = Field((), max_length=10_000)
    invoices: tuple[dict[str, pydantic.JsonValue], ...] = Field((), max_length=10_000)
    deleted: dict[Literal["customers", "invoices"], tuple[str, ...]] = Field(default_factory=dict)


def webhook_result(body: bytes) -> WebhookResult:
    """The records and event a demo webhook body carries; `PermanentError` (naming the
    fields, never their values) if it is not one: sending it again would not help."""
    try:
        parsed = DemoWebhook.model_validate_json(body)
    except pydantic.ValidationError as error:
        fields = ", ".join(p.field or "(body)" for p in describe_validation_error(error))
        raise PermanentError(f"demo webhook body is not valid (bad fields: {fields})") from None
    deleted = {str(entity): keys for entity, keys in parsed.deleted.items()}
    records = {
        entity: (
            *(_webhook_record(entity, item) for item in getattr(parsed, entity)),
            *(SourceRecord(key, {}, deleted=True) for key in deleted.get(entity, ())),
        )
        for entity in ENTITIES
    }
    events = () if parsed.event is None else (WebhookEvent(parsed.event),)
    return WebhookResult({k: v for k, v in records.items() if v}, events)


def _webhook_record(entity: str, item: dict[str, pydantic.JsonValue]) -> SourceRecord:
    key = item.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int) or key == "":
        raise PermanentError(f"demo webhook: every one of {entity} needs an id (text or number)")
    return SourceRecord(str(key), item)


def _settings(context: AdapterContext) -> DemoSettings:
    try:
        return DemoSettings.model_validate(dict(context.settings))
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{problem.field or '(settings)'}: {problem.message}"
            for problem in describe_validation_error(error)
        )
        raise ConfigError(f"demo settings of {context.integration_id!r}: {problems}") from None


SPEC = AdapterSpec(
    name="demo",
    title="Demo ERP",
    description=(
        "Generated customers and invoices from German and European companies that change "
        "between syncs. No network, no credentials: try the hub without an outside system."
    ),
    icon="🧪",
    kind=IntegrationType.REST,
    factory=DemoAdapter,
    settings_schema=DemoSettings.model_json_schema(),
    entities=ENTITIES,
)
