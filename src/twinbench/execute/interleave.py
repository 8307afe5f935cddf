"""Interleaved A/B measurement: each case in alternating fresh workers of two environments.

Measured against a stored baseline, a slow spell tonight looks like a regression; measured A,
B, B, A in one sitting, both sides live through the same spell and it cancels (asv's
--interleave-rounds, Chromium's Pinpoint, Google Benchmark's random interleaving). Per
framework, `processes` fresh workers of each environment start together (imports in
parallel, as in `pool`; at most `at_once` a side at a time, so a large round does not hold
dozens of Keras workers in memory); each case is then measured once in every worker, the
two sides' workers taking turns in ABBA order (A1 B1 B2 A2 A3 B3 ...: neither side is always first
after the other) or in seeded random order within each pair. The timing core is the same
worker and timer as a normal run; only the interpreter differs.

`together` measures the two workers of a pair at the same time instead, each on its own half
of the CPUs (duet benchmarking, Bulej et al. 2020): both sides then live through the very same
moments of the machine, not merely neighbouring ones, and the run takes about half as long,
time that can buy more processes. While they measure, the two workers trade halves many times
a second (`half_swap`), so a half that runs slow for a while slows both sides alike. CUDA
cases alternate even then: the two sides would share one card, and a B that keeps it busier
would slow A down with it.

Each side's workers share one folder of PyTorch-twin exports for the whole run
(`side_twin_caches`), as a pool's workers do: a Keras worker without it starts a torch-only
child for every case it measures (the FLOPs of each step), seconds a case on a small machine.
The sides keep their own folders, since their PyTorch versions may differ.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from twinbench.core.cases import Case, execution_order
from twinbench.core.cpus import usable_cpus
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult, result_from_json
from twinbench.execute.half_swap import swapping_halves
from twinbench.execute.pool import Worker, WorkerDied
from twinbench.measure.timing import TimingSettings

SIDES = ("a", "b")
ORDERS = ("abba", "random")
# What `orders` holds for a pair whose two sides ran at the same time (`together`).
TOGETHER = "a+b"


def cpu_halves(cpus: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two disjoint halves of `cpus`, one per side of a pair measured together."""
    if len(cpus) < 2:
        raise ValueError(
            f"measuring both sides together needs at least 2 CPUs, this process may use {len(cpus)}"
        )
    cpus = sorted(cpus)
    half = len(cpus) // 2
    return tuple(cpus[:half]), tuple(cpus[half : 2 * half])


def interleaved_order(
    pairs: int, order: str, rng: random.Random, pairs_before: int = 0
) -> list[str]:
    """The sides in measuring order: `pairs` of one A and one B each.

    `pairs_before`: pairs of the case measured already (earlier batches and rounds), so that
    A B / B A keeps alternating across them: restarted at A B, an odd number of pairs a look
    would put B later in the last pair of every look, and a drift over a look's workers
    would then favour one side.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}: choose from {', '.join(ORDERS)}")
    sequence: list[str] = []
    for index in range(pairs_before, pairs_before + pairs):
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
    together: bool = False,
    twin_caches: Mapping[str, Path] | None = None,
    at_once: int | None = None,
    pairs_before: Mapping[str, int] | None = None,
) -> Interleaved:
    """Measure every case in `processes` fresh workers per side, the sides interleaved.

    `together`: the two workers of each pair measure CPU cases at the same time, on disjoint
    CPUs (`measured_together` tells which cases were). `twin_caches`: per side, the folder its
    workers share for the PyTorch twins' exports (`side_twin_caches`); None: one per worker.
    `at_once`: at most this many workers a side alive at a time (default: all), the rest
    started when those are done: a Keras worker holds hundreds of MB. `pairs_before`: per
    case id, the pairs earlier calls measured (rounds), for the turn order to carry on.
    """
    rng = rng or random.Random(0)
    before = pairs_before or {}
    halves = cpu_halves(usable_cpus()) if together else None
    measured = Interleaved()
    ordered = sorted(cases, key=execution_order)
    for framework, group in itertools.groupby(ordered, key=lambda case: case.framework):
        group_cases = list(group)
        for batch in _batches(processes, at_once or processes):
            workers = {
                side: [
                    Worker(
                        framework,
                        threads,
                        pythons[side],
                        twin_cache=twin_caches[side] if twin_caches else None,
                        cpus=_pair_cpus(halves, side, index),
                    )
                    for index in batch
                ]
                for side in SIDES
            }
            try:
                for worker in itertools.chain(*workers.values()):
                    worker.wait_ready()
                for case in group_cases:
                    progress(case.id if len(batch) == processes else _batch_note(case, batch))
                    _measure_into(
                        measured, case, timing, workers, together, numerics_dir, order, rng, before
                    )
            finally:
                _close_all(list(itertools.chain(*workers.values())))
    return measured


def _batches(processes: int, at_once: int) -> Iterator[range]:
    """The indexes of the workers a side, `at_once` at a time."""
    for first in range(0, processes, at_once):
        yield range(first, min(processes, first + at_once))


def _measure_into(
    measured: Interleaved,
    case: Case,
    timing: TimingSettings,
    workers: dict[str, list[Worker]],
    together: bool,
    numerics_dir: Path | None,
    order: str,
    rng: random.Random,
    pairs_before: Mapping[str, int],
) -> None:
    """One case in every worker of `workers`, added to what earlier workers measured of it."""
    if together and case.device == "cpu":
        sequence = [TOGETHER] * len(workers["a"])
        results = _measure_case_together(case, timing, workers, numerics_dir)
    else:
        so_far = len(measured.results.get(case.id, {}).get("a", []))  # earlier batches
        before = pairs_before.get(case.id, 0) + so_far
        sequence = interleaved_order(len(workers["a"]), order, rng, before)
        results = _measure_case(case, timing, sequence, workers, numerics_dir)
    measured.orders.setdefault(case.id, []).extend(sequence)
    sides = measured.results.setdefault(case.id, {side: [] for side in SIDES})
    for side in SIDES:
        sides[side] += results[side]


def _batch_note(case: Case, batch: range) -> str:
    return f"{case.id} (workers {batch.start + 1}-{batch.stop} a side)"


@contextlib.contextmanager
def side_twin_caches() -> Iterator[dict[str, Path]]:
    """One folder per side for its workers' PyTorch-twin exports, removed afterwards."""
    with contextlib.ExitStack() as stack:
        yield {
            side: Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"tb-{side}-")))
            for side in SIDES
        }


