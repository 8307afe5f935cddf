"""How far a case's level moves from one fresh process to the next, per run file.

    PYTHONPATH=src python scripts/process_spread.py RUN_FILE [RUN_FILE ...] [--cases GLOB]

Processes are the gate's unit of replication (gate/stats.py), so this spread, not the spread
of the samples inside a process, sets how small a slowdown a number of processes can show.
Per case it prints the standard deviation of the log of the process levels (0.15: a process
typically lands 15% off the case's usual level). For a `twinbench ab` run file it prints that
spread within each side, and the spread of the differences between the A and B process that
ran next to each other (the ABBA pairs): without anything the two share, that is sqrt(2)
times the side's spread; a slow spell both lived through makes it smaller. The last line of
each file: the medians over its cases, and the processes a side that a slowdown of --effect
needs for --power at --alpha (normal approximation, unpaired and paired), for comparing with
what a run measures (the quick profile: 3 a side, then rounds of 3).
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import statistics
from pathlib import Path
from typing import Any

from scipy import stats as scipy_stats

from twinbench.core.jsonfile import read_json
from twinbench.execute.interleave import TOGETHER
from twinbench.gate.stats import process_levels


def log_levels(bench: dict[str, Any]) -> list[float]:
    """The log of each process level of one case entry (empty when it was not measured)."""
    processes = [p["samples"] for p in bench.get("extra_info", {}).get("processes") or []]
    return [math.log(level) for level in process_levels(processes)] if processes else []


def pair_differences(a: list[float], b: list[float], orders: list[list[str]]) -> list[float]:
    """B minus A for the processes measured next to each other, round by round."""
    sequence = [side for round_order in orders for side in round_order]
    # ABBA orders list each side; a pair measured together (ab --together) is one entry.
    pairs = sequence.count("a") + sequence.count(TOGETHER)
    if len(a) != pairs or len(b) != pairs:  # a process failed: the pairing is lost
        return []
    return [b[index] - a[index] for index in range(pairs)]


def needed(spread: float, args: argparse.Namespace, paired: bool) -> float:
    """Processes a side (or pairs) for the effect at the power and alpha asked for."""
    z = scipy_stats.norm.ppf(1 - args.alpha) + scipy_stats.norm.ppf(args.power)
    return (1 if paired else 2) * (z * spread / math.log(args.effect)) ** 2


def spread(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) >= 3 else None


def report(path: Path, args: argparse.Namespace) -> None:
    run = read_json(path)
    ab = run.get("twinbench", {}).get("ab")
    a_side = {b["param"]: b for b in ab["a_benchmarks"]} if ab else {}
    rows = []
    for bench in run["benchmarks"]:
        case_id = bench["param"]
        if not fnmatch.fnmatchcase(case_id, args.cases):
            continue
        b = log_levels(bench)
        a = log_levels(a_side[case_id]) if case_id in a_side else []
        pairs = pair_differences(a, b, ab["orders"].get(case_id, [])) if ab else []
        row = (case_id, len(b), spread(b), spread(a), spread(pairs))
        if row[2] is not None:
            rows.append(row)
    print(f"{path.name}: {len(rows)} cases with 3 or more processes")
    print(f"  {'case':44} {'procs':>5} {'spread':>7} {'A side':>7} {'pairs':>7}")
    for case_id, count, within, a_within, paired in sorted(rows, key=lambda r: r[2]):
        cells = [f"{x:7.3f}" if x is not None else f"{'-':>7}" for x in (within, a_within, paired)]
        print(f"  {case_id:44} {count:5} {' '.join(cells)}")
    median = statistics.median(r[2] for r in rows)
    sides = math.ceil(needed(median, args, False))
    line = f"  median spread {median:.3f}: {sides} processes a side"
    paired_spreads = [r[4] for r in rows if r[4] is not None]
    if paired_spreads:
        paired = statistics.median(paired_spreads)
        line += f"; median pair spread {paired:.3f}: {math.ceil(needed(paired, args, True))} pairs"
    print(f"{line} for {args.effect}x at power {args.power}, alpha {args.alpha:.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run files (.json or .json.xz)")
    parser.add_argument("--cases", default="*", help="glob of case ids (default all)")
    parser.add_argument("--effect", type=float, default=1.25, help="slowdown (default 1.25)")
    parser.add_argument("--power", type=float, default=0.9, help="power (default 0.9)")
    parser.add_argument(
        "--alpha", type=float, default=0.01 / 3, help="one look's alpha (default 0.01/3)"
    )
    args = parser.parse_args()
    for path in args.runs:
        report(path, args)


if __name__ == "__main__":
    main()
