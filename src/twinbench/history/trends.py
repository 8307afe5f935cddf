"""Per-case trends over the stored runs: latest figure, ratios, sparkline, change points, and
the runs where the software stack changed (an upgrade), with any step that coincides with one.

Shared by `twinbench history` (terminal) and `twinbench report` (HTML), so both say the same.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twinbench.history.changepoints import ChangePoint, change_points
from twinbench.history.store import History, Point
from twinbench.render.text import format_seconds, format_table
from twinbench.results.metadata import STACK_FIELDS, describe_stack_changes, differences

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
    # The machine identity of the series, and whether the table must say which machine it is
    # (a case measured on several machines has a series per machine).
    machine: str = ""
    show_machine: bool = False
    # Run index -> the stack fields that changed at that run (from the run before).
    upgrades: dict[int, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The case id, and the machine when the history holds this case on several."""
        return f"{self.case_id} [{self.machine}]" if self.show_machine else self.case_id

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
    """One trend per case and machine matching `pattern`, change points and upgrades included."""
    keys = history.cases(pattern)
    machines: dict[str, int] = {}
    for case_id, _ in keys:
        machines[case_id] = machines.get(case_id, 0) + 1
    result = []
    for case_id, machine in keys:
        points = history.series[(case_id, machine)]
        steps = change_points([p.level_s for p in points])
        several = machines[case_id] > 1
        result.append(Trend(case_id, points, steps, machine, several, stack_upgrades(points)))
    return result


def stack_upgrades(points: Sequence[Point]) -> dict[int, dict[str, tuple[Any, Any]]]:
    """Per run index, the stack fields that differ from the run before it."""
    changes = {}
    for index in range(1, len(points)):
        changed = differences(points[index - 1].stack, points[index].stack, STACK_FIELDS)
        if changed:
            changes[index] = changed
    return changes


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
    "latest verdict",
    "vs first",
    "vs previous",
    "slowest/median",
    "trend",
    "change points",
    "stack changes",
)


def trend_cells(trend: Trend) -> tuple[str, ...]:
    """The cells of one row of the trend table."""
    previous = trend.ratio_to_previous()
    swing = trend.swing()
    recent = [p.level_s for p in trend.points[-SPARK_RUNS:]]
    return (
        trend.label,
        str(len(trend.points)),
        format_seconds(trend.points[0].level_s),
        format_seconds(trend.latest.level_s),
        # What the gate said of the latest run (ok, regression, unsure, ...); "-" ungated.
        trend.latest.verdict or "-",
        f"{trend.ratio_to_first():.2f}x",
        f"{previous:.2f}x" if previous is not None else "-",
        f"{swing:.2f}x" if swing is not None else "-",
        sparkline(recent),
        describe_steps(trend),
        describe_upgrades(trend),
    )


def describe_steps(trend: Trend) -> str:
    """Change points as 'run 12 (20261127T...): 1.25x'; a step at the run where the stack
    changed says so: '... 1.25x, at the run where torch went 2.12.0 -> 2.13.0'. '-' when none."""
    if not trend.steps:
        return "-"
    return "; ".join(
        f"run {step.index + 1} ({trend.points[step.index].run[:16]}): {step.ratio:.2f}x"
        + (
            f", at the run where {_went(trend.upgrades[step.index])}"
            if step.index in trend.upgrades
            else ""
        )
        for step in trend.steps
    )


def describe_upgrades(trend: Trend) -> str:
    """Runs where the software stack changed: 'run 7: torch 2.12.0 -> 2.13.0'; '-' when none."""
    if not trend.upgrades:
        return "-"
    return "; ".join(
        f"run {index + 1}: {describe_stack_changes(changes)}"
        for index, changes in trend.upgrades.items()
    )


def _went(changes: dict[str, tuple[Any, Any]]) -> str:
    """'torch went 2.12.0 -> 2.13.0': the changes, as a step's likely cause."""
    return describe_stack_changes(changes, verb=" went")


def trend_table(rows: Sequence[Trend]) -> str:
    """Plain-text table of trends (for pipes and files)."""
    return format_table(HEADERS, [trend_cells(t) for t in rows])
