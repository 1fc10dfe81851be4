"""The circuit breaker's rules, without an event loop: time is a number passed in."""

from __future__ import annotations

import itertools

import pytest

from runtime._breaker import (
    TRANSITIONS,
    BreakerEvent,
    BreakerOptions,
    BreakerState,
    BreakerStatistics,
    BreakerTransitionError,
    CircuitBreaker,
    next_state,
)

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN

ALLOWED = {
    (CLOSED, BreakerEvent.TRIP): OPEN,
    (OPEN, BreakerEvent.TRIAL): HALF_OPEN,
    (HALF_OPEN, BreakerEvent.RECOVER): CLOSED,
    (HALF_OPEN, BreakerEvent.TRIP): OPEN,
}
ILLEGAL = [pair for pair in itertools.product(BreakerState, BreakerEvent) if pair not in ALLOWED]


def tripped(options: BreakerOptions, now: float = 0.0) -> CircuitBreaker:
    breaker = CircuitBreaker(options)
    for _ in range(options.failure_threshold):
        assert breaker.allow(now)
        breaker.record_failure(now)
    assert breaker.state is OPEN
    return breaker


@pytest.mark.parametrize(("state", "event", "expected"), [(*k, v) for k, v in ALLOWED.items()])
def test_next_state_follows_table_for_allowed_pairs(
    state: BreakerState, event: BreakerEvent, expected: BreakerState
) -> None:
    assert next_state(state, event) is expected


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_next_state_raises_for_illegal_pairs(state: BreakerState, event: BreakerEvent) -> None:
    with pytest.raises(BreakerTransitionError) as caught:
        next_state(state, event)
    assert (caught.value.state, caught.value.event) == (state, event)


def test_transitions_table_is_the_documented_one_and_read_only() -> None:
    assert dict(TRANSITIONS) == ALLOWED
    with pytest.raises(TypeError):
        TRANSITIONS[(CLOSED, BreakerEvent.RECOVER)] = CLOSED  # type: ignore[index]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("failure_threshold", 0),
        ("failure_threshold", True),
        ("success_threshold", 0),
        ("open_for", 0.0),
        ("open_for", -1.0),
        ("open_for", float("nan")),
        ("open_for_max", float("inf")),
        ("open_for_max", 1.0),
        ("open_backoff", 0.5),
        ("open_backoff", float("nan")),
    ],
)
def test_options_invalid_value_raises_naming_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        BreakerOptions(**{field: value})  # type: ignore[arg-type]


def test_allow_closed_admits_every_call() -> None:
    breaker = CircuitBreaker()
    assert all(breaker.allow(float(t)) for t in range(10))
    assert breaker.state is CLOSED


def test_record_failure_below_threshold_stays_closed() -> None:
    breaker = CircuitBreaker(BreakerOptions(failure_threshold=3))
    breaker.record_failure(0.0)
    breaker.record_failure(1.0)
    assert breaker.state is CLOSED
    assert breaker.statistics().consecutive_failures == 2


def test_record_success_closed_resets_consecutive_failures() -> None:
    breaker = CircuitBreaker(BreakerOptions(failure_threshold=3))
    for now in (0.0, 1.0):
        breaker.record_failure(now)
    breaker.record_success(2.0)
    breaker.record_failure(3.0)
    breaker.record_failure(4.0)
    assert breaker.state is CLOSED
    assert breaker.statistics().consecutive_failures == 2


def test_record_failure_at_threshold_opens_until_open_for() -> None:
    breaker = tripped(BreakerOptions(failure_threshold=3, open_for=5.0), now=10.0)
    assert breaker.retry_at == 15.0
    assert not breaker.allow(14.999)
    assert breaker.state is OPEN
    assert breaker.statistics() == BreakerStatistics(
        state=OPEN,
        consecutive_failures=3,
        consecutive_successes=0,
        open_for=5.0,
        opened_total=1,
        retry_at=15.0,
    )


