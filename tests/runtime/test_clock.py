"""Time: the virtual clock, timeouts on a clock, and the system clock."""

from __future__ import annotations

import anyio
import pytest

from runtime import SYSTEM_CLOCK, fail_after, move_on_after, sleep
from runtime.testing import MockClock, wait_for, wait_for_virtual, wait_until_idle


async def test_mock_clock_fires_callbacks_in_deadline_order(clock: MockClock) -> None:
    fired: list[tuple[str, float]] = []
    clock.call_at(3.0, lambda: fired.append(("c", clock.now())))
    clock.call_at(1.0, lambda: fired.append(("a", clock.now())))
    clock.call_at(2.0, lambda: fired.append(("b", clock.now())))
    await clock.advance(2.5)
    assert fired == [("a", 1.0), ("b", 2.0)]
    assert clock.now() == 2.5


async def test_mock_clock_cancelled_callback_never_fires(clock: MockClock) -> None:
    fired: list[str] = []
    handle = clock.call_at(1.0, lambda: fired.append("x"))
    handle.cancel()
    await clock.advance(5.0)
    assert fired == []
    assert clock.next_deadline() is None


async def test_mock_clock_sleep_wakes_at_the_deadline(clock: MockClock) -> None:
    woke: list[float] = []
    async with anyio.create_task_group() as tg:

        async def sleeper() -> None:
            await sleep(clock, 10.0)
            woke.append(clock.now())

        tg.start_soon(sleeper)
        await clock.advance(9.9)
        assert woke == []
        await clock.advance(0.1)
    assert woke == [10.0]


async def test_fail_after_on_mock_clock_raises_at_the_deadline(clock: MockClock) -> None:
    async with clock.autojump():
        with pytest.raises(TimeoutError, match=r"4\.0 s"), fail_after(clock, 4.0):
            await anyio.sleep_forever()
        assert clock.now() == 4.0


async def test_move_on_after_none_never_cancels(clock: MockClock) -> None:
    with move_on_after(clock, None) as scope:
        await clock.advance(1e6)
    assert not scope.cancelled_caught


async def test_autojump_skips_idle_time(clock: MockClock) -> None:
    async with clock.autojump():
        await sleep(clock, 3600.0)
    assert clock.now() == 3600.0


async def test_wait_for_virtual_times_out_naming_the_condition(clock: MockClock) -> None:
    async with clock.autojump():
        with pytest.raises(TimeoutError, match="the sun rises"):
            await wait_for_virtual(clock, lambda: False, timeout=5, what="the sun rises")
        assert clock.now() == pytest.approx(5.0)


async def test_wait_for_times_out_naming_the_condition() -> None:
    with pytest.raises(TimeoutError, match="never"):
        await wait_for(lambda: False, timeout=0.05, what="never")


async def test_wait_until_idle_returns_once_others_block() -> None:
    steps: list[int] = []
    async with anyio.create_task_group() as tg:

        async def worker() -> None:
            for n in range(5):
                steps.append(n)
                await anyio.lowlevel.checkpoint()
            await anyio.sleep_forever()

        tg.start_soon(worker)
        await wait_until_idle()
        assert steps == [0, 1, 2, 3, 4]
        tg.cancel_scope.cancel()


async def test_system_clock_call_at_runs_the_callback() -> None:
    fired = anyio.Event()
    SYSTEM_CLOCK.call_at(SYSTEM_CLOCK.now(), fired.set)
    with anyio.fail_after(5):
        await fired.wait()
