"""`twinbench calibrate`: repeated A/A measurements, the gate's false alarms on this machine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from twinbench.bench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
)
from twinbench.bench.resolve import resolve_options
from twinbench.cli.common import EXIT_OK, EXIT_USAGE, error
from twinbench.core.cases import Case, build_matrix
from twinbench.execute.case import CaseResult
from twinbench.execute.pool import WorkerPool
from twinbench.gate.calibrate import calibrate, calibration_table

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
        "benches` to select cases and the gate's settings to judge them.",
    )
    parser.add_argument(
        "--repetitions", type=int, default=4, metavar="N", help="measurements per case (default 4)"
    )
    add_bench_options(parser.add_argument)
    add_gate_options(parser.add_argument)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Measure, judge, print the table."""
    try:
        options = resolve_options(lambda name: getattr(args, name, None), Path.cwd())
    except OptionError as problem:
        error(NAME, str(problem))
        return EXIT_USAGE

    def measure_fresh(cases: list[Case]) -> dict[str, list[CaseResult]]:
        # As many processes as a baseline run: each repetition serves as a baseline too.
        pool = WorkerPool(options.baseline_processes, options.threads)
        try:
            return pool.measure_all(cases, options.profile.timing)
        finally:
            pool.close()

    rows = calibrate(
        build_matrix(options.selection),
        args.repetitions,
        measure_fresh,
        options.gate,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
        current_processes=options.processes,
    )
    print(calibration_table(rows))
    return EXIT_OK
