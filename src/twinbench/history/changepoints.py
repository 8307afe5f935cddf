"""Change points in a case's history: where its step time moved for good, and by how much.

Candidates come from ruptures' penalised least-squares search (KernelCPD with the linear
kernel; Truong, Oudre & Vayatis, "Selective review of offline change point detection
methods", 2020) on the log of the per-run step times, smoothed by a running median of 3 and
with segments of at least `MIN_SEGMENT` runs, so a single noisy run cannot make a step.
Each candidate is then tested the way Hunter/Otava do: the runs of the segment before against
those of the segment after, here with a one-sided Mann-Whitney U test in the direction of the
step, and kept only when significant and at least `MIN_STEP` large.

Why ruptures: it installs beside TensorFlow 2.21 and numpy 2.4 with no other dependency than
numpy and scipy, and found planted steps in the tests; signal-processing-algorithms
(E-Divisive) pins numpy 1.26, and apache-otava pulls about 45 packages (cloud SDKs among them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import ruptures
from scipy import stats as scipy_stats

# Fewest runs on each side of a change point: one odd run is noise, not a step.
MIN_SEGMENT = 3
# Smallest step reported (ratio after/before): below it the machine's own drift dominates.
MIN_STEP = 1.05
# Significance of the test on each candidate.
ALPHA = 0.01


@dataclass(frozen=True)
class ChangePoint:
    """A lasting step: from run `index` on, the case runs `ratio` times as long as before."""

    index: int
    before_s: float
    after_s: float
    ratio: float
    p_value: float


def change_points(times_s: Sequence[float]) -> list[ChangePoint]:
    """Significant lasting steps in a series of per-run step times (oldest first)."""
    values = np.log(np.asarray(times_s, dtype=float))
    if len(values) < 2 * MIN_SEGMENT or not np.all(np.isfinite(values)):
        return []
    bounds = [0, *_candidates(values), len(values)]
    found = []
    for before, at, after in zip(bounds, bounds[1:], bounds[2:], strict=False):
        left, right = values[before:at], values[at:after]
        step = float(np.median(right) - np.median(left))
        if abs(step) < math.log(MIN_STEP):
            continue
        direction = "greater" if step > 0 else "less"
        p_value = float(scipy_stats.mannwhitneyu(right, left, alternative=direction).pvalue)
        if p_value < ALPHA:
            found.append(
                ChangePoint(
                    index=at,
                    before_s=math.exp(float(np.median(left))),
                    after_s=math.exp(float(np.median(right))),
                    ratio=math.exp(step),
                    p_value=p_value,
                )
            )
    return found


def _candidates(values: np.ndarray) -> list[int]:
    """Penalised change points (least squares) on the log times after a running median of
    3, penalised in proportion to the series' own noise.

    The running median removes single wild runs (one run in a slow phase of the host) before
    the search. ruptures' KernelCPD with the linear kernel is the l2 cost with its C
    implementation: the same change points as Pelt(model="l2") in a thousandth of the time
    (pure-Python Pelt took minutes for a long history: docs/measurements.md). The noise is
    estimated from differences of neighbours, which a step moves only once; the penalty is
    BIC-like, 4·σ²·log(n).
    """
    smoothed = _running_median3(values)
    sigma = float(np.median(np.abs(np.diff(values)))) / (0.6745 * math.sqrt(2))
    sigma = max(sigma, 1e-3)  # a perfectly flat series still needs a finite penalty
    penalty = 4 * sigma**2 * math.log(len(values))
    algo = ruptures.KernelCPD(kernel="linear", min_size=MIN_SEGMENT).fit(smoothed.reshape(-1, 1))
    return [int(b) for b in algo.predict(pen=penalty)[:-1]]


def _running_median3(values: np.ndarray) -> np.ndarray:
    """Median of each value and its two neighbours (the ends keep their own value)."""
    if len(values) < 3:
        return values
    window = np.stack([values[:-2], values[1:-1], values[2:]])
    return np.concatenate([values[:1], np.median(window, axis=0), values[-1:]])
