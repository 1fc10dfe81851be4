"""The CalDAV adapter as the catalog and the wizard see it."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata

from adapters import ENTRY_POINT_GROUP, AdapterStatus, Registry
from adapters.caldav import SPEC
from adapters.coming import COMING
from config import IntegrationType


def test_spec_replaces_the_coming_placeholder() -> None:
    placeholder = next(spec for spec in COMING if spec.name == "caldav")
    registry = Registry((SPEC, *(spec for spec in COMING if spec.name != "caldav")))
    assert registry.get("caldav") is SPEC
    assert "caldav" in registry.available()
    assert (SPEC.title, SPEC.kind, SPEC.status) == (
        placeholder.title,
        IntegrationType.CALDAV,
        AdapterStatus.AVAILABLE,
    )
    assert SPEC.entities == ("events",)
    assert SPEC.credential_fields == ("password", "token")


def test_entry_point_loads_the_spec() -> None:
    entry = metadata.EntryPoint("caldav", "adapters.caldav:SPEC", ENTRY_POINT_GROUP)
    assert entry.load() is SPEC


def test_settings_schema_gives_the_wizard_its_fields() -> None:
    schema = SPEC.settings_schema
    assert schema["required"] == ["url"]
    properties = schema["properties"]
    assert isinstance(properties, Mapping)
    assert list(properties) == [
        "url",
        "username",
        "calendars",
        "window_past_days",
        "window_future_days",
        "page_size",
        "use_sync_collection",
        "timeout",
    ]
    url = properties["url"]
    assert isinstance(url, Mapping)
    assert url["format"] == "uri"
    for name, field in properties.items():
        assert isinstance(field, Mapping)
        assert field.get("description"), name
