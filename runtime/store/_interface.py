"""What the hub asks of its database: one async interface, two backends behind it.

Every write that reports something also takes the events (and, for configuration changes, the
audit row) that report it, and commits them in the same transaction: the outbox never tells of
a change that did not happen, nor misses one that did. Every error is a `StoreError`; times
are timezone-aware UTC datetimes; JSON payloads are `JsonObject`s.

Sync runs move RUNNING -> COMPLETED | FAILED | INTERRUPTED, and INTERRUPTED -> RUNNING again
through `resume_run`. Only the latest run of an integration's entity may be resumed; starting
a new run supersedes the older ones.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from runtime.store._model import (
    AuditIn,
    AuditRow,
    BatchResult,
    EventIn,
    EventRow,
    IntegrationIn,
    IntegrationRow,
    JsonObject,
    LogIn,
    LogRow,
    OutboxRow,
    Page,
    RecordEvents,
    RecordIn,
    RecordRow,
    RetentionCutoffs,
    RunKind,
    RunStatus,
    StoredCredential,
    SyncRun,
    TrimResult,
    WebhookDelivery,
    WebhookIn,
    WebhookOutcome,
    WebhookSettled,
    WebhookStatus,
)
from runtime.vault import SealedValue


class Store(Protocol):
    # -- life cycle -------------------------------------------------------------------------

    async def migrate(self) -> int:
        """Apply the migrations not applied yet (under a lock); returns how many."""
        ...

    async def close(self) -> None: ...

    # -- integrations and credentials ----------------------------------------------------------

    async def create_integration(
        self,
        spec: IntegrationIn,
        credentials: Mapping[str, SealedValue],
        audit: AuditIn,
        *,
        events: Sequence[EventIn] = (),
    ) -> IntegrationRow:
        """Insert at version 1. `Conflict` if the id exists."""
        ...

    async def update_integration(
        self,
        spec: IntegrationIn,
        expected_version: int,
        credentials_changed: Mapping[str, SealedValue | None],
        audit: AuditIn,
        *,
        events: Sequence[EventIn] = (),
    ) -> IntegrationRow:
        """Replace the config if still at `expected_version` (else `Conflict`); version + 1.

        A credential mapped to None is deleted; fields not named are left alone."""
        ...

    async def delete_integration(
        self, integration_id: str, audit: AuditIn, *, events: Sequence[EventIn] = ()
    ) -> None:
        """Delete it with everything it owns (credentials, records, runs, logs, deliveries)."""
        ...

    async def get_integration(self, integration_id: str) -> IntegrationRow:
        """`NotFound` if there is none."""
        ...

    async def list_integrations(self) -> list[IntegrationRow]: ...

    async def set_status(
        self, integration_id: str, status: str, *, events: Sequence[EventIn] = ()
    ) -> IntegrationRow:
        """The runtime's status; leaves `version` alone, so it never fails a user's edit."""
        ...

    async def list_credentials(
        self, integration_id: str | None = None
    ) -> list[StoredCredential]: ...

    async def replace_credentials(
        self, credentials: Sequence[StoredCredential], *, audit: AuditIn | None = None
    ) -> int:
        """Overwrite existing credentials in one transaction (key rotation, a token the peer
        rotated); rows that are gone by now are skipped. Returns how many were replaced.

        The integration's config and `version` are left alone, so a user's edit is never
        refused for it. `audit`, if given, is written in the same transaction when at least
        one credential was replaced."""
        ...

    # -- sync runs and records --------------------------------------------------------------

    async def start_run(self, integration_id: str, entity: str, kind: RunKind) -> SyncRun:
        """A new RUNNING run. `Conflict` if a run of this entity is running already."""
        ...

    async def resume_run(self, run_id: str) -> SyncRun:
        """An INTERRUPTED run, the latest of its entity, RUNNING again with what it had seen."""
        ...

    async def latest_resumable_run(self, integration_id: str, entity: str) -> SyncRun | None:
        """The entity's latest run if it was interrupted, else None."""
        ...

    async def touch_run(self, run_id: str) -> None:
        """Note progress (`last_progress_at`). `Conflict` if the run is no longer running."""
        ...

    async def write_batch(
        self,
        run_id: str,
        integration_id: str,
        entity: str,
        records: Sequence[RecordIn],
        checkpoint: JsonObject | None,
        *,
        deleted: Sequence[str] = (),
        events: Sequence[EventIn] = (),
        record_events: RecordEvents | None = None,
    ) -> BatchResult:
        """Upsert the records by content hash, soft-delete the `deleted` external ids (the
        source's tombstones), save the checkpoint (None: keep the old one) and the events, and
        for a full run note the keys as seen: all in one transaction.

        Unchanged records are not written; a deleted record that comes back counts as updated.
        Records repeating an external id within the batch count once; the last one wins. A
        tombstone sets `deleted_at` of a live record and counts in the result's and the run's
        `deleted`; one for an unknown or already deleted record does nothing. An id both in
        `records` and in `deleted` is an `InvalidValue` (the caller knows which came last).
        With `record_events`, each added, updated or deleted record also gets its
        `record_changed` event (before `events`: the written ones, then the deleted ones,
        each in external-id order); unchanged ones and no-op tombstones get none."""
        ...

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        error: str | None = None,
        *,
        events: Sequence[EventIn] = (),
        record_events: RecordEvents | None = None,
        counts_in: Collection[str] = (),
    ) -> SyncRun:
        """End a RUNNING run. A COMPLETED full run marks the entity's records it did not see
        as deleted (with `record_events`, each with a `record_changed` event, change
        `deleted`, before `events`). An INTERRUPTED run keeps its seen keys, so it can be
        resumed.

        `counts_in` names events (by id, out of `events`) whose data gets the finished run's
        own counts (`added`, `updated`, `unchanged`, `deleted`: the run's whole, over every
        resumption, deletions at its end included), so the run's report commits with it."""
        ...

    async def mark_interrupted_runs(self) -> int:
        """At start-up: every run still RUNNING becomes INTERRUPTED. Returns how many."""
        ...

    async def get_run(self, run_id: str) -> SyncRun: ...

    async def list_runs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[SyncRun]:
        """Newest first; `before` is the `next_cursor` of the previous page."""
        ...

    async def get_checkpoint(self, integration_id: str, entity: str) -> JsonObject | None: ...

    async def set_next_sync(
        self, integration_id: str, entities: Sequence[str], at: datetime
    ) -> None:
        """Plan the integration's next sync: `next_sync_at` of every `sync_status` row of the
        integration, and of a row made for each of `entities` that has none yet (so an entity
        no longer configured never keeps an old plan). `NotFound` if there is no such
        integration."""
        ...

    async def next_sync(self, integration_id: str) -> datetime | None:
        """The earliest planned `next_sync_at` of the integration's entities; None if none."""
        ...

    async def list_records(
        self,
        integration_id: str,
        entity: str,
        *,
        limit: int,
        after: str | None = None,
        include_deleted: bool = False,
    ) -> Page[RecordRow]:
        """In external-id order (bytewise); `after` is the previous page's `next_cursor`."""
        ...

    async def count_records(self, integration_id: str) -> Mapping[str, int]:
        """Live (not deleted) records per entity."""
        ...

    # -- logs, events, webhooks, audit, retention --------------------------------------------

    async def append_logs(self, logs: Sequence[LogIn]) -> None: ...

    async def list_logs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[LogRow]:
        """Newest first."""
        ...

    async def append_events(self, events: Sequence[EventIn]) -> None:
        """Events that report no stored change of their own (health, rate limits, restarts)."""
        ...

    async def pending_events(self, limit: int) -> list[EventRow]:
        """Unsent events, oldest first (`seq` order)."""
        ...

    async def mark_events_sent(self, ids: Sequence[str], at: datetime) -> int: ...

    async def outbox_rows(self, limit: int, after: int | None = None) -> list[OutboxRow]:
        """For the relay: `pending_events(limit)`, or with `after`, `events_after(after,
        limit)`, each event's data left as its stored JSON text."""
        ...

    async def events_after(self, seq: int | None, limit: int) -> list[EventRow]:
        """Events with a larger `seq` (all, from the first, if None), in `seq` order."""
        ...

    async def event_seq(self, event_id: str) -> int | None:
        """The `seq` of the event with this id (to resume after it); None if there is none
        (never stored, or trimmed by retention)."""
        ...

    async def recent_events(self, limit: int, integration_id: str | None = None) -> list[EventRow]:
        """Newest first."""
        ...

    async def save_webhook_delivery(self, delivery: WebhookIn) -> bool:
        """Persist a received delivery; False if its delivery id was seen before (a dedupe)."""
        ...

    async def pending_webhook_deliveries(self, limit: int) -> list[WebhookDelivery]:
        """Received or failed deliveries, oldest first."""
        ...

    async def mark_webhook_delivery(
        self,
        delivery_id: str,
        status: WebhookStatus,
        error: str | None,
        attempts: int,
        *,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Record an attempt's outcome; `delivery_id` is the store's id of the delivery. A
        received or failed one is due again at `next_attempt_at` (None: now)."""
        ...

    async def save_webhook_deliveries(self, deliveries: Sequence[WebhookIn]) -> list[bool]:
        """Persist many in one transaction (group commit): per delivery, False if its delivery
        id was seen before, or earlier in the same batch. `NotFound` (nothing saved) if one
        names an integration that does not exist."""
        ...

    async def get_webhook_delivery(self, integration_id: str, delivery_id: str) -> WebhookDelivery:
        """By the sender's delivery id; `NotFound` if there is none."""
        ...

    async def list_webhook_deliveries(
        self,
        integration_id: str,
        *,
        status: WebhookStatus | None = None,
        limit: int,
        before: str | None = None,
    ) -> Page[WebhookDelivery]:
        """Newest first (in the order received); `before` is the previous page's cursor."""
        ...

    async def requeue_webhook_delivery(
        self, integration_id: str, delivery_id: str, *, due_at: datetime | None = None
    ) -> WebhookDelivery:
        """Replay: back to RECEIVED with no attempts, due at `due_at` (None: now), whatever
        its status was. `NotFound` if there is none; `Conflict` if retention dropped its
        payload."""
        ...

    async def claim_webhook_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        """Received or failed deliveries due by `now` (oldest first), each made due again only
        at `lease_until`: a claim that lapses by itself if its attempt never settles."""
        ...

    async def settle_webhook_deliveries(
        self, outcomes: Sequence[WebhookOutcome], *, record_events: RecordEvents | None = None
    ) -> WebhookSettled:
        """Store attempts' outcomes in one transaction: each delivery's status, and, for the
        processed ones, their records (upserted by content hash, or deleted; per entity the
        last outcome naming an id wins) and events. With `record_events`, each record written
        or deleted gets its `record_changed` event, before the outcomes' own. A delivery that
        is no longer received or failed (settled by another attempt) is left alone, and its
        outcome writes nothing."""
        ...

    async def append_audit(self, audit: AuditIn) -> None: ...

    async def list_audit(self, *, limit: int, before: str | None = None) -> Page[AuditRow]:
        """Newest first."""
        ...

    async def trim(self, older_than: RetentionCutoffs) -> TrimResult:
        """Delete old logs and old *sent* events; drop old processed/dead webhook payloads
        (the rows stay, so a late redelivery is still recognised as a duplicate)."""
        ...
