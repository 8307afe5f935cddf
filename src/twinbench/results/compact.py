"""What a stored run file leaves out or rounds, so a year of nightly runs stays small.

A run file of the full profile holds about a hundred samples per case, and as pytest-benchmark
lays a file out each sample is there twice: per worker process (``extra_info.processes``, what
the gate compares) and pooled (``stats.data``), with a summary of them beside. Most of a file
is digits that say nothing: a float printed to 17 significant digits when the counter behind it
resolves far fewer. The history stores (sizes in docs/measurements.md):

- the per-process samples, rounded to the grid the timer can resolve: a sample is the time of
  `loops` steps, read from a nanosecond clock, over `loops`, so digits below 1 ns / loops are
  the float's, not the measurement's. Rounding moves a sample by less than the timer's own
  resolution, far below any slowdown the gate can detect; first-call and warm-up times (one
  reading each) to the nanosecond;
- no ``stats.data`` where it is just the processes' samples in order: reading puts it back,
  so every reader, the gate and `twinbench export` see the layout they always did. The
  pytest-benchmark summary beside it (``stats.median`` ...) is kept as it was computed:
  computing it again on reading made every read slower for little saved (docs/measurements.md);
- witnesses of interference: steal and CPU-over-wall shares to 0.001 (the gate compares their
  medians with 0.05 and 0.5 and shows them in whole percents and two decimals; steal is counted
  in jiffies, coarser than 0.001 for any sample under ten seconds);
- the machine's matmul peak (FLOP/s, shown as a share) to 6 significant digits, and the
  reference-check output (float32 values) to 9, which give every float32 back exactly.
"""

from __future__ import annotations

import copy
import math
import struct
from typing import Any

# perf_counter's resolution on Linux and macOS (time.get_clock_info): 1 ns. Windows' is
# coarser (100 ns), so this grid is fine enough for every platform.
TIMER_RESOLUTION_S = 1e-9
# Decimals of one timer reading in seconds (first call, warm-up).
READING_DECIMALS = 9
# Decimals of the witnesses that are shares (measure/witness.py), and which those are.
SHARE_DECIMALS = 3
SHARES = ("steal", "cpu_per_wall")
# Significant digits of the matmul peak.
PEAK_DIGITS = 6
# Significant digits that give any float32 back exactly (IEEE 754: FLT_DECIMAL_DIG).
FLOAT32_DIGITS = 9


def compact_run(run: dict[str, Any]) -> dict[str, Any]:
    """A copy of `run` as the history stores it (`run` itself is left as it is)."""
    stored = copy.deepcopy(run)
    for bench in stored.get("benchmarks", []):
        extra, stats = bench.get("extra_info", {}), bench.get("stats", {})
        processes = extra.get("processes") or []
        if processes and stats.get("data") == pooled_samples(processes):
            del stats["data"]
        for process in processes + _confirmation_processes(extra):
            _round_process(process)
        if isinstance(extra.get("peak_flops"), float):
            extra["peak_flops"] = significant(extra["peak_flops"], PEAK_DIGITS)
        numerics = extra.get("numerics")
        if isinstance(numerics, dict) and "output" in numerics:
            numerics["output"] = float32_digits(numerics["output"])
    return stored


def expand_run(data: Any) -> None:
    """Put back, in place, what `compact_run` left out (a plain old file has nothing missing)."""
    benches = data.get("benchmarks") if isinstance(data, dict) else None
    for bench in benches if isinstance(benches, list) else []:
        stats = bench.get("stats") if isinstance(bench, dict) else None
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        if not (isinstance(stats, dict) and "data" not in stats and isinstance(extra, dict)):
            continue
        processes = extra.get("processes")
        if isinstance(processes, list) and all(isinstance(p, dict) for p in processes):
            stats["data"] = pooled_samples(processes)


def pooled_samples(processes: list[dict[str, Any]]) -> list[float]:
    """Every process' samples in process order: what ``stats.data`` holds."""
    return [sample for process in processes for sample in process.get("samples") or []]


def rounded_samples(samples: list[float], loops: Any) -> list[float]:
    """`samples` rounded to the timer's grid for `loops` steps a sample (1 ns / loops)."""
    steps = loops if isinstance(loops, int) and loops > 0 else 1
    decimals = math.ceil(math.log10(steps / TIMER_RESOLUTION_S))
    return [round(sample, decimals) for sample in samples]


def significant(value: float, digits: int) -> float:
    """`value` to `digits` significant digits."""
    return float(f"{value:.{digits}g}")


def float32_digits(value: Any) -> Any:
    """`value` (nested lists of numbers) with every float32-exact number cut to 9 significant
    digits, which read back as the same float32; any other value as it is."""
    if isinstance(value, list):
        return [float32_digits(item) for item in value]
    if isinstance(value, float) and math.isfinite(value) and _is_float32(value):
        return significant(value, FLOAT32_DIGITS)
    return value


def _is_float32(value: float) -> bool:
    try:
        return struct.unpack("f", struct.pack("f", value))[0] == value
    except OverflowError:
        return False


def _round_process(process: dict[str, Any]) -> None:
    if process.get("samples"):
        process["samples"] = rounded_samples(process["samples"], process.get("loops"))
    for key in ("first_call_s", "warmup_s"):
        if isinstance(process.get(key), float):
            process[key] = round(process[key], READING_DECIMALS)
    if isinstance(process.get("peak_flops"), float):
        process["peak_flops"] = significant(process["peak_flops"], PEAK_DIGITS)
    witness = process.get("witness")
    if not isinstance(witness, dict):
        return
    for name in SHARES:
        if isinstance(witness.get(name), list):
            witness[name] = [
                round(v, SHARE_DECIMALS) if isinstance(v, float) else v for v in witness[name]
            ]


def _confirmation_processes(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The worker processes of every re-measurement round stored with a case."""
    rounds = extra.get("confirmation") or []
    return [p for entry in rounds if isinstance(entry, dict) for p in entry.get("processes") or []]
