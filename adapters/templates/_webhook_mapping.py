"""A verified delivery's JSON -> records and events, as plain functions over plain data.

A delivery is one JSON object, or a list of them (a batch; each is read as if it came alone).
For each entity whose `when` _holds, the records at `records` (an object is one record, a list
is several) become `SourceRecord`s: the primary key, the default field mapping, and a
tombstone where `deleted` _holds. Within one delivery the last record of an id wins. The
`events` block, where its `when` _holds and the type field is text, makes one `WebhookEvent`
per object. A body that is not JSON, or a record without its key, is a `PermanentError`
(sending it again would not help: the hub keeps it as a dead delivery); a delivery that
matches nothing is processed with nothing in it (a new kind of event the template does not
know yet is not an error).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from adapters._errors import PermanentError
from adapters._values import JsonValue, SourceRecord, WebhookEvent, WebhookResult
from adapters.templates._records import read_path
from adapters.templates._webhook_model import (
    WebhookCondition,
    WebhookEntity,
    WebhookEvents,
    WebhookTemplate,
)

MAX_EVENT_TYPE = 200
_ROOT = "$."


def webhook_result(template: WebhookTemplate, body: bytes) -> WebhookResult:
    """The records (by entity) and events a delivery's body carries."""
    name = template.name
    try:
        parsed: JsonValue = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PermanentError(f"{name} webhook: the body is not JSON") from None
    payloads = parsed if isinstance(parsed, list) else [parsed]
    found: dict[str, dict[str, SourceRecord]] = {entity: {} for entity in template.entities}
    events: list[WebhookEvent] = []
    for index, payload in enumerate(payloads):
        if not isinstance(payload, Mapping):
            where = "the body" if payload is parsed else f"item {index} of the body"
            raise PermanentError(f"{name} webhook: {where} is not a JSON object")
        for entity, rules in template.entities.items():
            for record in _entity_records(payload, entity, rules):
                found[entity].pop(record.external_id, None)  # the last of an id wins, in order
                found[entity][record.external_id] = record
        if template.events is not None:
            event = _delivery_event(payload, template.events)
            if event is not None:
                events.append(event)
    records = {entity: tuple(by_id.values()) for entity, by_id in found.items() if by_id}
    return WebhookResult(MappingProxyType(records), tuple(events))


def _entity_records(
    payload: Mapping[str, JsonValue], entity: str, rules: WebhookEntity
) -> list[SourceRecord]:
    """One object's records of `entity` (none when its `when` does not hold)."""
    if rules.when is not None and not _holds(rules.when, payload, payload):
        return []
    found = read_path(payload, rules.records)
    if found is None:
        return []
    items = found if isinstance(found, list) else [found]
    records = []
    for item in items:
        if not isinstance(item, Mapping):
            raise PermanentError(f"webhook entity {entity!r}: a record is not a JSON object")
        records.append(_record(item, payload, entity, rules))
    return records


def _record(
    item: Mapping[str, JsonValue],
    payload: Mapping[str, JsonValue],
    entity: str,
    rules: WebhookEntity,
) -> SourceRecord:
    paths = (rules.primary_key,) if isinstance(rules.primary_key, str) else rules.primary_key
    keys = [_value_at(item, payload, path) for path in paths]
    if any(isinstance(key, bool) or not isinstance(key, str | int | float) for key in keys):
        shown = ", ".join(paths)
        raise PermanentError(f"webhook entity {entity!r}: a record has no usable {shown}")
    external_id = ":".join(str(key) for key in keys)
    if not external_id.strip(":"):
        raise PermanentError(f"webhook entity {entity!r}: a record has an empty key")
    if rules.deleted is not None and _holds(rules.deleted, item, payload):
        return SourceRecord(external_id, {}, deleted=True)
    if rules.fields is None:
        return SourceRecord(external_id, item)
    data = {target: _value_at(item, payload, source) for target, source in rules.fields.items()}
    return SourceRecord(external_id, data)  # type: ignore[arg-type]  # parts of JSON are JSON


def _delivery_event(payload: Mapping[str, JsonValue], rules: WebhookEvents) -> WebhookEvent | None:
    """The event one object reports, or None (its `when` does not hold, or it has no type)."""
    if rules.when is not None and not _holds(rules.when, payload, payload):
        return None
    kind = read_path(payload, rules.type)
    if not isinstance(kind, str) or not kind.strip():
        return None
    data = {name: read_path(payload, path) for name, path in rules.data.items()}
    return WebhookEvent(kind.strip()[:MAX_EVENT_TYPE], data)  # type: ignore[arg-type]  # parts of JSON are JSON


def _value_at(item: Mapping[str, JsonValue], payload: Mapping[str, JsonValue], path: str) -> object:
    """The value at `path` in the record, or in the whole delivery for a path starting `$.`."""
    if path.startswith(_ROOT):
        return read_path(payload, path[len(_ROOT) :])
    return read_path(item, path)


def _holds(
    condition: WebhookCondition, item: Mapping[str, JsonValue], payload: Mapping[str, JsonValue]
) -> bool:
    value = _value_at(item, payload, condition.path)
    if condition.prefix is not None:
        return isinstance(value, str) and value.startswith(condition.prefix)
    wanted = condition.one_of if condition.one_of is not None else (condition.equals,)
    return any(_same(value, expected) for expected in wanted)


def _same(value: object, expected: object) -> bool:
    """Equal, and a boolean only ever equals a boolean (`true` is not `1`)."""
    return isinstance(value, bool) == isinstance(expected, bool) and value == expected
