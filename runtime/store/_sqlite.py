"""The embedded backend: one SQLite file (WAL) worked by one thread, off the event loop.

`sqlite3` blocks, so every call runs in a worker thread through `anyio.to_thread.run_sync`
with a `CapacityLimiter(1)`: one connection, one statement at a time, in the order asked,
reads sharing it with writes (WAL lets other processes read meanwhile). A call once started
in the thread runs to its commit or rollback even if the caller is cancelled, so a
transaction is never left half-done. Inputs are checked and turned into parameters on the
loop (`_params`); the operations themselves are the plain functions of `_sqlite_records`,
`_sqlite_admin` and `_sqlite_outbox`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import anyio
import anyio.to_thread

from runtime.store import _migrations, _params, _record_events
from runtime.store import _sqlite_admin as admin
from runtime.store import _sqlite_outbox as outbox
from runtime.store import _sqlite_records as records_ops
from runtime.store import _sqlite_sql as sql
from runtime.store._errors import StoreError, sqlite_errors
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
from runtime.store._values import (
    int_cursor,
    iso,
    json_text,
    limit,
    optional_from_iso,
    str_cursor,
    text,
)
from runtime.vault import SealedValue

T = TypeVar("T")
P = ParamSpec("P")

Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    with sqlite_errors():
        connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
        try:
            connection.execute(sql.BUSY_TIMEOUT_PRAGMA.format(ms=int(busy_timeout * 1000)))
            for pragma in sql.PRAGMAS:
                connection.execute(pragma)
        except BaseException:
            connection.close()
            raise
    return connection


class SqliteStore:
    """`Store` on a SQLite file; open it with `SqliteStore.open` (or `open_store`)."""

    def __init__(self, connection: sqlite3.Connection, limiter: anyio.CapacityLimiter, now: Now):
        self._connection: sqlite3.Connection | None = connection
        self._limiter = limiter
        self._now = now

    @classmethod
    async def open(
        cls, path: Path, *, now: Now = utc_now, busy_timeout: float = 5.0, migrate: bool = True
    ) -> SqliteStore:
        limiter = anyio.CapacityLimiter(1)
        connection = await anyio.to_thread.run_sync(_connect, path, busy_timeout, limiter=limiter)
        store = cls(connection, limiter, now)
        if migrate:
            try:
                await store.migrate()
            except BaseException:
                await store.close()
                raise
        return store

    async def _call(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        return await anyio.to_thread.run_sync(
            partial(self._run, operation, *args, **kwargs), limiter=self._limiter
        )

    def _run(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self._connection is None:
            raise StoreError("the store is closed")
        with sqlite_errors():
            return operation(self._connection, *args, **kwargs)

    def _stamp(self) -> str:
        return iso(self._now(), "now()")

    async def migrate(self) -> int:
        migrations = _migrations.load_migrations("sqlite")
        return await self._call(_migrations.migrate_sqlite, migrations, self._now())

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    def _close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

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
            admin.create_integration,
            spec=_params.integration(spec),
            credentials=_params.credentials(spec.id, credentials, now, iso),
            audit=_params.audit(audit, now, iso),
            events=_params.events(events, iso),
            now=iso(now),
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
        upserts, deletes = _params.credential_changes(spec.id, credentials_changed, now, iso)
        return await self._call(
            admin.update_integration,
            spec=_params.integration(spec),
            expected_version=expected_version,
            upserts=upserts,
            deletes=deletes,
            audit=_params.audit(audit, now, iso),
            events=_params.events(events, iso),
            now=iso(now),
        )

    async def delete_integration(
        self, integration_id: str, audit: AuditIn, *, events: Sequence[EventIn] = ()
    ) -> None:
        await self._call(
            admin.delete_integration,
            integration_id,
            _params.audit(audit, self._now(), iso),
            _params.events(events, iso),
        )

    async def get_integration(self, integration_id: str) -> IntegrationRow:
        return await self._call(admin.get_integration, integration_id)

    async def list_integrations(self) -> list[IntegrationRow]:
        return await self._call(admin.list_integrations)

    async def set_status(
        self, integration_id: str, status: str, *, events: Sequence[EventIn] = ()
    ) -> IntegrationRow:
        return await self._call(
            admin.set_status,
            integration_id,
            text(status, "integration status"),
            _params.events(events, iso),
        )

    async def list_credentials(self, integration_id: str | None = None) -> list[StoredCredential]:
        return await self._call(admin.list_credentials, integration_id)

    async def replace_credentials(self, credentials: Sequence[StoredCredential]) -> int:
        return await self._call(
            admin.replace_credentials, _params.stored_credentials(credentials, iso)
        )

    # -- sync runs and records -----------------------------------------------------------

    async def start_run(self, integration_id: str, entity: str, kind: RunKind) -> SyncRun:
        return await self._call(
            records_ops.start_run,
            text(integration_id, "integration id"),
            text(entity, "entity"),
            RunKind(kind),
            self._stamp(),
        )

    async def resume_run(self, run_id: str) -> SyncRun:
        return await self._call(records_ops.resume_run, run_id, self._stamp())

    async def latest_resumable_run(self, integration_id: str, entity: str) -> SyncRun | None:
        return await self._call(records_ops.latest_resumable_run, integration_id, entity)

    async def touch_run(self, run_id: str) -> None:
        await self._call(records_ops.touch_run, run_id, self._stamp())

    async def write_batch(
        self,
        run_id: str,
        integration_id: str,
        entity: str,
        records: Sequence[RecordIn],
        checkpoint: JsonObject | None,
        *,
        events: Sequence[EventIn] = (),
        record_events: RecordEvents | None = None,
    ) -> BatchResult:
        return await self._call(
            _write_batch,
            run_id=run_id,
            integration_id=integration_id,
            entity=entity,
            records=records,
            checkpoint=checkpoint,
            events=_params.events(events, iso),
            record_events=_record_events.stamp(record_events, iso),
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
    ) -> SyncRun:
        return await self._call(
            records_ops.finish_run,
            run_id=run_id,
            status=_params.final_status(RunStatus(status)),
            error=None if error is None else text(error, "run error"),
            events=_params.events(events, iso),
            record_events=_record_events.stamp(record_events, iso),
            now=self._stamp(),
        )

    async def mark_interrupted_runs(self) -> int:
        return await self._call(records_ops.mark_interrupted_runs, self._stamp())

    async def get_run(self, run_id: str) -> SyncRun:
        return await self._call(records_ops.get_run, run_id)

    async def list_runs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[SyncRun]:
        return await self._call(
            records_ops.list_runs, integration_id, _limit(limit), int_cursor(before, "runs")
        )

    async def get_checkpoint(self, integration_id: str, entity: str) -> JsonObject | None:
        return await self._call(records_ops.get_checkpoint, integration_id, entity)

    async def set_next_sync(
        self, integration_id: str, entities: Sequence[str], at: datetime
    ) -> None:
        await self._call(
            records_ops.set_next_sync,
            integration_id,
            [text(entity, "entity") for entity in entities],
            iso(at, "next sync time"),
        )

    async def next_sync(self, integration_id: str) -> datetime | None:
        return optional_from_iso(await self._call(records_ops.next_sync, integration_id))

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
            records_ops.list_records,
            integration_id=integration_id,
            entity=entity,
            limit=_limit(limit),
            after=str_cursor(after, "records"),
            include_deleted=include_deleted,
        )

    async def count_records(self, integration_id: str) -> Mapping[str, int]:
        return await self._call(records_ops.count_records, integration_id)

    # -- logs, events, webhooks, audit, retention ------------------------------------------

    async def append_logs(self, logs: Sequence[LogIn]) -> None:
        now = self._now()
        await self._call(outbox.append_logs, [_params.log(entry, now, iso) for entry in logs])

    async def list_logs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[LogRow]:
        return await self._call(
            outbox.list_logs, integration_id, _limit(limit), int_cursor(before, "logs")
        )

    async def append_events(self, events: Sequence[EventIn]) -> None:
        await self._call(outbox.append_events, _params.events(events, iso))

    async def pending_events(self, limit: int) -> list[EventRow]:
        return await self._call(outbox.pending_events, _limit(limit))

    async def mark_events_sent(self, ids: Sequence[str], at: datetime) -> int:
        return await self._call(outbox.mark_events_sent, list(ids), iso(at, "sent time"))

    async def events_after(self, seq: int | None, limit: int) -> list[EventRow]:
        return await self._call(outbox.events_after, seq, _limit(limit))

    async def recent_events(self, limit: int, integration_id: str | None = None) -> list[EventRow]:
        return await self._call(outbox.recent_events, _limit(limit), integration_id)

    async def save_webhook_delivery(self, delivery: WebhookIn) -> bool:
        return await self._call(
            outbox.save_webhook_delivery, _params.webhook(delivery, self._now(), iso)
        )

    async def pending_webhook_deliveries(self, limit: int) -> list[WebhookDelivery]:
        return await self._call(outbox.pending_webhook_deliveries, _limit(limit))

    async def mark_webhook_delivery(
        self, delivery_id: str, status: WebhookStatus, error: str | None, attempts: int
    ) -> None:
        status = WebhookStatus(status)
        done = status in {WebhookStatus.PROCESSED, WebhookStatus.DEAD}
        await self._call(
            outbox.mark_webhook_delivery,
            delivery_id=delivery_id,
            status=status.value,
            error=None if error is None else text(error, "webhook error"),
            attempts=attempts,
            processed_at=self._stamp() if done else None,
        )

    async def append_audit(self, audit: AuditIn) -> None:
        await self._call(admin.append_audit, _params.audit(audit, self._now(), iso))

    async def list_audit(self, *, limit: int, before: str | None = None) -> Page[AuditRow]:
        return await self._call(admin.list_audit, _limit(limit), int_cursor(before, "audit"))

    async def trim(self, older_than: RetentionCutoffs) -> TrimResult:
        return await self._call(
            outbox.trim,
            iso(older_than.logs, "logs cutoff"),
            iso(older_than.sent_events, "sent events cutoff"),
            iso(older_than.webhook_payloads, "webhook payloads cutoff"),
        )


def _limit(value: int) -> int:
    return limit(value)


def _write_batch(
    connection: sqlite3.Connection,
    *,
    run_id: str,
    integration_id: str,
    entity: str,
    records: Sequence[RecordIn],
    checkpoint: JsonObject | None,
    events: Sequence[_params.Params],
    record_events: _record_events.Stamp | None,
    now: str,
) -> BatchResult:
    """Hashing runs here, on the worker thread: 1,000 records take milliseconds of CPU."""
    return records_ops.write_batch(
        connection,
        run_id=run_id,
        integration_id=integration_id,
        entity=entity,
        records=_params.records(records),
        checkpoint=None if checkpoint is None else json_text(checkpoint, "checkpoint"),
        events=events,
        record_events=record_events,
        now=now,
    )
