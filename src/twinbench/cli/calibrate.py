"""`twinbench calibrate`: repeated A/A measurements, the gate's false alarms on this machine."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from twinbench.bench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
)
from twinbench.bench.resolve import BenchOptions, resolve_options
from twinbench.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, error
from twinbench.core.cases import Case, build_matrix
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult
from twinbench.execute.fit import fit_unsupported
from twinbench.execute.pool import WorkerPool
from twinbench.gate.calibrate import CalibrationRow, calibrate, calibration_table
from twinbench.gate.settings import GateSettings

NAME = "calibrate"


def add_parser(commands: Any) -> None:
    """Register `calibrate` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="measure unchanged cases repeatedly: the gate's false-alarm rate on this machine",
        description="Measure the selected cases --repetitions times, each time in a fresh set "
        "of worker processes, judge every ordered pair of repetitions as the gate would (a "
        "suspect is re-judged with the later repetitions as its confirmation rounds), and "
        "print per case the suspects, the false-alarm rate, the median smallest detectable "
        "slowdown and the worst ratio seen between unchanged repetitions. Each repetition is "
        "measured in as many processes as a --save-baseline run; as a current run or a round "
        "only the profile's --processes count, as in the gate. Takes the options of `pytest "
        "benches` to select cases and the gate's settings to judge them. Ends with a "
        "recommendation: a --case-threshold for each case that moved as far as its threshold "
        "with unchanged code. Ctrl-C stops it cleanly (exit 130).",
    )
    parser.add_argument(
        "--repetitions",
        type=at_least_two,
        default=4,
        metavar="N",
        help="measurements per case, at least 2 (default 4)",
    )
    add_bench_options(parser.add_argument)
    add_gate_options(parser.add_argument)
    parser.set_defaults(handler=run)


def at_least_two(text: str) -> int:
    """--repetitions: a pair needs two repetitions, so fewer would judge nothing."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"{value}: at least 2 (every ordered pair of repetitions is judged; 4 is the default)"
        )
    return value


def run(args: argparse.Namespace) -> int:
    """Measure, judge, print the table and what to do with it."""
    try:
        options = resolve_options(lambda name: getattr(args, name, None), Path.cwd())
    except OptionError as problem:
        error(NAME, str(problem))
        return EXIT_USAGE
    cases = [case for case in build_matrix(options.selection) if not fit_unsupported(case)]
    measure = RunnableOnly(cases, args.repetitions, options)
    try:
        rows = calibrate(
            cases,
            args.repetitions,
            measure,
            options.gate,
            current_processes=options.processes,
        )
    except KeyboardInterrupt:
        error(
            NAME,
            f"interrupted after {measure.done} of {args.repetitions} repetitions: nothing "
            "judged. Run it again, with fewer --repetitions or cases to finish sooner",
        )
        return EXIT_INTERRUPTED
    runnable = [row for row in rows if row.repetitions]
    print(calibration_table(runnable))
    for line in measure.skipped_lines():
        print(line)
    print()
    print("\n".join(recommendation(runnable, options.gate)))
    return EXIT_OK


class RunnableOnly:
    """Measures a fresh pool per repetition; after the first, only the cases that ran.

    Which cases cannot run here (CUDA without a GPU) is known only once a worker has tried,
    so the first repetition finds out and the later ones, and the progress, leave them out.
    """

    def __init__(self, cases: list[Case], repetitions: int, options: BenchOptions) -> None:
        self.cases, self.repetitions, self.options = cases, repetitions, options
        self.done = 0
        self.skipped: dict[str, str] = {}

    def __call__(self, cases: list[Case]) -> dict[str, list[CaseResult]]:
        runnable = [case for case in cases if case.id not in self.skipped]
        progress(
            f"repetition {self.done + 1}/{self.repetitions}: {len(runnable)} case(s)"
            + (f" ({len(self.skipped)} cannot run here)" if self.skipped else "")
        )
        # As many processes as a baseline run: each repetition serves as a baseline too.
        pool = WorkerPool(self.options.baseline_processes, self.options.threads)
        try:
            results = pool.measure_all(runnable, self.options.profile.timing)
        finally:
            pool.close()
        for case_id, processes in results.items():
            if processes and all(p.status == Status.SKIPPED for p in processes):
                self.skipped[case_id] = processes[0].reason or "skipped"
        self.done += 1
        return {k: v for k, v in results.items() if k not in self.skipped}

    def skipped_lines(self) -> list[str]:
        """The cases that could not run here, folded into one line per reason."""
        by_reason: dict[str, int] = {}
        for reason in self.skipped.values():
            by_reason[reason] = by_reason.get(reason, 0) + 1
        return [f"{n} case(s) not measured here: {reason}" for reason, n in by_reason.items()]


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def recommendation(rows: list[CalibrationRow], settings: GateSettings) -> list[str]:
    """What to pass to the gate: a --case-threshold above the worst unchanged ratio of each
    case that raised a false alarm or came within reach of its threshold."""
    noisy = [
        row
        for row in rows
        if row.false_alarms or row.worst_ratio >= settings.threshold_for(row.case_id)
    ]
    if not rows:
        return ["recommendation: nothing could be measured here, so nothing to recommend"]
    if not noisy:
        worst = max(row.worst_ratio for row in rows)
        return [
            f"recommendation: keep the thresholds: no false alarm, and the worst ratio between "
            f"unchanged repetitions ({worst:.2f}x) stays below each case's threshold"
        ]
    lines = [
        f"recommendation: {len(noisy)} case(s) moved as far as their threshold with unchanged "
        "code; give each a threshold above its worst ratio (pytest benches, twinbench check):"
    ]
    for row in noisy:
        suggested = math.ceil((row.worst_ratio + 0.05) * 100) / 100
        lines.append(f"  --case-threshold '{row.case_id}={suggested:.2f}'")
    return lines
