"""Which witnessed interference keeps the gate from calling a regression (measure/witness.py).

A confirmed slowdown whose agreeing re-measurement rounds ran while the hypervisor stole a
large share of the machine is not evidence about the code: the verdict becomes `unsure`, and
the note says what was seen. Only steal enters the gate for now: of the four witnesses it is
the one that means "the machine was taken away" whatever the case does, while involuntary
switches, CPU over wall and runnable threads depend on the case's own threads and are shown
for a person to read. Whether any of them separates slow samples from normal ones on the
project's machines is what scripts/witness_study.py measures (docs/gate.md); the limit below
is a conservative starting point, not a measured optimum.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

# Median share of all CPU time stolen by the host, over a round's processes, above which the
# round was measured on a machine that was not there.
STEAL_LIMIT = 0.05
# Shown beside a verdict when a round's median reaches these (the table's "notable").
NOTABLE = {"steal": STEAL_LIMIT, "involuntary_switches": 50.0}
NOTABLE_CPU_PER_WALL_BELOW = 0.5

ProcessWitness = Mapping[str, float]


def round_steal(processes: Sequence[ProcessWitness]) -> float | None:
    """Median steal over a round's processes; None when none recorded it."""
    values = [p["steal"] for p in processes if "steal" in p]
    return statistics.median(values) if values else None


def interference(processes: Sequence[ProcessWitness]) -> str | None:
    """What makes a round's measurement untrustworthy, in words; None when nothing did."""
    steal = round_steal(processes)
    if steal is not None and steal >= STEAL_LIMIT:
        return f"the host stole {steal:.0%} of the CPU time"
    return None


def notable(processes: Sequence[ProcessWitness]) -> str:
    """Witness readings worth a glance (medians over processes), or "" when all look calm."""
    parts = []
    for name, limit in NOTABLE.items():
        values = [p[name] for p in processes if name in p]
        if values and statistics.median(values) >= limit:
            value = statistics.median(values)
            parts.append(f"{name} {value:.0%}" if name == "steal" else f"{name} {value:.0f}")
    ratios = [p["cpu_per_wall"] for p in processes if "cpu_per_wall" in p]
    if ratios and statistics.median(ratios) < NOTABLE_CPU_PER_WALL_BELOW:
        parts.append(f"cpu/wall {statistics.median(ratios):.2f}")
    return ", ".join(parts)
