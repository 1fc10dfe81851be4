"""The wizard's probe: an unsaved integration tested and sampled, nothing stored."""

from __future__ import annotations

import pytest

from actors._integrations import IntegrationService, InvalidIntegration
from actors._probe import Probe, field_paths
from adapters import Registry, demo
from runtime.store import Store
from runtime.vault import Vault, generate_key, parse_keyring
from tests.actors.fakes import ENTITY, TOKEN_FIELD, FakePeer, fake_spec

SECRET = "probe-secret-value-123"


def _probe(store: Store, peer: FakePeer) -> Probe:
    registry = Registry((demo.SPEC, fake_spec("fake", peer)))
    integrations = IntegrationService(
        store,
        Vault(parse_keyring(generate_key())),
        registry.available,
    )
    return Probe(integrations, registry)


def _fake_input(token: str) -> dict[str, object]:
    return {"type": "REST", "adapter": "fake", "credentials": {TOKEN_FIELD: token}}


async def test_probe_test_right_token_is_ok_and_stores_nothing(store: Store) -> None:
    peer = FakePeer(accepted_token=SECRET)
    result = await _probe(store, peer).test(_fake_input(SECRET))
    assert result.ok
    assert result.detail == "fake peer answers"
    assert await store.list_integrations() == []
    assert await store.list_credentials() == []


async def test_probe_test_wrong_token_is_not_ok_and_names_no_secret(store: Store) -> None:
    peer = FakePeer(accepted_token=SECRET)
    result = await _probe(store, peer).test(_fake_input("wrong-token-value-456"))
    assert not result.ok
    assert "refused" in result.detail
    assert "wrong-token-value-456" not in result.detail
    assert SECRET not in result.detail


async def test_probe_test_invalid_input_names_the_field(store: Store) -> None:
    with pytest.raises(InvalidIntegration) as caught:
        await _probe(store, FakePeer()).test({"type": "REST", "adapter": "nope"})
    assert [p.field for p in caught.value.problems] == ["adapter"]


async def test_probe_sample_returns_first_records_and_their_fields(store: Store) -> None:
    peer = FakePeer(page_size=5)
    sample = await _probe(store, peer).sample(_fake_input("any"), ENTITY, limit=7)
    assert len(sample.records) == 7
    assert sample.fields == ("name", "rev")
    assert sample.records[0] == {"name": "Item 0", "rev": 0}


async def test_probe_sample_demo_customers_lists_their_fields(store: Store) -> None:
    data = {"type": "REST", "adapter": "demo", "entities": ["customers"]}
    sample = await _probe(store, FakePeer()).sample(data, "customers", limit=3)
    assert len(sample.records) == 3
    assert {"id", "name", "email", "city"} <= set(sample.fields)


def test_field_paths_flattens_nested_objects_in_first_seen_order() -> None:
    records = ({"a": 1, "b": {"c": 2, "d": {"e": 3}}}, {"f": [1, 2], "a": 5, "g": {}})
    assert field_paths(records) == ("a", "b.c", "b.d.e", "f", "g")
