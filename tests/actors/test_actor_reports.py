"""What an integration actor reports and keeps, end to end through the hub: each run's own
counts in its `sync_completed`, an adapter that fails in its constructor, credentials the
peer rotates during a sync, and a line in the integration's log for each thing it reports."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    AuthError,
    Batch,
    ConfigError,
    HealthStatus,
    RateLimited,
    SourceRecord,
    SyncRequest,
)
from config import IntegrationType
from runtime import Lifecycle, sleep
from runtime.store import LogRow, RunStatus, Store
from runtime.testing import MockClock
from runtime.vault import Secret
from tests.actors.fakes import ENTITY, TOKEN_FIELD, FakeAdapter, FakePeer, fake_spec
from tests.actors.test_faults import (
    PREFIX,
    child,
    events_of,
    hub_with,
    idle,
    integration,
    names,
    runs_of,
    status,
    until,
)

TOKEN = "sk-live-Vb7q-first-Lm2kP9xR"
ROTATED = "rt-rotated-Wq4z-Nx8cJ3yT"
COUNTS = {"a": 5, "b": 3}  # records of each of TwoEntities' entities


async def _logs(store: Store, integration_id: str) -> list[LogRow]:
    """Oldest first."""
    return list(reversed((await store.list_logs(integration_id, limit=500)).items))


# -- per-entity counts ---------------------------------------------------------------------


class TwoEntities(FakeAdapter):
    """Entity `a` has 5 records, `b` 3, each in one batch; every pass sees them all."""

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        for entity in request.entities:
            records = tuple(SourceRecord(f"{entity}-{n}", {"n": n}) for n in range(COUNTS[entity]))
            yield Batch(entity, records, {"done": True}, complete=True)


def _two_entities(peer: FakePeer) -> AdapterSpec:
    return AdapterSpec(
        name="two",
        title="Two entities",
        description="Two entities of different sizes.",
        icon="🧪",
        kind=IntegrationType.REST,
        factory=lambda context: TwoEntities(context, peer),
        settings_schema={"type": "object"},
        credential_fields=(TOKEN_FIELD,),
        entities=("a", "b"),
    )


async def test_sync_completed_reports_each_runs_own_counts(
    tmp_path: Path, clock: MockClock
) -> None:
    setup = [integration("two", "two", entities=["a", "b"])]
    async with hub_with(tmp_path, clock, [_two_entities(FakePeer())], setup) as hub:
        store = hub.services.store
        await until(clock, lambda: _completed(store, 2), within=60, what="the first sync")
        assert await hub.hub.sync_now("two") is True
        await until(clock, lambda: _completed(store, 4), within=60, what="the second sync")

        reports = [
            (e.data["entity"], e.data["added"], e.data["unchanged"], e.data.get("deleted"))
            for e in await events_of(store, "two")
            if e.type == PREFIX + "sync_completed"
        ]
        # Not the sync's running total (b: 8 added): each entity's run alone.
        assert reports == [("a", 5, 0, 0), ("b", 3, 0, 0), ("a", 0, 5, 0), ("b", 0, 3, 0)]
        runs = await runs_of(store, "two")
        assert [(r.entity, r.added, r.unchanged) for r in runs] == [
            (entity, added, unchanged) for entity, added, unchanged, _ in reports
        ]


async def _completed(store: Store, count: int) -> bool:
    return names(await events_of(store, "two")).count("sync_completed") == count


# -- an adapter whose constructor refuses its configuration ----------------------------------


def _refusing(error: Exception, built: list[AdapterContext]) -> AdapterSpec:
    def factory(context: AdapterContext) -> FakeAdapter:
        built.append(context)
        raise error

    return AdapterSpec(
        name="refusing",
        title="Refuses",
        description="Its constructor refuses the settings or credentials.",
        icon="🧪",
        kind=IntegrationType.REST,
        factory=factory,
        settings_schema={"type": "object"},
        credential_fields=(TOKEN_FIELD,),
        entities=(ENTITY,),
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConfigError("setting 'region' must be one of eu, us"), "config"),
        (AuthError("the api_token is not a token of ours"), "auth"),
    ],
)
async def test_adapter_refusing_in_its_constructor_is_an_error_not_a_restart_loop(
    tmp_path: Path, clock: MockClock, error: Exception, kind: str
) -> None:
    built: list[AdapterContext] = []
    setup = [integration("bad", "refusing", credentials={TOKEN_FIELD: TOKEN})]
    async with hub_with(tmp_path, clock, [_refusing(error, built)], setup) as hub:
        store = hub.services.store

        async def in_error() -> bool:
            return await status(hub, "bad") == "error"

        await until(clock, in_error, within=5, what="status error")
        await sleep(clock, 120)

        assert len(built) == 1
        info = child(hub, "bad")
        assert (info.state, info.restarts) == (Lifecycle.RUNNING, 0)
        events = await events_of(store, "bad")
        assert names(events) == ["config_changed", "error"]
        assert events[-1].data == {
            "status": "error",
            "kind": kind,
            "detail": f"{type(error).__name__}: {error}",
        }
        [line] = await _logs(store, "bad")
        assert (line.level, line.event_type) == ("error", "error")
        assert line.message == f"connect failed ({kind}): {type(error).__name__}: {error}"
        assert (await hub.hub.test_connection("bad")).detail == "not connected"


# -- credentials the peer rotates ------------------------------------------------------------


class Rotating(FakeAdapter):
    """Before its first batch, the peer hands out a new token, which the adapter saves."""

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        save = self.context.save_credentials
        assert save is not None
        await save({TOKEN_FIELD: Secret(ROTATED)})
        async for batch in super().sync(request):
            yield batch


async def test_rotated_credential_is_stored_audited_and_nothing_restarts(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer()
    spec = replace(fake_spec("rot", peer), factory=lambda c: Rotating(c, peer))
    setup = [integration("rot", "rot", credentials={TOKEN_FIELD: TOKEN})]
    async with hub_with(tmp_path, clock, [spec], setup) as hub:
        store = hub.services.store
        await until(clock, lambda: _synced(store, "rot"), within=60, what="the first sync")

        opened = await hub.services.integrations.credentials("rot")
        assert opened[TOKEN_FIELD].reveal() == ROTATED
        assert len(peer.connects) == 1
        info = child(hub, "rot")
        assert (info.state, info.restarts) == (Lifecycle.RUNNING, 0)
        assert "restarted" not in names(await events_of(store, "rot"))
        view = await hub.services.integrations.get("rot")
        assert (view.version, view.status) == (1, "active")  # a user's edit is not refused

        audit = (await store.list_audit(limit=10)).items
        rotated = [a for a in audit if a.action == "credential.rotated"]
        assert [(a.actor, a.target, a.details) for a in rotated] == [
            ("adapter:rot", "rot", {"credentials_rotated": [TOKEN_FIELD]})
        ]
        everything = repr(audit) + repr(await _logs(store, "rot"))
        everything += repr(await store.recent_events(1000, "rot"))
        assert ROTATED not in everything
        assert TOKEN not in everything


async def _synced(store: Store, integration_id: str) -> bool:
    runs = await runs_of(store, integration_id)
    return bool(runs) and runs[-1].status is RunStatus.COMPLETED


# -- log lines -------------------------------------------------------------------------------


class Limited(FakeAdapter):
    """Its first sync is refused by the peer's rate limit; its health probe fails."""

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        self.peer.syncs += 1
        if self.peer.syncs == 1:
            raise RateLimited(7.0)
        async for batch in super().sync(request):
            yield batch

    async def health_check(self) -> HealthStatus:
        await sleep(self.context.clock, 0)
        return HealthStatus(False, 0.0, "the peer is down for maintenance")


