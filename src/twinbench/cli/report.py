"""`twinbench report`: one self-contained HTML page of a results folder."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from twinbench.cli.common import EXIT_OK, EXIT_USAGE, add_history_arguments, error, stored_history

NAME = "report"


def add_parser(commands: Any) -> None:
    """Register `report` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="write one self-contained HTML page: verdicts, trends, change points, machine",
        description="Write an HTML file that opens offline: the latest run's verdicts, Keras "
        "against PyTorch per model, device and mode, per case its history with change points "
        "marked, and the machine and software.",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("report.html"), help="default: report.html"
    )
    add_history_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the page and say where."""
    from twinbench.history.html import render_report  # matplotlib: only for this command

    history, nothing = stored_history(args)
    if nothing is not None and not args.allow_empty:
        error(NAME, f"{nothing}; nothing written")
        return EXIT_USAGE
    # The history lives until this command exits: out of the cycle collector's sight, the
    # many collections matplotlib's objects trigger stop scanning it.
    gc.freeze()
    args.output.write_text(render_report(history, args.case), encoding="utf-8")
    print(f"wrote {args.output} ({len(history.runs)} runs)")
    return EXIT_OK
