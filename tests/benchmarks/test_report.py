"""Benchmark figures as JSON lines: goals, ratios, rounding, percentiles; nothing is timed."""

from __future__ import annotations

import io
import json
import math
from typing import cast

import pytest

from benchmarks._report import (
    Comparison,
    Figure,
    Goal,
    emit,
    percentile,
    rate,
    ratio_goal,
    round_significant,
    to_line,
    value_goal,
)


def figure(value: float = 2.0, baseline: float | None = 4.0, goal: Goal | None = None) -> Figure:
    return Figure("tell_throughput", value, "msg/s", baseline, goal or ratio_goal(0.5))


def test_ratio_goal_by_default_asks_at_least() -> None:
    assert str(ratio_goal(0.5)) == "ratio >= 0.5"


def test_value_goal_prints_subject_comparison_and_bound() -> None:
    assert str(value_goal("<", 5)) == "value < 5"
    assert str(value_goal("<=", 2.5)) == "value <= 2.5"


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 4.9, True),
        ("<", 5.0, False),
        ("<=", 5.0, True),
        (">", 5.0, False),
        (">=", 5.0, True),
        (">=", 4.9, False),
    ],
)
def test_goal_met_compares_the_value_with_the_bound(
    op: Comparison, value: float, expected: bool
) -> None:
    assert value_goal(op, 5.0).met(value, None) is expected


def test_goal_met_on_ratio_uses_the_ratio_not_the_value() -> None:
    assert ratio_goal(0.5).met(100.0, 0.6)
    assert not ratio_goal(0.5).met(100.0, 0.4)


def test_goal_met_on_ratio_without_a_ratio_is_false() -> None:
    assert not ratio_goal(0.5).met(100.0, None)


def test_goal_with_an_unknown_comparison_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown comparison"):
        Goal("value", cast(Comparison, "~"), 1.0)


def test_goal_with_an_infinite_bound_is_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        value_goal("<", math.inf)


def test_figure_ratio_is_value_over_baseline() -> None:
    assert figure(value=3.0, baseline=4.0).ratio == 0.75


def test_figure_ratio_without_baseline_is_none() -> None:
    assert figure(baseline=None, goal=value_goal("<", 5)).ratio is None


def test_figure_met_follows_its_goal() -> None:
    assert figure(value=3.0, baseline=4.0).met
    assert not figure(value=1.0, baseline=4.0).met
    assert figure(value=0.2, baseline=None, goal=value_goal("<", 5)).met


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_figure_with_a_non_finite_value_is_rejected(value: float) -> None:
    with pytest.raises(ValueError, match="value must be finite"):
        figure(value=value)


@pytest.mark.parametrize("baseline", [0.0, -1.0, math.nan])
def test_figure_with_a_baseline_that_cannot_divide_is_rejected(baseline: float) -> None:
    with pytest.raises(ValueError, match="baseline"):
        figure(baseline=baseline)


def test_to_line_has_the_fields_in_order() -> None:
    record = json.loads(to_line(figure(value=3.0, baseline=4.0)))
    assert list(record) == ["name", "value", "unit", "baseline", "ratio", "goal", "met"]
    assert record == {
        "name": "tell_throughput",
        "value": 3.0,
        "unit": "msg/s",
        "baseline": 4.0,
        "ratio": 0.75,
        "goal": "ratio >= 0.5",
        "met": True,
    }


def test_to_line_without_baseline_has_null_baseline_and_ratio() -> None:
    record = json.loads(to_line(figure(value=0.25, baseline=None, goal=value_goal("<", 5))))
    assert record["baseline"] is None
    assert record["ratio"] is None
    assert record["met"] is True


def test_to_line_rounds_numbers_to_four_significant_digits() -> None:
    record = json.loads(to_line(figure(value=992_187.5, baseline=1_367_012.3)))
    assert record["value"] == 992_200
    assert record["baseline"] == 1_367_000
    assert record["ratio"] == 0.7258


def test_to_line_is_one_line() -> None:
    assert "\n" not in to_line(figure())


def test_emit_writes_one_line_to_the_stream() -> None:
    stream = io.StringIO()
    emit(figure(), stream)
    assert stream.getvalue() == to_line(figure()) + "\n"


def test_emit_without_stream_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    emit(figure())
    captured = capsys.readouterr()
    assert captured.out == to_line(figure()) + "\n"
    assert captured.err == ""


@pytest.mark.parametrize(
    ("x", "expected"),
    [(0.0, 0.0), (123_456.0, 123_500.0), (0.000123456, 0.0001235), (-98.7654, -98.77)],
)
def test_round_significant_keeps_four_digits(x: float, expected: float) -> None:
    assert round_significant(x) == expected


def test_percentile_interpolates_between_the_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 99) == pytest.approx(3.97)


def test_percentile_of_one_sample_is_that_sample() -> None:
    assert percentile([7.0], 99) == 7.0


def test_percentile_p99_of_a_hundred_samples_sits_near_the_top() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 99) == pytest.approx(99.01)


def test_percentile_of_no_samples_is_rejected() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


@pytest.mark.parametrize("p", [-1.0, 100.5])
def test_percentile_outside_zero_to_hundred_is_rejected(p: float) -> None:
    with pytest.raises(ValueError, match="within"):
        percentile([1.0], p)


def test_rate_is_count_per_second() -> None:
    assert rate(1_000, 0.5) == 2_000.0


def test_rate_over_no_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        rate(1, 0.0)


def test_figure_without_a_goal_reports_null_goal_and_met() -> None:
    record = Figure("info", 2.0, "x", 4.0, None).record()
    assert record["goal"] is None
    assert record["met"] is None
    assert record["ratio"] == 0.5
