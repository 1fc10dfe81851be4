"""Retention: old logs, delivered events and webhook payloads trimmed in the background.

An actor with a periodic timer, under the hub's supervisor like everything else: a failing
trim (database restarting) is a crash, restarted with backoff, never a stopped hub.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime import Actor, Request
from runtime.store import RetentionCutoffs, Store, TrimResult, utc_now

log = logging.getLogger("actors.retention")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    logs_days: int = 30
    events_days: int = 7
    webhook_payload_days: int = 14
    interval: float = 3600.0  # seconds between trims

    def cutoffs(self, now: datetime) -> RetentionCutoffs:
        return RetentionCutoffs(
            logs=now - timedelta(days=self.logs_days),
            sent_events=now - timedelta(days=self.events_days),
            webhook_payloads=now - timedelta(days=self.webhook_payload_days),
        )


@dataclass(frozen=True, slots=True)
class TrimNow(Request[TrimResult]):
    pass


class RetentionActor(Actor[TrimNow]):
    def __init__(
        self, store: Store, policy: RetentionPolicy, *, now: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._policy = policy
        self._now = now

    async def on_start(self) -> None:
        self.context.timers.start_periodic("trim", self._policy.interval, TrimNow())

    async def receive(self, message: TrimNow) -> TrimResult:
        result = await self._store.trim(self._policy.cutoffs(self._now()))
        if result.logs or result.events or result.webhook_payloads:
            log.info(
                "retention trimmed %d logs, %d events, %d webhook payloads",
                result.logs,
                result.events,
                result.webhook_payloads,
            )
        return result
