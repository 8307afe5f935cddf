"""Machine-speed probe: a fixed pure-Python workload, independent of TensorFlow and PyTorch.

Measured at the start and the end of every run. When the whole machine is slower (a noisy
neighbour, thermal limits, a slower cloud instance behind the same CPU name) the probe slows
down with the models, so the gate can show the drift and, on request, divide it out.
"""

from __future__ import annotations

import time

# Work per probe call: about 10 ms of interpreter time on a current x86 core.
PROBE_SIZE = 60_000


def reference_workload(size: int = PROBE_SIZE) -> int:
    """Integer arithmetic, a dict and a sort: the interpreter's everyday work, no libraries."""
    table: dict[int, int] = {}
    for i in range(size):
        table[i % 1009] = table.get(i % 1009, 0) + i * i
    return sum(sorted(table.values())[:100])


def measure_probe(repeat: int = 7) -> float:
    """Fastest of `repeat` timings of the reference workload, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        reference_workload()
        best = min(best, time.perf_counter() - start)
    return best


def probe_seconds(run: dict) -> float | None:
    """The run's probe time: the mean of its start and end measurements."""
    probe = run["twinbench"].get("probe") or {}
    values = [v for v in (probe.get("start_s"), probe.get("end_s")) if v]
    return sum(values) / len(values) if values else None
