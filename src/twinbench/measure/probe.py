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


# Run-file keys of each device's probe, at the run's start and end. CUDA cases are judged by
# the GPU probe (`gpu_probe`): the CPU probe says nothing about the GPU's clocks.
PROBE_KEYS: dict[str, tuple[str, str]] = {
    "cpu": ("start_s", "end_s"),
    "cuda": ("gpu_start_s", "gpu_end_s"),
}


def probe_readings(run: dict, device: str = "cpu") -> list[float]:
    """The run's probe times for `device` that were measured: at its start and at its end."""
    probe = run["twinbench"].get("probe") or {}
    return [v for v in (probe.get(key) for key in PROBE_KEYS[device]) if v]


def probe_seconds(run: dict, device: str = "cpu") -> float | None:
    """The run's probe time for `device`: the mean of its start and end measurements."""
    values = probe_readings(run, device)
    return sum(values) / len(values) if values else None


def fastest_probe(*runs: dict) -> float | None:
    """The fastest probe reading of these runs (start or end): the machine at its calmest.

    The reference a confirmation round waits for. Not the baseline's mean: a baseline whose
    run ended in a slow phase lets a slow round pass for calm (docs/measurements.md).
    """
    readings = [value for run in runs for value in probe_readings(run)]
    return min(readings) if readings else None


def wait_for_calm(
    reference_s: float | None,
    factor: float = 1.15,
    max_wait_s: float = 60.0,
    pause_s: float = 3.0,
    min_wait_s: float = 0.0,
) -> tuple[float, float]:
    """Wait `min_wait_s`, then until the probe runs within `factor` of `reference_s` (None:
    no reference, do not wait for one), or until `max_wait_s` passed.

    On a shared machine the probe is bimodal, fast or much slower during the host's slow
    phases, which last seconds to minutes (docs/measurements.md). A re-measurement taken
    in such a phase would confirm the alarm the phase raised, so confirmation first waits
    it out.
    Returns the last probe time and the seconds waited.
    """
    start = time.perf_counter()
    if min_wait_s > 0:
        time.sleep(min_wait_s)
    probe = measure_probe()
    while (
        reference_s is not None
        and probe > factor * reference_s
        and time.perf_counter() - start < max_wait_s
    ):
        time.sleep(pause_s)
        probe = measure_probe()
    return probe, time.perf_counter() - start
