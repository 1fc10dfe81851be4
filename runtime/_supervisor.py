"""The supervisor: runs children, restarts them by the rules in `_supervision`, stops them in order.

All decisions are made in the supervisor's own task, one notice at a time (a child exited, a
backoff ran out, a command from outside), so its bookkeeping needs no locks. Each child
incarnation runs in a task of the supervisor's task group inside its own cancel scope; when
it ends, it posts an exit notice. A restart delay is a clock callback, not a sleeping task.
At a root (`OnIntensity.PARK`) a child over its intensity is parked and retried after a
cool-down instead of taking everything down.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.abc

from runtime._actor import Actor, ActorCell, ActorOptions, ActorRef
from runtime._clock import SYSTEM_CLOCK, Clock, TimerHandle, move_on_after
from runtime._errors import SupervisorEscalation, describe, sole_error
from runtime._lifecycle import ACTIVE, Lifecycle, check_transition
from runtime._supervision import (
    ChildSpec,
    OnIntensity,
    Restart,
    RestartHistory,
    SupervisorOptions,
    affected_children,
    next_attempt,
    should_restart,
)

log = logging.getLogger("runtime.supervisor")

M = TypeVar("M")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChildChange:
    """A lifecycle move of one child, as the `on_change` hook sees it."""

    supervisor: str
    child: str
    old: Lifecycle
    new: Lifecycle
    error: str | None


@dataclass(frozen=True, slots=True)
class ChildInfo:
    id: str
    state: Lifecycle
    restart: Restart
    restarts: int
    last_error: str | None
    next_start_at: float | None


@dataclass(frozen=True, slots=True)
class SupervisorStatistics:
    name: str
    running: bool
    children: tuple[ChildInfo, ...]
    restarts: int


@dataclass(eq=False)
class _Child:
    spec: ChildSpec
    state: Lifecycle = Lifecycle.NEW
    generation: int = 0
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    first_attempt: anyio.Event = field(default_factory=anyio.Event)
    started_at: float | None = None
    attempt: int = 0
    restarts: int = 0
    last_error: str | None = None
    history: RestartHistory = field(default_factory=RestartHistory)
    restart_token: int | None = None
    timer: TimerHandle | None = None
    next_start_at: float | None = None


@dataclass(frozen=True, slots=True)
class _Exited:
    child: str
    generation: int
    error: Exception | None


@dataclass(frozen=True, slots=True)
class _RestartDue:
    children: tuple[str, ...]
    token: int


@dataclass(frozen=True, slots=True)
class _Command:
    run: Callable[[], Awaitable[Any]]
    done: anyio.Event
    outcome: list[Any]  # [result] or [None, error], filled by the supervisor's task


class _Shutdown:
    pass


_Notice = _Exited | _RestartDue | _Command | _Shutdown


class Supervisor:
    def __init__(
        self,
        children: list[ChildSpec] | None = None,
        options: SupervisorOptions = SupervisorOptions(),
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_change: Callable[[ChildChange], None] | None = None,
    ) -> None:
        self.name = options.name
        self.options = options
        self.clock = clock
        self._initial = list(children or [])
        self._on_change = on_change
        self._children: dict[str, _Child] = {}
        self._history = RestartHistory()
        self._notices: deque[_Notice] = deque()
        self._wakeup = anyio.Event()
        self._tokens = itertools.count(1)
        self._tasks: anyio.abc.TaskGroup | None = None
        self._stop_requested = False

    # -- the public surface ---------------------------------------------------------------

    async def start_child(self, spec: ChildSpec) -> ChildInfo:
        """Add and start a child; returns once its first start has succeeded or failed."""

        async def add() -> _Child:
            return self._add_and_launch(spec)

        child = await self._call(add)
        await child.first_attempt.wait()
        return self._info(child)

    async def spawn(
        self,
        name: str,
        factory: Callable[[], Actor[M]],
        options: ActorOptions = ActorOptions(),
        *,
        restart: Restart = Restart.PERMANENT,
        shutdown_timeout: float = 5.0,
    ) -> ActorRef[M]:
        """Start an actor as a child; its reference stays valid across restarts."""
        cell = ActorCell(name, factory, options, clock=self.clock)
        await self.start_child(ChildSpec(name, cell, restart, shutdown_timeout))
        return cell.ref

    async def remove_child(self, child_id: str) -> None:
        """Stop a child (gracefully, then by cancellation) and forget it."""
        await self._call(lambda: self._remove(child_id))

    async def restart_child(self, child_id: str) -> None:
        """Stop a child and start it again now (a reload, not a crash: no backoff)."""
        await self._call(lambda: self._restart_now(child_id))

    def request_stop(self) -> None:
        self._stop_requested = True
        self._post(_Shutdown())

    def lifecycle_changed(self, state: Lifecycle) -> None:
        """A supervisor is a child like any other; its state lives with its parent."""

    def which_children(self) -> tuple[ChildInfo, ...]:
        return tuple(self._info(child) for child in self._children.values())

    def statistics(self) -> SupervisorStatistics:
        children = self.which_children()
        return SupervisorStatistics(
            name=self.name,
            running=self._tasks is not None,
            children=children,
            restarts=sum(child.restarts for child in children),
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Supervisor]:
        """Run in a task group of its own; on leaving, shut down in order."""
        async with anyio.create_task_group() as tg:
            await tg.start(self._run_until_started)
            try:
                yield self
            finally:
                self.request_stop()

    async def _run_until_started(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        await self.run(task_status.started)

    # -- running --------------------------------------------------------------------------

    async def run(self, started: Callable[[], None]) -> None:
        """Run the children until asked to stop; raises `SupervisorEscalation` when over
        intensity with `OnIntensity.ESCALATE`."""
        self._reset()
        escalation: SupervisorEscalation | None = None
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                for spec in self._initial:
                    self._add_and_launch(spec)
                started()
                escalation = await self._serve()
            finally:
                with anyio.CancelScope(shield=True):
                    await self._stop_all()
                self._tasks = None
                self._refuse_pending_commands()
                tasks.cancel_scope.cancel()
        if escalation is not None:
            raise escalation

    def _reset(self) -> None:
        self._children.clear()
        self._history.clear()
        self._notices.clear()
        self._stop_requested = False

    async def _serve(self) -> SupervisorEscalation | None:
        while True:
            notice = await self._next_notice()
            if isinstance(notice, _Shutdown):
                return None
            if isinstance(notice, _Exited):
                escalation = await self._on_exit(notice)
                if escalation is not None:
                    return escalation
            elif isinstance(notice, _RestartDue):
                self._on_restart_due(notice)
            else:
                await self._execute(notice)

    async def _next_notice(self) -> _Notice:
        while not self._notices:
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
        return self._notices.popleft()

    def _post(self, notice: _Notice) -> None:
        self._notices.append(notice)
        self._wakeup.set()

    async def _call(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run `run` in the supervisor's own task, between two notices."""
        if self._tasks is None or self._stop_requested:
            raise RuntimeError(f"supervisor {self.name!r} is not running")
        command = _Command(run, anyio.Event(), [])
        self._post(command)
        await command.done.wait()
        if len(command.outcome) == 2:
            raise command.outcome[1]
        result: T = command.outcome[0]
        return result

    def _refuse_pending_commands(self) -> None:
        for notice in self._notices:
            if isinstance(notice, _Command):
                notice.outcome[:] = [None, RuntimeError(f"supervisor {self.name!r} stopped")]
                notice.done.set()
        self._notices.clear()

    async def _execute(self, command: _Command) -> None:
        try:
            command.outcome.append(await command.run())
        except Exception as error:  # belongs to the caller, not to this supervisor
            command.outcome[:] = [None, error]
        command.done.set()

    # -- children -------------------------------------------------------------------------

    def _add_and_launch(self, spec: ChildSpec) -> _Child:
        if spec.id in self._children:
            raise ValueError(f"supervisor {self.name!r} already has a child {spec.id!r}")
        child = _Child(spec)
        self._children[spec.id] = child
        self._launch(child)
        return child

    def _launch(self, child: _Child) -> None:
        assert self._tasks is not None
        child.generation += 1
        child.scope = anyio.CancelScope()
        child.done = anyio.Event()
        child.started_at = None
        child.next_start_at = None
        child.restart_token = None
        self._move(child, Lifecycle.STARTING)
        self._tasks.start_soon(
            self._run_child, child, child.generation, name=f"{self.name}/{child.spec.id}"
        )

    async def _run_child(self, child: _Child, generation: int) -> None:
        scope, done = child.scope, child.done
        error: Exception | None = None
        try:
            with scope:
                await child.spec.child.run(lambda: self._on_started(child, generation))
        except Exception as exc:
            inner = sole_error(exc)
            error = inner if isinstance(inner, Exception) else exc
        finally:
            done.set()
        self._post(_Exited(child.spec.id, generation, error))

    def _on_started(self, child: _Child, generation: int) -> None:
        if generation == child.generation and child.state is Lifecycle.STARTING:
            child.started_at = self.clock.now()
            self._move(child, Lifecycle.RUNNING)
            child.first_attempt.set()

    async def _on_exit(self, notice: _Exited) -> SupervisorEscalation | None:
        child = self._children.get(notice.child)
        if child is None or notice.generation != child.generation or child.state not in ACTIVE:
            return None  # an incarnation we stopped ourselves
        error = notice.error
        child.last_error = None if error is None else describe(error)
        child.first_attempt.set()
        if not should_restart(child.spec.restart, crashed=error is not None):
            self._move(child, Lifecycle.STOPPED)
            if child.spec.restart is Restart.TEMPORARY:
                del self._children[child.spec.id]
            return None
        now = self.clock.now()
        ran_for = 0.0 if child.started_at is None else now - child.started_at
        child.attempt = next_attempt(child.attempt, ran_for, self.options.backoff)
        parking = self.options.on_intensity is OnIntensity.PARK
        history = child.history if parking else self._history
        if history.record(now, self.options.intensity):
            if parking:
                self._park(child)
                return None
            return SupervisorEscalation(self.name, child.spec.id, error)
        await self._restart_with_backoff(child)
        return None

    async def _restart_with_backoff(self, failed: _Child) -> None:
        order = [c.spec.id for c in self._children.values() if c.state is not Lifecycle.STOPPED]
        targets = [
            self._children[child_id]
            for child_id in affected_children(self.options.strategy, order, failed.spec.id)
        ]
        for sibling in reversed(targets):
            if sibling is not failed:
                await self._stop(sibling, then=Lifecycle.RESTARTING)
        delay = self.options.backoff.delay(failed.attempt)
        failed.attempt += 1
        self._move(failed, Lifecycle.RESTARTING)
        self._schedule_start(targets, delay)

    def _schedule_start(self, children: list[_Child], delay: float) -> None:
        token = next(self._tokens)
        due = self.clock.now() + delay
        for child in children:
            child.restart_token = token
            child.next_start_at = due
        notice = _RestartDue(tuple(c.spec.id for c in children), token)
        handle = self.clock.call_at(due, lambda: self._post(notice))
        for child in children:
            child.timer = handle

    def _on_restart_due(self, notice: _RestartDue) -> None:
        for child_id in notice.children:
            child = self._children.get(child_id)
            if child is not None and child.restart_token == notice.token:
                child.restarts += 1
                self._launch(child)

    def _park(self, child: _Child) -> None:
        child.history.clear()
        child.attempt = 0
        self._move(child, Lifecycle.PARKED)
        self._schedule_start([child], self.options.park_cooldown)

    async def _stop(self, child: _Child, *, then: Lifecycle) -> None:
        if child.state in ACTIVE:
            self._move(child, Lifecycle.STOPPING)
            child.spec.child.request_stop()
            with move_on_after(self.clock, child.spec.shutdown_timeout):
                await child.done.wait()
            if not child.done.is_set():
                child.scope.cancel()
                await child.done.wait()
        self._cancel_pending_start(child)
        child.first_attempt.set()
        if child.state is not then:
            self._move(child, then)

    def _cancel_pending_start(self, child: _Child) -> None:
        if child.timer is not None:
            child.timer.cancel()
            child.timer = None
        child.restart_token = None
        child.next_start_at = None

    async def _stop_all(self) -> None:
        for child in reversed(list(self._children.values())):
            await self._stop(child, then=Lifecycle.STOPPED)

    async def _remove(self, child_id: str) -> None:
        child = self._require(child_id)
        await self._stop(child, then=Lifecycle.STOPPED)
        del self._children[child_id]

    async def _restart_now(self, child_id: str) -> None:
        child = self._require(child_id)
        if child.state in (Lifecycle.STOPPED, Lifecycle.PARKED):
            self._cancel_pending_start(child)  # a parked child starts now, not after cool-down
        else:
            await self._stop(child, then=Lifecycle.RESTARTING)
        child.attempt = 0
        child.history.clear()
        self._launch(child)

    def _require(self, child_id: str) -> _Child:
        try:
            return self._children[child_id]
        except KeyError:
            raise KeyError(f"supervisor {self.name!r} has no child {child_id!r}") from None

    def _move(self, child: _Child, new: Lifecycle) -> None:
        old = child.state
        check_transition(child.spec.id, old, new)
        child.state = new
        child.spec.child.lifecycle_changed(new)
        if self._on_change is not None:
            change = ChildChange(self.name, child.spec.id, old, new, child.last_error)
            try:
                self._on_change(change)
            except Exception:  # an observer's bug must not stop supervision
                log.exception("on_change hook failed for %s", change)

    def _info(self, child: _Child) -> ChildInfo:
        return ChildInfo(
            id=child.spec.id,
            state=child.state,
            restart=child.spec.restart,
            restarts=child.restarts,
            last_error=child.last_error,
            next_start_at=child.next_start_at,
        )
