"""The `twinbench` console script: one module per subcommand, its parser beside its handler."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from twinbench.cli import ab, calibrate, check, compare, export, history, report, show
from twinbench.cli.common import EXIT_OK, EXIT_POLICY

COMMANDS = (show, check, compare, history, report, export, calibrate, ab)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="twinbench",
        description="Review twinbench run files. Benchmarks themselves run under pytest: "
        "`pytest benches --help` lists their options.",
        epilog=EXIT_POLICY,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except BrokenPipeError:  # `twinbench history | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return status


if __name__ == "__main__":
    sys.exit(main())
