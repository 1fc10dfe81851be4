"""How webhook deliveries are taken in and retried: the options, and the decisions as data.

A failed attempt is tried again after a backoff that doubles from `retry_base` up to
`retry_cap` (or after the peer's own `retry_after` hint, if longer), until `max_attempts`;
then the delivery is dead (dead-lettered: kept, listed, replayable). An error that says
retrying cannot help (a config error, a permanent one: a payload the adapter cannot read) is
dead at once. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters import Action, classify
from runtime.store import WebhookStatus

NO_RETRY = frozenset({Action.REJECT, Action.FAIL})


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    max_attempts: int = 5  # attempts before a delivery is dead
    retry_base: float = 30.0  # seconds before the second attempt; doubling from there
    retry_cap: float = 3600.0  # the longest wait between two attempts
    scan_interval: float = 5.0  # seconds between two looks for due retries
    scan_batch: int = 200  # deliveries one look claims at most
    lease: float = 60.0  # seconds an actor has for a delivery before the scan takes it back
    commit_batch: int = 500  # deliveries one group commit writes at most
    commit_writers: int = 2  # group commits under way at once
    max_waiting: int = 5000  # deliveries waiting for a commit before intake answers 503
    process_batch: int = 200  # deliveries an actor settles in one transaction at most
    inbox_limit: int = 5000  # deliveries waiting for one actor; more wait for the retry scan
    revalidate_after: float = 1.0  # seconds a cached secret is trusted without a look

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("retry_base", "retry_cap", "scan_interval", "lease"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        counts = ("scan_batch", "commit_batch", "commit_writers", "max_waiting", "process_batch")
        for name in (*counts, "inbox_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class NextStep:
    """After a failed attempt: FAILED with the time of the next one, or DEAD."""

    status: WebhookStatus
    next_attempt_at: datetime | None = None


def retry_delay(attempts: int, options: WebhookOptions) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base …"""
    exponent = min(max(attempts - 1, 0), 32)
    return min(options.retry_cap, options.retry_base * 2.0**exponent)


def after_failure(
    error: Exception, attempts: int, options: WebhookOptions, now: datetime
) -> NextStep:
    resolution = classify(error)
    if resolution.action in NO_RETRY or attempts >= options.max_attempts:
        return NextStep(WebhookStatus.DEAD)
    delay = max(retry_delay(attempts, options), resolution.after or 0.0)
    return NextStep(WebhookStatus.FAILED, now + timedelta(seconds=delay))
