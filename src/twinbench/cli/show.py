"""`twinbench show`: validate run files and print their tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinbench.cli.common import EXIT_OK, EXIT_USAGE, error
from twinbench.render.text import run_summary
from twinbench.results.metadata import STACK_LABELS
from twinbench.results.storage import RunFileError, read_run

NAME = "show"


def add_parser(commands: Any) -> None:
    """Register `show` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="validate run files and print their case and Keras-vs-PyTorch tables",
        description="Validate each run file (schema version, keys, finite numbers) and print "
        "its tables. An unreadable file is named with its bad key (exit 2).",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run file (JSON)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print every readable file; exit 2 when any could not be read."""
    status = EXIT_OK
    for path in args.runs:
        try:
            data = read_run(path)
        except RunFileError as problem:
            error(NAME, str(problem))
            status = EXIT_USAGE
            continue
        print("\n".join(header_lines(path, data)))
        print()
        print("\n".join(run_summary(data)))
        print()
    return status


def header_lines(path: Path, data: dict[str, Any]) -> list[str]:
    """The file, its schema, its machine and its software stack, above the tables."""
    meta = data["twinbench"]
    schema = f"schema {meta['schema_version']}"
    if meta.get("migrated_from"):
        schema += f", migrated from {meta['migrated_from']} on reading"
    return [
        f"{path}  ({schema}, machine {meta['identity_id']},",
        f"  {meta['metadata'].get('cpu_model')}, {len(data['benchmarks'])} measured cases)",
        f"  stack: {stack_summary(meta['stack'])}",
    ]


def stack_summary(stack: dict[str, Any]) -> str:
    """The software stack on one line: "Python 3.11.7, torch 2.13.0, ..." (absent ones left out)."""
    return ", ".join(
        f"{STACK_LABELS.get(field, field)} {value}"
        for field, value in stack.items()
        if value not in (None, "")
    )