async def test_logs_tell_connect_syncs_rate_limits_and_health(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer()
    spec = replace(fake_spec("lim", peer), factory=lambda c: Limited(c, peer))
    health = {"interval": 5.0, "timeout": 1.0, "failure_threshold": 1}
    setup = [integration("lim", "lim", credentials={TOKEN_FIELD: TOKEN}, health=health)]
    async with hub_with(tmp_path, clock, [spec], setup) as hub:
        store = hub.services.store

        async def limited() -> bool:
            return "rate_limited" in names(await events_of(store, "lim"))

        await until(clock, limited, within=60, what="the rate-limited first sync")
        await until(clock, lambda: idle(hub, "lim"), within=60, what="the first sync ended")
        assert await hub.hub.sync_now("lim") is True
        await until(clock, lambda: _synced(store, "lim"), within=60, what="the second sync")

        async def unhealthy() -> bool:
            return any(line.event_type == "health_changed" for line in await _logs(store, "lim"))

        await until(clock, unhealthy, within=60, what="the health change")
        lines = await _logs(store, "lim")

    by_type: dict[str, list[LogRow]] = {}
    for line in lines:
        by_type.setdefault(line.event_type, []).append(line)
    [connected] = by_type["connected"]
    assert (connected.level, connected.message) == ("info", "connected to fake peer")
    assert connected.duration_ms is not None
    assert [line.level for line in by_type["sync_started"]] == ["info", "info"]
    assert by_type["sync_started"][0].message == f"{ENTITY}: full sync started"
    [interrupted] = by_type["sync_failed"]
    assert interrupted.level == "warning"
    assert interrupted.message == (
        f"{ENTITY}: sync interrupted: RateLimited: rate limited by the peer (retry after 7 s)"
    )
    [rate_limited] = by_type["rate_limited"]
    assert rate_limited.level == "warning"
    assert "retry after 7 s" in rate_limited.message
    [completed] = by_type["sync_completed"]
    assert completed.level == "info"
    assert completed.message == (
        f"{ENTITY}: sync completed: 30 added, 0 updated, 0 unchanged, 0 deleted"
    )
    assert completed.duration_ms is not None
    assert completed.details["added"] == 30
    assert completed.details["status"] == "completed"
    [health_line] = by_type["health_changed"][:1]
    assert (health_line.level, health_line.details) == ("warning", {"from": "closed", "to": "open"})
    assert all(TOKEN not in repr(line) for line in lines)
    # One line per reported thing, never one per batch (the sync had three).
    assert len(by_type["sync_completed"]) + len(by_type["sync_failed"]) == 2
