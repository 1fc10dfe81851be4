"""Processing stored webhook deliveries: adapter -> field mapping -> store, one batch at a time.

The integration's actor hands each delivery of a batch to its adapter's `handle_webhook`
(one at a time: an adapter is not asked to be reentrant), turns what comes back into an
outcome (its records, mapped like a sync's, and a `webhook_received` event; or a failure with
the next step from `_webhook_policy`), and settles the whole batch in one transaction: the
records, their `record_changed` events, the delivery's own event and every status together.
A delivery another attempt settled meanwhile is left as it is and writes nothing, so the same
delivery handed over twice (the retry scan took it back) is processed once.

When the batch cannot be stored, each outcome is stored alone, and one that still fails
becomes a failed attempt; when even that cannot be stored (the database is away), the
deliveries stay claimed until their lease runs out and the retry scan hands them over again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from actors._sync_pipeline import split_records
from actors._webhook_policy import WebhookOptions, after_failure
from adapters import Adapter, SourceRecord, WebhookRequest, WebhookResult
from config import FieldMapping
from runtime import describe, random_uuid
from runtime.bus import EventName
from runtime.store import (
    EventIn,
    LogIn,
    RecordEvents,
    Store,
    StoreError,
    StoreUnavailable,
    WebhookDelivery,
    WebhookOutcome,
    WebhookRecords,
    WebhookSettled,
    WebhookStatus,
)
from runtime.telemetry import current_traceparent

log = logging.getLogger("actors.webhooks")

RECEIVED_TYPE = f"hub.integration.{EventName.WEBHOOK_RECEIVED.value}"  # as runtime.bus names it
SOURCE_PREFIX = "/integrations/"


@dataclass(frozen=True, slots=True)
class WebhookWork:
    """What processing needs from the integration's actor."""

    integration_id: str
    adapter: Adapter
    mappings: Mapping[str, Sequence[FieldMapping]]
    store: Store
    options: WebhookOptions
    now: Callable[[], datetime]
    record_events: Callable[[], RecordEvents]


async def process_deliveries(
    work: WebhookWork, deliveries: Sequence[WebhookDelivery]
) -> WebhookSettled:
    outcomes = [await attempt(work, delivery) for delivery in deliveries]
    settled = await settle(work, outcomes)
    await _log_failures(work, outcomes, set(settled.settled))
    return settled


async def attempt(work: WebhookWork, delivery: WebhookDelivery) -> WebhookOutcome:
    """One attempt at one delivery, as an outcome to store (never raises for the adapter)."""
    attempts = delivery.attempts + 1
    if delivery.body is None or delivery.headers is None:
        return _dead(delivery, attempts, "its payload is no longer kept")
    request = WebhookRequest(delivery.headers, delivery.body, delivery.received_at)
    try:
        result = await work.adapter.handle_webhook(request)
    except Exception as error:
        step = after_failure(error, attempts, work.options, work.now())
        return WebhookOutcome(
            delivery.id,
            delivery.integration_id,
            step.status,
            attempts,
            describe(error),
            step.next_attempt_at,
        )
    return processed(work, delivery, attempts, result)


def processed(
    work: WebhookWork, delivery: WebhookDelivery, attempts: int, result: WebhookResult
) -> WebhookOutcome:
    records = tuple(
        records_of(entity, found, work.mappings.get(entity, ()))
        for entity, found in result.records.items()
    )
    data = {
        "delivery_id": delivery.delivery_id,
        "webhook_id": delivery.id,
        "records": {part.entity: len(part.upserts) + len(part.deletes) for part in records},
        "events": [{"type": e.type, "data": _json(e.data)} for e in result.events],
    }
    event = received_event(work.integration_id, data, work.now())
    return WebhookOutcome(
        delivery.id,
        delivery.integration_id,
        WebhookStatus.PROCESSED,
        attempts,
        records=records,
        events=(event,),
    )