def measured_together(orders: list[list[str]]) -> bool:
    """Whether every pair of a case's looks ran its two sides at the same time."""
    return bool(orders) and all(side == TOGETHER for order in orders for side in order)


def _pair_cpus(
    halves: tuple[tuple[int, ...], tuple[int, ...]] | None, side: str, pair: int
) -> tuple[int, ...] | None:
    """The half of the CPUs a side's worker of `pair` runs on; the halves swap every pair."""
    if halves is None:
        return None
    return halves[(pair + SIDES.index(side)) % 2]


def _measure_case(
    case: Case,
    timing: TimingSettings,
    sequence: list[str],
    workers: dict[str, list[Worker]],
    numerics_dir: Path | None,
) -> dict[str, list[CaseResult]]:
    """One case in every worker of both sides, in `sequence` order."""
    results: dict[str, list[CaseResult]] = {side: [] for side in SIDES}
    for side in sequence:
        worker = _alive(workers[side], len(results[side]))
        worker.send(case, timing, 0, numerics_dir)
        results[side].append(_receive(worker, case))
    return results


def _measure_case_together(
    case: Case,
    timing: TimingSettings,
    workers: dict[str, list[Worker]],
    numerics_dir: Path | None,
) -> dict[str, list[CaseResult]]:
    """One case in every worker, the two workers of each pair at the same time."""
    results: dict[str, list[CaseResult]] = {side: [] for side in SIDES}
    for index in range(len(workers["a"])):
        pair = {side: _alive(workers[side], index) for side in SIDES}
        for worker in pair.values():
            worker.send(case, timing, 0, numerics_dir)
        with _trading_halves(pair):
            for side, worker in pair.items():
                results[side].append(_receive(worker, case))
    return results


def _trading_halves(pair: dict[str, Worker]) -> contextlib.AbstractContextManager[None]:
    """The pair's two workers trade their halves of the CPUs while they measure (half_swap)."""
    a, b = pair["a"], pair["b"]
    assert a.cpus and b.cpus, "workers that measure together are started on a half each"
    return swapping_halves((a.process.pid, b.process.pid), (a.cpus, b.cpus))


def _alive(workers: list[Worker], index: int) -> Worker:
    """The worker at `index`; a fresh one (same interpreter, CPUs) if a previous case killed it."""
    worker = workers[index]
    if not worker.alive():
        worker.close()
        worker = workers[index] = Worker(
            worker.framework,
            worker.threads,
            worker.python,
            twin_cache=worker.twin_cache,
            cpus=worker.cpus,
        )
        worker.wait_ready()
    return worker


def _receive(worker: Worker, case: Case) -> CaseResult:
    """The worker's result for `case`, or an error result when it died measuring it."""
    try:
        reply = worker.receive(case)
    except WorkerDied as died:
        return CaseResult(case=case, status=Status.ERROR, reason=str(died))
    return result_from_json(reply["result"])


def _close_all(workers: list[Worker]) -> None:
    """Stop the workers together: each takes seconds to exit, so tell all of them first."""
    for worker in workers:
        if worker.process.stdin:
            with contextlib.suppress(BrokenPipeError):
                worker.process.stdin.close()
    for worker in workers:
        worker.close()
