"""The `Store` methods both backends share: check and convert the arguments, then run one
operation of the backend's modules through its `_call`.

A backend subclasses `StoreFacade` and fills in what is its own: its operation modules
(`_admin`, `_records`, `_outbox`), `_call` (how an operation gets a connection), the form of a
time it stores (`_time`, `_moment`, `_read_time`) and how a batch of records reaches its
`write_batch` (`_batch`). Connecting, migrating and closing stay in the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any, TypeVar

from runtime.store import _params, _record_events
from runtime.store._facade_webhooks import WebhookFacade
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
    WebhookStatus,
)
from runtime.store._values import int_cursor, limit, str_cursor, text
from runtime.vault import SealedValue

T = TypeVar("T")

Now = Callable[[], datetime]


class StoreFacade(WebhookFacade):
    """`Store`'s public methods, written once over the hooks each backend sets (the webhook
    ones in `WebhookFacade`)."""

    _admin: ModuleType
    _records: ModuleType
    _outbox: ModuleType
    _webhooks: ModuleType
    _now: Now

    async def _call(self, operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `operation(connection, *args, **kwargs)` on one of the backend's connections.

        The operations are reached through module attributes, so they are not checked here;
        each backend's `_call` types them precisely (PostgreSQL's take coroutines)."""
        raise NotImplementedError

    def _time(self, value: datetime, what: str) -> object:
        """A checked, timezone-aware time in the form the backend stores."""
        raise NotImplementedError

    def _moment(self, now: datetime) -> object:
        """The `now` an integration is created or updated at, as the backend passes it on."""
        raise NotImplementedError

    def _read_time(self, value: Any) -> datetime | None:
        """A stored time (or None) back as a datetime."""
        raise NotImplementedError

    def _batch(
        self, records: Sequence[RecordIn], checkpoint: JsonObject | None
    ) -> tuple[Callable[..., Any], object, object]:
        """The operation that writes a batch, with its records and checkpoint arguments."""
        raise NotImplementedError

    def _stamp(self) -> object:
        return self._time(self._now(), "now()")

    # -- integrations and credentials ----------------------------------------------------

    async def create_integration(
        self,
        spec: IntegrationIn,
        credentials: Mapping[str, SealedValue],
        audit: AuditIn,
        *,
        events: Sequence[EventIn] = (),
    ) -> IntegrationRow:
        now = self._now()
        return await self._call(
            self._admin.create_integration,
            spec=_params.integration(spec),
            credentials=_params.credentials(spec.id, credentials, now, self._time),
            audit=_params.audit(audit, now, self._time),
            events=_params.events(events, self._time),
            now=self._moment(now),
        )

    async def update_integration(
        self,
        spec: IntegrationIn,
        expected_version: int,
        credentials_changed: Mapping[str, SealedValue | None],
        audit: AuditIn,
        *,
        events: Sequence[EventIn] = (),
    ) -> IntegrationRow:
        now = self._now()
        upserts, deletes = _params.credential_changes(spec.id, credentials_changed, now, self._time)
        return await self._call(
            self._admin.update_integration,
            spec=_params.integration(spec),
            expected_version=expected_version,
            upserts=upserts,
            deletes=deletes,
            audit=_params.audit(audit, now, self._time),
            events=_params.events(events, self._time),
            now=self._moment(now),
        )

    async def delete_integration(
        self, integration_id: str, audit: AuditIn, *, events: Sequence[EventIn] = ()
    ) -> None:
        await self._call(
            self._admin.delete_integration,
            integration_id,
            _params.audit(audit, self._now(), self._time),
            _params.events(events, self._time),
        )

    async def get_integration(self, integration_id: str) -> IntegrationRow:
        return await self._call(self._admin.get_integration, integration_id)

    async def list_integrations(self) -> list[IntegrationRow]:
        return await self._call(self._admin.list_integrations)

    async def set_status(
        self, integration_id: str, status: str, *, events: Sequence[EventIn] = ()
    ) -> IntegrationRow:
        return await self._call(
            self._admin.set_status,
            integration_id,
            text(status, "integration status"),
            _params.events(events, self._time),
        )

    async def list_credentials(self, integration_id: str | None = None) -> list[StoredCredential]:
        return await self._call(self._admin.list_credentials, integration_id)

    async def replace_credentials(
        self, credentials: Sequence[StoredCredential], *, audit: AuditIn | None = None
    ) -> int:
        return await self._call(
            self._admin.replace_credentials,
            _params.stored_credentials(credentials, self._time),
            None if audit is None else _params.audit(audit, self._now(), self._time),
        )

    # -- sync runs and records -----------------------------------------------------------

    async def start_run(self, integration_id: str, entity: str, kind: RunKind) -> SyncRun:
        return await self._call(
            self._records.start_run,
            text(integration_id, "integration id"),
            text(entity, "entity"),
            RunKind(kind),
            self._stamp(),
        )

    async def resume_run(self, run_id: str) -> SyncRun:
        return await self._call(self._records.resume_run, run_id, self._stamp())

    async def latest_resumable_run(self, integration_id: str, entity: str) -> SyncRun | None:
        return await self._call(self._records.latest_resumable_run, integration_id, entity)

    async def touch_run(self, run_id: str) -> None:
        await self._call(self._records.touch_run, run_id, self._stamp())

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
        tombstones = _params.tombstones(deleted, records)
        operation, batch, state = self._batch(records, checkpoint)
        return await self._call(
            operation,
            run_id=run_id,
            integration_id=integration_id,
            entity=entity,
            records=batch,
            checkpoint=state,
            deleted=tombstones,
            events=_params.events(events, self._time),
            record_events=_record_events.stamp(record_events, self._time),
            now=self._stamp(),
        )

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
        return await self._call(
            self._records.finish_run,
            run_id=run_id,
            status=_params.final_status(RunStatus(status)),
            error=None if error is None else text(error, "run error"),
            events=_params.events(events, self._time),
            record_events=_record_events.stamp(record_events, self._time),
            counts_in=frozenset(counts_in),
            now=self._stamp(),
        )

    async def mark_interrupted_runs(self) -> int:
        return await self._call(self._records.mark_interrupted_runs, self._stamp())

    async def get_run(self, run_id: str) -> SyncRun:
        return await self._call(self._records.get_run, run_id)

    async def list_runs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[SyncRun]:
        return await self._call(
            self._records.list_runs, integration_id, _limit(limit), int_cursor(before, "runs")
        )

    async def get_checkpoint(self, integration_id: str, entity: str) -> JsonObject | None:
        return await self._call(self._records.get_checkpoint, integration_id, entity)

    async def set_next_sync(
        self, integration_id: str, entities: Sequence[str], at: datetime
    ) -> None:
        await self._call(
            self._records.set_next_sync,
            integration_id,
            [text(entity, "entity") for entity in entities],
            self._time(at, "next sync time"),
        )

    async def next_sync(self, integration_id: str) -> datetime | None:
        return self._read_time(await self._call(self._records.next_sync, integration_id))

    async def list_records(
        self,
        integration_id: str,
        entity: str,
        *,
        limit: int,
        after: str | None = None,
        include_deleted: bool = False,
    ) -> Page[RecordRow]:
        return await self._call(
            self._records.list_records,
            integration_id=integration_id,
            entity=entity,
            limit=_limit(limit),
            after=str_cursor(after, "records"),
            include_deleted=include_deleted,
        )

    async def count_records(self, integration_id: str) -> Mapping[str, int]:
        return await self._call(self._records.count_records, integration_id)

    # -- logs, events, webhooks, audit, retention ------------------------------------------

    async def append_logs(self, logs: Sequence[LogIn]) -> None:
        now = self._now()
        await self._call(
            self._outbox.append_logs, [_params.log(entry, now, self._time) for entry in logs]
        )

    async def list_logs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[LogRow]:
        return await self._call(
            self._outbox.list_logs, integration_id, _limit(limit), int_cursor(before, "logs")
        )

    async def append_events(self, events: Sequence[EventIn]) -> None:
        await self._call(self._outbox.append_events, _params.events(events, self._time))

    async def pending_events(self, limit: int) -> list[EventRow]:
        return await self._call(self._outbox.pending_events, _limit(limit))

    async def mark_events_sent(self, ids: Sequence[str], at: datetime) -> int:
        return await self._call(
            self._outbox.mark_events_sent, list(ids), self._time(at, "sent time")
        )

    async def outbox_rows(self, limit: int, after: int | None = None) -> list[OutboxRow]:
        return await self._call(self._outbox.outbox_rows, _limit(limit), after)

    async def events_after(self, seq: int | None, limit: int) -> list[EventRow]:
        return await self._call(self._outbox.events_after, seq, _limit(limit))

    async def event_seq(self, event_id: str) -> int | None:
        return await self._call(self._outbox.event_seq, text(event_id, "event id"))

    async def recent_events(self, limit: int, integration_id: str | None = None) -> list[EventRow]:
        return await self._call(self._outbox.recent_events, _limit(limit), integration_id)

    async def save_webhook_delivery(self, delivery: WebhookIn) -> bool:
        return await self._call(
            self._outbox.save_webhook_delivery, _params.webhook(delivery, self._now(), self._time)
        )

    async def pending_webhook_deliveries(self, limit: int) -> list[WebhookDelivery]:
        return await self._call(self._outbox.pending_webhook_deliveries, _limit(limit))

    async def mark_webhook_delivery(
        self,
        delivery_id: str,
        status: WebhookStatus,
        error: str | None,
        attempts: int,
        *,
        next_attempt_at: datetime | None = None,
    ) -> None:
        status = WebhookStatus(status)
        done = status in {WebhookStatus.PROCESSED, WebhookStatus.DEAD}
        due = None if next_attempt_at is None else self._time(next_attempt_at, "next attempt")
        await self._call(
            self._outbox.mark_webhook_delivery,
            delivery_id=delivery_id,
            status=status.value,
            error=None if error is None else text(error, "webhook error"),
            attempts=attempts,
            processed_at=self._stamp() if done else None,
            next_attempt_at=None if done else (due or self._stamp()),
        )

    async def append_audit(self, audit: AuditIn) -> None:
        await self._call(self._admin.append_audit, _params.audit(audit, self._now(), self._time))

    async def list_audit(self, *, limit: int, before: str | None = None) -> Page[AuditRow]:
        return await self._call(self._admin.list_audit, _limit(limit), int_cursor(before, "audit"))

    async def trim(self, older_than: RetentionCutoffs) -> TrimResult:
        return await self._call(
            self._outbox.trim,
            self._time(older_than.logs, "logs cutoff"),
            self._time(older_than.sent_events, "sent events cutoff"),
            self._time(older_than.webhook_payloads, "webhook payloads cutoff"),
        )


def _limit(value: int) -> int:
    return limit(value)
