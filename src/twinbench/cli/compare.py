"""`twinbench compare A B`: two run files side by side, without re-measuring."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinbench.bench.explain import explanation_lines
from twinbench.bench.options import add_gate_options
from twinbench.bench.resolve import gate_settings
from twinbench.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error
from twinbench.gate.compare import compare_runs
from twinbench.gate.session_gate import GateOutcome, verdict_lines
from twinbench.results.storage import RunFileError, read_run

NAME = "compare"


def add_parser(commands: Any) -> None:
    """Register `compare` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="two run files side by side: ratios, significance and verdicts of B against A",
        description="Judge run B against run A with the gate's own statistics (process "
        "levels, permutation test, threshold). Nothing is re-measured, so a suspect stays "
        "an unconfirmed regression.",
    )
    parser.add_argument("a", type=Path, metavar="A", help="the earlier run (the reference)")
    parser.add_argument("b", type=Path, metavar="B", help="the later run")
    add_gate_options(parser.add_argument, remeasures=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print B's verdicts against A; exit 1 when they would fail a run."""
    try:
        first, second = read_run(args.a), read_run(args.b)
    except RunFileError as problem:
        error(NAME, str(problem))
        return EXIT_USAGE
    settings = gate_settings(lambda name: getattr(args, name))
    comparison = compare_runs(first, second, settings)
    print("\n".join(verdict_lines(GateOutcome(comparison, args.a))))
    for line in explanation_lines(comparison, settings):
        print(line)
    return EXIT_FAILED if comparison.failed(args.strict_gate) else EXIT_OK
