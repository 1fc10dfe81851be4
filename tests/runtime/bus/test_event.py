"""CloudEvent values: JSON round trip, validation errors that name the field, subject rules."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest

from runtime.bus import (
    CloudEvent,
    EventName,
    InvalidEvent,
    check_integration_id,
    from_json,
    new_event,
    subject_filter,
    subject_for,
    to_json,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
NOW = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def sample(**changes: object) -> dict[str, object]:
    event = new_event("xentral-main", EventName.SYNC_COMPLETED, {"records": 12}, now=NOW)
    fields: dict[str, object] = json.loads(to_json(event))
    fields.update(changes)
    return fields


def test_event_json_round_trip_keeps_every_field() -> None:
    event = new_event(
        "xentral-main",
        EventName.SYNC_COMPLETED,
        {"records": 12, "entities": ["orders", "customers"], "cursor": None, "ratio": 0.5},
        now=NOW,
        traceparent=TRACEPARENT,
    )
    assert from_json(to_json(event)) == event


def test_event_json_has_the_cloudevents_attributes() -> None:
    event = new_event("demo", EventName.CONNECTED, {}, now=NOW)
    fields = json.loads(to_json(event))
    assert fields == {
        "specversion": "1.0",
        "id": event.id,
        "source": "/integrations/demo",
        "type": "hub.integration.connected",
        "time": "2025-03-01T12:30:15.123456Z",
        "datacontenttype": "application/json",
        "data": {},
    }
    assert "traceparent" not in fields


def test_event_json_carries_traceparent_when_set() -> None:
    event = new_event("demo", EventName.CONNECTED, {}, now=NOW, traceparent=TRACEPARENT)
    assert json.loads(to_json(event))["traceparent"] == TRACEPARENT


def test_new_event_properties_give_integration_and_name() -> None:
    event = new_event("demo", EventName.RATE_LIMITED, {}, now=NOW)
    assert (event.integration_id, event.name) == ("demo", EventName.RATE_LIMITED)
    assert event.name is EventName.RATE_LIMITED


def test_new_event_ids_are_fresh_uuids() -> None:
    ids = {new_event("demo", EventName.ERROR, {}, now=NOW).id for _ in range(100)}
    assert len(ids) == 100


def test_new_event_time_with_offset_is_normalised_to_utc() -> None:
    berlin = timezone(timedelta(hours=2))
    event = new_event("demo", EventName.PARKED, {}, now=datetime(2025, 6, 1, 14, tzinfo=berlin))
    assert event.time == datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert event.time.tzinfo is UTC


def test_new_event_naive_time_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="time: must carry a time zone"):
        new_event("demo", EventName.PARKED, {}, now=datetime(2025, 6, 1, 14))


def test_new_event_unknown_name_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="unknown event name 'exploded'"):
        new_event("demo", "exploded", {}, now=NOW)  # type: ignore[arg-type]  # the point


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"when": datetime(2025, 1, 1)}, "data.when"),
        ({"x": float("nan")}, "data.x"),
        ({"s": {1, 2}}, "data.s"),
    ],
)
def test_new_event_data_not_json_is_rejected(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidEvent, match=field):
        new_event("demo", EventName.ERROR, data, now=NOW)  # type: ignore[arg-type]  # the point


def test_new_event_copies_data_from_the_caller() -> None:
    data: dict[str, pydantic.JsonValue] = {"n": 1}
    event = new_event("demo", EventName.ERROR, data, now=NOW)
    data["n"] = 2
    assert event.data == {"n": 1}


def test_event_is_frozen() -> None:
    event = new_event("demo", EventName.ERROR, {}, now=NOW)
    with pytest.raises(pydantic.ValidationError):
        event.id = "x"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"specversion": "0.3"}, "specversion: Input should be '1.0'"),
        ({"id": "42"}, "id: must be a UUID"),
        ({"id": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}, "id: must be a UUID in canonical form"),
        ({"source": "/elsewhere/demo"}, "source: must be /integrations/<integration id>"),
        ({"source": "/integrations/de.mo"}, "source: integration id 'de.mo' is not a slug"),
        ({"type": "hub.integration.exploded"}, "type: must be hub.integration.<name>"),
        ({"type": "com.example.connected"}, "type: must be hub.integration.<name>"),
        ({"time": "2025-03-01T12:30:15"}, "time: must carry a time zone"),
        ({"time": 1735689600}, "time: Input should be a valid datetime"),
        ({"datacontenttype": "text/plain"}, "datacontenttype: Input should be 'application/json'"),
        ({"traceparent": "00-abc-def-01"}, "traceparent: must be a W3C traceparent"),
        ({"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"}, "traceparent: must be a W3C"),
        ({"data": [1, 2]}, "data: Input should be an object"),
    ],
)
def test_from_json_invalid_field_is_named(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(message)):
        from_json(json.dumps(sample(**fields)))


def test_from_json_missing_fields_are_all_named() -> None:
    with pytest.raises(InvalidEvent) as caught:
        from_json(b'{"specversion": "1.0"}')
    for field in ("id", "source", "type", "time", "data"):
        assert f"{field}: Field required" in str(caught.value)


def test_from_json_not_json_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match=r"invalid CloudEvent: .*Invalid JSON"):
        from_json(b"\x00not json")


def test_from_json_unknown_extension_attributes_are_ignored() -> None:
    event = from_json(json.dumps(sample(tracestate="rojo=00f067aa0ba902b7", partitionkey="x")))
    assert event.integration_id == "xentral-main"


def test_from_json_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid CloudEvent"):
        from_json(b"{}")


def test_cloud_event_built_directly_is_validated_too() -> None:
    with pytest.raises(pydantic.ValidationError):
        CloudEvent(
            id="x", source="/integrations/demo", type="hub.integration.error", time=NOW, data={}
        )


def test_subject_for_event_is_hub_events_id_name() -> None:
    event = new_event("shop_2-eu", EventName.WEBHOOK_RECEIVED, {}, now=NOW)
    assert subject_for(event) == "hub.events.shop_2-eu.webhook_received"


@pytest.mark.parametrize(
    "integration_id",
    ["de.mo", "de mo", "*", ">", "demo.*", "", "Demo", "-demo", "_demo", "demo\n", "dé", "a" * 64],
)
def test_integration_id_that_would_break_the_subject_is_rejected(integration_id: str) -> None:
    with pytest.raises(InvalidEvent, match="is not a slug"):
        new_event(integration_id, EventName.CONNECTED, {}, now=NOW)
    with pytest.raises(InvalidEvent):
        subject_filter(integration_id)


@pytest.mark.parametrize("integration_id", ["demo", "0", "a" * 63, "xentral_main-2"])
def test_integration_id_slug_is_accepted(integration_id: str) -> None:
    assert check_integration_id(integration_id) == integration_id


def test_subject_filter_for_one_integration_or_all() -> None:
    assert subject_filter("demo") == "hub.events.demo.>"
    assert subject_filter() == "hub.events.*.>"


def test_event_names_are_the_twelve_of_the_design_and_record_changed() -> None:
    assert [name.value for name in EventName] == [
        "connected",
        "disconnected",
        "sync_started",
        "sync_completed",
        "sync_failed",
        "error",
        "rate_limited",
        "health_changed",
        "webhook_received",
        "restarted",
        "parked",
        "config_changed",
        "record_changed",
    ]
