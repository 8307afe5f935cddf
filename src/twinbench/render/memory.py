"""The memory cell of the cases table: which of the keys a runner wrote it shows, and how."""

from __future__ import annotations

from collections.abc import Mapping


def format_bytes(count: int | None) -> str:
    """Binary units: 512 B, 1.5 MiB."""
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


# A CUDA case's memory keys, with the label its cell shows. JAX cannot reset its peak: its
# figure is the worker's high-water mark over every case it ran, so it says "lifetime".
_GPU_PEAKS = (
    ("cuda_peak_allocated_bytes", "peak"),
    ("tf_gpu_peak_bytes", "peak"),
    ("jax_gpu_lifetime_peak_bytes", "lifetime peak"),
)


def memory_cell(memory: Mapping[str, int] | None) -> str:
    """A case's memory in the cases table: the device peak its runner wrote, else host RSS."""
    memory = memory or {}
    for key, label in _GPU_PEAKS:
        if key in memory:
            cell = f"{label} {format_bytes(memory[key])}"
            # Tracing, compilation and autotuning happen in the first call; when they needed
            # more than the steady state, both figures matter (a smaller card fails there).
            first = memory.get(f"first_call_{key}")
            return (
                cell
                if first is None or first <= memory[key]
                else f"{cell}, 1st {format_bytes(first)}"
            )
    if "cpu_rss_growth_bytes" in memory:
        growth = memory["cpu_rss_growth_bytes"]
        return ("rss+" if growth >= 0 else "rss") + format_bytes(growth)
    return "-"
