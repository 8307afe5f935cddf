"""Statistics of the regression gate: effect, significance and detectable effect per case.

Noise on a shared machine comes in slow phases lasting seconds that only ever *add* time
(figures in docs/measurements.md). Inside one process samples are correlated (a process
caught in a slow phase stays slow), so processes, not samples, are the unit of replication.

Hence, per case:

- **Process level**: the 10th percentile of a process's samples, its least disturbed state
  (interference only slows a process down: Chen & Revels, "Robust benchmarking in noisy
  environments", 2016, the reason BenchmarkTools.jl looks at the fast end; a low percentile
  rather than the minimum, so one lucky sample does not decide).
- **Effect**: the ratio of the medians of the process levels, current over baseline.
- **Significance**: a one-sided permutation test over processes of the mean of the fastest
  half of the (log) process levels. The slow half of the processes mostly tells which phase
  the host was in; the fast half tells what the code costs. A permutation test is exact
  whatever the noise looks like and whatever the two sides' sizes (a t-test on trimmed
  samples is not with unequal sides: docs/measurements.md). The price: with 3 processes a
  side no split is rarer than 1 in 20, so a 3-process baseline cannot give p < 0.01 on a
  run's first look. Hence a run that saves a baseline measures more processes
  (profiles.py), pooling runs adds more (docs/gate.md), and confirmation rounds add current
  processes.

How often this confirms a slowdown and flags unchanged code, measured: docs/measurements.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats as scipy_stats

ProcessSamples = Sequence[Sequence[float]]

# Percentile of a process's samples taken as its level: its least disturbed state.
PROCESS_PERCENTILE = 10
# Exact permutation test up to this many splits; above it, this many random ones (fixed seed,
# so the same files always give the same p-value).
PERMUTATIONS = 20_000


@dataclass(frozen=True)
class RatioEstimate:
    """current/baseline ratio of process levels with the process-level evidence behind it."""

    ratio: float
    # One-sided permutation p-values: for "current is slower" and for "current is faster".
    p_slower: float
    p_faster: float
    # Standard error of the log ratio and degrees of freedom, Student-style (NaN: too few
    # processes); used for the interval and the detectable effect.
    log_se: float
    dof: float
    # Central interval of the ratio at the requested confidence (NaN when not estimable).
    low: float
    high: float
    # Student's centre: the mean log ratio the interval is built around (NaN: not estimable).
    log_mean: float = float("nan")

    def upper_bound(self, confidence: float) -> float:
        """One-sided upper confidence bound of the ratio (inf when not estimable)."""
        if not (math.isfinite(self.log_se) and math.isfinite(self.log_mean)):
            return math.inf
        t = scipy_stats.t.ppf(confidence, self.dof)
        return math.exp(self.log_mean + t * self.log_se)

    def minimum_detectable(self, alpha: float, threshold: float) -> float | None:
        """Smallest slowdown flagged with 80% power at this noise (never below threshold).

        Student's approximation on all process levels: the permutation test on the fast half
        is at least as sensitive on this machine's one-sided noise, so this errs on the side
        of promising less.
        """
        if not math.isfinite(self.log_se) or not math.isfinite(self.dof):
            return None
        t_alpha = scipy_stats.t.ppf(1 - alpha, self.dof)
        t_power = scipy_stats.t.ppf(0.8, self.dof)
        return max(threshold, math.exp((t_alpha + t_power) * self.log_se))


def process_levels(processes: ProcessSamples) -> np.ndarray:
    """One value per process: the 10th percentile of its samples."""
    _check(processes)
    return np.array([np.percentile(np.asarray(p, float), PROCESS_PERCENTILE) for p in processes])


def typical_level(processes: ProcessSamples) -> float:
    """Median of the process levels: the case's step time as the gate sees it."""
    return typical_levels([processes])[0]


def typical_levels(cases: Sequence[ProcessSamples]) -> list[float]:
    """`typical_level` of many cases at once (one percentile call per sample count).

    History review reads hundreds of runs of hundreds of cases; one NumPy call per process
    took most of its time.
    """
    by_length: dict[int, list[tuple[int, Sequence[float]]]] = {}
    for index, processes in enumerate(cases):
        _check(processes)
        for samples in processes:
            by_length.setdefault(len(samples), []).append((index, samples))
    levels: list[list[float]] = [[] for _ in cases]
    for items in by_length.values():
        matrix = np.array([samples for _, samples in items], dtype=float)
        percentiles = np.percentile(matrix, PROCESS_PERCENTILE, axis=1)
        for (index, _), level in zip(items, percentiles, strict=True):
            levels[index].append(float(level))
    # statistics.median: a few values per case, where NumPy's per-call overhead dominated
    # reading a long history (docs/measurements.md).
    return [statistics.median(values) for values in levels]


