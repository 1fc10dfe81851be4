"""The contract suite every adapter's tests subclass (as Airbyte's standard connector tests).

A subclass provides the `spec` and `context` fixtures (a context whose peer is up and holds data
in every entity of the spec); the suite checks what the runtime relies on: the spec is
well-formed, connect/health/disconnect behave, every entity's sync ends with one `complete`
batch, and a sync resumed from any checkpoint yields exactly the records after it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime

import pytest

from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    Batch,
    ConfigError,
    ConnectionInfo,
    HealthStatus,
    SyncKind,
    SyncRequest,
    WebhookRequest,
)


async def collect(adapter: Adapter, request: SyncRequest) -> list[Batch]:
    async with aclosing(adapter.sync(request)) as batches:
        return [batch async for batch in batches]


def ids(batches: list[Batch]) -> list[str]:
    return [record.external_id for batch in batches for record in batch.records]


class AdapterConformance:
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        raise NotImplementedError("a conformance subclass provides its adapter's spec")

    @pytest.fixture
    def context(self) -> AdapterContext:
        raise NotImplementedError("a conformance subclass provides a context for its adapter")

    @pytest.fixture
    async def adapter(self, spec: AdapterSpec, context: AdapterContext) -> AsyncIterator[Adapter]:
        adapter = spec.factory(context)
        try:
            yield adapter
        finally:
            await adapter.disconnect()

    def test_spec_well_formed(self, spec: AdapterSpec) -> None:
        assert spec.title
        assert spec.description
        assert spec.icon
        assert spec.entities
        assert spec.settings_schema["type"] == "object"
        json.dumps(spec.settings_schema)

    async def test_connect_returns_connection_info(self, adapter: Adapter) -> None:
        info = await adapter.connect()
        assert isinstance(info, ConnectionInfo)
        assert info.peer

    async def test_health_check_ok(self, adapter: Adapter) -> None:
        status = await adapter.health_check()
        assert isinstance(status, HealthStatus)
        assert status.ok
        assert status.latency >= 0

    async def test_disconnect_twice_harmless(self, adapter: Adapter) -> None:
        await adapter.connect()
        await adapter.disconnect()
        await adapter.disconnect()

    async def test_sync_each_entity_ends_with_one_complete_batch(
        self, adapter: Adapter, spec: AdapterSpec
    ) -> None:
        batches = await collect(adapter, SyncRequest(spec.entities))
        assert [b.entity for b in batches if b.complete] == list(spec.entities)
        for entity in spec.entities:
            own = [batch for batch in batches if batch.entity == entity]
            assert own[-1].complete
            assert not any(batch.complete for batch in own[:-1])
        for batch in batches:
            json.dumps(batch.checkpoint)
            json.dumps([record.data for record in batch.records])

    @pytest.mark.parametrize("kind", list(SyncKind))
    async def test_sync_resumed_from_each_checkpoint_yields_exactly_the_rest(
        self, adapter: Adapter, spec: AdapterSpec, kind: SyncKind
    ) -> None:
        for entity in spec.entities:
            whole = await collect(adapter, SyncRequest((entity,), kind))
            for index, batch in enumerate(whole[:-1]):
                checkpoint = json.loads(json.dumps(batch.checkpoint))
                rest = await collect(adapter, SyncRequest((entity,), kind, {entity: checkpoint}))
                assert ids(rest) == ids(whole[index + 1 :]), (entity, index)
                assert rest[-1].checkpoint == whole[-1].checkpoint

    async def test_sync_unknown_entity_is_config_error(self, adapter: Adapter) -> None:
        with pytest.raises(ConfigError, match="no-such-entity"):
            await collect(adapter, SyncRequest(("no-such-entity",)))

    async def test_webhook_unverified_delivery_refused(self, adapter: Adapter) -> None:
        delivery = WebhookRequest({"Content-Type": "application/json"}, b"{}", datetime.now(UTC))
        assert adapter.verify_webhook(delivery) is False
