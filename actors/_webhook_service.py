"""Inbound webhooks as the API sees them: accept a verified delivery, list, replay.

`start_webhooks` puts the intake's writer and the retry scan under the root supervisor and
returns the `WebhookService` the HTTP layer calls:
- `endpoint(id)`: the integration's cached verifier, or None when it takes no webhooks;
- `accept(...)`: group-commits the delivery; True (new: then handed to the integration's
  actor through the inbox) or False (a duplicate, not processed again);
- `list(...)` and `replay(...)`: for `GET /api/integrations/{id}/webhooks` and
  `POST /api/integrations/{id}/webhooks/{delivery_id}/replay` (`delivery_id` is the sender's
  id). Replay works in any status; processing again is idempotent (records by content hash).

Processing runs in each integration's own actor (`actors._integration`), not in a webhook
actor of its own: that actor holds the integration's adapter (its settings, credentials and
HTTP client), and takes one integration's deliveries in order, a batch at a time, beside its
syncs, while other integrations' deliveries go on in their actors.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from actors._integrations import IntegrationService
from actors._webhook_endpoints import WebhookEndpoint, WebhookEndpoints
from actors._webhook_inbox import WebhookInbox
from actors._webhook_intake import WebhookIntake
from actors._webhook_policy import WebhookOptions
from actors._webhook_retry import WebhookRetrier
from runtime import ActorRef, ChildSpec, Service, Supervisor, random_uuid
from runtime.store import Page, Store, WebhookDelivery, WebhookIn, WebhookStatus

log = logging.getLogger("actors.webhooks")

RefOf = Callable[[str], "ActorRef[Any] | None"]


@dataclass(frozen=True, slots=True)
class WebhookSummary:
    """A delivery as the API lists it: its state, not its payload."""

    id: str
    integration_id: str
    delivery_id: str
    received_at: datetime
    status: WebhookStatus
    attempts: int
    last_error: str | None
    processed_at: datetime | None
    next_attempt_at: datetime | None
    payload_kept: bool


def summary(delivery: WebhookDelivery) -> WebhookSummary:
    return WebhookSummary(
        id=delivery.id,
        integration_id=delivery.integration_id,
        delivery_id=delivery.delivery_id,
        received_at=delivery.received_at,
        status=delivery.status,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        processed_at=delivery.processed_at,
        next_attempt_at=delivery.next_attempt_at,
        payload_kept=delivery.body is not None,
    )


class Dispatcher:
    """Hands deliveries to their integrations' actors through the inbox (see
    _webhook_inbox). One with no running actor is left to the retry scan (its lease runs
    out), as is what does not fit in the inbox."""

    def __init__(self, inbox: WebhookInbox, ref_of: RefOf) -> None:
        self._inbox = inbox
        self._ref_of = ref_of

    def __call__(self, deliveries: Sequence[WebhookDelivery]) -> None:
        grouped: dict[str, list[WebhookDelivery]] = defaultdict(list)
        for delivery in deliveries:
            grouped[delivery.integration_id].append(delivery)
        for integration_id, group in grouped.items():
            ref = self._ref_of(integration_id)
            if ref is None:
                self._inbox.drop(integration_id)
                continue
            left = self._inbox.put(integration_id, group)
            if left:
                log.info(
                    "integration %s: inbox full, %d webhooks wait for the retry scan",
                    integration_id,
                    left,
                )
            self._inbox.ring(integration_id, ref)


class WebhookService:
    def __init__(
        self,
        store: Store,
        endpoints: WebhookEndpoints,
        intake: WebhookIntake,
        dispatch: Callable[[Sequence[WebhookDelivery]], None],
        *,
        options: WebhookOptions,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self.endpoints = endpoints
        self.intake = intake
        self._dispatch = dispatch
        self.options = options
        self._now = now
        self._lease = timedelta(seconds=options.lease)

    async def endpoint(self, integration_id: str) -> WebhookEndpoint | None:
        return await self.endpoints.get(integration_id)

    def accept(
        self, integration_id: str, delivery_id: str, headers: Mapping[str, str], body: bytes
    ) -> Awaitable[bool]:
        """Store a verified delivery (group commit); awaited, True if new, False if a duplicate.
        Raises `IntakeUnavailable` (not stored: 503) or `IntegrationGone` (404). A plain
        function returning the intake's coroutine: one frame less to resume per request."""
        delivery = WebhookIn(
            random_uuid(), integration_id, delivery_id, headers, body, self._lease_end()
        )
        return self.intake.submit(delivery)

    async def list(
        self,
        integration_id: str,
        *,
        status: WebhookStatus | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> Page[WebhookSummary]:
        """Newest first; `NotFound` for an unknown integration, `InvalidValue` for a bad
        cursor or limit (the store's errors, which the API maps)."""
        await self._store.get_integration(integration_id)
        page = await self._store.list_webhook_deliveries(
            integration_id, status=status, limit=limit, before=before
        )
        return Page(tuple(summary(d) for d in page.items), page.next_cursor)

    async def replay(self, integration_id: str, delivery_id: str) -> WebhookSummary:
        """Process the delivery again, from its first attempt. `NotFound` if there is none;
        `Conflict` if retention dropped its payload."""
        delivery = await self._store.requeue_webhook_delivery(
            integration_id, delivery_id, due_at=self._lease_end()
        )
        self._dispatch([delivery])
        return summary(delivery)

    def _lease_end(self) -> datetime:
        return self._now() + self._lease

    def hand_on(self, saved: Sequence[WebhookIn]) -> None:
        """The intake's deliveries just committed as new, to their actors."""
        received = self._now()
        self._dispatch([_pending(delivery, received) for delivery in saved])


def _pending(delivery: WebhookIn, received_at: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        id=delivery.id,
        integration_id=delivery.integration_id,
        delivery_id=delivery.delivery_id,
        received_at=received_at,
        headers=delivery.headers,
        body=delivery.body,
        status=WebhookStatus.RECEIVED,
        attempts=0,
        last_error=None,
        processed_at=None,
        next_attempt_at=delivery.due_at,
    )


async def start_webhooks(
    root: Supervisor,
    store: Store,
    integrations: IntegrationService,
    ref_of: RefOf,
    *,
    inbox: WebhookInbox,
    now: Callable[[], datetime],
) -> WebhookService:
    """The intake's writer and the retry scan as children of `root`; the service over them.
    `inbox` is the one the integration actors take their deliveries from (with the options)."""
    options = inbox.options
    dispatch = Dispatcher(inbox, ref_of)
    endpoints = WebhookEndpoints(store, integrations, revalidate_after=options.revalidate_after)
    service: WebhookService | None = None

    def on_saved(saved: Sequence[WebhookIn]) -> None:
        assert service is not None
        service.hand_on(saved)

    intake = WebhookIntake(
        store,
        on_saved=on_saved,
        commit_batch=options.commit_batch,
        writers=options.commit_writers,
        max_waiting=options.max_waiting,
    )
    service = WebhookService(store, endpoints, intake, dispatch, options=options, now=now)
    await root.start_child(ChildSpec("webhooks:intake", Service(intake.run)))
    await root.spawn("webhooks:retry", lambda: WebhookRetrier(store, dispatch, options, now))
    return service
