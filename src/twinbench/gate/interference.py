"""Which witnessed interference keeps the gate from calling a regression (measure/witness.py).

A confirmed slowdown whose agreeing re-measurement rounds ran while the machine was taken
away from the step is not evidence about the code: the verdict becomes `unsure`, and the note
says what was seen. Three witnesses earned that place in scripts/witness_study.py's recordings
and the gate's runs (docs/gate.md, "Which witnesses see the spells" and later sections):

- CPU over wall, against the same case's baseline processes: it fell in every kind of spell
  recorded (host steal, other processes in the guest, the noise generator), while calm
  processes stayed near their case's usual share. Relative, because the absolute share
  depends on the case's own threads. The limit sits far from both calm processes and what
  slower code does to the share itself (CPU_SHARE_KEPT).
- Steal: it sees the host taking the CPU (and only that: a load inside the guest leaves it at
  zero). Its limit is a conservative starting point, not a measured optimum.
- The worker's matrix-product peak (``peak_flops``, measured once per worker process before
  its first case), against the case's baseline processes: a host that slows the CPU itself
  leaves the step its full CPU share and counts no steal, but lowers the peak (docs/gate.md
  has the run where it did). Per process it tells slow from normal only weakly; it marks a
  slow stretch of the machine, so it is read on a round's median. Only while the software
  stack is the baseline's: after an upgrade a lower peak may be the new framework's matmul,
  the very change to judge. CPU cases only: the GPU's peak was not studied.

Involuntary switches and runnable threads also moved with the spells, but depend on the
case's own threads more; they are shown for a person to read.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from twinbench.core.cases import Case
from twinbench.measure.witness import process_summary

# Median share of all CPU time stolen by the host, over a round's processes, above which the
# round was measured on a machine that was not there.
STEAL_LIMIT = 0.05
# Share of its usual CPU time per wall second under which a round's step was starved. Calm
# processes keep nearly all of their case's usual share, and slower code moves it a little
# too (a single-threaded stretch added to a two-thread step), so the limit leaves room for
# both rather than following the regression threshold (figures in docs/gate.md).
CPU_SHARE_KEPT = 0.75
# Share of the baseline's matrix-product peak under which a round's workers ran on a slower
# machine: the CPU share's limit, for the same reason. Slower code leaves the peak alone (the
# worker takes it before its first case), and single calm workers stray low, which the median
# over a round's processes absorbs (docs/gate.md).
PEAK_KEPT = 0.75

ProcessWitness = Mapping[str, float]


def round_steal(processes: Sequence[ProcessWitness]) -> float | None:
    """Median steal over a round's processes; None when none recorded it."""
    return median_witness(processes, "steal")


def interference(
    processes: Sequence[ProcessWitness],
    usual_cpu_per_wall: float | None = None,
    usual_peak_flops: float | None = None,
) -> str | None:
    """What makes a round's measurement untrustworthy, in words; None when nothing did.

    `usual_cpu_per_wall`, `usual_peak_flops`: the case's share and its workers' peak in its
    baseline processes (None: unknown or not comparable, and that witness is not judged).
    """
    steal = round_steal(processes)
    if steal is not None and steal >= STEAL_LIMIT:
        return f"the host stole {steal:.0%} of the CPU time"
    share = median_witness(processes, "cpu_per_wall")
    if usual_cpu_per_wall and share is not None and share < usual_cpu_per_wall * CPU_SHARE_KEPT:
        return (
            f"the step got {share / usual_cpu_per_wall:.0%} of the CPU time per wall second it"
            " got in the baseline"
        )
    peak = median_witness(processes, "peak_flops")
    if usual_peak_flops and peak is not None and peak < usual_peak_flops * PEAK_KEPT:
        return (
            f"the workers' matrix-product peak was {peak / usual_peak_flops:.0%} of the baseline's"
        )
    return None


def median_witness(processes: Sequence[ProcessWitness], name: str) -> float | None:
    """Median of one witness over processes; None when none recorded it."""
    values = [p[name] for p in processes if name in p]
    return statistics.median(values) if values else None


def usual_cpu_per_wall(bench: dict[str, Any]) -> float | None:
    """The case's CPU-over-wall share in the baseline: median over its processes' medians."""
    shares = [
        process_summary(process.get("witness")).get("cpu_per_wall")
        for process in bench["extra_info"].get("processes") or []
    ]
    known = [share for share in shares if share is not None]
    return statistics.median(known) if known else None


def usual_peak_flops(bench: dict[str, Any]) -> float | None:
    """The peak FLOP/s of the case's baseline workers: median over its processes."""
    peaks = [process.get("peak_flops") for process in bench["extra_info"].get("processes") or []]
    known = [peak for peak in peaks if peak]
    return statistics.median(known) if known else None


def usual_witnesses(
    bench: dict[str, Any], stack_changed: bool
) -> tuple[float | None, float | None]:
    """A case's usual CPU share and its workers' peak, from its baseline entry, as the
    witnesses compare them: the peak only for a CPU case of an unchanged stack (after an
    upgrade a lower peak may be the new framework's own matmul; GPU peaks were not studied)."""
    on_cpu = Case.from_id(bench["param"]).device == "cpu"
    peak = usual_peak_flops(bench) if on_cpu and not stack_changed else None
    return usual_cpu_per_wall(bench), peak
