"""The values that cross the store's interface: frozen, typed, free of any driver's types.

`...In` values are what a caller hands in; `...Row` values are what the store read back, with
the columns the store fills itself (timestamps, versions, sequence numbers). JSON payloads are
`JsonObject`, the one loosely typed thing here, because their shape belongs to the adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, NamedTuple, TypeAlias, TypeVar

from runtime.vault import SealedValue

JsonObject: TypeAlias = Mapping[str, object]

T = TypeVar("T")


class RunKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class WebhookStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated read; `next_cursor` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class IntegrationIn:
    id: str
    name: str
    type: str
    adapter: str
    status: str
    config: JsonObject


@dataclass(frozen=True, slots=True)
class IntegrationRow:
    id: str
    name: str
    type: str
    adapter: str
    status: str
    config: JsonObject
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class StoredCredential:
    integration_id: str
    field: str
    sealed: SealedValue
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditIn:
    actor: str
    action: str
    target: str
    details: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: JsonObject


@dataclass(frozen=True, slots=True)
class RecordIn:
    external_id: str
    data: JsonObject


@dataclass(frozen=True, slots=True)
class RecordRow:
    integration_id: str
    entity: str
    external_id: str
    data: JsonObject
    content_hash: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    added: int
    updated: int
    unchanged: int
    deleted: int = 0  # live records the batch's tombstones soft-deleted


@dataclass(frozen=True, slots=True)
class SyncRun:
    id: str
    integration_id: str
    entity: str
    kind: RunKind
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    last_progress_at: datetime
    added: int
    updated: int
    unchanged: int
    deleted: int
    error: str | None


@dataclass(frozen=True, slots=True)
class EventIn:
    """A CloudEvent on its way into the outbox."""

    id: str
    integration_id: str
    type: str
    source: str
    time: datetime
    data: JsonObject
    traceparent: str | None = None


@dataclass(frozen=True, slots=True)
class RecordEvents:
    """Asks a write to report every record it adds, updates or deletes with one
    `hub.integration.record_changed` event of its own, in the same transaction.

    Each event gets a fresh id, `source` = `/integrations/{id}`, this `time` and `traceparent`,
    and data `{"entity", "external_id", "change", "data"}`: `change` is `added`, `updated` or
    `deleted`, and `data` the record as stored (absent for a deletion). Unchanged records
    report nothing."""

    time: datetime
    traceparent: str | None = None


class OutboxRow(NamedTuple):
    """An event as the outbox relay reads it: its data the stored JSON text, not parsed (the
    relay splices it into what it publishes)."""

    seq: int
    id: str
    type: str
    source: str
    time: datetime
    data_json: str
    traceparent: str | None


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    id: str
    integration_id: str
    type: str
    source: str
    time: datetime
    data: JsonObject
    traceparent: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class LogIn:
    """A log line; `at` None means "when the store writes it"."""

    integration_id: str
    level: str
    event_type: str
    message: str
    details: JsonObject = field(default_factory=dict)
    duration_ms: float | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    integration_id: str
    level: str
    event_type: str
    message: str
    details: JsonObject
    duration_ms: float | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookIn:
    """A delivery to persist; `delivery_id` is the sender's id (it deduplicates), `id` ours.
    `due_at`: when a retry scan may take it up if it is still unprocessed then (None: at
    once), so that the scan leaves alone a delivery that was just handed to its actor."""

    id: str
    integration_id: str
    delivery_id: str
    headers: Mapping[str, str]
    body: bytes
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """A stored delivery; `headers` and `body` are None once retention dropped the payload."""

    id: str
    integration_id: str
    delivery_id: str
    received_at: datetime
    headers: Mapping[str, str] | None
    body: bytes | None
    status: WebhookStatus
    attempts: int
    last_error: str | None
    processed_at: datetime | None
    next_attempt_at: datetime | None = None  # received or failed: when it is (re)tried


@dataclass(frozen=True, slots=True)
class WebhookRecords:
    """What one delivery says of one entity: records to upsert and external ids deleted."""

    entity: str
    upserts: tuple[RecordIn, ...] = ()
    deletes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """How an attempt at a delivery ended, to be stored by `settle_webhook_deliveries`.

    PROCESSED carries the records and events the delivery produced; FAILED carries the error
    and when to try again (`next_attempt_at`, None: at once); DEAD carries the last error.
    `attempts` counts this attempt."""

    id: str
    integration_id: str
    status: WebhookStatus
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None
    records: tuple[WebhookRecords, ...] = ()
    events: tuple[EventIn, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookSettled:
    """What `settle_webhook_deliveries` stored: the ids it settled (a delivery another attempt
    had settled already is left alone) and the records their outcomes wrote."""

    settled: tuple[str, ...]
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@dataclass(frozen=True, slots=True)
class RetentionCutoffs:
    """Anything older than these goes: logs, events sent before, processed/dead payloads."""

    logs: datetime
    sent_events: datetime
    webhook_payloads: datetime


@dataclass(frozen=True, slots=True)
class TrimResult:
    logs: int
    events: int
    webhook_payloads: int


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str = field(repr=False)
