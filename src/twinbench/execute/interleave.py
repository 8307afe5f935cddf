"""Interleaved A/B measurement: each case in alternating fresh workers of two environments.

Measured against a stored baseline, a slow spell tonight looks like a regression; measured A,
B, B, A in one sitting, both sides live through the same spell and it cancels (asv's
--interleave-rounds, Chromium's Pinpoint, Google Benchmark's random interleaving). Per
framework, `processes` fresh workers of each environment start together (imports in
parallel, as in `pool`); each case is then measured once in every worker, the two sides'
workers taking turns in ABBA order (A1 B1 B2 A2 A3 B3 ...: neither side is always first
after the other) or in seeded random order within each pair. The timing core is the same
worker and timer as a normal run; only the interpreter differs.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from twinbench.core.cases import Case, execution_order
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult, result_from_json
from twinbench.execute.pool import Worker, WorkerDied
from twinbench.measure.timing import TimingSettings

SIDES = ("a", "b")
ORDERS = ("abba", "random")


def interleaved_order(pairs: int, order: str, rng: random.Random) -> list[str]:
    """The sides in measuring order: `pairs` of one A and one B each."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}: choose from {', '.join(ORDERS)}")
    sequence: list[str] = []
    for index in range(pairs):
        pair = ["a", "b"] if index % 2 == 0 else ["b", "a"]
        if order == "random":
            rng.shuffle(pair)
        sequence += pair
    return sequence


@dataclass
class Interleaved:
    """Per case id and side, the result of each process; the order the sides ran in."""

    results: dict[str, dict[str, list[CaseResult]]] = field(default_factory=dict)
    orders: dict[str, list[str]] = field(default_factory=dict)


def measure_interleaved(
    cases: list[Case],
    timing: TimingSettings,
    pythons: Mapping[str, str],
    processes: int,
    threads: int,
    order: str = "abba",
    rng: random.Random | None = None,
    numerics_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Interleaved:
    """Measure every case in `processes` fresh workers per side, the sides interleaved."""
    rng = rng or random.Random(0)
    measured = Interleaved()
    ordered = sorted(cases, key=execution_order)
    for framework, group in itertools.groupby(ordered, key=lambda case: case.framework):
        workers = {
            side: [Worker(framework, threads, pythons[side]) for _ in range(processes)]
            for side in SIDES
        }
        try:
            for worker in itertools.chain(*workers.values()):
                worker.wait_ready()
            for case in group:
                progress(f"{case.id}")
                sequence = interleaved_order(processes, order, rng)
                measured.orders[case.id] = sequence
                measured.results[case.id] = _measure_case(
                    case, timing, sequence, workers, pythons, (threads, numerics_dir)
                )
        finally:
            _close_all(list(itertools.chain(*workers.values())))
    return measured


def _measure_case(
    case: Case,
    timing: TimingSettings,
    sequence: list[str],
    workers: dict[str, list[Worker]],
    pythons: Mapping[str, str],
    settings: tuple[int, Path | None],
) -> dict[str, list[CaseResult]]:
    """One case in every worker of both sides, in `sequence` order."""
    threads, numerics_dir = settings
    results: dict[str, list[CaseResult]] = {side: [] for side in SIDES}
    for side in sequence:
        index = len(results[side])
        worker = workers[side][index]
        if not worker.alive():  # a previous case killed it: a fresh one, same interpreter
            worker.close()
            worker = workers[side][index] = Worker(case.framework, threads, pythons[side])
            worker.wait_ready()
        try:
            reply = worker.request(case, timing, 0, numerics_dir)
        except WorkerDied as died:
            results[side].append(CaseResult(case=case, status=Status.ERROR, reason=str(died)))
            continue
        results[side].append(result_from_json(reply["result"]))
    return results


def _close_all(workers: list[Worker]) -> None:
    """Stop the workers together: each takes seconds to exit, so tell all of them first."""
    for worker in workers:
        if worker.process.stdin:
            with contextlib.suppress(BrokenPipeError):
                worker.process.stdin.close()
    for worker in workers:
        worker.close()
