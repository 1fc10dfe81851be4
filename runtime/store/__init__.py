"""Persistence: one `Store` interface, SQLite (embedded default) and PostgreSQL behind it.

`open_store(None, data_dir)` opens SQLite in `data_dir/hub.sqlite3`; a `postgresql://` URL
opens PostgreSQL. Both apply their migrations at open. Everything another package may use is
re-exported here; the `_modules` are internal.
"""

from runtime.store._errors import Conflict, InvalidValue, NotFound, StoreError, StoreUnavailable
from runtime.store._hashing import canonical_json, record_json_and_hash
from runtime.store._interface import Store
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
    Migration,
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
    WebhookRecords,
    WebhookSettled,
    WebhookStatus,
)
from runtime.store._open import SQLITE_FILE_NAME, open_store
from runtime.store._postgres import PostgresStore
from runtime.store._sqlite import SqliteStore, utc_now

__all__ = [
    "SQLITE_FILE_NAME",
    "AuditIn",
    "AuditRow",
    "BatchResult",
    "Conflict",
    "EventIn",
    "EventRow",
    "IntegrationIn",
    "IntegrationRow",
    "InvalidValue",
    "JsonObject",
    "LogIn",
    "LogRow",
    "Migration",
    "NotFound",
    "OutboxRow",
    "Page",
    "PostgresStore",
    "RecordEvents",
    "RecordIn",
    "RecordRow",
    "RetentionCutoffs",
    "RunKind",
    "RunStatus",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredCredential",
    "SyncRun",
    "TrimResult",
    "WebhookDelivery",
    "WebhookIn",
    "WebhookOutcome",
    "WebhookRecords",
    "WebhookSettled",
    "WebhookStatus",
    "canonical_json",
    "open_store",
    "record_json_and_hash",
    "utc_now",
]
