"""The `twinbench` console script: one small function per subcommand (asv style)."""

from __future__ import annotations

import argparse
import gc
import os
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
from twinbench.history import History, load_history
from twinbench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
    gate_settings,
    resolve_options,
)
from twinbench.report import calibration_table, run_summary
from twinbench.storage import RunFileError, read_run
from twinbench.trends import HEADERS, Trend, trend_cells, trend_table, trends
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
        # As many processes as a baseline run: each repetition serves as a baseline too.
        pool = WorkerPool(options.baseline_processes, options.threads)
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
        current_processes=options.processes,
    )
    print(calibration_table(rows))
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    """Per case: its trend over the stored runs, with change points."""
    history = load_history(args.results_dir, args.machine)
    _report_unreadable(history)
    rows = trends(history, args.case)
    if not rows:
        print(f"no runs with cases matching {args.case!r} under {args.results_dir}/history")
        return EXIT_OK
    if sys.stdout.isatty():
        _print_rich_trends(rows)
    else:
        print(trend_table(rows))
    return EXIT_OK


def _print_rich_trends(rows: list[Trend]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*HEADERS, title="twinbench history")
    for trend in rows:
        style = "red" if trend.steps and trend.steps[-1].ratio > 1 else None
        table.add_row(*trend_cells(trend), style=style)
    Console().print(table)


def _report_unreadable(history: History) -> None:
    for path, reason in history.unreadable:
        print(f"twinbench: skipped unreadable {path}: {reason}", file=sys.stderr)


def cmd_compare(args: argparse.Namespace) -> int:
    """Two runs side by side: the gate's verdicts of B against A, without re-measuring."""
    try:
        first, second = read_run(args.a), read_run(args.b)
    except RunFileError as error:
        print(f"twinbench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    comparison = compare_runs(first, second, gate_settings(lambda name: getattr(args, name)))
    print("\n".join(verdict_lines(GateOutcome(comparison, args.a))))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the self-contained HTML report of a results folder."""
    from twinbench.html_report import render_report  # matplotlib: only for this command

    history = load_history(args.results_dir, args.machine)
    _report_unreadable(history)
    # The history lives until this command exits: out of the cycle collector's sight, the
    # many collections matplotlib's objects trigger stop scanning it (500 runs x 200 cases:
    # drawing 10.5 s -> 7.4 s).
    gc.freeze()
    args.output.write_text(render_report(history, args.case), encoding="utf-8")
    print(f"wrote {args.output} ({len(history.runs)} runs)")
    return EXIT_OK


def _add_results_dir(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help=f"where {what} lives (default: results)",
    )


def _add_history_arguments(parser: argparse.ArgumentParser) -> None:
    _add_results_dir(parser, "history/")
    parser.add_argument(
        "--machine", metavar="SLUG", help="only this machine's folder under history/"
    )
    parser.add_argument(
        "--case", default="*", metavar="PATTERN", help="glob on case ids (default: all)"
    )


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
    _add_results_dir(check, "baselines/")
    add_gate_options(check.add_argument)
    check.set_defaults(handler=cmd_check)

    calibrate = commands.add_parser(
        "calibrate",
        help="measure unchanged cases repeatedly: the gate's false-alarm rate on this machine",
        description="Measure the selected cases --repetitions times, each time in a fresh set of "
        "worker processes, judge every ordered pair of repetitions as the gate would (a suspect "
        "is re-judged with the later repetitions as its confirmation rounds), and print per "
        "case the suspects, the false-alarm rate, the median smallest detectable slowdown "
        "and the worst ratio seen between unchanged repetitions. Each repetition is measured "
        "in as many processes as a --save-baseline run; as a current run or a round only the "
        "profile's --processes count, as in the gate. Takes "
        "options of `pytest benches` to select cases and gate settings to judge them.",
    )
    calibrate.add_argument(
        "--repetitions", type=int, default=4, metavar="N", help="measurements per case (default 4)"
    )
    add_bench_options(calibrate.add_argument)
    add_gate_options(calibrate.add_argument)
    calibrate.set_defaults(handler=cmd_calibrate)

    history = commands.add_parser(
        "history",
        help="per case, the trend over the stored runs, with change points",
        description="Read every run under RESULTS/history (unreadable files are reported and "
        "skipped, never changed) and print per case: runs, first and latest step time (the "
        "gate's figure: median of the process levels), ratios to the first and the previous "
        "run, a sparkline of the last 30 runs, and the change points found (ruptures, each "
        "confirmed by a Mann-Whitney test). A table in a terminal, plain text in a pipe.",
    )
    _add_history_arguments(history)
    history.set_defaults(handler=cmd_history)

    compare = commands.add_parser(
        "compare",
        help="two run files side by side: ratios, significance and verdicts of B against A",
        description="Judge run B against run A with the gate's own statistics (process "
        "levels, permutation test, threshold), without re-measuring. Exit status 0, or 2 "
        "when a file cannot be read.",
    )
    compare.add_argument("a", type=Path, metavar="A", help="the earlier run (the reference)")
    compare.add_argument("b", type=Path, metavar="B", help="the later run")
    add_gate_options(compare.add_argument)
    compare.set_defaults(handler=cmd_compare)

    report = commands.add_parser(
        "report",
        help="write one self-contained HTML page: trends, change points, verdicts, machine",
        description="Write an HTML file that opens offline: the latest run's machine, software "
        "and verdicts, Keras against PyTorch per model, device and mode, and per case its "
        "history with change points marked.",
    )
    report.add_argument(
        "-o", "--output", type=Path, default=Path("report.html"), help="default: report.html"
    )
    _add_history_arguments(report)
    report.set_defaults(handler=cmd_report)
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
