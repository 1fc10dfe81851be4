"""The retry scan: deliveries due again are claimed and handed to their integrations' actors.

A delivery is due when it was received and not processed within its lease (its actor was
busy, restarting, or the process died), when a failed attempt's backoff has run out, or when
it was replayed. Claiming one moves its due time a lease ahead, so it is handed over once per
lease however often the scan runs; an attempt that settles ends the claim. One actor per hub,
on a periodic timer of the clock, like retention: a failing scan (database away) is a crash
the supervisor restarts with backoff.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from actors._webhook_policy import WebhookOptions
from runtime import Actor, ActorError, Request
from runtime.store import Store, WebhookDelivery

log = logging.getLogger("actors.webhooks")

Dispatch = Callable[[Sequence[WebhookDelivery]], None]


@dataclass(frozen=True, slots=True)
class ScanNow(Request[int]):
    """Claim and hand over what is due; the reply is how many deliveries were."""


class WebhookRetrier(Actor[ScanNow]):
    def __init__(
        self,
        store: Store,
        dispatch: Dispatch,
        options: WebhookOptions,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._dispatch = dispatch
        self._options = options
        self._now = now

    async def on_start(self) -> None:
        self.context.timers.start_periodic("scan", self._options.scan_interval, ScanNow())
        self.context.ref.tell_nowait(ScanNow())  # what a previous process left behind

    async def receive(self, message: ScanNow) -> int:
        now = self._now()
        lease_until = now + timedelta(seconds=self._options.lease)
        limit = self._options.scan_batch
        claimed = await self._store.claim_webhook_deliveries(
            now=now, lease_until=lease_until, limit=limit
        )
        if claimed:
            log.info("webhook retry scan: %d deliveries due", len(claimed))
            self._dispatch(claimed)
        if len(claimed) == limit:  # more may be due: look again at once
            with contextlib.suppress(ActorError):  # a full mailbox: the timer looks again
                self.context.ref.tell_nowait(ScanNow())
        return len(claimed)
