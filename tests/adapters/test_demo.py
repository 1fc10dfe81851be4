"""The demo adapter: the contract suite, determinism, generations that change, realistic data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    Batch,
    ConfigError,
    HttpClient,
    HttpRequest,
    HttpResponse,
    JsonValue,
    SourceRecord,
    SyncKind,
    SyncRequest,
    WebhookRequest,
)
from adapters._demo_world import WorldCache, WorldParams
from adapters.demo import SPEC, DemoAdapter
from runtime import RateLimit, RateLimiter
from runtime.testing import MockClock
from tests.adapters.conformance import AdapterConformance, collect, ids

ENTITIES = ("customers", "invoices")


async def _no_network(request: HttpRequest) -> HttpResponse:
    raise AssertionError(f"the demo must not send {request!r}")


def _context(
    settings: Mapping[str, JsonValue] | None = None, clock: MockClock | None = None
) -> AdapterContext:
    clock = clock or MockClock()
    limiter = RateLimiter(RateLimit(rate=10), clock=clock)
    return AdapterContext(
        integration_id="demo-1",
        settings=settings or {},
        credentials={},
        http=HttpClient(limiter, clock=clock, send=_no_network),
        limiter=limiter,
        clock=clock,
    )


def _demo(**settings: JsonValue) -> DemoAdapter:
    return DemoAdapter(_context(settings))


def _by_id(batches: list[Batch]) -> dict[str, SourceRecord]:
    return {record.external_id: record for batch in batches for record in batch.records}


async def _sync(
    adapter: DemoAdapter,
    entity: str,
    after: list[Batch] | None = None,
    kind: SyncKind = SyncKind.FULL,
) -> list[Batch]:
    """One sync of `entity`, continuing after the last batch of `after` (a previous sync)."""
    checkpoints = {entity: after[-1].checkpoint} if after else {}
    return await collect(adapter, SyncRequest((entity,), kind, checkpoints))


class TestDemoConformance(AdapterConformance):
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        return SPEC

    @pytest.fixture
    def context(self) -> AdapterContext:
        return _context({"page_size": 37})


async def test_demo_initial_counts_and_pages() -> None:
    adapter = _demo()
    customers = await _sync(adapter, "customers")
    invoices = await _sync(adapter, "invoices")
    assert [len(batch.records) for batch in customers] == [100, 100]
    assert [len(batch.records) for batch in invoices] == [100] * 5
    assert customers[0].checkpoint == {
        "generation": 0,
        "kind": "full",
        "page": 0,
        "offset": 100,
        "done": False,
    }
    assert len(set(ids(invoices))) == 500


async def test_demo_same_seed_same_records() -> None:
    first = await _sync(_demo(seed=7), "invoices")
    again = await _sync(_demo(seed=7), "invoices")
    other = await _sync(_demo(seed=8), "invoices")
    assert first == again
    assert [r.data for b in first for r in b.records] != [r.data for b in other for r in b.records]


async def test_demo_resumed_by_new_instance_yields_exactly_the_rest() -> None:
    whole = await _sync(_demo(page_size=30), "customers")
    interrupted = whole[2]
    rest = await collect(
        _demo(page_size=30),
        SyncRequest(("customers",), SyncKind.FULL, {"customers": interrupted.checkpoint}),
    )
    assert ids(rest) == ids(whole[3:])
    assert set(ids(whole[:3])).isdisjoint(ids(rest))


async def test_demo_next_generation_changes_deletes_and_adds() -> None:
    adapter = _demo()
    for entity, size in (("customers", 200), ("invoices", 500)):
        before = await _sync(adapter, entity)
        after = await _sync(adapter, entity, after=before)
        old, new = _by_id(before), _by_id(after)
        deleted = old.keys() - new.keys()
        added = new.keys() - old.keys()
        changed = {key for key in old.keys() & new.keys() if old[key] != new[key]}
        assert after[-1].checkpoint["generation"] == 1
        assert 0 < len(deleted) <= size * 0.03, entity
        assert size * 0.01 <= len(added) <= size * 0.04, entity
        assert size * 0.02 <= len(changed) <= size * 0.08, entity


async def test_demo_incremental_yields_exactly_the_changes() -> None:
    adapter = _demo()
    for entity in ENTITIES:
        base = await _sync(adapter, entity)
        full = await _sync(adapter, entity, after=base)
        changes = await _sync(adapter, entity, after=base, kind=SyncKind.INCREMENTAL)
        old, new = _by_id(base), _by_id(full)
        upserts = {r.external_id: r for b in changes for r in b.records if not r.deleted}
        tombstones = {r.external_id for b in changes for r in b.records if r.deleted}
        assert upserts == {key: rec for key, rec in new.items() if old.get(key) != rec}
        assert tombstones == old.keys() - new.keys()
        assert changes[-1].checkpoint["kind"] == "incremental"


async def test_demo_checkpoint_of_other_kind_restarts_its_generation() -> None:
    adapter = _demo()
    full = await _sync(adapter, "customers")
    interrupted_incremental = {**full[0].checkpoint, "kind": "incremental"}
    request = SyncRequest(("customers",), SyncKind.FULL, {"customers": interrupted_incremental})
    assert ids(await collect(adapter, request)) == ids(full)


@pytest.mark.parametrize(
    "checkpoint",
    [
        {"cursor": "abc"},
        {"generation": -1, "kind": "full", "page": 0, "offset": 0, "done": False},
        {"generation": 0, "kind": "full", "page": 0, "offset": 0, "done": 1},
        {"generation": 10**9, "kind": "full", "page": 0, "offset": 0, "done": False},
    ],
)
async def test_demo_foreign_checkpoint_is_config_error(checkpoint: dict[str, JsonValue]) -> None:
    request = SyncRequest(("customers",), SyncKind.FULL, {"customers": checkpoint})
    with pytest.raises(ConfigError, match="checkpoint is not one of ours"):
        await collect(_demo(), request)


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"page_size": 0}, "page_size"), ({"change_rate": 2}, "change_rate"), ({"nope": 1}, "nope")],
)
def test_demo_invalid_settings_config_error_names_field(
    settings: dict[str, JsonValue], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        DemoAdapter(_context(settings))


async def test_demo_invoices_reference_customers_in_their_currency() -> None:
    adapter = _demo()
    customers = _by_id(await _sync(adapter, "customers"))
    currency = {"DE": "EUR", "AT": "EUR", "CH": "CHF", "PL": "PLN", "SE": "SEK"}
    for batch in await _sync(adapter, "invoices"):
        for record in batch.records:
            invoice = record.data
            customer = customers[str(invoice["customer_id"])].data
            assert invoice["currency"] == currency.get(
                str(customer["country"]), invoice["currency"]
            )
            assert Decimal(str(invoice["amount"])) > 0
            assert invoice["status"] in {"draft", "open", "paid", "overdue"}
            assert date.fromisoformat(str(invoice["due"])) > date.fromisoformat(
                str(invoice["issued"])
            )


async def test_demo_customers_look_real() -> None:
    records = [r.data for b in await _sync(_demo(), "customers") for r in b.records]
    for customer in records:
        email = str(customer["email"])
        assert email.isascii()
        assert email.count("@") == 1
        assert " " in str(customer["name"])
        datetime.fromisoformat(str(customer["created"]))
    countries = {customer["country"] for customer in records}
    assert "DE" in countries
    assert len(countries) >= 5
    assert any(not str(customer["name"]).isascii() for customer in records)


def test_demo_world_size_settles_over_many_generations() -> None:
    params = WorldParams(42, 200, 500, 0.05, 0.01, 0.02, date(2025, 1, 1))
    world = WorldCache(params).at(400)
    assert 300 <= len(world.entities["customers"]) <= 480
    assert 750 <= len(world.entities["invoices"]) <= 1200


def test_demo_world_cache_path_does_not_change_the_world() -> None:
    params = WorldParams(3, 20, 50, 0.2, 0.05, 0.05, date(2025, 1, 1))
    stepwise = WorldCache(params, keep=1)
    for generation in range(12):
        stepwise.at(generation)
    assert stepwise.at(11) == WorldCache(params).at(11)


async def test_demo_page_delay_waits_on_the_clock() -> None:
    clock = MockClock()
    adapter = DemoAdapter(_context({"page_delay": 2.5, "customers": 30, "page_size": 10}, clock))
    async with clock.autojump():
        batches = await _sync(adapter, "customers")
    assert len(batches) == 3
    assert clock.now() == 7.5


async def test_demo_empty_entity_still_one_complete_batch() -> None:
    batches = await _sync(_demo(customers=0), "customers")
    assert [(len(b.records), b.complete) for b in batches] == [(0, True)]


async def test_demo_webhook_of_nothing_carries_nothing() -> None:
    delivery = WebhookRequest({}, b"{}", datetime.now(UTC))
    result = await _demo().handle_webhook(delivery)  # more in test_webhook_demo.py
    assert (dict(result.records), result.events) == ({}, ())


async def test_demo_health_and_connection_name_the_seed() -> None:
    adapter = _demo(seed=9)
    assert (await adapter.connect()).account == "seed 9"
    assert "seed 9" in (await adapter.health_check()).detail