def received_event(integration_id: str, data: Mapping[str, Any], now: datetime) -> EventIn:
    """The delivery's `webhook_received` event, built as the store builds `record_changed`
    ones (`_record_events`), not through `new_event`'s validation, which cost a fifth of a
    delivery's processing: the id was checked when the integration was created, and the
    data is made here (adapter events already copied to plain JSON)."""
    return EventIn(
        id=random_uuid(),
        integration_id=integration_id,
        type=RECEIVED_TYPE,
        source=SOURCE_PREFIX + integration_id,
        time=now,
        data=dict(data),
        traceparent=current_traceparent(),
    )


def records_of(
    entity: str, found: Sequence[SourceRecord], mappings: Sequence[FieldMapping]
) -> WebhookRecords:
    """An entity's records as the hub stores them (field mapping applied), and tombstones,
    as a sync's batch gives them to the store (`_sync_pipeline.split_records`)."""
    upserts, deletes = split_records(found, mappings)
    return WebhookRecords(entity, tuple(upserts), tuple(deletes))


async def settle(work: WebhookWork, outcomes: Sequence[WebhookOutcome]) -> WebhookSettled:
    """The batch in one transaction; if that fails for anything but the database being away,
    each outcome alone, so that one bad outcome does not hold back the others."""
    try:
        return await work.store.settle_webhook_deliveries(
            outcomes, record_events=work.record_events()
        )
    except StoreUnavailable as error:
        _left(work, f"{len(outcomes)} webhooks", error)
        return WebhookSettled(())
    except StoreError:
        pass
    settled: list[str] = []
    for outcome in outcomes:
        settled.extend((await _settle_alone(work, outcome)).settled)
    return WebhookSettled(tuple(settled))


async def _settle_alone(work: WebhookWork, outcome: WebhookOutcome) -> WebhookSettled:
    """One outcome; a processed one that cannot be stored becomes a failed attempt."""
    try:
        return await work.store.settle_webhook_deliveries(
            [outcome], record_events=work.record_events()
        )
    except StoreError as error:
        if outcome.status is not WebhookStatus.PROCESSED:
            _left(work, f"webhook {outcome.id}", error)
            return WebhookSettled(())
        reason = f"its records could not be stored: {describe(error)}"
    step = after_failure(RuntimeError(reason), outcome.attempts, work.options, work.now())
    failed = WebhookOutcome(
        outcome.id,
        outcome.integration_id,
        step.status,
        outcome.attempts,
        reason,
        step.next_attempt_at,
    )
    try:
        return await work.store.settle_webhook_deliveries([failed])
    except StoreError as error:
        _left(work, f"webhook {outcome.id}", error)
        return WebhookSettled(())


def _left(work: WebhookWork, what: str, error: StoreError) -> None:
    log.warning(
        "integration %s: %s left for the retry scan: %s",
        work.integration_id,
        what,
        describe(error),
    )


async def _log_failures(
    work: WebhookWork, outcomes: Sequence[WebhookOutcome], settled: set[str]
) -> None:
    """Each failed or dead attempt in the integration's log (for the dashboard) and ours."""
    lines = []
    for outcome in outcomes:
        if outcome.status is WebhookStatus.PROCESSED or outcome.id not in settled:
            continue
        dead = outcome.status is WebhookStatus.DEAD
        what = "dead" if dead else "will be retried"
        message = (
            f"webhook {outcome.id} attempt {outcome.attempts} failed ({what}): {outcome.error}"
        )
        log.warning("integration %s: %s", work.integration_id, message)
        level = "error" if dead else "warning"
        details = {
            "webhook_id": outcome.id,
            "attempts": outcome.attempts,
            "status": outcome.status.value,
        }
        lines.append(LogIn(work.integration_id, level, "webhook", message, details))
    if lines:
        try:
            await work.store.append_logs(lines)
        except StoreError as error:
            log.warning(
                "integration %s: webhook log lines lost: %s", work.integration_id, describe(error)
            )


def _dead(delivery: WebhookDelivery, attempts: int, reason: str) -> WebhookOutcome:
    return WebhookOutcome(
        delivery.id, delivery.integration_id, WebhookStatus.DEAD, attempts, reason
    )


def _json(value: Mapping[str, Any]) -> Any:
    """An adapter event's data as plain JSON values (read-only mappings and tuples copied)."""
    return orjson.loads(orjson.dumps(value, default=dict))
