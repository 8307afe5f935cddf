"""Timing core: first call apart, warm-up, calibrated loops, raw samples (pyperf's vocabulary).

The timed callable takes `loops` and returns seconds for all of them, so a device sync can sit
inside the timed region without being paid once per step.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

from twinbench.measure.witness import SampleWitness

# The timed callable, pyperf style: runs `loops` steps (device sync included) -> seconds.
TimeLoops = Callable[[int], float]


@dataclass(frozen=True)
class TimingSettings:
    """How long and how often one case is measured."""

    # Minimum seconds of untimed steps after the first call, so caches and pools are warm.
    warmup_s: float
    # Loops are doubled until one sample lasts at least this long: timer resolution and loop
    # overhead then stay far below 1% of a sample.
    min_sample_s: float
    # Samples kept per case (each is the mean step time over `loops` steps).
    rounds: int
    # Upper bound on loops, so a near-empty step cannot calibrate forever.
    max_loops: int = 1 << 20
    # Lower bound on loops. A sample must span a slowdown that hits only every k-th step
    # (a periodic sync, a cache rebuilt every few calls), or the low percentile the gate
    # takes of each process skips it (seen with 1-2 loops a sample: docs/measurements.md).
    # A doubling every k-th step costs 1/k on average, so k <= 4 covers what the 25% target
    # asks for.
    min_loops: int = 1

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the run file."""
        return asdict(self)


@dataclass
class Measurement:
    """What the timer saw in the steady state of one case; samples are seconds per step."""

    warmup_s: float
    loops: int
    samples: list[float] = field(default_factory=list)
    # Per witness of interference, one reading per sample (measure/witness.py); None: none.
    witness: dict[str, list[float]] | None = None


def measure(time_loops: TimeLoops, settings: TimingSettings) -> Measurement:
    """Warm-up, loop calibration, then `rounds` samples.

    The caller times the first call itself (tracing, compilation, first allocations), so it
    never lands among the samples.
    """
    warm_start = time.perf_counter()
    while time.perf_counter() - warm_start < settings.warmup_s:
        time_loops(1)
    loops = calibrate_loops(time_loops, settings)
    warmup_s = time.perf_counter() - warm_start
    witness = SampleWitness()
    samples = []
    for _ in range(settings.rounds):
        witness.start()  # outside the timed stretch: the readings cost the sample nothing
        samples.append(time_loops(loops) / loops)
        witness.stop()
    return Measurement(warmup_s, loops, samples, witness.as_dict())


def calibrate_loops(time_loops: TimeLoops, settings: TimingSettings) -> int:
    """Smallest power of two of loops (from `min_loops`) whose sample lasts `min_sample_s`."""
    loops = max(1, settings.min_loops)
    while loops < settings.max_loops:
        elapsed = time_loops(loops)
        if elapsed >= settings.min_sample_s:
            break
        # Jump close to the target in one go when the step is much shorter than the sample.
        factor = settings.min_sample_s / elapsed if elapsed > 0 else 1024.0
        loops *= max(2, 1 << max(1, int(factor).bit_length() - 1))
    return min(loops, settings.max_loops)


def loop_overhead_per_step(loops: int = 100_000, repeat: int = 5) -> float:
    """Seconds the harness adds per timed step: the loop and a call of an empty step.

    Measured with the same loop the runners use, so it is what a step of zero cost would show.
    """
    time_empty = loop_timer(_empty_step, no_sync)
    return min(time_empty(loops) for _ in range(repeat)) / loops


def _empty_step() -> None:
    return None


def no_sync(_out: object) -> None:
    """The sync of a device that needs none (the CPU: a step returns when it is done)."""
    return None


def loop_timer(
    step: Callable[[], Any],
    sync: Callable[[Any], None],
    context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
) -> TimeLoops:
    """Time `loops` calls of `step`, ending with `sync(last_output)` inside the timed region.

    `context` (device scope, inference mode) is entered once per sample, outside the timer,
    so its cost is not charged to the model.
    """

    def time_loops(loops: int) -> float:
        with context():
            out = None
            start = time.perf_counter()
            for _ in range(loops):
                out = step()
            sync(out)
            return time.perf_counter() - start

    return time_loops
