"""The measuring half of an A/B run: one call per look, the turn order carried across looks."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from pathlib import Path

from twinbench.core.cases import Case
from twinbench.execute.interleave import Interleaved, measure_interleaved
from twinbench.measure.timing import TimingSettings


def ab_measurer(
    pythons: Mapping[str, str],
    timing: TimingSettings,
    *,
    first_look: int,
    threads: int,
    together: bool,
    twin_caches: Mapping[str, Path],
    order: str = "abba",
    rng: random.Random | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Callable[[list[Case], int], Interleaved]:
    """`measure(cases, processes)` for `gate.ab.run_ab`: each call one look's worth.

    A look never starts more workers a side at a time than the first did (`first_look`),
    and the A B / B A alternation goes on from the pairs the earlier looks measured.
    `progress` hears of each look, then of each case's workers: a look at every case of a
    profile takes minutes.
    """
    rng = rng or random.Random(0)
    pairs_done: dict[str, int] = {}
    looks = itertools.count(1)
    unit = "pair(s)" if together else "process(es) a side"

    def measure(cases: list[Case], processes: int) -> Interleaved:
        progress(f"look {next(looks)}: {len(cases)} case(s), {processes} more {unit} each")
        measured = measure_interleaved(
            cases,
            timing,
            pythons,
            processes=processes,
            at_once=first_look,
            threads=threads,
            order=order,
            rng=rng,
            progress=progress,
            together=together,
            twin_caches=twin_caches,
            pairs_before=dict(pairs_done),
        )
        for case_id, sides in measured.results.items():
            pairs_done[case_id] = pairs_done.get(case_id, 0) + len(sides["a"])
        return measured

    return measure
