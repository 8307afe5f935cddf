"""`twinbench check`: the regression gate outside pytest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinbench.bench.options import add_gate_options, add_results_dir
from twinbench.bench.resolve import gate_settings
from twinbench.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, results_dir
from twinbench.gate.compare import compare_runs
from twinbench.gate.session_gate import GateOutcome, apply_confirmations, verdict_lines
from twinbench.results.baselines import find_baseline
from twinbench.results.storage import RunFileError, read_run

NAME = "check"


def add_parser(commands: Any) -> None:
    """Register `check` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="compare a run file with a baseline, with the same verdicts and exit codes as pytest",
        description="Judge RUN against BASELINE (default: the baseline of RUN's machine "
        "identity under --results-dir, found in today's layout or a pre-schema-3 one). "
        "Software-stack changes since the baseline are named above the verdicts and judged "
        "(--like-for-like refuses them). Suspects that pytest re-measured are confirmed from "
        "the re-measurement stored in RUN; `check` itself measures nothing, so others stay "
        "unconfirmed regressions.",
    )
    parser.add_argument("run", type=Path, metavar="RUN", help="run file to judge")
    parser.add_argument("--baseline", type=Path, metavar="FILE", help="baseline or run file")
    add_results_dir(parser.add_argument)
    add_gate_options(parser.add_argument)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the verdicts; exit 1 when they fail the run."""
    baseline: dict[str, Any] | None
    try:
        current = read_run(args.run)
        if args.baseline is not None:
            baseline, source = read_run(args.baseline), args.baseline
        else:
            source = find_baseline(results_dir(args), current["twinbench"]["identity_id"])
            baseline = read_run(source) if source is not None else None
    except RunFileError as problem:
        error(NAME, str(problem))
        return EXIT_USAGE
    settings = gate_settings(lambda name: getattr(args, name))
    comparison = compare_runs(baseline, current, settings)
    if baseline is not None:
        apply_confirmations(baseline, current, comparison, settings)
    print("\n".join(verdict_lines(GateOutcome(comparison, source))))
    return EXIT_FAILED if comparison.failed(args.strict_gate) else EXIT_OK
