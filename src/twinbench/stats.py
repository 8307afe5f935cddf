"""Statistics of the regression gate: effect, significance and detectable effect per case.

Processes are the unit of replication. Inside one process samples are correlated (a process
that starts slow stays slow: DESIGN decision 4), so a test on all samples treats one slow
process as many independent witnesses and cries wolf. We reduce each process to its median
and compare the log process medians of both sides with Student's t-test: with few processes
the t distribution keeps the interval honestly wide instead of falsely narrow.

Choices measured on the project's 2-core machine (default profile, 3 processes per run):
- a hierarchical bootstrap (processes, then samples) gave p < 0.0001 for an unchanged model
  whose two processes happened to differ 2x: with 2-3 processes it cannot see that spread;
- Welch's test (separate variances) left the median detectable slowdown at 51% over five A/A
  runs; pooling the variance of both sides (the spread between processes belongs to the
  machine and the case, not to the code version) brought it to about 25%, at the price of more
  suspects, which the confirmation re-measurement then has to clear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

ProcessSamples = Sequence[Sequence[float]]


@dataclass(frozen=True)
class RatioEstimate:
    """current/baseline ratio of medians with the process-level evidence behind it."""

    ratio: float
    # One-sided p-values: for "current is slower" and for "current is faster".
    p_slower: float
    p_faster: float
    # Standard error of log(ratio) and the t-test's degrees of freedom (NaN: too few processes).
    log_se: float
    dof: float
    # Central interval of the ratio at the requested confidence (NaN when not estimable).
    low: float
    high: float

    def minimum_detectable(self, alpha: float, threshold: float) -> float | None:
        """Smallest slowdown flagged with 80% power at this noise (never below threshold)."""
        if not math.isfinite(self.log_se) or not math.isfinite(self.dof):
            return None
        t_alpha = scipy_stats.t.ppf(1 - alpha, self.dof)
        t_power = scipy_stats.t.ppf(0.8, self.dof)
        return max(threshold, math.exp((t_alpha + t_power) * self.log_se))


def process_medians(processes: ProcessSamples) -> np.ndarray:
    """One value per process: the median of its samples."""
    _check(processes)
    return np.array([np.median(np.asarray(p, dtype=float)) for p in processes])


def pooled_median(processes: ProcessSamples) -> float:
    """Median of the process medians: the case's central step time."""
    return float(np.median(process_medians(processes)))


def compare_processes(
    baseline: ProcessSamples, current: ProcessSamples, confidence: float = 0.98
) -> RatioEstimate:
    """Student's t-test on log process medians (pooled variance), current against baseline."""
    base, curr = np.log(process_medians(baseline)), np.log(process_medians(current))
    ratio = math.exp(float(np.median(curr) - np.median(base)))
    if len(base) < 2 or len(curr) < 2:  # no spread to estimate: never significant
        nan = float("nan")
        return RatioEstimate(ratio, 1.0, 1.0, nan, nan, nan, nan)
    n_b, n_c = len(base), len(curr)
    # Pooled variance: the spread between processes belongs to the machine and the case, not
    # to the code version, so the (often larger, pooled-over-runs) baseline helps estimate it.
    dof = n_b + n_c - 2
    pooled = ((n_b - 1) * np.var(base, ddof=1) + (n_c - 1) * np.var(curr, ddof=1)) / dof
    se = math.sqrt(pooled * (1 / n_b + 1 / n_c))
    diff = float(np.mean(curr) - np.mean(base))
    if se == 0.0:  # identical processes inside each side: the difference is exact
        slower, faster = (0.0, 1.0) if diff > 0 else (1.0, 0.0) if diff < 0 else (1.0, 1.0)
        return RatioEstimate(ratio, slower, faster, 0.0, math.inf, *(2 * [math.exp(diff)]))
    t = diff / se
    half = scipy_stats.t.ppf(1 - (1 - confidence) / 2, dof) * se
    return RatioEstimate(
        ratio=ratio,
        p_slower=float(scipy_stats.t.sf(t, dof)),
        p_faster=float(scipy_stats.t.cdf(t, dof)),
        log_se=se,
        dof=dof,
        low=math.exp(diff - half),
        high=math.exp(diff + half),
    )


def _check(processes: ProcessSamples) -> None:
    if not processes or any(len(p) == 0 for p in processes):
        raise ValueError("needs at least one process with samples")
    if any(not math.isfinite(x) or x <= 0 for p in processes for x in p):
        raise ValueError("samples must be positive finite durations")
