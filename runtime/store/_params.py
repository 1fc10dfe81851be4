"""Values -> statement parameters, checked once here for both backends.

Each function returns the parameter tuple in the column order both SQL modules use; only the
form of a time differs (SQLite stores our ISO text, asyncpg takes a datetime), so the caller
passes its `TimeEncoder`. Everything the backends would disagree on is refused here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from runtime.store._batch import Prepared
from runtime.store._errors import InvalidValue
from runtime.store._hashing import prepare_records
from runtime.store._model import (
    AuditIn,
    EventIn,
    IntegrationIn,
    LogIn,
    RecordIn,
    RunStatus,
    StoredCredential,
    WebhookIn,
)
from runtime.store._values import headers_json, json_text, optional_text, text, utc
from runtime.vault import SealedValue

TimeEncoder = Callable[[datetime, str], object]

Params = tuple[object, ...]

FINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.INTERRUPTED})


def records(batch: Sequence[RecordIn]) -> list[Prepared]:
    """(external_id, canonical JSON, content hash) per distinct external id, the last winning."""
    return prepare_records({record.external_id: record.data for record in batch})


def tombstones(deleted: Sequence[str], batch: Sequence[RecordIn]) -> list[str]:
    """A batch's deleted external ids, checked, each once, sorted; one the batch also
    upserts is refused: which of the two came last is the caller's to say."""
    if not deleted:
        return []
    keys = sorted({text(key, "deleted external id") for key in deleted})
    both = set(keys).intersection(record.external_id for record in batch)
    if both:
        raise InvalidValue(
            f"{len(both)} external id(s) both written and deleted in one batch, e.g. {min(both)!r}"
        )
    return keys


def event(e: EventIn, time: TimeEncoder) -> Params:
    return (
        text(e.id, "event id"),
        text(e.integration_id, "event integration_id"),
        text(e.type, "event type"),
        text(e.source, "event source"),
        time(e.time, "event time"),
        json_text(e.data, f"event {e.id!r} data"),
        optional_text(e.traceparent, "event traceparent"),
    )


def events(batch: Sequence[EventIn], time: TimeEncoder) -> list[Params]:
    return [event(e, time) for e in batch]


def log(entry: LogIn, now: datetime, time: TimeEncoder) -> Params:
    return (
        text(entry.integration_id, "log integration_id"),
        text(entry.level, "log level"),
        text(entry.event_type, "log event_type"),
        text(entry.message, "log message"),
        json_text(entry.details, "log details"),
        entry.duration_ms,
        time(entry.at if entry.at is not None else now, "log time"),
    )


def integration(spec: IntegrationIn) -> Params:
    return (
        text(spec.id, "integration id"),
        text(spec.name, "integration name"),
        text(spec.type, "integration type"),
        text(spec.adapter, "integration adapter"),
        text(spec.status, "integration status"),
        json_text(spec.config, "integration config"),
    )


def audit(entry: AuditIn, now: datetime, time: TimeEncoder) -> Params:
    return (
        time(now, "audit time"),
        text(entry.actor, "audit actor"),
        text(entry.action, "audit action"),
        text(entry.target, "audit target"),
        json_text(entry.details, "audit details"),
    )


def credential(
    integration_id: str, field: str, sealed: SealedValue, at: datetime, time: TimeEncoder
) -> Params:
    return (
        text(integration_id, "credential integration_id"),
        text(field, "credential field"),
        text(sealed.key_id, "credential key_id"),
        bytes(sealed.nonce),
        bytes(sealed.ciphertext),
        time(at, "credential time"),
    )


def credentials(
    integration_id: str, sealed: Mapping[str, SealedValue], at: datetime, time: TimeEncoder
) -> list[Params]:
    return [credential(integration_id, f, value, at, time) for f, value in sealed.items()]


def credential_changes(
    integration_id: str,
    changes: Mapping[str, SealedValue | None],
    at: datetime,
    time: TimeEncoder,
) -> tuple[list[Params], list[tuple[str, str]]]:
    """(credentials to upsert, (integration_id, field) pairs to delete)."""
    kept = {f: value for f, value in changes.items() if value is not None}
    dropped = [
        (text(integration_id, "integration id"), text(f, "credential field"))
        for f, value in changes.items()
        if value is None
    ]
    return credentials(integration_id, kept, at, time), dropped


def stored_credentials(batch: Sequence[StoredCredential], time: TimeEncoder) -> list[Params]:
    return [credential(c.integration_id, c.field, c.sealed, c.updated_at, time) for c in batch]


def webhook(delivery: WebhookIn, now: datetime, time: TimeEncoder) -> Params:
    return (
        text(delivery.id, "webhook id"),
        text(delivery.integration_id, "webhook integration_id"),
        text(delivery.delivery_id, "webhook delivery_id"),
        time(now, "webhook received time"),
        headers_json(delivery.headers),
        bytes(delivery.body),
        time(now if delivery.due_at is None else delivery.due_at, "webhook due time"),
    )


def final_status(status: RunStatus) -> RunStatus:
    if status not in FINAL_STATUSES:
        raise InvalidValue(f"a run finishes as completed, failed or interrupted, not {status}")
    return status


def aware(value: datetime, what: str) -> datetime:
    return utc(value, what)