def test_allow_after_open_period_admits_single_trial() -> None:
    breaker = tripped(BreakerOptions(open_for=5.0))
    assert breaker.allow(5.0)
    assert breaker.state is HALF_OPEN
    assert breaker.retry_at is None
    assert not breaker.allow(5.0)
    assert not breaker.allow(100.0)


def test_record_success_half_open_admits_next_trial_until_threshold() -> None:
    breaker = tripped(BreakerOptions(success_threshold=3, open_for=5.0))
    for now in (5.0, 6.0):
        assert breaker.allow(now)
        assert not breaker.allow(now)
        breaker.record_success(now)
        assert breaker.state is HALF_OPEN
    assert breaker.allow(7.0)
    breaker.record_success(7.0)
    assert breaker.state is CLOSED
    assert breaker.statistics().consecutive_successes == 3


def test_record_failure_half_open_reopens_with_growing_period_capped() -> None:
    options = BreakerOptions(open_for=5.0, open_backoff=2.0, open_for_max=30.0)
    breaker = tripped(options)
    now, periods = 0.0, []
    for _ in range(5):
        now = breaker.retry_at or now
        assert breaker.allow(now)
        breaker.record_failure(now)
        assert breaker.state is OPEN
        periods.append(breaker.statistics().open_for)
        assert breaker.retry_at == now + periods[-1]
    assert periods == [10.0, 20.0, 30.0, 30.0, 30.0]
    assert breaker.statistics().opened_total == 6


def test_record_success_closing_resets_open_period() -> None:
    breaker = tripped(BreakerOptions(open_for=5.0, open_backoff=3.0))
    assert breaker.allow(5.0)
    breaker.record_failure(5.0)
    assert breaker.statistics().open_for == 15.0
    assert breaker.allow(20.0)
    breaker.record_success(20.0)
    assert breaker.state is CLOSED
    assert breaker.statistics().open_for == 5.0
    assert breaker.retry_at is None
    for _ in range(3):
        breaker.record_failure(21.0)
    assert breaker.retry_at == 26.0


def test_record_outcome_while_open_is_ignored_as_stale() -> None:
    breaker = tripped(BreakerOptions(open_for=5.0))
    before = breaker.statistics()
    breaker.record_failure(1.0)
    breaker.record_success(2.0)
    assert breaker.statistics() == before


def test_record_outcome_half_open_without_trial_is_ignored() -> None:
    breaker = tripped(BreakerOptions(success_threshold=2, open_for=5.0))
    assert breaker.allow(5.0)
    breaker.record_success(5.0)
    before = breaker.statistics()
    breaker.record_failure(6.0)
    breaker.record_success(6.0)
    assert breaker.statistics() == before
    assert breaker.state is HALF_OPEN


def test_record_cancelled_half_open_frees_the_trial() -> None:
    breaker = tripped(BreakerOptions(open_for=5.0))
    assert breaker.allow(5.0)
    breaker.record_cancelled()
    assert breaker.state is HALF_OPEN
    assert breaker.allow(5.0)
    assert not breaker.allow(5.0)


def test_on_change_sees_old_and_new_for_every_change() -> None:
    seen: list[tuple[BreakerState, BreakerState, BreakerStatistics]] = []
    breaker = CircuitBreaker(
        BreakerOptions(failure_threshold=1, open_for=5.0),
        on_change=lambda old, new: seen.append((old, new, breaker.statistics())),
    )
    breaker.record_failure(0.0)
    breaker.allow(5.0)
    breaker.record_failure(5.0)
    breaker.allow(15.0)
    breaker.record_success(15.0)
    assert [(old, new) for old, new, _ in seen] == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]
    assert seen[0][2].retry_at == 5.0
    assert seen[2][2].retry_at == 15.0


def test_on_change_not_called_without_state_change() -> None:
    seen: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(on_change=lambda old, new: seen.append((old, new)))
    breaker.allow(0.0)
    breaker.record_success(0.0)
    breaker.record_failure(0.0)
    assert seen == []
