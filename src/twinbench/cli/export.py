"""`twinbench export RUN`: a stored run as the plain JSON file `pytest-benchmark compare` reads."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinbench.cli.common import EXIT_OK, EXIT_USAGE, error
from twinbench.core.jsonfile import write_json_atomic
from twinbench.results.storage import RunFileError, read_run

NAME = "export"


def add_parser(commands: Any) -> None:
    """Register `export` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="write a run file as plain JSON that `pytest-benchmark compare` reads",
        description="Read RUN (compressed .json.xz or plain .json, any schema this twinbench "
        "reads), validate it, and write it as plain, indented JSON in pytest-benchmark's "
        "layout, every sample in `stats.data`: `pytest-benchmark compare OUT.json ...` then "
        "compares it like any pytest-benchmark run. Migrated to today's schema on the way.",
    )
    parser.add_argument("run", type=Path, metavar="RUN", help="run file to export")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT.json",
        help="file to write (replaced if it exists; must end in .json, the only files "
        "pytest-benchmark compare reads)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the plain export; exit 2 when RUN cannot be read or OUT is misnamed."""
    if args.output.suffix != ".json":
        error(NAME, f"--output {args.output}: name it *.json (pytest-benchmark reads no other)")
        return EXIT_USAGE
    if args.output.resolve() == args.run.resolve():
        error(
            NAME,
            f"--output {args.output} is RUN itself: run files are never rewritten; name another",
        )
        return EXIT_USAGE
    try:
        data = read_run(args.run)
    except RunFileError as problem:
        error(NAME, str(problem))
        return EXIT_USAGE
    write_json_atomic(args.output, data)
    cases = len(data["benchmarks"])
    print(f"wrote {args.output} ({cases} measured cases)")
    return EXIT_OK