def compare_processes(
    baseline: ProcessSamples, current: ProcessSamples, confidence: float = 0.98
) -> RatioEstimate:
    """Effect, permutation p-values and a Student interval, current against baseline."""
    base, curr = np.log(process_levels(baseline)), np.log(process_levels(current))
    ratio = math.exp(float(np.median(curr) - np.median(base)))
    nan = float("nan")
    if len(base) < 2 or len(curr) < 2:  # no spread to estimate: never significant
        return RatioEstimate(ratio, 1.0, 1.0, nan, nan, nan, nan)
    p_slower, p_faster = permutation_p_values(base, curr)
    n_b, n_c = len(base), len(curr)
    dof = n_b + n_c - 2
    # Pooled variance: the spread between processes belongs to the machine and the case, not
    # to the code version, so the (often larger, pooled-over-runs) baseline helps estimate it.
    pooled = ((n_b - 1) * np.var(base, ddof=1) + (n_c - 1) * np.var(curr, ddof=1)) / dof
    se = math.sqrt(pooled * (1 / n_b + 1 / n_c))
    diff = float(np.mean(curr) - np.mean(base))
    half = scipy_stats.t.ppf(1 - (1 - confidence) / 2, dof) * se if se > 0 else 0.0
    return RatioEstimate(
        ratio, p_slower, p_faster, se, dof, math.exp(diff - half), math.exp(diff + half), diff
    )


def fast_half_mean(values: np.ndarray) -> np.ndarray:
    """Mean of the smaller half (rounded up) along the last axis."""
    ordered = np.sort(values, axis=-1)
    keep = math.ceil(ordered.shape[-1] / 2)
    result: np.ndarray = ordered[..., :keep].mean(axis=-1)
    return result


def permutation_p_values(base: np.ndarray, curr: np.ndarray) -> tuple[float, float]:
    """One-sided p-values (slower, faster) of the fast-half mean difference over processes."""
    values = np.concatenate([base, curr])
    n_b = len(base)
    observed = float(fast_half_mean(curr) - fast_half_mean(base))
    splits = _splits(len(values), n_b)
    differences = fast_half_mean(values[splits[:, n_b:]]) - fast_half_mean(values[splits[:, :n_b]])
    return tail_p_values(differences, observed, sampled=len(splits) >= PERMUTATIONS)


def tail_p_values(permuted: np.ndarray, observed: float, sampled: bool) -> tuple[float, float]:
    """One-sided p-values (slower, faster): the share of `permuted` at least as extreme.

    Enumerating all permutations includes the observed one; a `sampled` set counts it once.
    """
    tolerance = 1e-12 * max(1.0, abs(observed))
    extra = 1 if sampled else 0
    total = len(permuted) + extra
    slower = (np.sum(permuted >= observed - tolerance) + extra) / total
    faster = (np.sum(permuted <= observed + tolerance) + extra) / total
    return float(slower), float(faster)


def smallest_p_value(n_base: int, n_current: int) -> float:
    """The smallest p-value `permutation_p_values` can give at these numbers of processes."""
    splits = math.comb(n_base + n_current, n_base)
    return 1 / splits if splits <= PERMUTATIONS else 1 / (PERMUTATIONS + 1)


def _splits(n: int, n_base: int) -> np.ndarray:
    """Rows of indices: the first n_base are a baseline, the rest a current side."""
    if math.comb(n, n_base) <= PERMUTATIONS:
        chosen = np.array(list(combinations(range(n), n_base)))
        in_base = np.zeros((len(chosen), n), dtype=bool)
        np.put_along_axis(in_base, chosen, True, axis=1)
        # Stable sort on "not in the baseline": chosen indices first, the rest after.
        return np.argsort(~in_base, axis=1, kind="stable")
    rng = np.random.default_rng(0)
    return np.argsort(rng.random((PERMUTATIONS, n)), axis=1)


def _check(processes: ProcessSamples) -> None:
    if not processes or any(len(p) == 0 for p in processes):
        raise ValueError("needs at least one process with samples")
    if any(not math.isfinite(x) or x <= 0 for p in processes for x in p):
        raise ValueError("samples must be positive finite durations")
