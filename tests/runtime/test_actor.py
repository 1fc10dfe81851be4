"""Actors: order, ask/tell, crashes, restarts, timers, hooks and statistics."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest

from runtime import (
    Actor,
    ActorCrashed,
    ActorOptions,
    ActorRef,
    ActorUnavailable,
    AskTimeout,
    Lifecycle,
    MailboxFull,
    MailboxOptions,
    Overflow,
    Request,
    Supervisor,
)
from runtime.testing import MockClock, wait_for, wait_for_virtual
from tests.runtime.probes import Block, Crash, Echo, Journal, Note, Ping, Probe


async def test_actor_handles_messages_one_at_a_time_in_order() -> None:
    active = 0
    most_active = 0
    seen: list[int] = []

    class Slow(Actor[int]):
        async def receive(self, message: int) -> object:
            nonlocal active, most_active
            active += 1
            most_active = max(most_active, active)
            await anyio.lowlevel.checkpoint()
            seen.append(message)
            active -= 1
            return None

    async with Supervisor().running() as sup:
        ref = await sup.spawn("slow", Slow)
        async with anyio.create_task_group() as tg:
            for sender in range(3):
                tg.start_soon(_send_range, ref, sender * 100, sender * 100 + 50)
        await wait_for(lambda: len(seen) == 150)
    assert most_active == 1
    for sender in range(3):
        mine = [n for n in seen if sender * 100 <= n < sender * 100 + 50]
        assert mine == list(range(sender * 100, sender * 100 + 50))


async def _send_range(ref: ActorRef[int], start: int, stop: int) -> None:
    for n in range(start, stop):
        await ref.tell(n)


async def test_ask_returns_the_reply() -> None:
    async with Supervisor().running() as sup:
        ref = await sup.spawn("echo", lambda: Probe("echo", Journal()))
        assert await ref.ask(Echo("hello")) == "hello"


async def test_ask_times_out_after_the_default_timeout(clock: MockClock) -> None:
    release = anyio.Event()
    options = ActorOptions(ask_timeout=2.5)
    async with clock.autojump(), Supervisor(clock=clock).running() as sup:
        ref = await sup.spawn("busy", lambda: Probe("busy", Journal()), options)
        await ref.tell(Block(release))
        started = clock.now()
        with pytest.raises(AskTimeout, match=r"'busy'.*2\.5 s") as caught:
            await ref.ask(Echo("late"))
        assert clock.now() - started == pytest.approx(2.5)
        assert isinstance(caught.value, TimeoutError)
        release.set()
        assert await ref.ask(Echo("after")) == "after"


async def test_ask_fails_with_actor_crashed_naming_actor_and_cause() -> None:
    async with Supervisor().running() as sup:
        ref = await sup.spawn("fragile", lambda: Probe("fragile", Journal()))
        with pytest.raises(ActorCrashed) as caught:
            await ref.ask(Crash("disk on fire"))
        assert caught.value.actor == "fragile"
        assert isinstance(caught.value.cause, ValueError)
        assert "fragile" in str(caught.value)
        assert "ValueError: disk on fire" in str(caught.value)


async def test_ref_stays_valid_and_crashing_message_is_not_redelivered() -> None:
    journal = Journal()
    async with Supervisor().running() as sup:
        ref = await sup.spawn("p", lambda: Probe("p", journal))
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        assert await ref.ask(Echo("still here")) == "still here"
        stats = ref.statistics()
    assert journal.count("p:start") == 2
    assert stats.restarts == 1
    assert stats.last_error == "ValueError: boom"


async def test_queued_messages_survive_a_restart() -> None:
    journal = Journal()
    release = anyio.Event()
    async with Supervisor().running() as sup:
        ref = await sup.spawn("p", lambda: Probe("p", journal))
        await ref.tell(Block(release))
        await ref.tell(Crash())
        for n in range(3):
            await ref.tell(Note(f"n{n}"))
        release.set()
        await wait_for(lambda: journal.count("p:n2") == 1)
    assert [e for e in journal.entries if e.startswith("p:n")] == ["p:n0", "p:n1", "p:n2"]
    assert journal.count("p:start") == 2


async def test_control_message_is_handled_before_a_full_mailbox() -> None:
    journal = Journal()
    release = anyio.Event()
    options = ActorOptions(mailbox=MailboxOptions(capacity=3, overflow=Overflow.REJECT))
    async with Supervisor().running() as sup:
        ref = await sup.spawn("p", lambda: Probe("p", journal), options)
        ref.tell_nowait(Block(release))
        await wait_for(lambda: ref.statistics().mailbox.depth == 0)
        for n in range(3):
            ref.tell_nowait(Note(f"n{n}"))
        with pytest.raises(MailboxFull):
            ref.tell_nowait(Note("overflow"))
        async with anyio.create_task_group() as tg:

            async def ping() -> None:
                assert await ref.ask(Ping()) == "pong"

            tg.start_soon(ping)
            await wait_for(lambda: ref.statistics().mailbox.control_depth == 1)
            release.set()
        await wait_for(lambda: journal.count("p:n2") == 1)
    assert journal.entries[1:5] == ["p:ping", "p:n0", "p:n1", "p:n2"]


async def test_hooks_run_on_start_stop_and_crash() -> None:
    journal = Journal()
    async with Supervisor().running() as sup:
        ref = await sup.spawn("p", lambda: Probe("p", journal))
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        await ref.ask(Echo("x"))
    assert journal.entries == ["p:start", "p:stop", "p:start", "p:stop"]


async def test_on_start_failure_counts_as_a_crash(clock: MockClock) -> None:
    journal = Journal()
    starts = 0

    def factory() -> Probe:
        nonlocal starts
        starts += 1
        return Probe("p", journal, fail_start=starts < 3)

    async with clock.autojump(), Supervisor(clock=clock).running() as sup:
        ref = await sup.spawn("p", factory)
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RUNNING, timeout=10
        )
        assert await ref.ask(Echo("up")) == "up"
    assert ref.statistics().restarts == 2
    assert journal.count("p:stop") == 3


@dataclass(frozen=True)
class _Tick:
    pass


@dataclass(frozen=True)
class _Arm(Request[None]):
    interval: float


class _Ticker(Actor[_Tick | _Arm | Crash]):
    def __init__(self, ticks: list[float]) -> None:
        self.ticks = ticks

    async def receive(self, message: _Tick | _Arm | Crash) -> object:
        if isinstance(message, _Arm):
            self.context.timers.start_periodic("tick", message.interval, _Tick())
        elif isinstance(message, _Tick):
            self.ticks.append(self.context.clock.now())
        else:
            raise ValueError("crash")
        return None


async def test_periodic_timer_delivers_on_its_interval(clock: MockClock) -> None:
    ticks: list[float] = []
    async with Supervisor(clock=clock).running() as sup:
        ref = await sup.spawn("ticker", lambda: _Ticker(ticks))
        await ref.ask(_Arm(10.0))
        await clock.advance(35.0)
        assert ticks == [10.0, 20.0, 30.0]
        assert ref.statistics().timers == 1


async def test_timers_are_cancelled_when_the_actor_restarts(clock: MockClock) -> None:
    ticks: list[float] = []
    async with Supervisor(clock=clock).running() as sup:
        ref = await sup.spawn("ticker", lambda: _Ticker(ticks))
        await ref.ask(_Arm(1.0))
        await clock.advance(2.5)
        assert len(ticks) == 2
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        await clock.advance(10.0)
        assert len(ticks) == 2
        assert ref.statistics().timers == 0


async def test_helper_tasks_are_cancelled_when_the_actor_stops() -> None:
    cancelled = anyio.Event()

    class WithHelper(Actor[None]):
        async def on_start(self) -> None:
            self.context.start_soon(self._helper)

        async def _helper(self) -> None:
            try:
                await anyio.sleep_forever()
            finally:
                cancelled.set()

    async with Supervisor().running() as sup:
        await sup.spawn("helper", WithHelper)
        await sup.remove_child("helper")
        assert cancelled.is_set()


async def test_ask_to_a_removed_actor_raises_unavailable() -> None:
    async with Supervisor().running() as sup:
        ref = await sup.spawn("gone", lambda: Probe("gone", Journal()))
        await sup.remove_child("gone")
        with pytest.raises(ActorUnavailable, match=r"'gone'.*stopped"):
            await ref.ask(Echo("anyone?"))
        with pytest.raises(ActorUnavailable):
            await ref.tell(Note("anyone?"))


async def test_statistics_report_depth_processed_and_state() -> None:
    release = anyio.Event()
    async with Supervisor().running() as sup:
        ref = await sup.spawn("p", lambda: Probe("p", Journal()))
        await ref.tell(Block(release))
        await wait_for(lambda: ref.statistics().mailbox.depth == 0)
        for n in range(4):
            await ref.tell(Note(str(n)))
        stats = ref.statistics()
        assert stats.state is Lifecycle.RUNNING
        assert stats.mailbox.depth == 4
        assert stats.mailbox.high_water == 4
        release.set()
        await wait_for(lambda: ref.statistics().processed == 5)
        assert ref.statistics().mailbox.depth == 0


async def test_asks_with_different_timeouts_each_expire_on_time(clock: MockClock) -> None:
    release = anyio.Event()
    expired: dict[str, float] = {}
    async with clock.autojump(), Supervisor(clock=clock).running() as sup:
        ref = await sup.spawn("busy", lambda: Probe("busy", Journal()))
        await ref.tell(Block(release))

        async def ask(label: str, timeout: float) -> None:
            with pytest.raises(AskTimeout):
                await ref.ask(Echo(label), timeout=timeout)
            expired[label] = clock.now()

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, "slow", 5.0)
            tg.start_soon(ask, "quick", 2.0)
            tg.start_soon(ask, "slowest", 9.0)
        release.set()
        assert await ref.ask(Echo("answered")) == "answered"
    assert expired == {"quick": 2.0, "slow": 5.0, "slowest": 9.0}
