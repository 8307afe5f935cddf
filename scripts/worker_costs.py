"""Where a worker's time goes: its start, and per case the request against the timed part.

    PYTHONPATH=src python scripts/worker_costs.py RUN_FILE [--cases GLOB] [--threads 1]
        [--numerics-dir fixtures/numerics] [--cpu 0]

Measures the cases of RUN_FILE (any run file of the profile to cost: its case ids and the
profile's timing) in one fresh worker per framework, twice: the first pass fills the
PyTorch-twin export cache a Keras worker needs (runners/twin_export.py), the second is what
every later worker of a run pays. Per case it prints the wall time of the request and the
part the timer measured (samples times loops, plus warm-up); the rest is building the model,
its first call, calibration and the numerics check. An A/B run pays this per pair, a plain
run per process, so the ratio of the two runs' costs is set by how many of each they measure
(docs/gate.md, "where an A/B run's time goes").
"""

from __future__ import annotations

import argparse
import fnmatch
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from twinbench.bench.profiles import PROFILES
from twinbench.core.cases import Case
from twinbench.core.jsonfile import read_json
from twinbench.execute.pool import Worker
from twinbench.measure.timing import TimingSettings


class Cost(NamedTuple):
    """One case's request in a worker: its wall time and the part the timer measured."""

    case_id: str
    wall_s: float
    timed_s: float


def timed_seconds(result: dict[str, Any]) -> float:
    """Seconds the timer measured in a worker's result: samples times loops, and warm-up."""
    measurement = result.get("measurement") or {}
    loops = measurement.get("loops") or 1
    return float(sum(measurement.get("samples", [])) * loops + (measurement.get("warmup_s") or 0))


def run_cases(run: dict[str, Any], pattern: str) -> list[Case]:
    """The cases of a run whose id matches the glob, in the run file's order."""
    ids = [bench["param"] for bench in run["benchmarks"]]
    return [Case.from_id(case_id) for case_id in ids if fnmatch.fnmatch(case_id, pattern)]


def run_timing(run: dict[str, Any]) -> TimingSettings:
    """The timing the run was measured with, else its profile's (the quick one's)."""
    settings = run["twinbench"].get("settings") or {}
    if settings.get("timing"):
        return TimingSettings(**settings["timing"])
    return PROFILES.get(settings.get("profile", "quick"), PROFILES["quick"]).timing


def measure(
    worker: Worker, cases: list[Case], timing: TimingSettings, numerics: Path | None
) -> list[Cost]:
    """Each case once in the worker: its Cost."""
    costs = []
    for case in cases:
        start = time.perf_counter()
        reply = worker.request(case, timing, 0, numerics)
        wall = time.perf_counter() - start
        costs.append(Cost(case.id, wall, timed_seconds(reply["result"])))
    return costs


def totals(costs: list[Cost]) -> tuple[float, float]:
    """Wall and timed seconds over the cases."""
    return sum(c.wall_s for c in costs), sum(c.timed_s for c in costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_file", type=Path)
    parser.add_argument("--cases", default="*", help="glob of case ids (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU the worker is pinned to")
    parser.add_argument("--numerics-dir", type=Path, default=None)
    args = parser.parse_args()
    run = read_json(args.run_file)
    cases, timing = run_cases(run, args.cases), run_timing(run)
    cache = Path(tempfile.mkdtemp(prefix="worker-costs-"))
    for framework in dict.fromkeys(case.framework for case in cases):
        group = [case for case in cases if case.framework == framework]
        for label in ("first worker (fills the twin cache)", "a later worker"):
            start = time.perf_counter()
            worker = Worker(framework, args.threads, twin_cache=cache, cpus=(args.cpu,))
            worker.wait_ready()
            ready = time.perf_counter() - start
            try:
                costs = measure(worker, group, timing, args.numerics_dir)
            finally:
                worker.close()
            wall, timed = totals(costs)
            print(
                f"{framework}, {label}: ready in {ready:.1f} s; {len(costs)} cases "
                f"{wall:.1f} s, of which timed {timed:.1f} s"
            )
        for cost in costs:
            print(f"  {cost.case_id:45s} {cost.wall_s:6.2f} s, timed {cost.timed_s:5.2f} s")


if __name__ == "__main__":
    main()
