"""An event as a CloudEvents 1.0 JSON object: the one shape every subscriber sees.

CloudEvents gives outside subscribers a documented envelope: `id` to deduplicate by (it is
also the JetStream `Nats-Msg-Id`), `source` and `type` to route on, and the distributed-tracing
extension's `traceparent` to join the trace that produced the event. The NATS subject is
derived from the event itself (`subject_for`), so transport and payload cannot disagree; that is
also why the integration id must be a slug: a dot, a space or a wildcard would change which
subscribers a subject reaches.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from runtime._ids import random_uuid
from runtime.bus._errors import InvalidEvent

SOURCE_PREFIX = "/integrations/"
TYPE_PREFIX = "hub.integration."
SUBJECT_PREFIX = "hub.events"

# The same rule as `config.IntegrationConfig.id`: a slug that is a single NATS subject token.
_INTEGRATION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# W3C Trace Context, version 00: version-traceid-parentid-flags; all-zero ids are invalid.
_TRACEPARENT = re.compile(
    r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"
)


class EventName(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    SYNC_STARTED = "sync_started"
    SYNC_COMPLETED = "sync_completed"
    SYNC_FAILED = "sync_failed"
    ERROR = "error"
    RATE_LIMITED = "rate_limited"
    HEALTH_CHANGED = "health_changed"
    WEBHOOK_RECEIVED = "webhook_received"
    RESTARTED = "restarted"
    PARKED = "parked"
    CONFIG_CHANGED = "config_changed"
    RECORD_CHANGED = "record_changed"


_NAMES = frozenset(EventName)


def check_integration_id(integration_id: str) -> str:
    """`integration_id` unchanged if it is a valid slug; `InvalidEvent` naming the rule if not."""
    if not _INTEGRATION_ID.fullmatch(integration_id):
        raise InvalidEvent(
            f"integration id {integration_id!r} is not a slug "
            "(1-63 of a-z, 0-9, '_', '-', starting with a letter or digit)"
        )
    return integration_id


class CloudEvent(BaseModel):
    """A hub event (CloudEvents 1.0, JSON format). Build one with `new_event`."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime = Field(strict=True)
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = None
    data: dict[str, JsonValue]

    @field_validator("id")
    @classmethod
    def _canonical_uuid(cls, value: str) -> str:
        try:
            canonical = str(uuid.UUID(value))
        except ValueError:
            raise ValueError("must be a UUID") from None
        if canonical != value:
            raise ValueError(f"must be a UUID in canonical form ({canonical})")
        return value

    @field_validator("source")
    @classmethod
    def _integration_source(cls, value: str) -> str:
        if not value.startswith(SOURCE_PREFIX):
            raise ValueError(f"must be {SOURCE_PREFIX}<integration id>")
        try:
            check_integration_id(value.removeprefix(SOURCE_PREFIX))
        except InvalidEvent as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if not value.startswith(TYPE_PREFIX) or value.removeprefix(TYPE_PREFIX) not in _NAMES:
            known = ", ".join(EventName)
            raise ValueError(f"must be {TYPE_PREFIX}<name> with a name out of: {known}")
        return value

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a time zone")
        return value.astimezone(UTC)

    @field_validator("traceparent")
    @classmethod
    def _w3c_traceparent(cls, value: str | None) -> str | None:
        if value is not None and not _TRACEPARENT.fullmatch(value):
            raise ValueError("must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)")
        return value

    @property
    def integration_id(self) -> str:
        return self.source.removeprefix(SOURCE_PREFIX)

    @property
    def name(self) -> EventName:
        return EventName(self.type.removeprefix(TYPE_PREFIX))


def new_event(
    integration_id: str,
    name: EventName,
    data: Mapping[str, JsonValue],
    *,
    now: datetime,
    traceparent: str | None = None,
) -> CloudEvent:
    """A new event with a fresh random id; `now` is wall-clock time with a time zone."""
    if name not in _NAMES:
        raise InvalidEvent(f"unknown event name {name!r}; known: {', '.join(EventName)}")
    return _validated(
        {
            "id": random_uuid(),
            "source": SOURCE_PREFIX + check_integration_id(integration_id),
            "type": TYPE_PREFIX + name,
            "time": now,
            "traceparent": traceparent,
            "data": dict(data),
        }
    )


def to_json(event: CloudEvent) -> bytes:
    absent = {"traceparent"} if event.traceparent is None else None
    return event.model_dump_json(exclude=absent).encode()


def from_json(raw: bytes | str) -> CloudEvent:
    """Parse and validate; `InvalidEvent` names every field that is wrong."""
    try:
        return CloudEvent.model_validate_json(raw)
    except ValidationError as error:
        raise InvalidEvent(_describe(error)) from None


def subject_for(event: CloudEvent) -> str:
    """`hub.events.{integration_id}.{name}`: the NATS subject the event travels on."""
    return f"{SUBJECT_PREFIX}.{event.integration_id}.{event.name}"


def subject_filter(integration_id: str | None = None) -> str:
    """The subject pattern for one integration's events, or every integration's (None)."""
    token = "*" if integration_id is None else check_integration_id(integration_id)
    return f"{SUBJECT_PREFIX}.{token}.>"


def _validated(fields: Mapping[str, object]) -> CloudEvent:
    try:
        return CloudEvent.model_validate(fields)
    except ValidationError as error:
        raise InvalidEvent(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "event"
        problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "invalid CloudEvent: " + "; ".join(problems)
