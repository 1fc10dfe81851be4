"""The pure supervision rules: backoff, intensity, which children restart, restart types."""

from __future__ import annotations

import pytest

from runtime import (
    Backoff,
    Intensity,
    Restart,
    RestartHistory,
    Strategy,
    affected_children,
    next_attempt,
    should_restart,
)


def test_backoff_defaults_match_the_contract() -> None:
    backoff = Backoff()
    assert (backoff.initial, backoff.factor, backoff.cap) == (0.5, 2.0, 30.0)
    assert (backoff.jitter, backoff.reset_after) == (0.2, 60.0)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(0, 0.0), (1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)],
)
def test_backoff_delay_without_jitter_doubles_to_the_cap(attempt: int, expected: float) -> None:
    assert Backoff(jitter=0.0).delay(attempt) == expected


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
def test_backoff_jitter_stays_within_its_fraction_and_the_cap(draw: float) -> None:
    backoff = Backoff()
    assert 0.8 <= backoff.delay(3, rng=lambda: draw) / 2.0 <= 1.2
    assert backoff.delay(40, rng=lambda: draw) <= 30.0


def test_backoff_without_immediate_first_waits_from_the_start() -> None:
    assert Backoff(jitter=0.0, immediate_first=False).delay(0) == 0.5


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("initial", {"initial": -1}), ("factor", {"factor": 0.5}), ("jitter", {"jitter": 1.0})],
)
def test_backoff_rejects_bad_values_naming_the_field(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=field):
        Backoff(**kwargs)  # type: ignore[arg-type]  # parametrized keyword arguments


def test_intensity_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="max_restarts"):
        Intensity(max_restarts=-1)
    with pytest.raises(ValueError, match="within"):
        Intensity(within=0)


def test_restart_history_exceeds_only_past_the_maximum_inside_the_window() -> None:
    intensity = Intensity(max_restarts=2, within=10.0)
    history = RestartHistory()
    assert not history.record(0.0, intensity)
    assert not history.record(5.0, intensity)
    assert history.record(9.0, intensity)


def test_restart_history_forgets_restarts_outside_the_window() -> None:
    intensity = Intensity(max_restarts=2, within=10.0)
    history = RestartHistory()
    for moment in (0.0, 5.0, 10.0, 15.0, 20.0):
        assert not history.record(moment, intensity)


@pytest.mark.parametrize(
    ("strategy", "failed", "expected"),
    [
        (Strategy.ONE_FOR_ONE, "b", ["b"]),
        (Strategy.ONE_FOR_ALL, "b", ["a", "b", "c", "d"]),
        (Strategy.REST_FOR_ONE, "b", ["b", "c", "d"]),
        (Strategy.REST_FOR_ONE, "d", ["d"]),
        (Strategy.REST_FOR_ONE, "a", ["a", "b", "c", "d"]),
    ],
)
def test_affected_children_follow_the_strategy(
    strategy: Strategy, failed: str, expected: list[str]
) -> None:
    assert affected_children(strategy, ["a", "b", "c", "d"], failed) == expected


@pytest.mark.parametrize(
    ("restart", "crashed", "expected"),
    [
        (Restart.PERMANENT, True, True),
        (Restart.PERMANENT, False, True),
        (Restart.TRANSIENT, True, True),
        (Restart.TRANSIENT, False, False),
        (Restart.TEMPORARY, True, False),
        (Restart.TEMPORARY, False, False),
    ],
)
def test_should_restart_follows_the_restart_type(
    restart: Restart, crashed: bool, expected: bool
) -> None:
    assert should_restart(restart, crashed=crashed) is expected


def test_next_attempt_resets_after_a_stable_run() -> None:
    backoff = Backoff(reset_after=60.0)
    assert next_attempt(4, ran_for=59.9, backoff=backoff) == 4
    assert next_attempt(4, ran_for=60.0, backoff=backoff) == 0
