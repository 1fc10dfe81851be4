"""The API's bodies as pydantic models: they shape every JSON response and are what the
OpenAPI document (`api._openapi`) describes.

Requests that create or change an integration are validated by the configuration's own models
(`config.IntegrationInput`, through `IntegrationService`); the few request bodies of the API's
own (`SyncRequest`, `SampleRequest`) are here. Responses are built from the hub's values by the
`*_out` functions, so a response can only carry what its model declares: credentials have no
field anywhere but `credentials[].field` (the name). Times are UTC, ISO 8601.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    WithJsonSchema,
)

from actors._messages import SyncReply, SyncState, TestResult
from actors._overview import IntegrationSummary as Summary
from adapters import AdapterSpec
from config import IntegrationConfig
from runtime.store import EventRow, LogRow, RecordRow, SyncRun


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Time = Annotated[
    AwareDatetime,
    PlainSerializer(_utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
OUT = ConfigDict(frozen=True, extra="forbid")
IN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


# -- requests ---------------------------------------------------------------------------------


class SyncRequest(BaseModel):
    """Body of `POST /api/integrations/{id}/sync` (optional: a full sync by default)."""

    model_config = IN
    kind: Literal["full", "incremental"] = Field(
        default="full", description="full: read everything, notice deletions; incremental."
    )


class SampleRequest(BaseModel):
    """Body of `POST /api/samples`: an unsaved integration and the entity to sample."""

    model_config = IN
    integration: dict[str, JsonValue] = Field(
        description="The integration as the wizard has it so far (id and name optional)."
    )
    entity: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", description="Entity to read records of."
    )


# -- responses ---------------------------------------------------------------------------------


class Run(BaseModel):
    model_config = OUT
    id: str
    entity: str
    kind: Literal["full", "incremental"]
    status: Literal["running", "completed", "failed", "interrupted"]
    started_at: Time
    finished_at: Time | None
    duration_ms: float | None = Field(description="Null while the run is running.")
    added: int
    updated: int
    unchanged: int
    deleted: int
    error: str | None


class SyncProgress(BaseModel):
    """The sync in progress, as the actor counts it (all entities so far)."""

    model_config = OUT
    entity: str = Field(description="Entity being synced now.")
    batches: int
    added: int
    updated: int
    unchanged: int


class IntegrationSummary(BaseModel):
    model_config = OUT
    id: str
    name: str
    description: str
    type: str
    adapter: str
    enabled: bool
    status: str = Field(description="active, inactive, connecting, error or parked.")
    version: int = Field(description="Increases with every change; send it as If-Match.")
    created_at: Time
    updated_at: Time
    last_sync: Run | None = Field(description="The latest run of any entity.")
    records: dict[str, int] = Field(description="Live records per entity.")
    total_records: int
    next_sync_at: Time | None
    sync: SyncProgress | None = Field(description="Null when no sync is running.")


class CredentialState(BaseModel):
    """A credential that is set: its name only, never its value."""

    model_config = OUT
    field: str
    set: Literal[True] = True


class IntegrationDetail(IntegrationSummary):
    config: IntegrationConfig = Field(description="The whole configuration (no credentials).")
    credentials: list[CredentialState]


class IntegrationPage(BaseModel):
    model_config = OUT
    items: list[IntegrationSummary]
    next_cursor: str | None


class RunPage(BaseModel):
    model_config = OUT
    items: list[Run]
    next_cursor: str | None


class LogEntry(BaseModel):
    model_config = OUT
    id: int
    at: Time
    level: str
    event_type: str
    message: str
    details: dict[str, JsonValue]
    duration_ms: float | None


class LogPage(BaseModel):
    model_config = OUT
    items: list[LogEntry]
    next_cursor: str | None


class Record(BaseModel):
    model_config = OUT
    external_id: str
    entity: str
    data: dict[str, JsonValue]
    updated_at: Time
    deleted_at: Time | None


class RecordPage(BaseModel):
    model_config = OUT
    items: list[Record]
    next_cursor: str | None


class ConnectionTest(BaseModel):
    model_config = OUT
    ok: bool
    latency_ms: float
    detail: str


class RunStarted(BaseModel):
    model_config = OUT
    id: str = Field(description="Run id, as in the runs list and the sync events.")
    entity: str


class SyncAccepted(BaseModel):
    model_config = OUT
    kind: Literal["full", "incremental"]
    runs: list[RunStarted] = Field(
        description="The run begun before the answer (the first entity's); the other entities' "
        "runs begin in turn (see the sync_started events)."
    )
    entities: list[str] = Field(description="Every entity this sync will go through, in order.")


class ReconnectAccepted(BaseModel):
    model_config = OUT
    status: str = Field(description="The integration's status after the first attempt.")


class CatalogItem(BaseModel):
    model_config = OUT
    name: str
    title: str
    description: str
    icon: str
    kind: str = Field(description="Integration type the adapter serves (REST, IMAP, ...).")
    status: Literal["available", "coming"]
    settings_schema: dict[str, JsonValue] = Field(description="JSON Schema of its settings.")
    credential_fields: list[str]
    required_credentials: list[list[str]] = Field(
        description="Groups of credential fields: at least one of each group must be given; "
        "a field in no group is optional."
    )
    credential_help: dict[str, str] = Field(
        description="What a credential field is, by name (for a setup form)."
    )
    entities: list[str]


class Catalog(BaseModel):
    model_config = OUT
    items: list[CatalogItem]


class ActivityEvent(BaseModel):
    """A CloudEvents 1.0 event from the outbox, with its position there (`seq`)."""

    model_config = OUT
    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: Time
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = None
    data: dict[str, JsonValue]
    seq: int


class Activity(BaseModel):
    model_config = OUT
    items: list[ActivityEvent]


class Sample(BaseModel):
    model_config = OUT
    entity: str
    fields: list[str] = Field(description="Dotted paths of the fields seen in the records.")
    records: list[dict[str, JsonValue]]


class ProblemFieldError(BaseModel):
    model_config = OUT
    field: str = Field(description="Dotted path into the body, or a parameter's name.")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = OUT
    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = None


# -- from the hub's values ---------------------------------------------------------------------


def run_out(run: SyncRun) -> Run:
    duration = None
    if run.finished_at is not None:
        duration = (run.finished_at - run.started_at).total_seconds() * 1000
    return Run(
        id=run.id,
        entity=run.entity,
        kind=run.kind.value,
        status=run.status.value,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=duration,
        added=run.added,
        updated=run.updated,
        unchanged=run.unchanged,
        deleted=run.deleted,
        error=run.error,
    )


def _sync_out(state: SyncState | None) -> SyncProgress | None:
    if state is None:
        return None
    return SyncProgress(
        entity=state.entity,
        batches=state.batches,
        added=state.added,
        updated=state.updated,
        unchanged=state.unchanged,
    )


def _summary_fields(summary: Summary) -> dict[str, object]:
    view = summary.view
    config = view.config
    return {
        "id": config.id,
        "name": config.name,
        "description": config.description,
        "type": config.type.value,
        "adapter": config.adapter,
        "enabled": config.enabled,
        "status": view.status,
        "version": view.version,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "last_sync": None if summary.last_run is None else run_out(summary.last_run),
        "records": dict(summary.records),
        "total_records": summary.total_records,
        "next_sync_at": summary.next_sync_at,
        "sync": _sync_out(summary.sync),
    }


def summary_out(summary: Summary) -> IntegrationSummary:
    return IntegrationSummary.model_validate(_summary_fields(summary))


def detail_out(summary: Summary) -> IntegrationDetail:
    config = summary.view.config
    return IntegrationDetail.model_validate(
        {
            **_summary_fields(summary),
            "config": config,
            "credentials": [CredentialState(field=name) for name in config.credential_fields],
        }
    )


def log_out(row: LogRow) -> LogEntry:
    return LogEntry(
        id=row.id,
        at=row.created_at,
        level=row.level,
        event_type=row.event_type,
        message=row.message,
        details=_json_object(row.details),
        duration_ms=row.duration_ms,
    )


def record_out(row: RecordRow) -> Record:
    return Record(
        external_id=row.external_id,
        entity=row.entity,
        data=_json_object(row.data),
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


def test_out(result: TestResult) -> ConnectionTest:
    return ConnectionTest(ok=result.ok, latency_ms=result.latency * 1000, detail=result.detail)


def sync_out(kind: str, reply: SyncReply) -> SyncAccepted:
    return SyncAccepted.model_validate(
        {
            "kind": kind,
            "runs": [RunStarted(id=run.id, entity=run.entity) for run in reply.runs],
            "entities": list(reply.entities),
        }
    )


def catalog_item_out(spec: AdapterSpec) -> CatalogItem:
    return CatalogItem(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        icon=spec.icon,
        kind=spec.kind.value,
        status=spec.status.value,
        settings_schema=_json_object(spec.settings_schema),
        credential_fields=list(spec.credential_fields),
        required_credentials=[list(group) for group in spec.credential_groups],
        credential_help=dict(spec.credential_help),
        entities=list(spec.entities),
    )


def event_out(row: EventRow) -> ActivityEvent:
    return ActivityEvent(
        id=row.id,
        source=row.source,
        type=row.type,
        time=row.time,
        traceparent=row.traceparent,
        data=_json_object(row.data),
        seq=row.seq,
    )


def _json_object(value: Mapping[str, object]) -> dict[str, JsonValue]:
    return dict(value)  # type: ignore[arg-type]  # stored JSON: JSON values by construction
