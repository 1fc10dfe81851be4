"""Benchmark figures as JSON lines: one measured figure, its baseline and its goal per line.

A benchmark measures, builds a `Figure` and hands it to `emit`, which prints one line on
stdout (progress goes to stderr, so stdout stays machine-readable):

    {"name": "tell_throughput", "value": 812000.0, "unit": "msg/s", "baseline": 1400000.0,
     "ratio": 0.58, "goal": "ratio >= 0.5", "met": true}

`ratio` is `value / baseline`, measured in the same process run, or null without a baseline.
Everything here is pure apart from `emit`, so it is tested without timing anything.
"""

from __future__ import annotations

import json
import math
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

Comparison = Literal["<", "<=", ">", ">="]
Subject = Literal["value", "ratio"]

_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

# Significant digits kept in the printed numbers: more than any of these runs can resolve.
_DIGITS = 4


@dataclass(frozen=True, slots=True)
class Goal:
    """`subject op bound`, e.g. ratio >= 0.5 or value < 5."""

    subject: Subject
    op: Comparison
    bound: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"unknown comparison {self.op!r}")
        if not math.isfinite(self.bound):
            raise ValueError(f"goal bound must be finite, got {self.bound!r}")

    def met(self, value: float, ratio: float | None) -> bool:
        """Whether the goal holds; a ratio goal without a ratio is not met."""
        subject = value if self.subject == "value" else ratio
        return subject is not None and _COMPARE[self.op](subject, self.bound)

    def __str__(self) -> str:
        return f"{self.subject} {self.op} {self.bound:g}"


def ratio_goal(bound: float, op: Comparison = ">=") -> Goal:
    return Goal("ratio", op, bound)


def value_goal(op: Comparison, bound: float) -> Goal:
    return Goal("value", op, bound)


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None
    goal: Goal | None  # None: reported for information, no target

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"{self.name}: value must be finite, got {self.value!r}")
        if self.baseline is not None and not (math.isfinite(self.baseline) and self.baseline > 0):
            raise ValueError(f"{self.name}: baseline must be finite and > 0, got {self.baseline!r}")

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.value / self.baseline

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.value, self.ratio)

    def record(self) -> dict[str, str | float | bool | None]:
        """The JSON object, numbers rounded to `_DIGITS` significant digits."""
        return {
            "name": self.name,
            "value": round_significant(self.value),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round_significant(self.baseline),
            "ratio": None if self.ratio is None else round_significant(self.ratio),
            "goal": None if self.goal is None else str(self.goal),
            "met": self.met,
        }


def to_line(figure: Figure) -> str:
    return json.dumps(figure.record(), allow_nan=False)


def emit(figure: Figure, stream: TextIO | None = None) -> None:
    """Print the figure's JSON line (stdout unless told otherwise) and flush it."""
    out = sys.stdout if stream is None else stream
    print(to_line(figure), file=out, flush=True)


def round_significant(x: float, digits: int = _DIGITS) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def percentile(samples: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0..100), interpolating linearly between the closest ranks."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(count: int, seconds: float) -> float:
    """Events per second; the duration must be positive."""
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    return count / seconds
