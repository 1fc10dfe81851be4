"""The mailbox on its own: lanes, overflow policies, waiting senders, closing."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from runtime import (
    ActorUnavailable,
    Mailbox,
    MailboxFull,
    MailboxOptions,
    MessageDropped,
    Overflow,
)
from runtime._mailbox import _Ask
from runtime.testing import wait_until_idle


def _mailbox(capacity: int, overflow: Overflow) -> Mailbox:
    return Mailbox("box", MailboxOptions(capacity=capacity, overflow=overflow))


def _ask(message: object) -> _Ask:
    return _Ask(message, asyncio.get_running_loop().create_future())


async def test_mailbox_hands_out_control_before_ordinary_messages() -> None:
    box = _mailbox(10, Overflow.WAIT)
    box.put_nowait("first")
    box.put_nowait("second")
    box.put_control("urgent")
    assert [await box.get() for _ in range(3)] == ["urgent", "first", "second"]


async def test_mailbox_reject_raises_mailbox_full_when_full() -> None:
    box = _mailbox(2, Overflow.REJECT)
    box.put_nowait(1)
    await box.put(2)
    with pytest.raises(MailboxFull, match=r"'box'.*capacity 2"):
        await box.put(3)
    assert box.statistics().rejected == 1
    assert [box.get_nowait(), box.get_nowait(), box.get_nowait()] == [1, 2, None]


async def test_mailbox_drop_oldest_makes_room_and_fails_a_dropped_ask() -> None:
    box = _mailbox(2, Overflow.DROP_OLDEST)
    dropped = _ask("old question")
    box.put_nowait(dropped)
    box.put_nowait("kept")
    box.put_nowait("newest")
    assert [box.get_nowait(), box.get_nowait()] == ["kept", "newest"]
    with pytest.raises(MessageDropped):
        dropped.future.result()
    assert box.statistics().dropped == 1


async def test_mailbox_wait_policy_holds_senders_in_order_until_room() -> None:
    box = _mailbox(1, Overflow.WAIT)
    await box.put("a")
    async with anyio.create_task_group() as tg:
        for item in ("b", "c"):
            tg.start_soon(box.put, item)
            await wait_until_idle()
        assert box.statistics().senders_waiting == 2
        assert len(box) == 1
        received = [await box.get() for _ in range(3)]
    assert received == ["a", "b", "c"]


async def test_mailbox_cancelled_sender_leaves_the_queue() -> None:
    box = _mailbox(1, Overflow.WAIT)
    await box.put("a")
    async with anyio.create_task_group() as tg:
        tg.start_soon(box.put, "b")
        await wait_until_idle()
        with anyio.move_on_after(0):
            await box.put("never")
        assert box.statistics().senders_waiting == 1
        assert await box.get() == "a"
        assert await box.get() == "b"
    assert box.get_nowait() is None


async def test_mailbox_get_waits_for_a_message() -> None:
    box = _mailbox(4, Overflow.WAIT)
    received: list[object] = []
    async with anyio.create_task_group() as tg:

        async def consume() -> None:
            received.append(await box.get())

        tg.start_soon(consume)
        await wait_until_idle()
        assert received == []
        box.put_nowait("hello")
    assert received == ["hello"]


async def test_mailbox_close_fails_queued_asks_and_refuses_new_messages() -> None:
    box = _mailbox(4, Overflow.WAIT)
    pending = _ask("question")
    box.put_nowait(pending)
    box.put_nowait("tell")
    box.close("stopped")
    with pytest.raises(ActorUnavailable, match="stopped"):
        pending.future.result()
    with pytest.raises(ActorUnavailable):
        box.put_nowait("late")
    with pytest.raises(ActorUnavailable):
        box.put_control("late")
    assert len(box) == 0
    box.reopen()
    box.put_nowait("again")
    assert box.get_nowait() == "again"


async def test_mailbox_fail_pending_asks_keeps_tells() -> None:
    box = _mailbox(4, Overflow.WAIT)
    pending = _ask("question")
    box.put_nowait("tell")
    box.put_nowait(pending)
    failed = box.fail_pending_asks(lambda: ActorUnavailable("box", "parked"))
    assert failed == 1
    assert box.get_nowait() == "tell"
    assert box.get_nowait() is None
    with pytest.raises(ActorUnavailable, match="parked"):
        pending.future.result()


async def test_mailbox_force_put_goes_past_capacity() -> None:
    box = _mailbox(1, Overflow.REJECT)
    box.put_nowait("a")
    box.force_put("tick")
    assert box.statistics().depth == 2


def test_mailbox_options_reject_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        MailboxOptions(capacity=0)
