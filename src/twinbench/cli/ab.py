"""`twinbench ab`: is environment B faster or slower than A? Interleaved, in one sitting."""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twinbench.bench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
    add_results_dir,
)
from twinbench.bench.resolve import BenchOptions, resolve_options
from twinbench.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error
from twinbench.core.cases import build_matrix
from twinbench.core.cpus import usable_cpus
from twinbench.execute.ab_measure import ab_measurer
from twinbench.execute.environment import EnvironmentProblem, describe_environment, incomparable
from twinbench.execute.half_swap import SWAP_PERIOD_S
from twinbench.execute.interleave import ORDERS, cpu_halves, side_twin_caches
from twinbench.gate.ab import RUN_ALPHA, run_ab
from twinbench.gate.ab_record import ab_lines, ab_run, failed_verdicts
from twinbench.results.storage import write_run

NAME = "ab"


def add_parser(commands: Any) -> None:
    """Register `ab` and its arguments."""
    parser = commands.add_parser(
        NAME,
        help="interleaved A/B: is Python environment B faster or slower than A, per case?",
        description="Measure each selected case in fresh worker processes of two Python "
        "environments (two venvs with different framework versions, or two checkouts of the "
        "model code: give each interpreter, or a wrapper script that sets PYTHONPATH), so both "
        "sides live through the same slow spells of the machine, and judge B against A with "
        "the gate's statistics: faster, same, slower, or unsure when undecided after the extra "
        "rounds (--confirm-rounds). On a machine with 2 or more CPUs the A and the B process "
        "of each pair measure at the same time, each on its own half of the CPUs (trading "
        "halves many times a second), and B is "
        "judged against A pair by pair (--together, the default there); elsewhere, or with "
        "--interleaved, the two sides take turns, A B B A ..., each side getting as many "
        "processes as a plain run (quick: 3). CUDA cases always take turns: the two sides "
        "would share one card. --processes sets the first look: pairs (or processes a side) "
        "a case, by default as many as a plain run's processes. A case is measured again "
        "while a look leaves it open: beyond the threshold but not yet significant, or inside "
        "it while a slowdown as large as the threshold is still likely. Each round adds as "
        "many, or more where the next look could not decide otherwise (a test of n pairs "
        "gives no p below 1/2**n), and never starts more workers at a time than the first "
        "look did. The cases of a run share one "
        f"false-alarm rate: unchanged code reads any case slower in at most {RUN_ALPHA:.0%} of "
        "runs (docs/gate.md has the figures behind these choices). Writes one run file "
        "holding both sides under "
        "RESULTS/ab/<machine>/ (not history/: B is not this machine's usual stack). Refuses "
        "two environments that cannot be compared (twinbench or a selected framework "
        "missing, another run-file format). --normalise-by-probe and --baseline-window do not "
        "apply here. Exit status 1 when a case is slower (with --strict-gate also unsure, "
        "error, missing).",
    )
    parser.add_argument("--a", required=True, metavar="PYTHON_A", help="interpreter of A")
    parser.add_argument("--b", required=True, metavar="PYTHON_B", help="interpreter of B")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--together",
        action="store_true",
        default=None,
        help="measure the A and the B process of each pair at the same time, each on its own "
        "half of the CPUs, the two trading halves every "
        f"{SWAP_PERIOD_S:g} s (duet benchmarking), and judge B against A pair by pair: both "
        "sides live through the very same moments of the same CPUs, so a pair's ratio varies "
        "less than either side, and a pair costs the time of one process. --threads "
        "defaults to half the CPUs and may not exceed it. The default on 2 or more CPUs",
    )
    mode.add_argument(
        "--interleaved",
        dest="together",
        action="store_false",
        help="let the two sides take turns instead (--order), each with all the CPUs: for "
        "cases that need every core, or to compare with runs made that way",
    )
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default=None,
        help="with --interleaved (which it implies): abba: A B B A A B ...; random: each A/B "
        "pair in seeded random order (default abba)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --order random (default 0)")
    add_bench_options(parser.add_argument)
    add_gate_options(parser.add_argument)
    add_results_dir(parser.add_argument)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the environments, measure interleaved, judge, print, write the run file."""
    try:
        options = resolve_options(lambda name: getattr(args, name, None), Path.cwd())
        args.together, args.order = _mode(args.together, args.order)
        if args.together:
            options = replace(options, threads=_threads_together(args.threads))
        environments = {"a": describe_environment(args.a), "b": describe_environment(args.b)}
    except (OptionError, EnvironmentProblem) as problem:
        error(NAME, str(problem))
        return EXIT_USAGE
    reasons = incomparable(environments["a"], environments["b"], options.selection.frameworks)
    if reasons:
        error(
            NAME,
            "the two environments cannot be compared: "
            + "; ".join(reasons)
            + ". Install twinbench (same version) and the frameworks in both, or select "
            "fewer with --frameworks",
        )
        return EXIT_USAGE
    print(_announce(args.together, options), file=sys.stderr, flush=True)
    started = datetime.now(UTC).isoformat()
    with side_twin_caches() as twin_caches:  # exported once a side for the whole run
        outcome = run_ab(
            build_matrix(options.selection),
            _measure(args, options, twin_caches),
            options.gate,
            options.processes,
            paired=args.together,
        )
    print("\n".join(ab_lines(outcome, environments)))
    from twinbench.results.metadata import collect_metadata  # imports both frameworks

    settings = {
        "started": started,
        "profile": options.profile_name,
        "timing": options.profile.timing.as_dict(),
        # The first look's pairs (or processes a side); the plan: twinbench.ab.look_sizes.
        "processes": options.processes,
        "threads": options.threads,
        "order": "together" if args.together else args.order,
        # How often a pair's workers traded CPU halves (execute/half_swap.py); None: no pairs.
        "half_swap_s": SWAP_PERIOD_S if args.together else None,
        "seed": args.seed,
    }
    run_file = ab_run(
        outcome, collect_metadata(options.threads), settings, environments, options.gate
    )
    print(f"run file: {write_run(options.results_dir / 'ab', run_file)}")
    return EXIT_FAILED if failed_verdicts(outcome.verdicts, args.strict_gate) else EXIT_OK


def _mode(together: bool | None, order: str | None) -> tuple[bool, str]:
    """Whether pairs measure together, and the turn order otherwise, from what was asked.

    Together unless asked otherwise (--interleaved, or an --order), or the machine has a
    single CPU: on a calm 2-core machine, pairs measured together found more of a slowdown
    than turns did, in less time (docs/gate.md).
    """
    if together and order is not None:
        raise OptionError("--order applies when the sides take turns, not with --together")
    if together is None:
        together = order is None and len(usable_cpus()) >= 2
    return together, order or "abba"


def _announce(together: bool, options: BenchOptions) -> str:
    """What the run is about to do, so that a long measurement does not start unexplained."""
    if together:
        how = (
            f"{options.processes} pairs a case at the first look, the two processes of each at "
            f"the same time on halves of the CPUs, {options.threads} thread(s) each "
            "(--interleaved: take turns)"
        )
    else:
        how = (
            f"{options.processes} processes a side a case at the first look, taking turns, "
            f"{options.threads} thread(s)"
        )
    return f"{NAME}: {how}"


def _threads_together(asked: int | None) -> int:
    """Threads per worker when a pair shares the machine: at most the CPUs of one half."""
    try:
        half = len(cpu_halves(usable_cpus())[0])
    except ValueError as problem:
        raise OptionError(f"--together: {problem}") from None
    if asked is not None and asked > half:
        raise OptionError(
            f"--together gives each side half of the {2 * half} CPUs: --threads {asked} "
            f"exceeds {half} (--interleaved gives each side all of them)"
        )
    return asked or half


def _measure(args: argparse.Namespace, options: BenchOptions, twin_caches: dict[str, Path]) -> Any:
    return ab_measurer(
        {"a": args.a, "b": args.b},
        options.profile.timing,
        first_look=options.processes,
        threads=options.threads,
        together=args.together,
        twin_caches=twin_caches,
        order=args.order,
        rng=random.Random(args.seed),
        progress=lambda line: print(f"measuring {line}", file=sys.stderr, flush=True),
    )
