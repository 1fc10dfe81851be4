"""Rows as the databases return them -> the store's values, one builder per table.

Both backends select the same columns in the same order (the `*_COLUMNS` lists below, which
their SQL modules splice in), so one builder serves both; only how a time comes back differs
(SQLite: our ISO text; PostgreSQL: a datetime), which `Decoder` hides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.store._model import (
    AuditRow,
    EventRow,
    IntegrationRow,
    LogRow,
    OutboxRow,
    RecordRow,
    RunKind,
    RunStatus,
    StoredCredential,
    SyncRun,
    WebhookDelivery,
    WebhookStatus,
)
from runtime.store._values import from_iso, load_headers, load_json
from runtime.vault import SealedValue

Row = Sequence[Any]

INTEGRATION_COLUMNS = "id, name, type, adapter, status, config, created_at, updated_at, version"
CREDENTIAL_COLUMNS = "integration_id, field, key_id, nonce, ciphertext, updated_at"
RUN_COLUMNS = (
    "id, integration_id, entity, kind, status, started_at, finished_at, last_progress_at,"
    " added, updated, unchanged, deleted, error, seq"
)
RECORD_COLUMNS = (
    "integration_id, entity, external_id, data, content_hash, created_at, updated_at, deleted_at"
)
EVENT_COLUMNS = "seq, id, integration_id, type, source, time, data, traceparent, sent_at"
LOG_COLUMNS = "id, integration_id, level, event_type, message, details, duration_ms, created_at"
WEBHOOK_COLUMNS = (
    "id, integration_id, delivery_id, received_at, headers, body, status, attempts,"
    " last_error, processed_at, next_attempt_at"
)
AUDIT_COLUMNS = "id, at, actor, action, target, details"

RUN_SEQ = 13  # where RUN_COLUMNS puts seq, the key of run pages


@dataclass(frozen=True, slots=True)
class Decoder:
    time: Callable[[Any], datetime]

    def optional_time(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)


SQLITE = Decoder(time=from_iso)
POSTGRES = Decoder(time=lambda value: value)


def integration(row: Row, d: Decoder) -> IntegrationRow:
    return IntegrationRow(
        id=row[0],
        name=row[1],
        type=row[2],
        adapter=row[3],
        status=row[4],
        config=load_json(row[5]),
        created_at=d.time(row[6]),
        updated_at=d.time(row[7]),
        version=row[8],
    )


def credential(row: Row, d: Decoder) -> StoredCredential:
    return StoredCredential(
        integration_id=row[0],
        field=row[1],
        sealed=SealedValue(key_id=row[2], nonce=bytes(row[3]), ciphertext=bytes(row[4])),
        updated_at=d.time(row[5]),
    )


def run(row: Row, d: Decoder) -> SyncRun:
    return SyncRun(
        id=row[0],
        integration_id=row[1],
        entity=row[2],
        kind=RunKind(row[3]),
        status=RunStatus(row[4]),
        started_at=d.time(row[5]),
        finished_at=d.optional_time(row[6]),
        last_progress_at=d.time(row[7]),
        added=row[8],
        updated=row[9],
        unchanged=row[10],
        deleted=row[11],
        error=row[12],
    )


def record(row: Row, d: Decoder) -> RecordRow:
    return RecordRow(
        integration_id=row[0],
        entity=row[1],
        external_id=row[2],
        data=load_json(row[3]),
        content_hash=row[4],
        created_at=d.time(row[5]),
        updated_at=d.time(row[6]),
        deleted_at=d.optional_time(row[7]),
    )


def event(row: Row, d: Decoder) -> EventRow:
    return EventRow(
        seq=row[0],
        id=row[1],
        integration_id=row[2],
        type=row[3],
        source=row[4],
        time=d.time(row[5]),
        data=load_json(row[6]),
        traceparent=row[7],
        sent_at=d.optional_time(row[8]),
    )


def outbox(row: Row, d: Decoder) -> OutboxRow:
    return OutboxRow(row[0], row[1], row[3], row[4], d.time(row[5]), row[6], row[7])


def log(row: Row, d: Decoder) -> LogRow:
    return LogRow(
        id=row[0],
        integration_id=row[1],
        level=row[2],
        event_type=row[3],
        message=row[4],
        details=load_json(row[5]),
        duration_ms=row[6],
        created_at=d.time(row[7]),
    )


def webhook(row: Row, d: Decoder) -> WebhookDelivery:
    return WebhookDelivery(
        id=row[0],
        integration_id=row[1],
        delivery_id=row[2],
        received_at=d.time(row[3]),
        headers=load_headers(row[4]),
        body=None if row[5] is None else bytes(row[5]),
        status=WebhookStatus(row[6]),
        attempts=row[7],
        last_error=row[8],
        processed_at=d.optional_time(row[9]),
        next_attempt_at=d.optional_time(row[10]),
    )


def audit(row: Row, d: Decoder) -> AuditRow:
    return AuditRow(
        id=row[0],
        at=d.time(row[1]),
        actor=row[2],
        action=row[3],
        target=row[4],
        details=load_json(row[5]),
    )
