"""The `twinbench` console script: one small function per subcommand (asv style)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from twinbench.report import run_summary
from twinbench.storage import RunFileError, read_run

# Exit statuses shared by every subcommand.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_show(args: argparse.Namespace) -> int:
    """Validate run files and print their tables; a bad file is named with its bad key."""
    status = EXIT_OK
    for path in args.runs:
        try:
            run = read_run(path)
        except RunFileError as error:
            print(f"twinbench: error: {error}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        meta = run["twinbench"]
        print(f"{path}  (schema {meta['schema_version']}, fingerprint {meta['fingerprint_id']},")
        print(f"  {meta['metadata'].get('cpu_model')}, {len(run['benchmarks'])} measured cases)")
        print()
        print("\n".join(run_summary(run)))
        print()
    return status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="twinbench",
        description="Review twinbench run files. Benchmarks themselves run under pytest: "
        "`pytest benches --help` lists their options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    show = commands.add_parser(
        "show",
        help="validate run files and print their case and Keras-vs-PyTorch tables",
        description="Validate each run file (schema version, keys, finite numbers) and print "
        "its tables. Exit 1 when any file is unreadable; the error names the file and the key.",
    )
    show.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run file (JSON)")
    show.set_defaults(handler=cmd_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
