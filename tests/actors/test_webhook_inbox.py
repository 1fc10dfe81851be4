"""The webhook inbox: deliveries wait per integration, one doorbell on its way at a time, a
batch taken per doorbell, and what does not fit left to the retry scan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from actors._webhook_inbox import WAITING, WebhookInbox
from actors._webhook_policy import WebhookOptions
from runtime import ActorRef, MailboxFull
from runtime.store import WebhookDelivery, WebhookStatus


class Ref:
    """Records what it is told; `full` makes it refuse like a full mailbox."""

    def __init__(self, *, full: bool = False) -> None:
        self.told: list[object] = []
        self.full = full

    def tell_nowait(self, message: object) -> None:
        if self.full:
            raise MailboxFull("integration:shop", 1)
        self.told.append(message)


def _ref(ref: Ref) -> ActorRef[Any]:
    return cast("ActorRef[Any]", ref)


def _deliveries(*numbers: int) -> list[WebhookDelivery]:
    return [
        WebhookDelivery(
            f"w{n}", "shop", f"m{n}", datetime.now(UTC), {}, b"{}", WebhookStatus.RECEIVED, 0,
            None, None,
        )
        for n in numbers
    ]  # fmt: skip


def test_inbox_rings_once_until_the_doorbell_is_answered() -> None:
    inbox = WebhookInbox(WebhookOptions(process_batch=2))
    ref = Ref()

    inbox.put("shop", _deliveries(1, 2))
    inbox.ring("shop", _ref(ref))
    inbox.put("shop", _deliveries(3))
    inbox.ring("shop", _ref(ref))

    assert ref.told == [WAITING]
    assert [d.id for d in inbox.take("shop")] == ["w1", "w2"]
    inbox.ring("shop", _ref(ref))  # answered: more waits, so it rings again
    assert ref.told == [WAITING, WAITING]
    assert [d.id for d in inbox.take("shop")] == ["w3"]
    assert inbox.take("shop") == ()
    inbox.ring("shop", _ref(ref))  # nothing waits: no doorbell
    assert len(ref.told) == 2


def test_inbox_rings_a_new_actor_of_the_integration_again() -> None:
    inbox = WebhookInbox()
    old, new = Ref(), Ref()

    inbox.put("shop", _deliveries(1))
    inbox.ring("shop", _ref(old))
    inbox.ring("shop", _ref(new))

    assert (old.told, new.told) == ([WAITING], [WAITING])


def test_inbox_leaves_what_does_not_fit_or_cannot_be_told_to_the_retry_scan() -> None:
    inbox = WebhookInbox(WebhookOptions(inbox_limit=2))

    left = inbox.put("shop", _deliveries(1, 2, 3))
    inbox.ring("shop", _ref(Ref(full=True)))

    assert left == 1
    assert inbox.waiting("shop") == 0  # the full mailbox: dropped, the scan brings them back
    inbox.put("shop", _deliveries(4))
    assert inbox.drop("shop") == 1
    assert inbox.take("shop") == ()
