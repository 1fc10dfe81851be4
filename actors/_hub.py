"""The hub: the registry of integration actors on the root supervisor.

One `IntegrationActor` per enabled integration, started at start-up and added, reloaded or
removed when its configuration changes. The root parks an integration that keeps crashing
(instead of taking the process down) and tries it again after a cool-down; the hub turns
those moves into the integration's status and events (`restarted`, `parked`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import anyio

from actors._integration import IntegrationActor
from actors._integrations import event_in
from actors._messages import (
    GetSync,
    IntegrationDeps,
    SyncNow,
    SyncReply,
    SyncState,
    TestConnection,
    TestResult,
)
from adapters import SyncKind
from runtime import (
    Actor,
    ActorOptions,
    ActorRef,
    ChildChange,
    Lifecycle,
    Supervisor,
    describe,
    move_on_after,
)
from runtime.bus import EventName

log = logging.getLogger("actors.hub")

CHILD_PREFIX = "integration:"
PARKED = "parked"
FIRST_ATTEMPT_TIMEOUT = 15.0  # seconds a restart waits for the new incarnation's first start


def child_id(integration_id: str) -> str:
    return CHILD_PREFIX + integration_id


@dataclass(frozen=True, slots=True)
class _Report:
    change: ChildChange


class StatusReporter(Actor[_Report]):
    """Writes what the supervisor did to an integration into its status and events (the
    supervisor's hook is synchronous; this actor does the I/O in order)."""

    def __init__(self, deps: IntegrationDeps) -> None:
        self.deps = deps

    async def receive(self, message: _Report) -> None:
        change = message.change
        integration_id = change.child.removeprefix(CHILD_PREFIX)
        now = self.deps.now()
        if change.new is Lifecycle.PARKED:
            data = {"status": PARKED, "error": change.error}
            event = event_in(integration_id, EventName.PARKED, data, now)
            await self.deps.store.set_status(integration_id, PARKED, events=[event])
        elif change.old is Lifecycle.RESTARTING and change.new is Lifecycle.STARTING:
            data = {"error": change.error}
            await self.deps.store.append_events(
                [event_in(integration_id, EventName.RESTARTED, data, now)]
            )
        else:
            return
        self.deps.notify()


class Hub:
    def __init__(self, root: Supervisor, deps: IntegrationDeps) -> None:
        self.root = root
        self.deps = deps
        self.refs: dict[str, ActorRef[object]] = {}
        self._reporter: ActorRef[_Report] | None = None
        self._starting: dict[str, list[anyio.Event]] = {}  # restarts awaiting a first attempt

    async def start(self) -> None:
        """Runs left running by a previous process are interrupted (and resume); then an
        actor for every enabled integration."""
        await self.deps.store.mark_interrupted_runs()
        self._reporter = await self.root.spawn("hub:status", lambda: StatusReporter(self.deps))
        for view in await self.deps.integrations.list():
            if view.config.enabled:
                await self.add(view.config.id)

    def on_change(self, change: ChildChange) -> None:
        """The root supervisor's hook."""
        if not change.child.startswith(CHILD_PREFIX):
            return
        if self._reporter is not None:
            self._reporter.tell_nowait(_Report(change))
        if change.old is Lifecycle.STARTING and change.new is not Lifecycle.STOPPING:
            for waiter in self._starting.pop(change.child.removeprefix(CHILD_PREFIX), []):
                waiter.set()  # started, or failed its first start: either way, attempted

    async def add(self, integration_id: str) -> None:
        ref = await self.root.spawn(
            child_id(integration_id),
            lambda: IntegrationActor(integration_id, self.deps),
            ActorOptions(ask_timeout=30.0),
        )
        self.refs[integration_id] = ref  # type: ignore[assignment]  # refs are kept untyped

    async def remove(self, integration_id: str) -> None:
        if self.refs.pop(integration_id, None) is not None:
            await self.root.remove_child(child_id(integration_id))

    async def apply(self, integration_id: str, *, enabled: bool) -> None:
        """After a configuration change: start, restart with the new config, or stop."""
        if not enabled:
            await self.remove(integration_id)
        elif integration_id in self.refs:
            await self._restart(integration_id)
        else:
            await self.add(integration_id)

    async def _restart(self, integration_id: str) -> None:
        """Restart now, without backoff (a parked child starts at once, not after cool-down);
        returns once the new incarnation has tried to start (as `add` does), so its status
        says how that went, or after `FIRST_ATTEMPT_TIMEOUT`."""
        attempted = anyio.Event()
        self._starting.setdefault(integration_id, []).append(attempted)
        try:
            await self.root.restart_child(child_id(integration_id))
            with move_on_after(self.deps.clock, FIRST_ATTEMPT_TIMEOUT):
                await attempted.wait()
        finally:
            waiting = self._starting.get(integration_id, [])
            if attempted in waiting:
                waiting.remove(attempted)
                if not waiting:
                    del self._starting[integration_id]

    async def reconnect(self, integration_id: str) -> None:
        """Start the integration over, now (after fixing credentials): no backoff."""
        await self.apply(integration_id, enabled=True)

    def _ref(self, integration_id: str) -> ActorRef[object]:
        try:
            return self.refs[integration_id]
        except KeyError:
            raise KeyError(f"integration {integration_id!r} is not running") from None

    async def sync_now(self, integration_id: str, kind: SyncKind = SyncKind.FULL) -> bool:
        """Start a sync; whether this call started it."""
        return (await self.start_sync(integration_id, kind)).started

    async def start_sync(self, integration_id: str, kind: SyncKind = SyncKind.FULL) -> SyncReply:
        """Start a sync; the reply names the run begun (or why none was)."""
        return await self._ref(integration_id).ask(SyncNow(kind))

    def is_running(self, integration_id: str) -> bool:
        """Whether the integration has an actor (it may still be restarting or parked)."""
        return integration_id in self.refs

    async def sync_state(self, integration_id: str) -> SyncState:
        return await self._ref(integration_id).ask(GetSync())

    async def test_connection(self, integration_id: str) -> TestResult:
        return await self._ref(integration_id).ask(TestConnection())

    async def health_check_all(self, deadline: float = 10.0) -> Mapping[str, TestResult]:
        """Every running integration's test connection, in parallel, within `deadline`."""
        results: dict[str, TestResult] = {}

        async def check(integration_id: str) -> None:
            try:
                results[integration_id] = await self._ref(integration_id).ask(
                    TestConnection(), timeout=deadline
                )
            except Exception as error:
                results[integration_id] = TestResult(False, deadline, describe(error))

        async with anyio.create_task_group() as tg:
            for integration_id in list(self.refs):
                tg.start_soon(check, integration_id)
        return results
