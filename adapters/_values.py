"""The plain values that cross the adapter contract: records, batches, sync and webhook requests.

All frozen: a batch handed to the store, or a request handed to an adapter, cannot change under
the one holding it. JSON is typed as read-only `Mapping`/`Sequence` so that a record's data can
be shared between generations and batches without copying.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TypeAlias

JsonValue: TypeAlias = (
    "str | int | float | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)
JsonObject: TypeAlias = Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as the source system has it; `deleted` marks a tombstone (data then empty)."""

    external_id: str
    data: JsonObject
    deleted: bool = False

    def __post_init__(self) -> None:
        if not self.external_id:
            raise ValueError("SourceRecord.external_id must not be empty")


@dataclass(frozen=True, slots=True)
class Batch:
    """Records of one entity, and the cursor to resume *after* them.

    `complete` is True on the entity's last batch of the sync; a store writes the records and the
    checkpoint in one transaction, so a sync killed between batches resumes with nothing lost
    or doubled.
    """

    entity: str
    records: tuple[SourceRecord, ...]
    checkpoint: JsonObject
    complete: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.records, tuple):
            raise TypeError(f"Batch.records must be a tuple, got {type(self.records).__name__}")


class SyncKind(enum.Enum):
    FULL = "full"
    INCREMENTAL = "incremental"


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Which entities to sync and where each one resumes (None: from the beginning).

    A sync given an entity's checkpoint continues exactly after the batch that produced it.
    """

    entities: tuple[str, ...]
    kind: SyncKind = SyncKind.FULL
    checkpoints: Mapping[str, JsonObject | None] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        if not self.entities or len(set(self.entities)) != len(self.entities):
            raise ValueError(
                f"SyncRequest.entities must be distinct and not empty: {self.entities}"
            )
        unknown = set(self.checkpoints) - set(self.entities)
        if unknown:
            raise ValueError(f"checkpoints for entities not requested: {sorted(unknown)}")

    def checkpoint(self, entity: str) -> JsonObject | None:
        return self.checkpoints.get(entity)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An inbound delivery as received: header names lower-cased, the body untouched (raw bytes)."""

    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def __post_init__(self) -> None:
        lowered = {name.lower(): value for name, value in self.headers.items()}
        object.__setattr__(self, "headers", MappingProxyType(lowered))


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """Something the peer told us happened that is no record (a call started, a sync finished)."""

    type: str
    data: JsonObject = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What a verified delivery carried: records by entity, and events."""

    records: Mapping[str, tuple[SourceRecord, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    events: tuple[WebhookEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """Who we are connected to, for the dashboard: the peer, the account, its version if known."""

    peer: str
    account: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """One health check: `latency` in seconds; `detail` is safe to show."""

    ok: bool
    latency: float
    detail: str = ""
