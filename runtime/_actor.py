"""Actors: one message at a time, in order, from a bounded mailbox.

An `Actor` subclass holds the state and handles messages; an `ActorCell` is the part that
outlives a crash: the mailbox, the counters and the `ActorRef` others hold. Each incarnation
is a fresh instance from the cell's factory (as an OTP process restarts from `init`), run by
`ActorCell.run` inside a task group that also owns the incarnation's timers and helper tasks,
so none of them outlive it. A crash fails the `ask` being handled with `ActorCrashed`; the
message is not delivered again; queued messages wait for the next incarnation.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar, cast

import anyio
import anyio.abc

from runtime._clock import SYSTEM_CLOCK, Clock, TimerHandle, move_on_after
from runtime._errors import ActorCrashed, ActorUnavailable, AskTimeout, describe
from runtime._lifecycle import Lifecycle
from runtime._mailbox import Mailbox, MailboxOptions, MailboxStatistics, _Ask
from runtime._timers import Timers

M = TypeVar("M")
R = TypeVar("R")

# Messages an actor handles back to back before it lets other tasks run.
_FAIRNESS_BATCH = 64


class Request(Generic[R]):
    """Base for messages sent with `ask`: `R` is the type of the reply."""

    __slots__ = ()


class Control:
    """Base for messages that skip the ordinary lane (health probes, stop)."""

    __slots__ = ()


class _Stop(Control):
    __slots__ = ()


_STOP = _Stop()


@dataclass(frozen=True, slots=True)
class ActorOptions:
    mailbox: MailboxOptions = MailboxOptions()
    ask_timeout: float = 5.0
    stop_timeout: float = 5.0  # for `on_stop`


@dataclass(frozen=True, slots=True)
class ActorStatistics:
    name: str
    state: Lifecycle
    mailbox: MailboxStatistics
    processed: int
    restarts: int
    last_error: str | None
    timers: int


class ActorContext(Generic[M]):
    """What an incarnation may use: its reference, clock, timers and own helper tasks."""

    def __init__(
        self, ref: ActorRef[M], clock: Clock, timers: Timers, tasks: anyio.abc.TaskGroup
    ) -> None:
        self.ref = ref
        self.clock = clock
        self.timers = timers
        self._tasks = tasks

    @property
    def name(self) -> str:
        return self.ref.name

    def start_soon(
        self, fn: Callable[[], Coroutine[Any, Any, object]], name: str | None = None
    ) -> None:
        """Run `fn` beside the actor; it is cancelled when the actor stops, and its crash
        is the actor's crash."""
        self._tasks.start_soon(fn, name=name)


class Actor(Generic[M]):
    """Subclass and implement `receive`; `on_start`/`on_stop` are optional hooks."""

    _context: ActorContext[M] | None = None

    @property
    def context(self) -> ActorContext[M]:
        if self._context is None:
            raise RuntimeError("the actor's context exists once it is started")
        return self._context

    async def on_start(self) -> None:
        """Runs before the first message; raising here is a crash like any other."""

    async def on_stop(self) -> None:
        """Runs when the incarnation ends (stop, crash, restart), bounded by stop_timeout."""

    async def receive(self, message: M) -> object:
        raise NotImplementedError


class ActorRef(Generic[M]):
    """A handle on an actor that stays valid across its restarts."""

    __slots__ = ("_cell",)

    def __init__(self, cell: ActorCell[M]) -> None:
        self._cell = cell

    @property
    def name(self) -> str:
        return self._cell.name

    async def tell(self, message: M) -> None:
        """Send without a reply; under the WAIT policy waits for room in the mailbox."""
        cell = self._cell
        if isinstance(message, Control):
            cell.mailbox.put_control(message)
        else:
            await cell.mailbox.put(message)

    def tell_nowait(self, message: M) -> None:
        """Send without waiting; a full mailbox raises `MailboxFull` unless it drops."""
        cell = self._cell
        if isinstance(message, Control):
            cell.mailbox.put_control(message)
        else:
            cell.mailbox.put_nowait(message)

    async def ask(self, message: Request[R], timeout: float | None = None) -> R:
        """Send and wait for the reply (`timeout` defaults to the actor's `ask_timeout`)."""
        cell = self._cell
        if cell.state in (Lifecycle.PARKED, Lifecycle.STOPPED):
            raise ActorUnavailable(cell.name, cell.state)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        envelope = _Ask(message, future)
        if isinstance(message, Control):
            cell.mailbox.put_control(envelope)
        else:
            await cell.mailbox.put(envelope)
        seconds = cell.options.ask_timeout if timeout is None else timeout
        cell.deadlines.watch(future, seconds)
        return cast(R, await future)

    def statistics(self) -> ActorStatistics:
        return self._cell.statistics()

    def __repr__(self) -> str:
        return f"<ActorRef {self.name!r} {self._cell.state}>"


