"""The running hub: bus, outbox relay, retention and the integration actors under one root.

`running_hub` is what `integration-hub run` serves and what the end-to-end tests start in
process: everything under the root supervisor, stopped in reverse order on the way out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from actors._hub import Hub
from actors._integrations import IntegrationService
from actors._messages import STALL_TIMEOUT, TRACER_NAME, IntegrationDeps
from actors._retention import RetentionActor, RetentionPolicy
from actors._webhook_inbox import WebhookInbox
from actors._webhook_policy import WebhookOptions
from actors._webhook_service import WebhookService, start_webhooks
from api._services import Services
from config import Settings
from runtime import (
    SYSTEM_CLOCK,
    ChildChange,
    ChildSpec,
    Clock,
    OnIntensity,
    Service,
    Supervisor,
    SupervisorOptions,
)
from runtime.bus import EventBus, OutboxRelay, open_bus
from runtime.outbox import StoreOutbox
from runtime.store import utc_now

RELAY_BATCH = 500  # events a relay round reads and pipelines (a sync's backlog drains faster)
ROOT_OPTIONS = SupervisorOptions(name="hub", on_intensity=OnIntensity.PARK)
WEBHOOK_OPTIONS = WebhookOptions()  # the code defaults (the settings' defaults are the same)

DEMO_INTEGRATION = {
    "id": "demo",
    "name": "Demo shop",
    "type": "REST",
    "adapter": "demo",
    "description": "Generated customers and invoices that change between syncs.",
    "entities": ["customers", "invoices"],
    "schedule": {"cron": "* * * * *", "jitter_seconds": 0},
}


@dataclass(frozen=True, slots=True)
class RunningHub:
    services: Services
    bus: EventBus
    relay: OutboxRelay
    root: Supervisor
    hub: Hub
    webhooks: WebhookService


def webhook_options(settings: Settings) -> WebhookOptions:
    """The webhook options an operator tunes (`HUB_WEBHOOK_*`), the others at their defaults."""
    return WebhookOptions(
        max_attempts=settings.webhook_max_attempts,
        retry_base=float(settings.webhook_retry_seconds),
        retry_cap=float(settings.webhook_retry_max_seconds),
    )


async def ensure_demo(integrations: IntegrationService) -> None:
    """On a first start (no integrations at all) add the demo, so there is something to see."""
    if not await integrations.list():
        await integrations.create(DEMO_INTEGRATION, origin="first start")


@asynccontextmanager
async def running_hub(
    services: Services,
    *,
    demo: bool = True,
    clock: Clock = SYSTEM_CLOCK,
    root_options: SupervisorOptions = ROOT_OPTIONS,
    stall_timeout: float = STALL_TIMEOUT,
    tracer_provider: TracerProvider | None = None,
    now: Callable[[], datetime] = utc_now,
    webhooks: WebhookOptions | None = None,
) -> AsyncIterator[RunningHub]:
    """Everything under one root supervisor; `clock`, `root_options`, `stall_timeout` and
    `now` (the wall clock the schedule is planned on) are for tests, and so is `webhooks`
    (None: the options the settings give, `webhook_options`)."""
    settings = services.settings
    inbox = WebhookInbox(webhook_options(settings) if webhooks is None else webhooks)
    bus = await open_bus(settings.nats_url, clock=clock)
    try:
        relay = OutboxRelay(
            StoreOutbox(services.store),
            bus,
            clock=clock,
            batch_size=RELAY_BATCH,
            tracer_provider=tracer_provider,
        )
        deps = IntegrationDeps(
            store=services.store,
            integrations=services.integrations,
            registry=services.registry,
            clock=clock,
            now=now,
            notify=relay.notify,
            default_schedule=settings.default_schedule,
            schedule_jitter=float(settings.schedule_jitter_seconds),
            stall_timeout=stall_timeout,
            tracer=trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider),
            webhooks=inbox,
        )
        hubs: list[Hub] = []

        def on_change(change: ChildChange) -> None:
            for hub in hubs:
                hub.on_change(change)

        root = Supervisor(options=root_options, clock=clock, on_change=on_change)
        async with root.running():
            await root.start_child(ChildSpec("outbox-relay", Service(relay.run)))
            policy = RetentionPolicy(
                logs_days=settings.retention_logs_days,
                events_days=settings.retention_events_days,
                webhook_payload_days=settings.retention_webhook_payload_days,
            )
            await root.spawn("retention", lambda: RetentionActor(services.store, policy))
            if demo:
                await ensure_demo(services.integrations)
            hub = Hub(root, deps)
            hubs.append(hub)
            await hub.start()
            inbound = await start_webhooks(
                root, services.store, services.integrations, hub.refs.get, inbox=inbox, now=now
            )
            yield RunningHub(services, bus, relay, root, hub, inbound)
    finally:
        await bus.close()
