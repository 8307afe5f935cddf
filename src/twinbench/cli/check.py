"""`twinbench check`: the regression gate outside pytest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinbench.bench.explain import explanation_lines
from twinbench.bench.options import add_gate_options, add_results_dir
from twinbench.bench.resolve import gate_settings
from twinbench.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, results_dir
from twinbench.gate.code_check import apply_stored_check
from twinbench.gate.compare import compare_runs
from twinbench.gate.rounds import apply_confirmations
from twinbench.gate.session_gate import GateOutcome, choose_baseline, verdict_lines
from twinbench.gate.witness_notes import add_witness_notes
from twinbench.results.baselines import baseline_path, pooled_run_count
from twinbench.results.storage import RunFileError, read_run

NAME = "check"


def add_parser(commands: Any) -> None:
    """Register `check` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="compare a run file with a baseline, with the same verdicts and exit codes as pytest",
        description="Judge RUN against BASELINE (default: the baseline of RUN's machine "
        "identity in RUN's own results folder, the one above its history/ folder, else under "
        "--results-dir; found in today's layout or a pre-schema-3 one; the line above the "
        "verdicts says which file was used or where it was looked for). Software-stack changes "
        "since the baseline are named above the verdicts and judged (--like-for-like refuses "
        "them). Suspects that pytest re-measured are confirmed from the re-measurement stored "
        "in RUN; `check` itself measures nothing, so others stay "
        "unconfirmed regressions. With --baseline-window N the baseline is pooled from the "
        "last N runs of RUN's machine identity in the history that started before RUN "
        "(falling back to the saved baseline while there are none).",
    )
    parser.add_argument("run", type=Path, metavar="RUN", help="run file to judge")
    parser.add_argument("--baseline", type=Path, metavar="FILE", help="baseline or run file")
    add_results_dir(parser.add_argument)
    add_gate_options(parser.add_argument, remeasures=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the verdicts; exit 1 when they fail the run."""
    baseline: dict[str, Any] | None
    settings = gate_settings(lambda name: getattr(args, name))
    notes: list[str] = []
    try:
        current = read_run(args.run)
        if args.baseline is not None:
            baseline, source = read_run(args.baseline), args.baseline
            if settings.baseline_window:
                notes.append("--baseline-window does not apply: --baseline names the file")
        else:
            folder = baseline_folder(args)
            baseline, source, notes = choose_baseline(current, folder, settings)
            if baseline is None:
                looked = baseline_path(folder, current["twinbench"]["identity_id"])
                print(f"no baseline at {looked} (looked in {_why(args)})")
    except (RunFileError, MissingFolder) as problem:
        error(NAME, str(problem))
        return EXIT_USAGE
    comparison = compare_runs(baseline, current, settings)
    if baseline is not None:
        apply_confirmations(baseline, current, comparison, settings)
        apply_stored_check(baseline, current, comparison)
    add_witness_notes(current, comparison, baseline)  # as the run's own table showed them
    pooled = pooled_run_count(baseline) if baseline else 0
    print("\n".join(verdict_lines(GateOutcome(comparison, source, pooled, notes))))
    for line in explanation_lines(comparison, settings):
        print(line)
    return EXIT_FAILED if comparison.failed(args.strict_gate) else EXIT_OK


class MissingFolder(Exception):
    """--results-dir names a folder that does not exist or is no results folder."""


def baseline_folder(args: argparse.Namespace) -> Path:
    """Where RUN's baseline lives: --results-dir when given (it must exist), else the results
    folder RUN itself was written to (``<results>/history/<machine>/RUN``), else ./results."""
    if args.results_dir is not None:
        folder = Path(args.results_dir)
        if not folder.is_dir():
            raise MissingFolder(
                f"--results-dir {folder} does not exist: name the folder that holds "
                "baselines/, or leave the option out to use RUN's own results folder"
            )
        if not any((folder / sub).is_dir() for sub in ("baselines", "history")):
            raise MissingFolder(
                f"--results-dir {folder} holds neither baselines/ nor history/, so it is no "
                "results folder: name the one pytest wrote, or leave the option out"
            )
        return folder
    return results_folder_of(args.run) or results_dir(args)


def results_folder_of(run_path: Path) -> Path | None:
    """The results folder above a run file's history/ folder, if it lies in one."""
    for parent in run_path.resolve().parents:
        if parent.name == "history":
            return parent.parent
    return None


def _why(args: argparse.Namespace) -> str:
    if args.results_dir is not None:
        return "--results-dir"
    if results_folder_of(args.run) is not None:
        return "RUN's own results folder; --results-dir or --baseline choose another"
    return "./results, as RUN lies in no history/ folder; --results-dir or --baseline choose"
