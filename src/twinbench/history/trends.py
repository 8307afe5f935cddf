"""Per-case trends over the stored runs: latest figure, ratios, sparkline, change points.

Shared by `twinbench history` (terminal) and `twinbench report` (HTML), so both say the same.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from twinbench.history.changepoints import ChangePoint, change_points
from twinbench.history.store import History, Point
from twinbench.render.text import format_seconds, format_table

SPARK = "▁▂▃▄▅▆▇█"
# Runs shown in a sparkline: the most recent ones.
SPARK_RUNS = 30
# Runs needed since the last change point before the slowest of them says anything.
SWING_MIN_RUNS = 3


@dataclass(frozen=True)
class Trend:
    """What one case's history says."""

    case_id: str
    points: list[Point]
    steps: list[ChangePoint]

    @property
    def latest(self) -> Point:
        return self.points[-1]

    def ratio_to_first(self) -> float:
        return self.latest.level_s / self.points[0].level_s

    def ratio_to_previous(self) -> float | None:
        if len(self.points) < 2:
            return None
        return self.latest.level_s / self.points[-2].level_s

    def swing(self) -> float | None:
        """The slowest run since the last change point over those runs' median.

        How much slower this machine has run the unchanged case: a regression threshold
        under it can raise false alarms (README: what the gate cannot tell apart).
        """
        start = self.steps[-1].index if self.steps else 0
        levels = sorted(p.level_s for p in self.points[start:])
        if len(levels) < SWING_MIN_RUNS:
            return None
        return levels[-1] / statistics.median(levels)


def trends(history: History, pattern: str = "*") -> list[Trend]:
    """One trend per case matching `pattern`, change points included."""
    result = []
    for case_id in history.cases(pattern):
        points = history.series[case_id]
        result.append(Trend(case_id, points, change_points([p.level_s for p in points])))
    return result


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled between the smallest and the largest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high <= low:
        return SPARK[0] * len(values)
    scale = (len(SPARK) - 1) / (high - low)
    return "".join(SPARK[round((v - low) * scale)] for v in values)


HEADERS = (
    "case",
    "runs",
    "first",
    "latest",
    "vs first",
    "vs previous",
    "slowest/median",
    "trend",
    "change points",
)


def trend_cells(trend: Trend) -> tuple[str, ...]:
    """The cells of one row of the trend table."""
    previous = trend.ratio_to_previous()
    swing = trend.swing()
    recent = [p.level_s for p in trend.points[-SPARK_RUNS:]]
    return (
        trend.case_id,
        str(len(trend.points)),
        format_seconds(trend.points[0].level_s),
        format_seconds(trend.latest.level_s),
        f"{trend.ratio_to_first():.2f}x",
        f"{previous:.2f}x" if previous is not None else "-",
        f"{swing:.2f}x" if swing is not None else "-",
        sparkline(recent),
        describe_steps(trend),
    )


def describe_steps(trend: Trend) -> str:
    """Change points as 'run 12 (20261127T...): 1.25x'; '-' when none."""
    if not trend.steps:
        return "-"
    return "; ".join(
        f"run {step.index + 1} ({trend.points[step.index].run[:16]}): {step.ratio:.2f}x"
        for step in trend.steps
    )


def trend_table(rows: Sequence[Trend]) -> str:
    """Plain-text table of trends (for pipes and files)."""
    return format_table(HEADERS, [trend_cells(t) for t in rows])
