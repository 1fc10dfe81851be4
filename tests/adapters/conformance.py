"""The contract suite every adapter's tests subclass (as Airbyte's standard connector tests).

A subclass provides the `spec` and `context` fixtures (a context whose peer is up and holds data
in every entity of the spec); the suite checks what the runtime relies on: the spec is
well-formed, connect/health/disconnect behave and are idempotent, every entity's sync ends
with one `complete` batch, a sync resumed from any checkpoint (by the same adapter or a new
one) yields exactly the records after it, a cancelled sync lets go at once, and no credential
shows up in an error, a log line or a checkpoint.

Two optional fixtures widen it to the adapter's peer: `peer_faults` (contexts whose peer fails
in a known way, each with the error class our taxonomy must report) and `hanging_context` (a
context whose peer never answers, to show cancellation reaches a request in flight). An
adapter without a peer that can fail (the demo) leaves them out and those tests skip.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import anyio.lowlevel
import pytest

from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    AuthError,
    Batch,
    ConfigError,
    ConnectionInfo,
    HealthStatus,
    IntegrationError,
    RateLimited,
    SyncKind,
    SyncRequest,
    WebhookRequest,
    classify,
)

CANCEL_WITHIN = 2.0  # real seconds a cancelled call may take to let go


@dataclass(frozen=True)
class PeerFault:
    """A peer failing one way (`make_context` builds a context talking to it), and what the
    adapter must raise for it: `expected` (with `retry_after` for RateLimited)."""

    name: str
    expected: type[IntegrationError]
    make_context: Callable[[], AdapterContext]
    retry_after: float | None = None

    def __repr__(self) -> str:
        return f"PeerFault({self.name!r})"


async def collect(adapter: Adapter, request: SyncRequest) -> list[Batch]:
    async with aclosing(adapter.sync(request)) as batches:
        return [batch async for batch in batches]


def ids(batches: list[Batch]) -> list[str]:
    return [record.external_id for batch in batches for record in batch.records]


class AdapterConformance:
    """Subclass this in an adapter's tests and provide `spec` and `context` (and, where the
    adapter has a peer, `peer_faults` and `hanging_context`)."""

    @pytest.fixture
    def spec(self) -> AdapterSpec:
        raise NotImplementedError("a conformance subclass provides its adapter's spec")

    @pytest.fixture
    def context(self) -> AdapterContext:
        raise NotImplementedError("a conformance subclass provides a context for its adapter")

    @pytest.fixture
    def peer_faults(self) -> list[PeerFault]:
        """Contexts whose peer fails; none by default (an adapter with no peer to fail)."""
        return []

    @pytest.fixture
    def hanging_context(self) -> AdapterContext | None:
        """A context whose peer never answers; None by default."""
        return None

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

    async def test_connect_and_disconnect_idempotent(
        self, spec: AdapterSpec, context: AdapterContext
    ) -> None:
        adapter = spec.factory(context)
        await adapter.disconnect()  # before any connect: harmless
        first = await adapter.connect()
        again = await adapter.connect()
        assert first.peer == again.peer
        await adapter.disconnect()
        await adapter.disconnect()
        assert (await adapter.connect()).peer == first.peer  # usable again after disconnect
        assert (await adapter.health_check()).ok
        await adapter.disconnect()

    async def test_health_check_repeatable_without_connect(
        self, spec: AdapterSpec, context: AdapterContext
    ) -> None:
        adapter = spec.factory(context)
        for _ in range(3):
            assert (await adapter.health_check()).ok
        await adapter.disconnect()

    @pytest.mark.parametrize("kind", list(SyncKind))
    async def test_sync_resumed_by_a_new_adapter_from_any_checkpoint_yields_the_rest(
        self, spec: AdapterSpec, context: AdapterContext, kind: SyncKind
    ) -> None:
        """What the actor does after a crash: a new instance, the stored checkpoint."""
        for entity in spec.entities:
            whole = await collect(spec.factory(context), SyncRequest((entity,), kind))
            for index, batch in enumerate(whole[:-1]):
                checkpoint = json.loads(json.dumps(batch.checkpoint))
                fresh = spec.factory(context)
                rest = await collect(fresh, SyncRequest((entity,), kind, {entity: checkpoint}))
                assert ids(whole[: index + 1]) + ids(rest) == ids(whole), (entity, index)
                assert [b.complete for b in rest] == [False] * (len(rest) - 1) + [True]

    async def test_sync_two_entities_resume_independently(
        self, adapter: Adapter, spec: AdapterSpec
    ) -> None:
        if len(spec.entities) < 2:
            pytest.skip("one entity only")
        first, second = spec.entities[:2]
        whole_first = await collect(adapter, SyncRequest((first,)))
        whole_second = await collect(adapter, SyncRequest((second,)))
        request = SyncRequest((first, second), checkpoints={first: whole_first[0].checkpoint})
        both = await collect(adapter, request)
        assert ids([b for b in both if b.entity == first]) == ids(whole_first[1:])
        assert ids([b for b in both if b.entity == second]) == ids(whole_second)

    async def test_sync_cancelled_between_batches_lets_go_and_adapter_stays_usable(
        self, adapter: Adapter, spec: AdapterSpec
    ) -> None:
        entity = spec.entities[0]
        seen: list[Batch] = []
        with anyio.fail_after(CANCEL_WITHIN), anyio.CancelScope() as scope:
            async with aclosing(adapter.sync(SyncRequest((entity,)))) as batches:
                async for batch in batches:
                    seen.append(batch)
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()  # the cancellation lands here
        assert scope.cancelled_caught
        assert len(seen) == 1
        again = await collect(adapter, SyncRequest((entity,)))
        assert again[-1].complete

    async def test_cancellation_reaches_a_request_in_flight(
        self, spec: AdapterSpec, hanging_context: AdapterContext | None
    ) -> None:
        if hanging_context is None:
            pytest.skip("this adapter declares no peer that can hang")
        adapter = spec.factory(hanging_context)
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "connect": adapter.connect,
            "health_check": adapter.health_check,
            "sync": lambda: collect(adapter, SyncRequest(spec.entities[:1])),
        }
        for name, call in calls.items():
            started = anyio.current_time()
            with anyio.move_on_after(0.05) as scope:
                await call()
            assert scope.cancelled_caught, name
            assert anyio.current_time() - started < CANCEL_WITHIN, name
        await adapter.disconnect()

    async def test_vendor_errors_mapped_to_the_taxonomy(
        self, spec: AdapterSpec, peer_faults: list[PeerFault]
    ) -> None:
        if not peer_faults:
            pytest.skip("this adapter declares no peer faults")
        for fault in peer_faults:
            for name, error in await _failures(spec, fault):
                assert isinstance(error, fault.expected), (fault, name, error)
                assert classify(error).action is classify(_example(fault)).action
                if fault.retry_after is not None:
                    assert isinstance(error, RateLimited)
                    assert error.retry_after == fault.retry_after, (fault, name)

    async def test_no_secret_in_errors_logs_or_checkpoints(
        self,
        spec: AdapterSpec,
        context: AdapterContext,
        peer_faults: list[PeerFault],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        secrets = _secrets(context)
        adapter = spec.factory(context)
        shown: list[str] = [repr(context), repr(adapter), repr(await adapter.connect())]
        shown.append(repr(await adapter.health_check()))
        for batch in await collect(adapter, SyncRequest(spec.entities)):
            shown.append(json.dumps(batch.checkpoint))
        for fault in peer_faults:
            secrets |= _secrets(fault.make_context())
            for name, error in await _failures(spec, fault):
                shown += [name, str(error), repr(error), repr(error.args)]
        shown += [caplog.text, repr([(r.msg, r.args) for r in caplog.records])]
        for secret in secrets:
            assert not any(secret in text for text in shown), "a credential was shown"


def _secrets(context: AdapterContext) -> set[str]:
    return {s.reveal() for s in context.credentials.values() if len(s.reveal().strip()) >= 6}


def _example(fault: PeerFault) -> IntegrationError:
    if issubclass(fault.expected, RateLimited):
        return RateLimited(fault.retry_after)
    return fault.expected("example")


async def _failures(spec: AdapterSpec, fault: PeerFault) -> list[tuple[str, IntegrationError]]:
    """What connect, health_check and a sync raise against the failing peer (a health check
    may report a transient failure instead of raising; then it must say it is not ok)."""
    found: list[tuple[str, IntegrationError]] = []
    calls: dict[str, Callable[[Adapter], Awaitable[object]]] = {
        "connect": lambda adapter: adapter.connect(),
        "sync": lambda adapter: collect(adapter, SyncRequest(spec.entities[:1])),
        "health_check": lambda adapter: adapter.health_check(),
    }
    with anyio.fail_after(30):
        for name, call in calls.items():
            adapter = spec.factory(fault.make_context())  # a fresh limiter: no pause carried over
            try:
                result = await call(adapter)
            except IntegrationError as error:
                found.append((name, error))
                continue
            assert name == "health_check", (fault, name, "did not fail")
            assert isinstance(result, HealthStatus)
            assert not result.ok, (fault, "health check reported ok")
            assert not issubclass(fault.expected, AuthError | ConfigError), fault
            await adapter.disconnect()
    return found
