"""`IntegrationActor`: one per integration; connects, syncs, watches its health, reports.

What it does with an adapter's error follows the taxonomy (`adapters.classify`):
- auth or config trouble: status `error` and an event, then it waits for a reconnect (the
  hub restarts it on purpose) — no restart storm, since a restart would fail the same way;
- rate limited: the limiter pauses, an event says so; the sync resumes from its checkpoint;
- transient trouble while connecting: a crash, so the supervisor restarts with backoff (and
  parks the integration when it keeps failing);
- transient trouble during a sync: the run is interrupted and resumes on the next sync;
- anything unexpected: the run is interrupted and the actor crashes (restart, then resume).
A sync runs beside the actor's mailbox (a helper task of the incarnation), so status asks,
test connection and stop are answered while it runs; there is never more than one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, aclosing
from datetime import datetime
from typing import Any

import anyio
from opentelemetry.trace import Span

from actors._integrations import event_in
from actors._messages import (
    GetSync,
    IntegrationDeps,
    Message,
    PeerChanged,
    RunRef,
    Scheduled,
    StallCheck,
    SyncNow,
    SyncRefusal,
    SyncReply,
    SyncState,
    TestConnection,
    TestResult,
)
from actors._schedule import delay_until, plan_next
from actors._sync import Progress, Start, begin, run_entity, run_log, summary
from actors._webhook_inbox import WebhooksWaiting
from actors._webhook_processing import WebhookWork, process_deliveries
from adapters import (
    Action,
    Adapter,
    AdapterContext,
    HttpClient,
    IntegrationError,
    RetryPolicy,
    SyncKind,
    classify,
    http_priority,
)
from config import IntegrationConfig, IntegrationType
from runtime import (
    Actor,
    BreakerOptions,
    BreakerState,
    HealthLoop,
    HealthOptions,
    Priority,
    RateLimit,
    RateLimiter,
    describe,
)
from runtime.bus import EventName
from runtime.store import LogIn, RecordEvents, RunStatus, StoreError
from runtime.telemetry import current_traceparent
from runtime.vault import Secret

log = logging.getLogger("actors.integration")

ACTIVE, ERROR = "active", "error"
UNLIMITED = RateLimit(rate=1000.0, period=1.0, burst=1000)
PEER_RETRY = 1.0  # seconds before a change the watch saw mid-sync is looked at again


class IntegrationActor(Actor[Message]):
    def __init__(self, integration_id: str, deps: IntegrationDeps) -> None:
        self.id = integration_id
        self.deps = deps
        self.config: IntegrationConfig | None = None
        self.adapter: Adapter | None = None
        self.http: HttpClient | None = None
        self.limiter = RateLimiter(UNLIMITED, clock=deps.clock)
        self.connected = False
        self.progress = Progress()
        self.sync_scope: anyio.CancelScope | None = None
        self.stalled = False
        self.health: HealthLoop | None = None
        self.planned_at: datetime | None = None  # the next scheduled sync, as stored
        self.peer_changed: SyncKind | None = None  # seen by the watch while a sync ran

    # -- life cycle -----------------------------------------------------------------------

    async def on_start(self) -> None:
        view = await self.deps.integrations.get(self.id)
        self.config = view.config
        if self.config.rate_limits is not None:
            limits = self.config.rate_limits
            self.limiter = RateLimiter(
                RateLimit(limits.rate, limits.period, limits.burst), clock=self.deps.clock
            )
        await self._connect()

    async def on_stop(self) -> None:
        if self.sync_scope is not None:
            self.sync_scope.cancel()
        if self.adapter is not None:
            with anyio.CancelScope(shield=True):
                await self.adapter.disconnect()
        if self.http is not None:
            await self.http.aclose()

    async def _connect(self) -> None:
        """Build the adapter and connect it. A ConfigError or AuthError from either (an
        adapter may check its settings in its constructor) sets status `error` and waits for
        a reconnect; anything else crashes the actor (restart with backoff, then parking)."""
        assert self.config is not None
        spec = self.deps.registry.get(self.config.adapter)
        credentials = await self.deps.integrations.credentials(self.id)
        retry = RetryPolicy.from_config(self.config.retry_policy)
        self.http = HttpClient(self.limiter, clock=self.deps.clock, retry=retry)
        context = AdapterContext(
            self.id,
            self.config.settings,
            credentials,
            self.http,
            self.limiter,
            self.deps.clock,
            save_credentials=self._save_credentials,
        )
        started = self.deps.clock.now()
        try:
            with self._span("connect", {"integration.adapter": self.config.adapter}):
                self.adapter = spec.factory(context)
                info = await self.adapter.connect()
        except Exception as error:
            if classify(error).action in (Action.STOP_AUTH, Action.REJECT):
                await self._fail(error, during="connect")
                return
            raise
        self.connected = True
        await self._status(ACTIVE, EventName.CONNECTED, {"peer": info.peer})
        await self._log(
            "info",
            EventName.CONNECTED,
            f"connected to {info.peer}",
            {"peer": info.peer},
            duration=self.deps.clock.now() - started,
        )
        self._start_health()
        self.context.start_soon(self._watch, name=f"{self.id}/watch")
        self.context.timers.start_periodic("stall", self.deps.stall_timeout / 4, StallCheck())
        catch_up = await self._resume_schedule()
        if catch_up or await self._has_unfinished_runs() or await self._never_synced():
            self._start_sync(SyncKind.FULL)

    def _start_health(self) -> None:
        assert self.config is not None
        health = self.config.health
        options = HealthOptions(
            interval=health.interval,
            timeout=health.timeout,
            breaker=BreakerOptions(failure_threshold=health.failure_threshold),
        )
        loop = HealthLoop(self._probe, options, clock=self.deps.clock, on_change=self._health)
        self.health = loop
        self.context.start_soon(loop.run, name=f"{self.id}/health")

    async def _probe(self) -> None:
        assert self.adapter is not None
        with self._span("health_check", {}) as span:
            status = await self.adapter.health_check()
            span.set_attribute("health.ok", status.ok)
        if not status.ok:
            raise RuntimeError(status.detail or "health check failed")

    def _span(
        self, name: str, attributes: Mapping[str, str | bool | int]
    ) -> AbstractContextManager[Span]:
        return self.deps.tracer.start_as_current_span(
            name, attributes={"integration.id": self.id, **attributes}
        )

    async def _health(self, old: BreakerState, new: BreakerState) -> None:
        data = {"from": str(old), "to": str(new)}
        await self._event(EventName.HEALTH_CHANGED, data)
        level = "info" if new is BreakerState.CLOSED else "warning"
        await self._log(level, EventName.HEALTH_CHANGED, f"health {old} -> {new}", data)

    async def _save_credentials(self, values: Mapping[str, Secret[str]]) -> None:
        """The adapter's `save_credentials`: what the peer rotated goes to the vault at once
        (awaited before the adapter uses it), without a restart."""
        assert self.config is not None
        await self.deps.integrations.rotate_credentials(
            self.id, values, origin=f"adapter:{self.config.adapter}"
        )

    # -- messages -------------------------------------------------------------------------

    async def receive(self, message: Message) -> object:
        match message:
            case SyncNow(kind):
                return await self._sync_now(kind)
            case Scheduled():
                await self._plan_schedule(after=self.planned_at)
                self._start_sync(SyncKind.FULL)
            case TestConnection():
                return await self._test()
            case GetSync():
                return self._sync_state()
            case StallCheck():
                self._check_stall()
            case PeerChanged(kind):
                self._peer_changed(kind)
            case WebhooksWaiting():
                await self._process_webhooks()
        return None

    async def _test(self) -> TestResult:
        if self.adapter is None:
            return TestResult(False, 0.0, "not connected")
        started = self.deps.clock.now()
        try:
            with http_priority(Priority.INTERACTIVE):
                status = await self.adapter.health_check()
        except Exception as error:
            return TestResult(False, self.deps.clock.now() - started, describe(error))
        return TestResult(status.ok, status.latency, status.detail)

    def _sync_state(self) -> SyncState:
        p = self.progress
        running = self.sync_scope is not None
        return SyncState(running, p.entity, p.batches, p.added, p.updated, p.unchanged)

    # -- webhooks -------------------------------------------------------------------------

    async def _process_webhooks(self) -> None:
        """The deliveries waiting in the inbox, one batch per doorbell, through the adapter
        into the store (see _webhook_processing). Without an adapter (it failed to build)
        they are left to the retry scan."""
        inbox = self.deps.webhooks
        if self.adapter is None or self.config is None:
            inbox.drop(self.id)
            return
        deliveries = inbox.take(self.id)
        if deliveries:
            work = WebhookWork(
                self.id,
                self.adapter,
                self.config.field_mapping,
                self.deps.store,
                inbox.options,
                self.deps.now,
                self._record_events,
            )
            with self._span("webhook", {"webhook.deliveries": len(deliveries)}) as span:
                settled = await process_deliveries(work, deliveries)
                span.set_attribute("webhook.settled", len(settled.settled))
            if settled.settled:
                self.deps.notify()
        inbox.ring(self.id, self.context.ref)  # more arrived meanwhile: after what else waits

    # -- syncing --------------------------------------------------------------------------

    async def _sync_now(self, kind: SyncKind) -> SyncReply:
        """A manual sync: the first entity's run is begun before the reply, so the caller
        learns its id (the API answers with it)."""
        entities = self._entities()
        kind = self._pull_kind(kind)
        if self.sync_scope is not None:
            return SyncReply(entities=entities, refused=SyncRefusal.ALREADY_RUNNING)
        if not self.connected:
            return SyncReply(entities=entities, refused=SyncRefusal.NOT_CONNECTED)
        first = await begin(self.deps.store, self.id, entities[0], kind) if entities else None
        self._start_sync(kind, first)
        runs = () if first is None else (RunRef(first.run.id, first.run.entity),)
        return SyncReply(runs=runs, entities=entities)

    def _pull_kind(self, kind: SyncKind) -> SyncKind:
        """A receive-only (webhook) adapter pulls nothing, so its syncs are incremental: a
        full run would conclude that every record its webhooks brought is gone."""
        assert self.config is not None
        spec = self.deps.registry.get(self.config.adapter)
        return SyncKind.INCREMENTAL if spec.kind is IntegrationType.WEBHOOK else kind

    def _start_sync(self, kind: SyncKind, first: Start | None = None) -> bool:
        kind = self._pull_kind(kind)
        if self.sync_scope is not None or not self.connected:
            return False
        self.sync_scope = anyio.CancelScope()
        self.progress = Progress(last_progress=self.deps.clock.now())
        self.stalled = False
        self.context.start_soon(lambda: self._sync(kind, first), name=f"{self.id}/sync")
        return True

    async def _sync(self, kind: SyncKind, first: Start | None) -> None:
        """`first`: the first entity's run, begun already (a manual sync)."""
        assert self.config is not None
        assert self.sync_scope is not None
        try:
            with self.sync_scope:
                for entity in self._entities():
                    begun, first = first, None
                    if not await self._sync_entity(entity, kind, begun):
                        return
        finally:
            self.sync_scope = None

    async def _sync_entity(self, entity: str, kind: SyncKind, begun: Start | None) -> bool:
        """One entity in a span of its own; False when the sync must stop here."""
        p = self.progress
        before = (p.added, p.updated, p.unchanged)
        with self._span(f"sync {entity}", {"sync.entity": entity, "sync.kind": kind.value}) as span:
            try:
                return await self._sync_entity_traced(entity, kind, span, begun)
            finally:
                span.set_attributes(
                    {
                        "sync.records.added": p.added - before[0],
                        "sync.records.updated": p.updated - before[1],
                        "sync.records.unchanged": p.unchanged - before[2],
                    }
                )

    async def _sync_entity_traced(
        self, entity: str, kind: SyncKind, span: Span, begun: Start | None
    ) -> bool:
        assert self.config is not None
        assert self.adapter is not None
        store = self.deps.store
        self.progress.entity = entity
        started = self.deps.clock.now()
        start = begun if begun is not None else await begin(store, self.id, entity, kind)
        span.set_attributes({"sync.run_id": start.run.id, "sync.resumed": start.resumed})
        begun_data = {**summary(start.run), "resumed": start.resumed}
        await self._event(EventName.SYNC_STARTED, begun_data)
        resumed = " (resumed)" if start.resumed else ""
        await self._log(
            "info",
            EventName.SYNC_STARTED,
            f"{entity}: {start.run.kind} sync started{resumed}",
            {key: begun_data[key] for key in ("run_id", "entity", "kind", "resumed")},
        )
        mappings = self.config.field_mapping.get(entity, ())
        if start.done:
            await self._end_run(start.run.id, RunStatus.COMPLETED, None, started=started)
            return True
        try:
            await run_entity(
                self.adapter,
                store,
                start,
                kind=kind,
                mappings=mappings,
                progress=self.progress,
                now=self.deps.clock.now,
                record_events=self._record_events,
                notify=self.deps.notify,
            )
        except anyio.get_cancelled_exc_class():
            status = RunStatus.FAILED if self.stalled else RunStatus.INTERRUPTED
            why = (
                f"stalled: no progress for {self.deps.stall_timeout:g} s" if self.stalled else None
            )
            with anyio.CancelScope(shield=True):
                await self._end_run(start.run.id, status, why, started=started)
            raise
        except Exception as error:
            return await self._sync_failed(start.run.id, error, started=started)
        await self._end_run(start.run.id, RunStatus.COMPLETED, None, started=started)
        return True

    async def _sync_failed(self, run_id: str, error: Exception, *, started: float) -> bool:
        action = classify(error).action
        resumable = action in (Action.RETRY, Action.PAUSE, Action.CRASH)
        status = RunStatus.INTERRUPTED if resumable else RunStatus.FAILED
        await self._end_run(run_id, status, describe(error), started=started)
        if action is Action.PAUSE:
            data = {"detail": describe(error)}
            await self._event(EventName.RATE_LIMITED, data)
            await self._log("warning", EventName.RATE_LIMITED, f"rate limited: {data['detail']}")
        if action is Action.STOP_AUTH:
            await self._fail(error, during="sync")
        if action is Action.CRASH:
            raise error
        return False

    async def _end_run(
        self, run_id: str, status: RunStatus, error: str | None, *, started: float
    ) -> None:
        """Finish the run with its report: the event gets the run's own counts from the
        store (over every resumption of the run, deletions at its end included), not the
        progress of the sync, which spans its entities."""
        name = EventName.SYNC_COMPLETED if status is RunStatus.COMPLETED else EventName.SYNC_FAILED
        data: dict[str, Any] = {
            "run_id": run_id,
            "entity": self.progress.entity,
            "status": str(status),
        }
        if error is not None:
            data["error"] = error
        event = event_in(self.id, name, data, self.deps.now())
        run = await self.deps.store.finish_run(
            run_id,
            status,
            error,
            events=[event],
            record_events=self._record_events(),
            counts_in={event.id},
        )
        self.deps.notify()
        await self._write_log(run_log(run, self.deps.clock.now() - started))

    def _record_events(self) -> RecordEvents:
        """How the store reports each record a write changes: now, in the current trace."""
        return RecordEvents(self.deps.now(), current_traceparent())

    def _check_stall(self) -> None:
        idle = self.deps.clock.now() - self.progress.last_progress
        if self.sync_scope is not None and idle > self.deps.stall_timeout:
            log.warning("integration %s: sync stalled for %.0f s, cancelling", self.id, idle)
            self.stalled = True
            self.sync_scope.cancel()

    def _entities(self) -> tuple[str, ...]:
        """The configured entities, or the adapter's own when the config names none."""
        assert self.config is not None
        return self.config.entities or self.deps.registry.get(self.config.adapter).entities

    async def _has_unfinished_runs(self) -> bool:
        for entity in self._entities():
            if await self.deps.store.latest_resumable_run(self.id, entity) is not None:
                return True
        return False

    async def _never_synced(self) -> bool:
        runs = await self.deps.store.list_runs(self.id, limit=1)
        return not runs.items

    # -- watching the peer ------------------------------------------------------------------

    async def _watch(self) -> None:
        """What the adapter's `watch` reports becomes a sync; an adapter that watches nothing
        ends this at once. Trouble it could not get over ends the watching (the schedule
        still syncs); a bug in it crashes the actor."""
        assert self.adapter is not None
        try:
            async with aclosing(self.adapter.watch()) as changes:
                async for kind in changes:
                    await self.context.ref.tell(PeerChanged(kind))
        except IntegrationError as error:
            log.warning("integration %s: stopped watching the peer: %s", self.id, describe(error))

    def _peer_changed(self, kind: SyncKind) -> None:
        """Sync now; while a sync runs, look again shortly (one timer; a full sync wins over
        an incremental one), so that a change seen mid-sync is not lost."""
        if not self.connected:
            return
        if self._start_sync(kind):
            self.peer_changed = None
            return
        if self.peer_changed is SyncKind.FULL:
            kind = SyncKind.FULL
        self.peer_changed = kind
        self.context.timers.start_single("peer-changed", PEER_RETRY, PeerChanged(kind))

    # -- schedule -------------------------------------------------------------------------

    def _cron(self) -> tuple[str, float] | None:
        """(cron, jitter in seconds) of the integration's schedule; None when it is off."""
        assert self.config is not None
        schedule = self.config.schedule
        if not schedule.enabled:
            return None
        cron = schedule.cron or self.deps.default_schedule
        jitter = schedule.jitter_seconds
        return cron, float(jitter) if jitter is not None else self.deps.schedule_jitter

    async def _resume_schedule(self) -> bool:
        """On connect: arm the stored plan, or plan anew; True when a stored plan was missed
        (the hub was down when it was due), for the one catch-up sync to run now."""
        schedule = self._cron()
        if schedule is None:
            return False
        stored = await self.deps.store.next_sync(self.id)
        plan = plan_next(schedule[0], now=self.deps.now(), planned=stored, jitter=schedule[1])
        if plan.catch_up:
            await self._plan_schedule(after=None)
        elif plan.at == stored:
            self._arm(plan.at)
        else:
            await self._store_plan(plan.at)
        return plan.catch_up

    async def _plan_schedule(self, *, after: datetime | None) -> None:
        """Plan, store and arm the next scheduled sync: the schedule's first time after now
        (and after `after`, the plan that just fired, should the wall clock lag the timer)."""
        schedule = self._cron()
        if schedule is None:
            return
        now = self.deps.now()
        base = now if after is None else max(now, after)
        plan = plan_next(schedule[0], now=base, planned=None, jitter=schedule[1])
        await self._store_plan(plan.at)

    async def _store_plan(self, at: datetime) -> None:
        await self.deps.store.set_next_sync(self.id, self._entities(), at)
        self._arm(at)

    def _arm(self, at: datetime) -> None:
        self.planned_at = at
        delay = delay_until(at, self.deps.now())
        self.context.timers.start_single("schedule", delay, Scheduled())

    # -- reporting ------------------------------------------------------------------------

    async def _fail(self, error: Exception, *, during: str) -> None:
        """Auth or config trouble (`during` connect or sync): status `error`, an event and
        a log line; the integration waits for a reconnect."""
        self.connected = False
        kind = "auth" if classify(error).action is Action.STOP_AUTH else "config"
        detail = describe(error)
        await self._status(ERROR, EventName.ERROR, {"kind": kind, "detail": detail})
        message = f"{during} failed ({kind}): {detail}"
        await self._log("error", EventName.ERROR, message, {"kind": kind, "during": during})

    async def _status(self, status: str, name: EventName, data: Mapping[str, Any]) -> None:
        event = event_in(self.id, name, {"status": status, **data}, self.deps.now())
        await self.deps.store.set_status(self.id, status, events=[event])
        self.deps.notify()

    async def _event(self, name: EventName, data: Mapping[str, Any]) -> None:
        await self.deps.store.append_events([event_in(self.id, name, data, self.deps.now())])
        self.deps.notify()

    async def _log(
        self,
        level: str,
        name: EventName,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        duration: float | None = None,
    ) -> None:
        """One line in the integration's log (the dashboard's logs panel) per reported event:
        best effort, as the outbox has the event itself; its text is the event's, never a
        secret (errors as `describe` gives them)."""
        ms = None if duration is None else round(duration * 1000.0, 3)
        await self._write_log(LogIn(self.id, level, name.value, message, dict(details or {}), ms))

    async def _write_log(self, line: LogIn) -> None:
        try:
            await self.deps.store.append_logs([line])
        except StoreError as error:
            log.warning("integration %s: log line lost: %s", self.id, describe(error))
