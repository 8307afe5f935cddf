"""`twinbench history`: per case, the trend over the stored runs, with change points."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from twinbench.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_history_arguments,
    error,
    results_dir,
    stored_history,
)
from twinbench.history.trends import HEADERS, Trend, trend_cells, trend_table, trends

NAME = "history"


def add_parser(commands: Any) -> None:
    """Register `history` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="per case, the trend over the stored runs, with change points",
        description="Read every run under RESULTS/history (unreadable files are reported and "
        "skipped, never changed) and print per case: runs, first and latest level (the "
        "gate's figure: median of the per-process levels), ratios to the first and the "
        "previous run, a sparkline of the last 30 runs, and the change points found "
        "(ruptures, each confirmed by a Mann-Whitney test). A table in a terminal, plain text "
        "in a pipe.",
    )
    add_history_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the trend table."""
    history, nothing = stored_history(args)
    if nothing is not None:
        if not args.allow_empty:
            error(NAME, nothing)
            return EXIT_USAGE
        print(f"no runs with cases matching {args.case!r} under {results_dir(args)}/history")
        return EXIT_OK
    rows = trends(history, args.case)
    if sys.stdout.isatty():
        _print_rich(rows)
    else:
        print(trend_table(rows))
    return EXIT_OK


def _print_rich(rows: list[Trend]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*HEADERS, title="twinbench history")
    for trend in rows:
        style = "red" if trend.steps and trend.steps[-1].ratio > 1 else None
        table.add_row(*trend_cells(trend), style=style)
    Console().print(table)
