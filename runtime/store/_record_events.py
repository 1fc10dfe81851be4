"""The `record_changed` events a write reports its changed records with: a pure builder.

A write that is asked to (`RecordEvents`) hands the records it added, updated or deleted to
these functions, inside its transaction, and inserts what they return with its other events
(one `executemany`, under the events lock in PostgreSQL), so the outbox keeps its order and
never tells of a record change that did not commit. A record's data is spliced into the
event's data as the canonical text it was stored from: it is neither parsed nor encoded again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from runtime._ids import random_uuid
from runtime.store._batch import Prepared
from runtime.store._model import RecordEvents
from runtime.store._params import Params, TimeEncoder
from runtime.store._values import optional_text

RECORD_CHANGED = "hub.integration.record_changed"  # runtime.bus: TYPE_PREFIX + RECORD_CHANGED
ADDED, UPDATED, DELETED = "added", "updated", "deleted"
_SOURCE_PREFIX = "/integrations/"


@dataclass(frozen=True, slots=True)
class Stamp:
    """`RecordEvents`, checked and with its time in the backend's form (see `_params`)."""

    time: object
    traceparent: str | None


def stamp(spec: RecordEvents | None, time: TimeEncoder) -> Stamp | None:
    if spec is None:
        return None
    return Stamp(
        time(spec.time, "record event time"),
        optional_text(spec.traceparent, "record event traceparent"),
    )


def written(
    stamp: Stamp | None,
    integration_id: str,
    entity: str,
    added: Iterable[Prepared],
    updated: Iterable[Prepared],
) -> list[Params]:
    """One event per added or updated record, in external-id order (none without a stamp)."""
    if stamp is None:
        return []
    changes = [(r[0], ADDED, r[1]) for r in added] + [(r[0], UPDATED, r[1]) for r in updated]
    changes.sort()
    return [
        _event(stamp, integration_id, _data(entity, key, change, text))
        for key, change, text in changes
    ]


def deleted(
    stamp: Stamp | None, integration_id: str, entity: str, keys: Iterable[str]
) -> list[Params]:
    """One event per soft-deleted record, in external-id order (none without a stamp)."""
    if stamp is None:
        return []
    return [
        _event(stamp, integration_id, _data(entity, key, DELETED, None)) for key in sorted(keys)
    ]


def _data(entity: str, external_id: str, change: str, record: str | None) -> str:
    """The event's data as canonical JSON text (keys sorted), the record's text spliced in."""
    body = "" if record is None else f',"data":{record}'
    return (
        f'{{"change":"{change}"{body},"entity":{_string(entity)},'
        f'"external_id":{_string(external_id)}}}'
    )


def _string(value: str) -> str:
    return orjson.dumps(value).decode()


def _event(stamp: Stamp, integration_id: str, data: str) -> Params:
    return (
        random_uuid(),
        integration_id,
        RECORD_CHANGED,
        _SOURCE_PREFIX + integration_id,
        stamp.time,
        data,
        stamp.traceparent,
    )
