"""A/A calibration: measure unchanged cases several times and see what the gate would say.

Every ordered pair of repetitions is judged as baseline -> current exactly as the gate judges
a run, confirmation included: a suspect is re-judged with the other repetitions, in order, as
its re-measurement rounds (they are fresh processes at a later time, as the gate's rounds are).
On unchanged code any confirmed `regression` or any `faster` is a false alarm, so the share of
flagged pairs is the gate's false-alarm rate on this machine as configured; the suspects show
how often confirmation had to step in, and the detectable effects how small a slowdown the gate
can catch here. Thresholds can then be chosen from evidence instead of guesses.

A baseline run measures more processes than other runs (profiles.py), so each repetition is
measured in as many processes as a baseline run; as a pair's baseline it counts whole, as its
current run or a round only its first `current_processes`, as the gate would see them.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from twinbench.core.cases import Case
from twinbench.core.status import Outcome
from twinbench.execute.case import CaseResult
from twinbench.gate.compare import GateSettings, Verdict, judge_samples
from twinbench.gate.confirm import Processes, Round, decide, is_suspect
from twinbench.render.text import format_table

# Measures the given cases once, in one fresh set of worker processes: id -> results.
MeasureFresh = Callable[[list[Case]], dict[str, list[CaseResult]]]


@dataclass(frozen=True)
class CalibrationRow:
    """What repeated unchanged measurements of one case say about the gate."""

    case_id: str
    repetitions: int
    pairs: int
    # Pairs slower by the threshold before confirmation (re-measured by the gate).
    suspects: int
    # Pairs the gate would call `regression` after confirmation, or `faster`.
    false_alarms: int
    # Median over pairs of the smallest slowdown detectable at 80% power (None: unknown).
    detectable: float | None
    # Largest ratio of medians between two repetitions of the same code.
    worst_ratio: float

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.pairs if self.pairs else 0.0


def calibrate(
    cases: list[Case],
    repetitions: int,
    measure_fresh: MeasureFresh,
    settings: GateSettings,
    progress: Callable[[str], None] = lambda _: None,
    current_processes: int | None = None,
) -> list[CalibrationRow]:
    """Measure all cases `repetitions` times, then judge every ordered pair per case."""
    runs: dict[str, list[Processes]] = {case.id: [] for case in cases}
    for index in range(repetitions):
        progress(f"repetition {index + 1}/{repetitions} of {len(cases)} cases")
        for case_id, results in measure_fresh(cases).items():
            measured = [r.measurement.samples for r in results if r.measurement]
            if measured:
                runs[case_id].append(tuple(tuple(samples) for samples in measured))
    return [
        judge_pairs(case_id, repeated, settings, current_processes)
        for case_id, repeated in runs.items()
    ]


def judge_pairs(
    case_id: str,
    runs: Sequence[Processes],
    settings: GateSettings,
    current_processes: int | None = None,
) -> CalibrationRow:
    """Judge every ordered pair (a as baseline, b as current) of unchanged repetitions.

    The current side and the rounds use the first `current_processes` of a repetition (None:
    all), the baseline side all of them.
    """

    def current(index: int) -> Processes:
        return runs[index][:current_processes] if current_processes else runs[index]

    pairs = list(itertools.permutations(range(len(runs)), 2))
    verdicts, suspects = [], 0
    for a, b in pairs:
        first = judge_samples(case_id, runs[a], current(b), settings)
        later = [current(i) for i in range(b + 1, len(runs)) if i != a]
        later += [current(i) for i in range(b) if i != a]
        suspects += is_suspect(first, settings)
        verdicts.append(confirm_with(first, runs[a], current(b), later, settings))
    detectable = [v.detectable for v in verdicts if v.detectable is not None]
    ratios = [v.ratio for v in verdicts if v.ratio is not None]
    return CalibrationRow(
        case_id=case_id,
        repetitions=len(runs),
        pairs=len(pairs),
        suspects=suspects,
        false_alarms=sum(v.verdict in (Outcome.REGRESSION, Outcome.FASTER) for v in verdicts),
        detectable=statistics.median(detectable) if detectable else None,
        worst_ratio=max(ratios, default=1.0),
    )


def confirm_with(
    first: Verdict,
    baseline: Processes,
    current: Processes,
    later: Sequence[Processes],
    settings: GateSettings,
) -> Verdict:
    """The gate's confirmation, with later repetitions standing in for its rounds.

    With fewer repetitions left than rounds configured, the last one available decides (as
    the gate's last round does), so no pair stays open.
    """
    if later:
        settings = replace(settings, confirm_rounds=min(settings.confirm_rounds, len(later)))
    verdict, rounds = first, []
    for processes in later[: settings.confirm_rounds]:
        if not is_suspect(verdict, settings):
            break
        rounds.append(Round(processes))
        verdict = decide(first, baseline, current, rounds, settings)
    return verdict


def calibration_table(rows: Sequence[CalibrationRow]) -> str:
    """Per case: repetitions, suspects and false alarms among ordered pairs, detectable slowdown."""
    headers = ("case", "repetitions", "suspects", "false alarms", "detects >=", "worst A/A ratio")
    body = [
        (
            row.case_id,
            str(row.repetitions),
            f"{row.suspects}/{row.pairs}" if row.pairs else "-",
            f"{row.false_alarms}/{row.pairs} ({row.false_alarm_rate:.0%})" if row.pairs else "-",
            f"{row.detectable - 1:.0%}" if row.detectable else "-",
            f"{row.worst_ratio:.2f}x" if row.pairs else "-",
        )
        for row in rows
    ]
    return format_table(headers, body)
