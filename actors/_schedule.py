"""When an integration syncs next: cron, jitter and catch-up as pure functions.

The scheduler keeps `next_sync_at` per integration (in `sync_status`). After downtime several
planned runs may have been missed; like cron's anacron-style "catch-up" we run at most one of
them, at once, and then return to the plan. Jitter spreads integrations that share a schedule
so they do not all hit their upstreams in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter


@dataclass(frozen=True, slots=True)
class Plan:
    """The next run: when, and whether it is the one catch-up for missed runs."""

    at: datetime
    catch_up: bool


def next_fire(cron: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` names (in `after`'s time zone)."""
    fire: datetime = croniter(cron, after).get_next(datetime)
    return fire


def with_jitter(at: datetime, jitter: float, rng: Callable[[], float] = random.random) -> datetime:
    """`at` moved later by up to `jitter` seconds (never earlier: a run never precedes its plan)."""
    return at + timedelta(seconds=jitter * rng()) if jitter > 0 else at


def plan_next(
    cron: str,
    *,
    now: datetime,
    planned: datetime | None,
    jitter: float = 0.0,
    rng: Callable[[], float] = random.random,
) -> Plan:
    """What to do next, given the stored `planned` time (None: never planned before).

    A plan still in the future stands. A plan in the past means the hub was down when it was
    due: run once now (the catch-up); the following plan comes from the schedule after now, so
    any further missed runs are skipped."""
    if planned is not None and planned > now:
        return Plan(planned, catch_up=False)
    if planned is not None:
        return Plan(now, catch_up=True)
    return Plan(with_jitter(next_fire(cron, now), jitter, rng), catch_up=False)


def delay_until(at: datetime, now: datetime) -> float:
    return max(0.0, (at - now).total_seconds())
