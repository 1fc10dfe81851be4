"""Schedule rules: cron, jitter, and at most one catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actors._schedule import Plan, delay_until, next_fire, plan_next, with_jitter

T0 = datetime(2026, 11, 27, 10, 7, tzinfo=UTC)


def test_next_fire_is_the_next_quarter_hour_for_the_default_schedule() -> None:
    assert next_fire("*/15 * * * *", T0) == datetime(2026, 11, 27, 10, 15, tzinfo=UTC)


def test_next_fire_is_strictly_after_an_exact_match() -> None:
    exact = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    assert next_fire("*/15 * * * *", exact) == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999])
def test_with_jitter_only_ever_delays_within_the_bound(draw: float) -> None:
    moved = with_jitter(T0, 30.0, rng=lambda: draw)
    assert T0 <= moved <= T0 + timedelta(seconds=30)


def test_plan_next_without_a_stored_plan_follows_the_schedule() -> None:
    plan = plan_next("*/15 * * * *", now=T0, planned=None, jitter=0.0)
    assert plan == Plan(datetime(2026, 11, 27, 10, 15, tzinfo=UTC), catch_up=False)


def test_plan_next_keeps_a_future_plan() -> None:
    later = T0 + timedelta(minutes=3)
    assert plan_next("*/15 * * * *", now=T0, planned=later) == Plan(later, catch_up=False)


def test_plan_next_after_downtime_runs_one_catch_up_now() -> None:
    missed = T0 - timedelta(hours=5)  # twenty planned runs were missed
    assert plan_next("*/15 * * * *", now=T0, planned=missed) == Plan(T0, catch_up=True)


def test_delay_until_is_never_negative() -> None:
    assert delay_until(T0 - timedelta(seconds=5), T0) == 0.0
    assert delay_until(T0 + timedelta(seconds=5), T0) == 5.0
