"""The registry: built-ins, entry-point plugins, and what happens when a plugin misbehaves."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from dataclasses import replace
from typing import cast

import pytest

from adapters import (
    ENTRY_POINT_GROUP,
    AdapterContext,
    AdapterSpec,
    AdapterStatus,
    ConfigError,
    catalog,
    default_registry,
    get,
    load_registry,
)
from adapters._registry import Registry
from adapters.coming import COMING
from adapters.demo import SPEC as DEMO
from adapters.demo import DemoAdapter
from config import IntegrationType


def _factory(context: AdapterContext) -> DemoAdapter:
    return DemoAdapter(context)


def _spec(name: str) -> AdapterSpec:
    return AdapterSpec(
        name=name,
        title=name.title(),
        description=f"The {name} plugin",
        icon="🔌",
        kind=IntegrationType.GRAPHQL,
        factory=_factory,
        settings_schema={"type": "object", "properties": {}},
        status=AdapterStatus.COMING,
    )


PLUGIN = _spec("plugin")


def several() -> list[AdapterSpec]:
    return [_spec("alpha"), _spec("beta")]


def nothing_useful() -> int:
    return 42


def _entry_point(name: str, target: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name, f"{__name__}:{target}", ENTRY_POINT_GROUP)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[importlib.metadata.EntryPoint]]:
    """The entry points 'installed' for the group; the test fills the list."""
    found: list[importlib.metadata.EntryPoint] = []

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return found if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    default_registry.cache_clear()
    yield found
    default_registry.cache_clear()


def _built(registry: Registry) -> list[str]:
    """The names in the catalog that are not the design card's placeholders."""
    return [spec.name for spec in registry.catalog() if spec not in COMING]


def test_registry_builtin_demo_listed(installed: list[importlib.metadata.EntryPoint]) -> None:
    assert catalog() == (DEMO, *COMING)
    assert get("demo") is DEMO


def test_registry_unknown_name_lists_known(installed: list[importlib.metadata.EntryPoint]) -> None:
    with pytest.raises(ConfigError, match=r"unknown adapter 'nosuch'; known adapters: .*demo"):
        get("nosuch")


def test_registry_lists_the_design_cards_systems_as_coming(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    registry = load_registry()
    coming = {s.name for s in registry.catalog() if s.status is AdapterStatus.COMING}
    assert {"xentral", "imap", "caldav", "google-calendar", "outlook", "monday"} <= coming
    assert {"klenty", "salesforce", "phone"} <= coming
    assert registry.available() == frozenset({"demo"})
    with pytest.raises(ConfigError, match="coming"):
        registry.get("imap").factory(DEMO_CONTEXT)


def test_registry_real_adapter_replaces_the_coming_entry(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    installed.append(_entry_point("imap", "REAL_IMAP"))
    registry = load_registry()
    assert registry.get("imap") is REAL_IMAP
    assert [s.name for s in registry.catalog()].count("imap") == 1
    assert registry.problems == ()


def test_registry_entry_point_spec_discovered(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    installed.append(_entry_point("plugin", "PLUGIN"))
    registry = load_registry()
    assert _built(registry) == ["demo", "plugin"]
    assert registry.get("plugin") is PLUGIN
    assert registry.problems == ()


def test_registry_entry_point_callable_returning_several(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    installed.append(_entry_point("pair", "several"))
    assert _built(load_registry()) == ["demo", "alpha", "beta"]


def test_registry_broken_plugins_left_out_with_reasons(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    installed += [
        importlib.metadata.EntryPoint("missing", "no_such_module:SPEC", ENTRY_POINT_GROUP),
        _entry_point("wrong", "nothing_useful"),
        _entry_point("clash", "DEMO"),
        _entry_point("plugin", "PLUGIN"),
        _entry_point("again", "PLUGIN"),
    ]
    registry = load_registry()
    assert _built(registry) == ["demo", "plugin"]
    assert len(registry.problems) == 2
    assert registry.problems[0].startswith("entry point 'missing': ModuleNotFoundError")
    assert "expected an AdapterSpec" in registry.problems[1]


def test_registry_duplicate_name_from_other_spec_reported(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    installed += [_entry_point("plugin", "PLUGIN"), _entry_point("impostor", "IMPOSTOR")]
    registry = load_registry()
    assert registry.get("plugin") is PLUGIN
    assert registry.problems == (
        "entry point 'impostor': adapter 'plugin' is already registered; left out",
    )


IMPOSTOR = _spec("plugin")
REAL_IMAP = replace(_spec("imap"), status=AdapterStatus.AVAILABLE)
DEMO_CONTEXT = cast(AdapterContext, None)  # the coming factories refuse before looking at it
