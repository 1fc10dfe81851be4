"""Stored deliveries waiting for their integration's actor: a queue per integration and a
doorbell message, so that processing commits as much at a time as intake does.

The intake, the retry scan and replays `put` deliveries here and ring the integration's actor
(`WebhooksWaiting`, at most one unanswered per integration, so a busy endpoint cannot fill a
mailbox). The actor, when the doorbell reaches it, `take`s what waits, up to `batch`, and
settles it in one transaction; if more arrived meanwhile it rings itself again (behind any
other message in its mailbox, so a flood of webhooks does not hold up a manual sync). The
busier the endpoint, the more each transaction carries.

Nothing here is durable: the deliveries are in the store already. What the inbox cannot take
(`limit` waiting for one integration; no actor to ring) is left out, and the retry scan
hands it over when its lease runs out; a delivery taken by an actor that then crashed is
handed over the same way.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from actors._webhook_policy import WebhookOptions
from runtime import ActorError, ActorRef
from runtime.store import WebhookDelivery

log = logging.getLogger("actors.webhooks")


@dataclass(frozen=True, slots=True)
class WebhooksWaiting:
    """The doorbell: stored webhook deliveries wait for this integration in the inbox."""


WAITING = WebhooksWaiting()


class WebhookInbox:
    def __init__(self, options: WebhookOptions | None = None) -> None:
        self.options = options or WebhookOptions()
        self._limit = self.options.inbox_limit
        self._waiting: dict[str, deque[WebhookDelivery]] = {}
        self._rung: dict[str, ActorRef[Any]] = {}  # a doorbell is on its way to this actor

    def put(self, integration_id: str, deliveries: Sequence[WebhookDelivery]) -> int:
        """Queue what fits (in order); returns how many were left to the retry scan."""
        queue = self._waiting.setdefault(integration_id, deque())
        room = max(0, self._limit - len(queue))
        queue.extend(deliveries[:room])
        return max(0, len(deliveries) - room)

    def ring(self, integration_id: str, ref: ActorRef[Any]) -> None:
        """Tell the actor, unless a doorbell is on its way to it already (an actor started anew
        for the integration, a new `ref`, is told again). If it cannot be told, what waits is
        dropped (the retry scan brings it back)."""
        if self._rung.get(integration_id) is ref or not self._waiting.get(integration_id):
            return
        try:
            ref.tell_nowait(WAITING)
        except ActorError as error:
            dropped = len(self._waiting.pop(integration_id, ()))
            log.info(
                "integration %s: %d webhooks left for the retry scan (%s)",
                integration_id,
                dropped,
                error,
            )
            return
        self._rung[integration_id] = ref

    def take(self, integration_id: str) -> tuple[WebhookDelivery, ...]:
        """The doorbell answered: up to `options.process_batch` deliveries, oldest first."""
        self._rung.pop(integration_id, None)
        queue = self._waiting.get(integration_id)
        if not queue:
            return ()
        count = min(len(queue), self.options.process_batch)
        taken = tuple(queue.popleft() for _ in range(count))
        if not queue:
            del self._waiting[integration_id]
        return taken

    def waiting(self, integration_id: str) -> int:
        return len(self._waiting.get(integration_id, ()))

    def drop(self, integration_id: str) -> int:
        """Forget what waits for an integration (it has no actor that can process it now)."""
        self._rung.pop(integration_id, None)
        return len(self._waiting.pop(integration_id, ()))
