"""What an integration actor is given and what it is told: its dependencies, its messages
and the values it answers with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from opentelemetry import trace

from actors._integrations import IntegrationService
from actors._webhook_inbox import WebhookInbox, WebhooksWaiting
from adapters import Registry, SyncKind
from runtime import Clock, Control, Request
from runtime.store import Store

TRACER_NAME = "integration_hub.actors"
STALL_TIMEOUT = 300.0  # seconds a sync may go without progress before it is failed


@dataclass(frozen=True, slots=True)
class IntegrationDeps:
    store: Store
    integrations: IntegrationService
    registry: Registry
    clock: Clock
    now: Callable[[], datetime]
    notify: Callable[[], None]  # new events are in the outbox
    default_schedule: str = "*/15 * * * *"
    schedule_jitter: float = 30.0
    stall_timeout: float = STALL_TIMEOUT
    tracer: trace.Tracer = field(default_factory=lambda: trace.get_tracer(TRACER_NAME))
    webhooks: WebhookInbox = field(default_factory=WebhookInbox)  # deliveries to process


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    latency: float
    detail: str


@dataclass(frozen=True, slots=True)
class SyncState:
    running: bool
    entity: str
    batches: int
    added: int
    updated: int
    unchanged: int


class SyncRefusal(StrEnum):
    """Why a requested sync did not start."""

    ALREADY_RUNNING = "already_running"
    NOT_CONNECTED = "not_connected"


@dataclass(frozen=True, slots=True)
class RunRef:
    id: str
    entity: str


@dataclass(frozen=True, slots=True)
class SyncReply:
    """A started sync names the run it began (the first entity's, begun before the reply;
    the others begin in turn) and every entity it will sync; a refused one says why."""

    runs: tuple[RunRef, ...] = ()
    entities: tuple[str, ...] = ()
    refused: SyncRefusal | None = None

    @property
    def started(self) -> bool:
        return self.refused is None


@dataclass(frozen=True, slots=True)
class SyncNow(Request[SyncReply]):
    """Start a sync unless one is running."""

    kind: SyncKind = SyncKind.FULL


@dataclass(frozen=True, slots=True)
class TestConnection(Control, Request[TestResult]):
    pass


@dataclass(frozen=True, slots=True)
class GetSync(Control, Request[SyncState]):
    pass


@dataclass(frozen=True, slots=True)
class Scheduled:
    pass


@dataclass(frozen=True, slots=True)
class StallCheck:
    pass


@dataclass(frozen=True, slots=True)
class PeerChanged:
    """The adapter's `watch` saw the peer change: a sync of `kind` catches up with it."""

    kind: SyncKind = SyncKind.INCREMENTAL


Message = (
    SyncNow | TestConnection | GetSync | Scheduled | StallCheck | WebhooksWaiting | PeerChanged
)
