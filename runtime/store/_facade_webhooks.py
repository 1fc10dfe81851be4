"""The webhook part of `Store`, written once over the hooks each backend sets (see _facade):
check and convert the arguments, then run one operation of the backend's `_webhooks` module."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any, TypeVar

from runtime.store import _params, _record_events
from runtime.store._model import (
    Page,
    RecordEvents,
    WebhookDelivery,
    WebhookIn,
    WebhookOutcome,
    WebhookSettled,
    WebhookStatus,
)
from runtime.store._params import Params
from runtime.store._values import int_cursor, limit
from runtime.store._webhooks import outcome_params

T = TypeVar("T")


class WebhookFacade:
    _webhooks: ModuleType
    _now: Callable[[], datetime]

    async def _call(self, operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        raise NotImplementedError

    def _time(self, value: datetime, what: str) -> object:
        raise NotImplementedError

    def _stamp(self) -> object:
        raise NotImplementedError

    async def save_webhook_deliveries(self, deliveries: Sequence[WebhookIn]) -> list[bool]:
        now = self._now()
        params = [_params.webhook(delivery, now, self._time) for delivery in deliveries]
        if not params:
            return []
        return await self._call(self._webhooks.save_webhook_deliveries, params)

    async def get_webhook_delivery(self, integration_id: str, delivery_id: str) -> WebhookDelivery:
        return await self._call(self._webhooks.get_webhook_delivery, integration_id, delivery_id)

    async def list_webhook_deliveries(
        self,
        integration_id: str,
        *,
        status: WebhookStatus | None = None,
        limit: int,
        before: str | None = None,
    ) -> Page[WebhookDelivery]:
        return await self._call(
            self._webhooks.list_webhook_deliveries,
            integration_id,
            None if status is None else WebhookStatus(status).value,
            _limit(limit),
            int_cursor(before, "webhooks"),
        )

    async def requeue_webhook_delivery(
        self, integration_id: str, delivery_id: str, *, due_at: datetime | None = None
    ) -> WebhookDelivery:
        due = self._stamp() if due_at is None else self._time(due_at, "webhook due time")
        return await self._call(
            self._webhooks.requeue_webhook_delivery, integration_id, delivery_id, due
        )

    async def claim_webhook_deliveries(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        return await self._call(
            self._webhooks.claim_webhook_deliveries,
            self._time(now, "claim time"),
            self._time(lease_until, "lease end"),
            _limit(limit),
        )

    async def settle_webhook_deliveries(
        self, outcomes: Sequence[WebhookOutcome], *, record_events: RecordEvents | None = None
    ) -> WebhookSettled:
        now = self._stamp()
        params = [outcome_params(outcome, now, self._time) for outcome in outcomes]
        events: list[tuple[str, Params]] = [
            (outcome.id, event)
            for outcome in outcomes
            for event in _params.events(outcome.events, self._time)
        ]
        return await self._call(
            self._webhooks.settle_webhook_deliveries,
            outcomes=list(outcomes),
            params=params,
            events=events,
            record_events=_record_events.stamp(record_events, self._time),
            now=now,
        )


def _limit(value: int) -> int:
    return limit(value)
