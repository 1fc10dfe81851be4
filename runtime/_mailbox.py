"""An actor's mailbox: a bounded lane for ordinary messages and an unbounded control lane.

One consumer (the actor's loop) takes control messages first, then ordinary ones in order.
When the ordinary lane is full its overflow policy decides: WAIT (the sender waits for room),
REJECT (`MailboxFull`), or DROP_OLDEST (the oldest message makes room; an `ask` dropped that
way fails with `MessageDropped`). Control messages (stop, health probes) never wait behind a
full mailbox. Built on a deque and bare futures rather than `asyncio.Queue` because the tell
path is the hottest in the runtime and the policies need to see the queue itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from runtime._errors import ActorError, ActorUnavailable, MailboxFull, MessageDropped


class Overflow(StrEnum):
    WAIT = "wait"
    REJECT = "reject"
    DROP_OLDEST = "drop_oldest"


@dataclass(frozen=True, slots=True)
class MailboxOptions:
    capacity: int = 1000
    overflow: Overflow = Overflow.WAIT

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {self.capacity}")


@dataclass(frozen=True, slots=True)
class MailboxStatistics:
    depth: int
    control_depth: int
    capacity: int
    overflow: Overflow
    high_water: int
    senders_waiting: int
    dropped: int
    rejected: int


class _Ask:
    """An ordinary message that wants a reply: the message and the future to answer."""

    __slots__ = ("future", "message")

    def __init__(self, message: object, future: asyncio.Future[Any]) -> None:
        self.message = message
        self.future = future

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Mailbox:
    def __init__(self, owner: str, options: MailboxOptions) -> None:
        self._owner = owner
        self._options = options
        self._items: deque[object] = deque()
        self._control: deque[object] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closed: ActorError | None = None
        self._high_water = 0
        self._dropped = 0
        self._rejected = 0

    # -- sending --------------------------------------------------------------------------

    def put_nowait(self, item: object) -> None:
        """Enqueue an ordinary message, applying the policy without ever waiting."""
        if self._closed is not None:
            raise self._closed
        items = self._items
        if len(items) >= self._options.capacity:
            if self._options.overflow is not Overflow.DROP_OLDEST:
                self._rejected += 1
                raise MailboxFull(self._owner, self._options.capacity)
            self._drop_oldest()
        items.append(item)
        self._high_water = max(self._high_water, len(items))
        self._wake_getter()

    async def put(self, item: object) -> None:
        """Enqueue an ordinary message; under WAIT, wait (in order) for room."""
        if (
            self._options.overflow is Overflow.WAIT
            and (len(self._items) >= self._options.capacity or self._putters)
            and self._closed is None
        ):
            await self._wait_for_room()
        self.put_nowait(item)

    def put_control(self, item: object) -> None:
        if self._closed is not None:
            raise self._closed
        self._control.append(item)
        self._wake_getter()

    def force_put(self, item: object) -> None:
        """Enqueue past the capacity (timers: their number is bounded by their keys)."""
        if self._closed is not None:
            return
        self._items.append(item)
        self._wake_getter()

    async def _wait_for_room(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._putters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter in self._putters:
                self._putters.remove(waiter)
            elif not waiter.cancelled():
                self._wake_putter()  # pass the room we were given on to the next sender
            raise

    def _drop_oldest(self) -> None:
        dropped = self._items.popleft()
        self._dropped += 1
        if isinstance(dropped, _Ask):
            dropped.fail(MessageDropped(self._owner))

    # -- receiving ------------------------------------------------------------------------

    def get_nowait(self) -> object | None:
        """The next message (control first), or None when both lanes are empty."""
        if self._control:
            return self._control.popleft()
        if self._items:
            item = self._items.popleft()
            if self._putters:
                self._wake_putter()
            return item
        return None

    async def get(self) -> object:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None

    def _wake_getter(self) -> None:
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def _wake_putter(self) -> None:
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
                return

    # -- lifecycle ------------------------------------------------------------------------

    def fail_pending_asks(self, make_error: Callable[[], ActorError]) -> int:
        """Fail every queued ask (the actor will not answer them); keep the tells."""
        asks = [item for item in self._items if isinstance(item, _Ask)]
        if asks:
            self._items = deque(item for item in self._items if not isinstance(item, _Ask))
            for ask in asks:
                ask.fail(make_error())
            self._wake_putters_all()
        return len(asks)

    def close(self, state: str) -> None:
        """Refuse new messages and fail every queued ask: the actor is gone for good."""
        error = ActorUnavailable(self._owner, state)
        self._closed = error
        for lane in (self._control, self._items):
            for item in lane:
                if isinstance(item, _Ask):
                    item.fail(ActorUnavailable(self._owner, state))
            lane.clear()
        self._wake_putters_all()

    def reopen(self) -> None:
        self._closed = None

    def _wake_putters_all(self) -> None:
        while self._putters:
            self._wake_putter()

    def __len__(self) -> int:
        return len(self._items)

    def statistics(self) -> MailboxStatistics:
        return MailboxStatistics(
            depth=len(self._items),
            control_depth=len(self._control),
            capacity=self._options.capacity,
            overflow=self._options.overflow,
            high_water=self._high_water,
            senders_waiting=len(self._putters),
            dropped=self._dropped,
            rejected=self._rejected,
        )
