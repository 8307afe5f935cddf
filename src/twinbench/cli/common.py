"""What every subcommand shares: exit statuses, error lines, and the arguments they all take."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twinbench.bench.options import DEFAULT_RESULTS_DIR, add_results_dir
from twinbench.history.store import History, load_history

# One exit-code policy for every subcommand (also printed by `twinbench --help`).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Ctrl-C: the shell's convention (128 + SIGINT), so a script can tell it from a failed gate.
EXIT_INTERRUPTED = 130
EXIT_POLICY = (
    "exit status: 0 done (no failing verdict); 1 the gate failed (a regression, changed "
    "numerics, a model pair not identical; with --strict-gate also unsure, incomparable, "
    "no-baseline, missing, oom, error); 2 usage error or an input that cannot be read "
    "(including a results folder that does not exist or holds no runs); 130 interrupted "
    "(Ctrl-C)."
)


def error(command: str, message: str) -> None:
    """Print `message` as this command's error line on stderr."""
    print(f"twinbench {command}: error: {message}", file=sys.stderr)


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """The selection of stored runs that `history` and `report` read."""
    add_results_dir(parser.add_argument)
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="a results folder with no runs (or none matching --case) is not an error: "
        "print or write an empty result and exit 0 (default: exit 2 naming the folder, since "
        "a wrong path would otherwise pass silently)",
    )
    parser.add_argument(
        "--machine", metavar="SLUG", help="only this machine's folder under history/"
    )
    parser.add_argument(
        "--case", default="*", metavar="PATTERN", help="glob on case ids (default: all)"
    )


def results_dir(args: argparse.Namespace) -> Path:
    """The results folder the user named, else the default one."""
    return Path(args.results_dir or DEFAULT_RESULTS_DIR)


class NoRuns(Exception):
    """A results folder that does not exist or holds nothing to show; the message says what."""


def check_history(folder: Path, history: History, pattern: str) -> None:
    """Raise NoRuns when `history` is empty or no case matches `pattern`."""
    if not folder.is_dir():
        raise NoRuns(
            f"no results folder at {folder}: pass --results-dir DIR, the folder that holds "
            "history/ and baselines/ (pytest writes results/ in the directory it ran from)"
        )
    if not history.runs:
        raise NoRuns(
            f"no run files under {folder / 'history'}: run `pytest benches` there first, or "
            "pass --results-dir DIR (--allow-empty accepts an empty folder)"
        )
    if not history.cases(pattern):
        raise NoRuns(
            f"no case matches {pattern!r} in the {len(history.runs)} run(s) under "
            f"{folder / 'history'}: check the glob (`twinbench history` lists every case)"
        )


def stored_history(args: argparse.Namespace) -> tuple[History, str | None]:
    """The runs `history` and `report` show, with unreadable files named, and why there is
    nothing to show (None when there is)."""
    folder = results_dir(args)
    history = load_history(folder, args.machine)
    report_unreadable(history)
    try:
        check_history(folder, history, args.case)
    except NoRuns as problem:
        return history, str(problem)
    return history, None


def report_unreadable(history: History) -> None:
    """Name every run file that was skipped because it could not be read."""
    for path, reason in history.unreadable:
        print(f"twinbench: skipped unreadable {path}: {reason}", file=sys.stderr)
