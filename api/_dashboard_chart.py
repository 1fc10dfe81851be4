"""The integration page's chart: records read and duration of each recent sync run, as SVG.

The geometry is computed here, in Python, and the template writes it out as inline SVG: no
chart library, no JavaScript, nothing fetched, and a test can check the numbers. Bars are the
records each run read (coloured by its outcome), the line its duration on a second scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api._dashboard_views import duration, number, run_seconds, seen
from runtime.store import RunStatus, SyncRun

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 12, 28
MAX_RUNS = 30
BAR_GAP = 0.25  # of a slot


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    dots: tuple[Dot, ...]
    line: str  # SVG polyline points
    max_records: str
    max_duration: str
    first_label: str
    last_label: str
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


def chart(runs: Sequence[SyncRun]) -> Chart | None:
    """From runs newest first (as the store lists them); None with nothing to draw."""
    shown = list(reversed(runs[:MAX_RUNS]))
    if not shown:
        return None
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(shown)
    top_records = max(1, *(seen(run) for run in shown))
    seconds = [run_seconds(run) for run in shown]
    top_seconds = max([s for s in seconds if s is not None] or [0.0]) or 1.0
    bars: list[Bar] = []
    dots: list[Dot] = []
    for index, (run, spent) in enumerate(zip(shown, seconds, strict=True)):
        x = LEFT + index * slot
        height = seen(run) / top_records * plot_h
        when = run.started_at.strftime("%Y-%m-%d %H:%M:%S")
        title = (
            f"{when} UTC · {run.entity} · {run.status} · {number(seen(run))} records"
            f" · {duration(spent)}"
        )
        bars.append(
            Bar(
                x=round(x + slot * BAR_GAP / 2, 2),
                y=round(TOP + plot_h - height, 2),
                width=round(max(1.0, slot * (1 - BAR_GAP)), 2),
                height=round(height, 2),
                css=_css(run.status),
                title=title,
            )
        )
        if spent is not None:
            y = TOP + plot_h - spent / top_seconds * plot_h
            dots.append(Dot(round(x + slot / 2, 2), round(y, 2), title))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=tuple(bars),
        dots=tuple(dots),
        line=" ".join(f"{dot.x},{dot.y}" for dot in dots),
        max_records=number(top_records),
        max_duration=duration(top_seconds),
        first_label=shown[0].started_at.strftime("%d.%m. %H:%M"),
        last_label=shown[-1].started_at.strftime("%d.%m. %H:%M"),
    )


def _css(status: RunStatus) -> str:
    return {
        RunStatus.COMPLETED: "bar-ok",
        RunStatus.FAILED: "bar-err",
        RunStatus.RUNNING: "bar-busy",
    }.get(status, "bar-warn")
