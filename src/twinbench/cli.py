"""The `twinbench` console script: one small function per subcommand (asv style)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twinbench.baselines import baseline_path, load_baseline
from twinbench.calibrate import calibrate
from twinbench.cases import Case, build_matrix
from twinbench.compare import compare_runs
from twinbench.execution import CaseResult
from twinbench.gate import GateOutcome, apply_confirmations, verdict_lines
from twinbench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
    gate_settings,
    resolve_options,
)
from twinbench.report import calibration_table, run_summary
from twinbench.storage import RunFileError, read_run
from twinbench.workers import WorkerPool

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
        schema = f"schema {meta['schema_version']}"
        if meta.get("migrated_from"):
            schema += f", migrated from {meta['migrated_from']} on reading"
        print(f"{path}  ({schema}, fingerprint {meta['fingerprint_id']},")
        print(f"  {meta['metadata'].get('cpu_model')}, {len(run['benchmarks'])} measured cases)")
        print()
        print("\n".join(run_summary(run)))
        print()
    return status


def cmd_check(args: argparse.Namespace) -> int:
    """The regression gate outside pytest: exit 1 on a regression (or, strictly, worse)."""
    baseline: dict[str, Any] | None
    try:
        run = read_run(args.run)
        if args.baseline is not None:
            baseline, source = read_run(args.baseline), args.baseline
        else:
            fingerprint_id = run["twinbench"]["fingerprint_id"]
            baseline = load_baseline(args.results_dir, fingerprint_id)
            source = baseline_path(args.results_dir, fingerprint_id) if baseline else None
    except RunFileError as error:
        print(f"twinbench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    settings = gate_settings(lambda name: getattr(args, name))
    comparison = compare_runs(baseline, run, settings)
    if baseline is not None:
        apply_confirmations(baseline, run, comparison, settings)
    print("\n".join(verdict_lines(GateOutcome(comparison, source))))
    return EXIT_FAILED if comparison.failed(args.strict_gate) else EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Repeated A/A measurements: false-alarm rate and detectable effect per case."""
    try:
        options = resolve_options(lambda name: getattr(args, name, None), Path.cwd())
    except OptionError as error:
        print(f"twinbench calibrate: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    def measure_fresh(cases: list[Case]) -> dict[str, list[CaseResult]]:
        pool = WorkerPool(options.processes, options.threads)
        try:
            return pool.measure_all(cases, options.profile.timing)
        finally:
            pool.close()

    rows = calibrate(
        build_matrix(options.selection),
        args.repetitions,
        measure_fresh,
        options.gate,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(calibration_table(rows))
    return EXIT_OK


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

    check = commands.add_parser(
        "check",
        help="compare a run file with a baseline, with the same verdicts and exit codes as pytest",
        description="Judge RUN against BASELINE (default: the baseline of RUN's machine "
        "fingerprint under --results-dir). Suspects that pytest re-measured are confirmed from "
        "the re-measurement stored in RUN; others stay unconfirmed regressions. Exit status: 0 "
        "ok, 1 regression (with --strict-gate also incomparable, no-baseline, missing, oom, "
        "error), 2 unreadable file.",
    )
    check.add_argument("run", type=Path, metavar="RUN", help="run file to judge")
    check.add_argument("--baseline", type=Path, metavar="FILE", help="baseline or run file")
    check.add_argument(
        "--results-dir",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="where baselines/ lives (default: results)",
    )
    add_gate_options(check.add_argument)
    check.set_defaults(handler=cmd_check)

    calibrate = commands.add_parser(
        "calibrate",
        help="measure unchanged cases repeatedly: the gate's false-alarm rate on this machine",
        description="Measure the selected cases --repetitions times, each time in a fresh set of "
        "worker processes, judge every ordered pair of repetitions as the gate would (a suspect "
        "is re-judged with the later repetitions as its confirmation rounds), and print per "
        "case the suspects, the false-alarm rate, the median smallest detectable slowdown "
        "and the worst ratio seen between unchanged repetitions. Takes "
        "options of `pytest benches` to select cases and gate settings to judge them.",
    )
    calibrate.add_argument(
        "--repetitions", type=int, default=4, metavar="N", help="measurements per case (default 4)"
    )
    add_bench_options(calibrate.add_argument)
    add_gate_options(calibrate.add_argument)
    calibrate.set_defaults(handler=cmd_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
