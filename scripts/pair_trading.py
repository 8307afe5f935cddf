"""Do the two workers of a pair spread less when they trade CPU halves? A/A pairs, both ways.

    PYTHONPATH=src python scripts/pair_trading.py [--cases ID,...] [--pairs 8] [--profile quick]

Per case, PAIRS pairs of fresh workers of this Python measure the case, the two of each pair at
the same time on the two halves of the CPUs, as `twinbench ab --together` does: alternately
with their halves kept for the whole case (`fixed`) and traded every
`half_swap.SWAP_PERIOD_S` (`traded`, what the command does). Both workers run the same code,
so the spread of the pairs' log ratios (one process level over the other) is the machine's
alone; the smaller it is, the fewer pairs an A/B run needs. Prints that spread both ways
(docs/gate.md, "the two workers of a pair trade CPU halves"). Nothing else should run.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
from typing import Any

from twinbench.bench.profiles import PROFILES
from twinbench.core.cases import Case
from twinbench.core.cpus import usable_cpus
from twinbench.execute.case import result_from_json
from twinbench.execute.half_swap import swapping_halves
from twinbench.execute.interleave import cpu_halves
from twinbench.execute.pool import Worker
from twinbench.gate.stats import process_levels
from twinbench.measure.timing import TimingSettings

DEFAULT_CASES = (
    "mlp-torch-eager-cpu-infer-fp32-b1",
    "mlp-torch-eager-cpu-train-fp32-b1",
    "cnn-torch-eager-cpu-train-fp32-b1",
    "transformer-torch-eager-cpu-infer-fp32-b64",
)
MODES = ("fixed", "traded")


def schedule(pairs: int) -> list[str]:
    """The mode of each measurement: both modes every pair, the first alternating, so that a
    slow stretch of the machine does not fall on one mode more than the other."""
    order: list[str] = []
    for index in range(pairs):
        order += MODES if index % 2 == 0 else MODES[::-1]
    return order


def log_ratio_spread(levels: list[tuple[float, float]]) -> float:
    """Standard deviation of the pairs' log ratios, second process over first."""
    return statistics.stdev(math.log(second / first) for first, second in levels)


def measure_pair(
    case: Case, timing: TimingSettings, halves: tuple[tuple[int, ...], ...], traded: bool
) -> tuple[float, float]:
    """The process levels of one pair of fresh workers measuring `case` at the same time."""
    workers = [Worker(case.framework, len(halves[0]), cpus=half) for half in halves]
    try:
        for worker in workers:
            worker.wait_ready()
        for worker in workers:
            worker.send(case, timing, 0)
        pids = [worker.process.pid for worker in workers]
        trading = swapping_halves(pids, halves) if traded else contextlib.nullcontext()
        with trading:
            replies = [worker.receive(case) for worker in workers]
    finally:
        for worker in workers:
            worker.close()
    first, second = process_levels([samples(reply, case) for reply in replies])
    return float(first), float(second)


def samples(reply: dict[str, Any], case: Case) -> list[float]:
    """The samples of a worker's reply; SystemExit with its reason when it measured nothing."""
    result = result_from_json(reply["result"])
    if result.measurement is None:
        raise SystemExit(f"{case.id}: {result.status}: {result.reason}")
    return result.measurement.samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="case ids, commas")
    parser.add_argument("--pairs", type=int, default=8, help="pairs per case and mode")
    parser.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    args = parser.parse_args()
    if args.pairs < 2:
        parser.error("--pairs: a spread needs at least 2")
    halves = cpu_halves(usable_cpus())
    timing = PROFILES[args.profile].timing
    print(f"{'case':45s} {'fixed':>7s} {'traded':>7s}  (sd of the pairs' log ratios)")
    for case_id in args.cases.split(","):
        case = Case.from_id(case_id)
        levels: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
        for index, mode in enumerate(schedule(args.pairs)):
            # Which half each worker starts on alternates too, as in an A/B run.
            pair_halves = halves if index // 2 % 2 == 0 else halves[::-1]
            levels[mode].append(measure_pair(case, timing, pair_halves, mode == "traded"))
        spreads = [log_ratio_spread(levels[mode]) for mode in MODES]
        print(f"{case.id:45s} {spreads[0]:7.3f} {spreads[1]:7.3f}", flush=True)


if __name__ == "__main__":
    main()
