"""Integrations as users change them, on both backends: validation before any write, sealed
credentials, audit and events in the same transaction, and bad input refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from actors._integrations import IntegrationService, InvalidIntegration
from runtime.store import Conflict, NotFound, Store
from runtime.vault import Secret, Vault, generate_key, parse_keyring
from tests.runtime.store.helpers import Backend

SECRET = "tok-Zr9!x7-very-secret"
ROTATED = "rt-Kq2!v8-rotated-by-the-peer"
METACHARACTERS = "'; DROP TABLE records; -- \" \\ %_ `$(x)`"


def _service(store: Store) -> IntegrationService:
    return IntegrationService(store, Vault(parse_keyring(generate_key())), lambda: {"demo"})


def _valid(**changes: Any) -> dict[str, Any]:
    return {
        "id": "shop",
        "name": "Shop",
        "type": "REST",
        "adapter": "demo",
        "entities": ["customers", "invoices"],
        "schedule": {"cron": "*/5 * * * *"},
        "credentials": {"api_token": SECRET},
        **changes,
    }


async def _nothing_written(backend: Backend) -> None:
    for table in ("integration_configs", "integration_credentials", "audit_log", "events"):
        assert await backend.rows(f"SELECT 1 FROM {table}") == [], table


async def test_create_stores_config_seals_credentials_audits_and_announces(
    store: Store, backend: Backend
) -> None:
    service = _service(store)
    view = await service.create(_valid(), origin="api 127.0.0.1")
    assert view.config.credential_fields == ("api_token",)
    assert view.status == "connecting"
    assert view.version == 1
    assert (await service.credentials("shop"))["api_token"].reveal() == SECRET
    raw = await backend.rows("SELECT ciphertext FROM integration_credentials")
    assert SECRET.encode() not in bytes(raw[0][0])
    audit = (await store.list_audit(limit=5)).items
    assert [(a.action, a.actor, a.target) for a in audit] == [
        ("integration.create", "api 127.0.0.1", "shop")
    ]
    assert audit[0].details["credentials_set"] == ["api_token"]
    assert SECRET not in repr(audit) + repr(await store.recent_events(5))
    assert [e.type for e in await store.recent_events(5)] == ["hub.integration.config_changed"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"adapter": "sap-r3"}, "adapter"),
        ({"schedule": {"cron": "61 * * * *"}}, "schedule.cron"),
        ({"credentials": {"Bad Key": "x"}}, "credentials"),
        ({"credentials": {"api_token": ""}}, "credentials.api_token"),
        ({"credentials": {"api_token": "x" * 10_000}}, "credentials.api_token"),
        ({"name": "n" * 101}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"name": "lone \ud800 surrogate"}, "name"),
        ({"name": b"\xff\xfe not utf-8"}, "name"),
        ({"settings": {"blob": "x" * 70_000}}, "settings"),
        ({"id": "Not A Slug"}, "id"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_create_refuses_bad_input_naming_the_field_and_writes_nothing(
    store: Store, backend: Backend, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidIntegration) as caught:
        await _service(store).create(_valid(**changes), origin="test")
    assert any(p.field.startswith(field) for p in caught.value.problems), caught.value.problems
    assert SECRET not in str(caught.value)
    assert "x" * 100 not in str(caught.value)
    await _nothing_written(backend)


@pytest.mark.parametrize("field", ["name", "description", "mapping", "settings", "url"])
async def test_create_keeps_sql_metacharacters_unchanged(store: Store, field: str) -> None:
    text = METACHARACTERS
    examples: dict[str, dict[str, Any]] = {
        "name": {"name": text[:100]},
        "description": {"description": text},
        "mapping": {"field_mapping": {"customers": [{"source": text, "target": "x"}]}},
        "settings": {"settings": {text: text}},
        "url": {"endpoints": [{"name": "api", "url": "https://example.com/a';--%22"}]},
    }
    changes = examples[field]
    service = _service(store)
    created = await service.create(_valid(**changes), origin=text)
    stored = await service.get("shop")
    assert stored.config == created.config
    assert stored.config.model_dump() == created.config.model_dump()
    assert (await store.list_audit(limit=1)).items[0].actor == text


async def test_update_merges_changes_credentials_and_versions(store: Store) -> None:
    service = _service(store)
    await service.create(_valid(), origin="test")
    updated = await service.update(
        "shop",
        {
            "name": "Shop EU",
            "schedule": {"jitter_seconds": 10},
            "credentials": {"api_secret": "s2"},
        },
        origin="test",
    )
    assert updated.version == 2
    assert updated.config.name == "Shop EU"
    assert updated.config.schedule.cron == "*/5 * * * *"
    assert updated.config.credential_fields == ("api_secret", "api_token")
    removed = await service.update("shop", {"credentials": {"api_token": None}}, origin="test")
    assert removed.config.credential_fields == ("api_secret",)
    assert set(await service.credentials("shop")) == {"api_secret"}
    audit = (await store.list_audit(limit=1)).items[0]
    assert audit.details["credentials_removed"] == ["api_token"]


async def test_update_with_a_stale_version_conflicts_and_changes_nothing(store: Store) -> None:
    service = _service(store)
    await service.create(_valid(), origin="test")
    await service.update("shop", {"name": "First"}, origin="test")
    with pytest.raises(Conflict):
        await service.update("shop", {"name": "Second"}, origin="test", expected_version=1)
    assert (await service.get("shop")).config.name == "First"


async def test_update_refuses_bad_input_and_keeps_the_old_config(store: Store) -> None:
    service = _service(store)
    await service.create(_valid(), origin="test")
    with pytest.raises(InvalidIntegration, match=r"schedule\.cron"):
        await service.update("shop", {"schedule": {"cron": "every minute"}}, origin="test")
    with pytest.raises(InvalidIntegration, match="id"):
        await service.update("shop", {"id": "other"}, origin="test")
    view = await service.get("shop")
    assert view.version == 1
    assert view.config.schedule.cron == "*/5 * * * *"


async def test_rotate_credentials_seals_audits_and_leaves_the_version(
    store: Store, backend: Backend
) -> None:
    service = _service(store)
    await service.create(_valid(credentials={"api_token": SECRET, "refresh": "r1"}), origin="t")
    events = await store.recent_events(10)

    fields = await service.rotate_credentials(
        "shop", {"refresh": Secret(ROTATED)}, origin="adapter:demo"
    )

    assert fields == ("refresh",)
    opened = await service.credentials("shop")
    assert {k: v.reveal() for k, v in opened.items()} == {"api_token": SECRET, "refresh": ROTATED}
    raw = await backend.raw_bytes("integration_credentials")
    assert ROTATED.encode() not in raw
    audit = (await store.list_audit(limit=1)).items[0]
    assert (audit.actor, audit.action, audit.target, dict(audit.details)) == (
        "adapter:demo",
        "credential.rotated",
        "shop",
        {"credentials_rotated": ["refresh"]},
    )
    assert ROTATED not in repr(await store.list_audit(limit=10))
    assert await store.recent_events(10) == events  # nothing announced: nothing restarts
    # The config and its version are as they were: a user's edit made meanwhile still goes in.
    assert (await service.get("shop")).version == 1
    updated = await service.update("shop", {"name": "Edited"}, origin="t", expected_version=1)
    assert updated.version == 2
    assert (await service.credentials("shop"))["refresh"].reveal() == ROTATED


async def test_rotate_credentials_of_a_removed_field_writes_nothing(store: Store) -> None:
    service = _service(store)
    await service.create(_valid(), origin="t")
    audit = (await store.list_audit(limit=10)).items

    assert await service.rotate_credentials("shop", {"gone": Secret(ROTATED)}, origin="a") == ()
    assert await service.rotate_credentials("shop", {}, origin="a") == ()
    assert await service.rotate_credentials("nope", {"x": Secret(ROTATED)}, origin="a") == ()

    assert set(await service.credentials("shop")) == {"api_token"}
    assert (await store.list_audit(limit=10)).items == audit


async def test_delete_removes_it_with_its_credentials(store: Store, backend: Backend) -> None:
    service = _service(store)
    await service.create(_valid(), origin="test")
    await service.delete("shop", origin="test")
    with pytest.raises(NotFound):
        await service.get("shop")
    assert await backend.rows("SELECT 1 FROM integration_credentials") == []
    assert (await store.list_audit(limit=1)).items[0].action == "integration.delete"
