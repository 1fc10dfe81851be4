"""`IntegrationCommands`: a change is stored, then the hub follows it (start, restart, stop);
actions on an integration that cannot do them now are refused with a reason to act on."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from actors._commands import IntegrationCommands, Refusal, Refused
from actors._hub import FIRST_ATTEMPT_TIMEOUT
from adapters import SyncKind
from api._hub import RunningHub
from runtime.store import NotFound, RunKind, RunStatus, StoreUnavailable
from runtime.testing import MockClock
from tests.actors.fakes import ENTITY, TOKEN_FIELD, FakePeer, fake_spec
from tests.actors.test_faults import hub_with, idle, integration, runs_of, status, until


def commands_of(hub: RunningHub) -> IntegrationCommands:
    return IntegrationCommands(hub.services.integrations, hub.hub)


async def test_create_starts_an_enabled_integration_and_not_a_disabled_one(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer()
    async with hub_with(tmp_path, clock, [fake_spec("shop", peer)], []) as hub:
        commands = commands_of(hub)

        view = await commands.create(integration("on", "shop"), origin="test")
        off = await commands.create(integration("off", "shop", enabled=False), origin="test")

        assert hub.hub.is_running("on")
        assert view.status == "active"  # the view after the actor's first connect
        assert not hub.hub.is_running("off")
        assert off.status == "inactive"
        assert len(peer.connects) == 1


async def test_update_restarts_disables_and_enables(tmp_path: Path, clock: MockClock) -> None:
    peer = FakePeer()
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", peer)], setup) as hub:
        commands = commands_of(hub)
        await until(clock, lambda: idle(hub, "shop"), within=30, what="the first sync")
        connects = len(peer.connects)

        changed = await commands.update("shop", {"description": "new"}, origin="test")
        assert changed.config.description == "new"
        assert len(peer.connects) == connects + 1  # restarted with the new configuration

        await commands.update("shop", {"enabled": False}, origin="test")
        assert not hub.hub.is_running("shop")

        enabled = await commands.update("shop", {"enabled": True}, origin="test")
        assert hub.hub.is_running("shop")
        assert enabled.version == 4
        assert enabled.status == "active"


async def test_delete_stops_the_actor_then_deletes(tmp_path: Path, clock: MockClock) -> None:
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        commands = commands_of(hub)

        await commands.delete("shop", origin="test")

        assert not hub.hub.is_running("shop")
        with pytest.raises(NotFound):
            await hub.services.integrations.get("shop")
        with pytest.raises(NotFound):
            await commands.delete("shop", origin="test")


async def test_a_failed_delete_starts_the_actor_again(
    tmp_path: Path, clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        commands = commands_of(hub)

        async def unavailable(integration_id: str, *, origin: str) -> None:
            raise StoreUnavailable("the database went away (test)")

        monkeypatch.setattr(hub.services.integrations, "delete", unavailable)
        with pytest.raises(StoreUnavailable):
            await commands.delete("shop", origin="test")

        assert hub.hub.is_running("shop")
        assert (await hub.services.integrations.get("shop")).config.enabled


async def test_sync_answers_with_the_first_run_begun(tmp_path: Path, clock: MockClock) -> None:
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        commands = commands_of(hub)
        await until(clock, lambda: idle(hub, "shop"), within=30, what="the first sync")

        reply = await commands.sync("shop", SyncKind.INCREMENTAL)

        assert reply.entities == (ENTITY,)
        [run] = reply.runs
        assert run.entity == ENTITY
        stored = await hub.services.store.get_run(run.id)
        assert stored.kind is RunKind.INCREMENTAL
        await until(clock, lambda: idle(hub, "shop"), within=30, what="the manual sync")
        assert (await hub.services.store.get_run(run.id)).status is RunStatus.COMPLETED
        assert [r.id for r in await runs_of(hub.services.store, "shop")][-1] == run.id


async def test_sync_refused_while_one_runs(tmp_path: Path, clock: MockClock) -> None:
    peer = FakePeer(hangs_left=1)  # the first sync (on connect) hangs after its first batch
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", peer)], setup) as hub:
        commands = commands_of(hub)

        async def running() -> bool:
            runs = await runs_of(hub.services.store, "shop")
            return bool(runs) and runs[0].status is RunStatus.RUNNING and peer.syncs == 1

        await until(clock, running, within=30, what="the first sync to hang")
        with pytest.raises(Refused) as refused:
            await commands.sync("shop")
        assert refused.value.reason is Refusal.SYNC_RUNNING
        assert len(await runs_of(hub.services.store, "shop")) == 1


async def test_sync_and_test_refused_when_disabled(tmp_path: Path, clock: MockClock) -> None:
    setup = [integration("shop", "shop", enabled=False)]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        commands = commands_of(hub)
        for action in (commands.sync, commands.test, commands.reconnect):
            with pytest.raises(Refused) as refused:
                await action("shop")
            assert refused.value.reason is Refusal.DISABLED
        assert not hub.hub.is_running("shop")


async def test_sync_refused_when_not_connected(tmp_path: Path, clock: MockClock) -> None:
    peer = FakePeer(accepted_token="right")
    setup = [integration("crm", "crm", credentials={TOKEN_FIELD: "wrong"})]
    async with hub_with(tmp_path, clock, [fake_spec("crm", peer)], setup) as hub:
        commands = commands_of(hub)

        async def in_error() -> bool:
            return await status(hub, "crm") == "error"

        await until(clock, in_error, within=10, what="status error")
        with pytest.raises(Refused) as refused:
            await commands.sync("crm")
        assert refused.value.reason is Refusal.NOT_CONNECTED
        await commands.test("crm")  # answered by the actor, which is waiting for a reconnect


async def test_parked_integration_is_refused_then_reconnected(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer(connect_fails=True)
    setup = [integration("flaky", "flaky")]
    async with hub_with(tmp_path, clock, [fake_spec("flaky", peer)], setup) as hub:
        commands = commands_of(hub)

        async def parked() -> bool:
            return await status(hub, "flaky") == "parked"

        await until(clock, parked, within=20, what="parked")
        for action in (commands.sync, commands.test):
            with pytest.raises(Refused) as refused:
                await action("flaky")
            assert refused.value.reason is Refusal.RESTARTING

        peer.connect_fails = False
        view = await commands.reconnect("flaky")
        assert view.status == "active"


async def test_unknown_integrations_are_not_found(tmp_path: Path, clock: MockClock) -> None:
    async with hub_with(tmp_path, clock, [], []) as hub:
        commands = commands_of(hub)
        for action in (commands.sync, commands.test, commands.reconnect):
            with pytest.raises(NotFound):
                await action("nothing")
        with pytest.raises(NotFound):
            await commands.update("nothing", {"description": "x"}, origin="test")
        assert not hub.hub.refs


async def test_concurrent_restarts_both_return_after_the_first_attempt(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer()
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", peer)], setup) as hub:
        connects = len(peer.connects)
        started = clock.now()
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.hub.reconnect, "shop")
            tg.start_soon(hub.hub.reconnect, "shop")
        assert clock.now() - started < FIRST_ATTEMPT_TIMEOUT
        assert len(peer.connects) >= connects + 1
        assert await status(hub, "shop") == "active"
