"""PostgreSQL through an asyncpg pool: the backend the hub grows onto.

Each operation borrows a pooled connection for one transaction (see `_postgres_records`,
`_postgres_admin`, `_postgres_outbox`); every asyncpg and socket error is translated on the way
out (`postgres_errors`). When the server goes away, the calls fail with `StoreUnavailable`;
the pool replaces broken connections on later calls, so the store works again once the
server is back, without being reopened. Each new connection gets the temporary table that
record batches are copied into.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped

from runtime.store import _migrations, _params, _record_events
from runtime.store import _postgres_admin as admin
from runtime.store import _postgres_outbox as outbox
from runtime.store import _postgres_records as records_ops
from runtime.store import _postgres_sql as sql
from runtime.store._errors import StoreError, postgres_errors
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
from runtime.store._postgres_tx import Connection
from runtime.store._values import int_cursor, json_text, limit, str_cursor, text, utc
from runtime.vault import SealedValue

T = TypeVar("T")
P = ParamSpec("P")

Now = Callable[[], datetime]

# asyncpg ships no type information; this names its `Pool`.
Pool = Any


async def _prepare_connection(connection: Connection) -> None:
    await connection.execute(sql.STAGE_TABLE)


async def _reset_connection(connection: Connection) -> None:
    """Between borrowers: end a transaction left open, keep the session (and its temporary
    table). asyncpg's default reset (RESET ALL, CLOSE ALL, UNLISTEN *, unlock all) costs a
    round trip per call, for session state this store never sets."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class PostgresStore:
    """`Store` on PostgreSQL; open it with `PostgresStore.open` (or `open_store`)."""

    def __init__(self, pool: Pool, now: Now) -> None:
        self._pool: Pool | None = pool
        self._now = now

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        now: Now,
        migrate: bool = True,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 10.0,
    ) -> PostgresStore:
        with postgres_errors():
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                init=_prepare_connection,
                reset=_reset_connection,
            )
        store = cls(pool, now)
        if migrate:
            try:
                await store.migrate()
            except BaseException:
                await store.close()
                raise
        return store

    async def _call(
        self,
        operation: Callable[Concatenate[Connection, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        with postgres_errors():
            pool = self._pool
            if pool is None:
                raise StoreError("the store is closed")
            async with pool.acquire() as connection:
                return await operation(connection, *args, **kwargs)

    def _stamp(self) -> datetime:
        return utc(self._now(), "now()")

    async def migrate(self) -> int:
        migrations = _migrations.load_migrations("postgres")
        return await self._call(_migrations.migrate_postgres, migrations, self._now())

    async def close(self) -> None:
        with postgres_errors():
            pool, self._pool = self._pool, None
            if pool is not None:
                await pool.close()

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
            credentials=_params.credentials(spec.id, credentials, now, utc),
            audit=_params.audit(audit, now, utc),
            events=_params.events(events, utc),
            now=now,
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
        upserts, deletes = _params.credential_changes(spec.id, credentials_changed, now, utc)
        return await self._call(
            admin.update_integration,
            spec=_params.integration(spec),
            expected_version=expected_version,
            upserts=upserts,
            deletes=deletes,
            audit=_params.audit(audit, now, utc),
            events=_params.events(events, utc),
            now=now,
        )

    async def delete_integration(
        self, integration_id: str, audit: AuditIn, *, events: Sequence[EventIn] = ()
    ) -> None:
        await self._call(
            admin.delete_integration,
            integration_id,
            _params.audit(audit, self._now(), utc),
            _params.events(events, utc),
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
            _params.events(events, utc),
        )

    async def list_credentials(self, integration_id: str | None = None) -> list[StoredCredential]:
        return await self._call(admin.list_credentials, integration_id)

    async def replace_credentials(self, credentials: Sequence[StoredCredential]) -> int:
        return await self._call(
            admin.replace_credentials, _params.stored_credentials(credentials, utc)
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
            records_ops.write_batch,
            run_id=run_id,
            integration_id=integration_id,
            entity=entity,
            records=_params.records(records),
            checkpoint=None if checkpoint is None else json_text(checkpoint, "checkpoint"),
            events=_params.events(events, utc),
            record_events=_record_events.stamp(record_events, utc),
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
            events=_params.events(events, utc),
            record_events=_record_events.stamp(record_events, utc),
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
            utc(at, "next sync time"),
        )

    async def next_sync(self, integration_id: str) -> datetime | None:
        return await self._call(records_ops.next_sync, integration_id)

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
        await self._call(outbox.append_logs, [_params.log(entry, now, utc) for entry in logs])

    async def list_logs(
        self, integration_id: str, *, limit: int, before: str | None = None
    ) -> Page[LogRow]:
        return await self._call(
            outbox.list_logs, integration_id, _limit(limit), int_cursor(before, "logs")
        )

    async def append_events(self, events: Sequence[EventIn]) -> None:
        await self._call(outbox.append_events, _params.events(events, utc))

    async def pending_events(self, limit: int) -> list[EventRow]:
        return await self._call(outbox.pending_events, _limit(limit))

    async def mark_events_sent(self, ids: Sequence[str], at: datetime) -> int:
        return await self._call(outbox.mark_events_sent, list(ids), utc(at, "sent time"))

    async def events_after(self, seq: int | None, limit: int) -> list[EventRow]:
        return await self._call(outbox.events_after, seq, _limit(limit))

    async def recent_events(self, limit: int, integration_id: str | None = None) -> list[EventRow]:
        return await self._call(outbox.recent_events, _limit(limit), integration_id)

    async def save_webhook_delivery(self, delivery: WebhookIn) -> bool:
        return await self._call(
            outbox.save_webhook_delivery, _params.webhook(delivery, self._now(), utc)
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
        await self._call(admin.append_audit, _params.audit(audit, self._now(), utc))

    async def list_audit(self, *, limit: int, before: str | None = None) -> Page[AuditRow]:
        return await self._call(admin.list_audit, _limit(limit), int_cursor(before, "audit"))

    async def trim(self, older_than: RetentionCutoffs) -> TrimResult:
        return await self._call(
            outbox.trim,
            utc(older_than.logs, "logs cutoff"),
            utc(older_than.sent_events, "sent events cutoff"),
            utc(older_than.webhook_payloads, "webhook payloads cutoff"),
        )


def _limit(value: int) -> int:
    return limit(value)
