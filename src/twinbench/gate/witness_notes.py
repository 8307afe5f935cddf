"""What the verdict table says about the machine beside each verdict: shown, never gated.

Each verdict's note ends with the witnesses of interference that stood out in the run's own
processes (``witnessed: ...``), so a person reading a `regression`, an `unsure` or an `ok`
sees whether the machine was taken from the step while it measured. The CPU share and the
workers' matrix-product peak are read against the case's baseline processes where the
baseline recorded them: 0.8 CPU seconds per wall second is the full share of a case whose
framework keeps one thread busy, and a spell for one that keeps two. Which witnesses change a
verdict, and on which evidence, is interference.py's business; these notes are the first
look's readings, for a person to weigh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from twinbench.gate.compare import Comparison
from twinbench.gate.confirm import process_witness
from twinbench.gate.interference import (
    STEAL_LIMIT,
    ProcessWitness,
    median_witness,
    usual_witnesses,
)

# Shown when the median over the run's processes of a case reaches these.
NOTABLE = {"steal": STEAL_LIMIT, "involuntary_switches": 50.0}
# Shown when the run's processes kept less than this share of the baseline's CPU time per
# wall second, or of its workers' peak: calm processes kept 0.90 or more of their case's
# usual share in 95% of cases (docs/gate.md, "Which witnesses see the spells").
NOTABLE_KEPT = 0.9
# Without a baseline share to compare with: a step that got under half a CPU.
NOTABLE_CPU_PER_WALL_BELOW = 0.5


def notable(
    processes: Sequence[ProcessWitness],
    usual_cpu_per_wall: float | None = None,
    usual_peak_flops: float | None = None,
) -> str:
    """Witness readings worth a glance (medians over processes), or "" when all look calm.

    `usual_cpu_per_wall`, `usual_peak_flops`: the case's baseline readings (None: unknown or
    not comparable); the share is then read against them, else against half a CPU.
    """
    parts = []
    for name, limit in NOTABLE.items():
        value = median_witness(processes, name)
        if value is not None and value >= limit:
            parts.append(f"{name} {value:.0%}" if name == "steal" else f"{name} {value:.0f}")
    share = median_witness(processes, "cpu_per_wall")
    if share is not None and usual_cpu_per_wall:
        kept = share / usual_cpu_per_wall
        if kept < NOTABLE_KEPT:
            parts.append(f"cpu/wall {share:.2f} ({kept:.0%} of baseline)")
    elif share is not None and share < NOTABLE_CPU_PER_WALL_BELOW:
        parts.append(f"cpu/wall {share:.2f}")
    peak = median_witness(processes, "peak_flops")
    if usual_peak_flops and peak is not None and peak < usual_peak_flops * NOTABLE_KEPT:
        parts.append(f"matmul peak {peak / usual_peak_flops:.0%} of baseline")
    return ", ".join(parts)


def add_witness_notes(
    run: dict[str, Any], comparison: Comparison, baseline: dict[str, Any] | None
) -> None:
    """Append to each verdict's note the interference witnessed in the run, when notable."""
    benches = {bench["param"]: bench for bench in run["benchmarks"]}
    base_benches = {bench["param"]: bench for bench in (baseline or {}).get("benchmarks", [])}
    stack_changed = bool(comparison.stack_changes)
    for index, verdict in enumerate(comparison.verdicts):
        bench = benches.get(verdict.case_id)
        processes = bench["extra_info"]["processes"] if bench else []
        base = base_benches.get(verdict.case_id)
        usual = usual_witnesses(base, stack_changed) if base else (None, None)
        seen = notable([process_witness(p) for p in processes], *usual)
        if seen:
            note = "; ".join(filter(None, (verdict.note, f"witnessed: {seen}")))
            comparison.verdicts[index] = replace(verdict, note=note)
