"""Webhook deliveries, the parts both backends share: checks, parameters and the merge of the
records a batch of outcomes writes. Pure: no connection in sight.

Settling a batch of outcomes writes each entity's records once: the outcomes are taken in
order, and for every external id the last delivery that named it wins, whether it upserted
the record or deleted it (as a sync's batch keeps the last of a repeated id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runtime.store._batch import Prepared
from runtime.store._errors import InvalidValue
from runtime.store._hashing import prepare_records
from runtime.store._model import JsonObject, WebhookOutcome, WebhookStatus
from runtime.store._params import Params, TimeEncoder
from runtime.store._values import optional_text, text

DONE = frozenset({WebhookStatus.PROCESSED, WebhookStatus.DEAD})
OUTCOMES = frozenset({WebhookStatus.PROCESSED, WebhookStatus.FAILED, WebhookStatus.DEAD})


@dataclass(frozen=True, slots=True)
class EntityWrite:
    """One entity's share of a settled batch: records to upsert, external ids to delete."""

    integration_id: str
    entity: str
    upserts: list[Prepared]
    deletes: list[str]


def outcome_params(outcome: WebhookOutcome, now: object, time: TimeEncoder) -> Params:
    """(id, integration_id, status, attempts, error, processed_at, next_attempt_at)."""
    status = WebhookStatus(outcome.status)
    if status not in OUTCOMES:
        raise InvalidValue(f"a webhook attempt ends processed, failed or dead, not {status}")
    if outcome.attempts < 1:
        raise InvalidValue(f"a settled webhook attempt counts from 1, got {outcome.attempts}")
    retry_at = None
    if status is WebhookStatus.FAILED:
        due = outcome.next_attempt_at
        retry_at = now if due is None else time(due, "webhook next attempt")
    return (
        text(outcome.id, "webhook id"),
        text(outcome.integration_id, "webhook integration_id"),
        status.value,
        outcome.attempts,
        optional_text(outcome.error, "webhook error"),
        now if status in DONE else None,
        retry_at,
    )


def entity_writes(outcomes: Sequence[WebhookOutcome], settled: set[str]) -> list[EntityWrite]:
    """The records the settled PROCESSED outcomes write, per entity, the last word winning."""
    final: dict[tuple[str, str], dict[str, JsonObject | None]] = {}
    for outcome in outcomes:
        if outcome.id not in settled or outcome.status is not WebhookStatus.PROCESSED:
            continue
        for part in outcome.records:
            state = final.setdefault((outcome.integration_id, text(part.entity, "entity")), {})
            for record in part.upserts:
                state.pop(record.external_id, None)
                state[record.external_id] = record.data
            for external_id in part.deletes:
                state.pop(external_id, None)
                state[text(external_id, "external id")] = None
    writes = []
    for (integration_id, entity), state in final.items():
        upserts = {key: data for key, data in state.items() if data is not None}
        deletes = sorted(key for key, data in state.items() if data is None)
        writes.append(EntityWrite(integration_id, entity, prepare_records(upserts), deletes))
    return writes