def _expire(future: asyncio.Future[Any], actor: str, seconds: float) -> None:
    if not future.done():
        future.set_exception(AskTimeout(actor, seconds))


class _AskDeadlines:
    """Ask timeouts of one cell: deadlines in order in a deque, one clock callback for the
    earliest; answered asks are dropped from the front as new ones arrive."""

    def __init__(self, clock: Clock, name: str) -> None:
        self._clock = clock
        self._name = name
        self._pending: deque[tuple[float, float, asyncio.Future[Any]]] = deque()
        self._handle: TimerHandle | None = None

    def watch(self, future: asyncio.Future[Any], seconds: float) -> None:
        pending = self._pending
        while pending and pending[0][2].done():
            pending.popleft()
        deadline = self._clock.now() + seconds
        if pending and deadline < pending[-1][0]:  # out of order: a timer of its own
            handle = self._clock.call_at(deadline, partial(_expire, future, self._name, seconds))
            future.add_done_callback(lambda _: handle.cancel())
            return
        pending.append((deadline, seconds, future))
        if self._handle is None:
            self._handle = self._clock.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._handle = None
        now = self._clock.now()
        pending = self._pending
        while pending and (pending[0][2].done() or pending[0][0] <= now):
            _deadline, seconds, future = pending.popleft()
            _expire(future, self._name, seconds)
        if pending:
            self._handle = self._clock.call_at(pending[0][0], self._fire)


class ActorCell(Generic[M]):
    """The lasting part of an actor; `run` executes one incarnation until stop or crash."""

    def __init__(
        self,
        name: str,
        factory: Callable[[], Actor[M]],
        options: ActorOptions = ActorOptions(),
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.name = name
        self.options = options
        self.clock = clock
        self.mailbox = Mailbox(name, options.mailbox)
        self.ref: ActorRef[M] = ActorRef(self)
        self.state = Lifecycle.NEW
        self._factory = factory
        self._processed = 0
        self._incarnations = 0
        self._last_error: str | None = None
        self._timers: Timers | None = None
        self.deadlines = _AskDeadlines(clock, name)

    # -- what the supervisor calls ---------------------------------------------------------

    def lifecycle_changed(self, state: Lifecycle) -> None:
        self.state = state
        if state is Lifecycle.STOPPED:
            self.mailbox.close(state)
        elif state is Lifecycle.PARKED:
            self.mailbox.fail_pending_asks(lambda: ActorUnavailable(self.name, state))
        elif state is Lifecycle.STARTING:
            self.mailbox.reopen()

    def request_stop(self) -> None:
        """Stop after the message in hand; queued messages stay for a later incarnation."""
        self.mailbox.put_control(_STOP)

    async def run(self, started: Callable[[], None]) -> None:
        self._incarnations += 1
        actor = self._factory()
        async with anyio.create_task_group() as tasks:
            timers = Timers(self.clock, self.mailbox.force_put)
            self._timers = timers
            actor._context = ActorContext(self.ref, self.clock, timers, tasks)
            try:
                await actor.on_start()
                started()
                await self._serve(actor)
            except Exception as error:
                self._last_error = describe(error)
                raise
            finally:
                timers.cancel_all()
                await self._stop_hook(actor)
                tasks.cancel_scope.cancel()

    async def _stop_hook(self, actor: Actor[M]) -> None:
        with anyio.CancelScope(shield=True), move_on_after(self.clock, self.options.stop_timeout):
            try:
                await actor.on_stop()
            except Exception as error:  # the incarnation is over either way; keep the why
                self._last_error = f"on_stop: {describe(error)}"

    async def _serve(self, actor: Actor[M]) -> None:
        mailbox = self.mailbox
        receive = actor.receive
        batch = 0
        while True:
            item = mailbox.get_nowait()
            if item is None:
                item = await mailbox.get()
                batch = 0
            elif batch >= _FAIRNESS_BATCH:
                await asyncio.sleep(0)
                batch = 0
            batch += 1
            if item is _STOP:
                return
            if type(item) is _Ask:
                await self._answer(receive, item)
            else:
                await receive(cast(M, item))
            self._processed += 1

    async def _answer(self, receive: Callable[[M], Awaitable[object]], ask: _Ask) -> None:
        if ask.future.done():  # timed out or cancelled while queued
            return
        try:
            reply = await receive(cast(M, ask.message))
        except Exception as error:
            ask.fail(ActorCrashed(self.name, error))
            raise
        if not ask.future.done():
            ask.future.set_result(reply)

    def statistics(self) -> ActorStatistics:
        return ActorStatistics(
            name=self.name,
            state=self.state,
            mailbox=self.mailbox.statistics(),
            processed=self._processed,
            restarts=max(0, self._incarnations - 1),
            last_error=self._last_error,
            timers=0 if self._timers is None else len(self._timers),
        )
