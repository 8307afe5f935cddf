"""Witnesses of interference: what the machine did while each sample was taken.

Timing alone cannot tell a slow spell of the machine from slower code (the regression gate's
notes, docs/gate.md), so every sample is accompanied by four cheap readings, taken just
before and just after the timed stretch (outside it, so they cost the sample nothing):

- ``steal``: share of all CPUs' time that the hypervisor gave to someone else (``/proc/stat``
  steal over all jiffies): a VM's host taking the CPU;
- ``involuntary_switches``: times this worker was preempted (``getrusage`` ``ru_nivcsw``):
  another thread wanted our CPU;
- ``cpu_per_wall``: this worker's CPU time over the sample's wall time: a multi-threaded step
  that got fewer CPUs than it asked for shows a lower value;
- ``runnable``: threads ready to run on the machine right after the sample (``/proc/loadavg``,
  this worker included): more than there are CPUs means a queue.

pyperf records the load average and advises checking context switches; none of these enter a
verdict unless a recording shows that they separate slow samples from normal ones
(scripts/witness_study.py, docs/gate.md). On a system without /proc the readings that need it
are left out.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass, field

# The readings stored per sample, in this order (the run file's ``witness`` keys).
WITNESSES = ("steal", "involuntary_switches", "cpu_per_wall", "runnable")


@dataclass(frozen=True)
class Snapshot:
    """The counters at one instant."""

    wall_s: float
    cpu_s: float
    involuntary: int
    # Steal and total jiffies over all CPUs (None without /proc/stat).
    steal: int | None
    total: int | None


def take_snapshot() -> Snapshot:
    """Read the counters now (a few microseconds; /proc/stat is one small read)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    steal, total = _cpu_jiffies()
    return Snapshot(
        wall_s=time.perf_counter(),
        cpu_s=usage.ru_utime + usage.ru_stime,
        involuntary=usage.ru_nivcsw,
        steal=steal,
        total=total,
    )


def _cpu_jiffies() -> tuple[int | None, int | None]:
    """Steal and total jiffies of the machine's aggregate ``cpu`` line."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None, None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    # already counted in user, so the total stops at steal.
    if len(fields) < 9 or fields[0] != "cpu":
        return None, None
    values = [int(v) for v in fields[1:9]]
    return values[7], sum(values)


def runnable_threads() -> int | None:
    """Threads runnable on the machine now (``/proc/loadavg``'s running count)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as loadavg:
            return int(loadavg.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class SampleWitness:
    """Collects the witnesses of each sample: `start()` before it, `stop()` after it."""

    readings: dict[str, list[float]] = field(default_factory=dict)
    _before: Snapshot | None = None

    def start(self) -> None:
        self._before = take_snapshot()

    def stop(self) -> None:
        after, before = take_snapshot(), self._before
        if before is None:
            return
        wall = max(after.wall_s - before.wall_s, 1e-9)
        values: dict[str, float | None] = {
            "steal": _share(before, after),
            "involuntary_switches": float(after.involuntary - before.involuntary),
            "cpu_per_wall": round((after.cpu_s - before.cpu_s) / wall, 4),
            "runnable": _maybe_float(runnable_threads()),
        }
        for name, value in values.items():
            if value is not None:
                self.readings.setdefault(name, []).append(value)
        self._before = None

    def as_dict(self) -> dict[str, list[float]] | None:
        """Per witness, one reading per sample; None when nothing was read."""
        return dict(self.readings) or None


def _share(before: Snapshot, after: Snapshot) -> float | None:
    if before.steal is None or after.steal is None or before.total is None or after.total is None:
        return None
    total = after.total - before.total
    # Jiffies tick every 10 ms or so: a short sample may see none; call that no steal seen.
    return round((after.steal - before.steal) / total, 4) if total > 0 else 0.0


def _maybe_float(value: int | None) -> float | None:
    return None if value is None else float(value)


def process_summary(witness: dict[str, list[float]] | None) -> dict[str, float]:
    """One figure per witness for a whole process: the median over its samples."""
    if not witness:
        return {}
    return {name: statistics.median(values) for name, values in witness.items() if values}
