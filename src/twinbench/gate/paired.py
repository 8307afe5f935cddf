"""Statistics of A/B pairs measured at the same time (`twinbench ab --together`).

Measured together, on the two halves of one machine, the A and the B process of a pair live
through the same moments, so their levels move together and the pair's ratio varies less than
either side does (docs/gate.md). The unit of replication is then the pair:

- **Pair log ratio**: log of B's process level over A's (process levels as in stats.py).
- **Effect**: exp of the median pair log ratio.
- **Significance**: an exact sign-flip permutation test of the mean pair log ratio. With no
  difference between A and B, each pair's ratio is as likely inverted: both processes ran
  under the same conditions, on the same CPU halves in turn (execute/half_swap.py). Exact
  whatever the noise, as long as it treats both sides of a pair alike; the price is
  granularity: n pairs give no p below 1 / 2**n, so a look needs 9 pairs for p < 0.0033.
- **Interval and detectable effect**: Student on the pair log ratios.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
from scipy import stats as scipy_stats

from twinbench.gate.stats import (
    PERMUTATIONS,
    ProcessSamples,
    RatioEstimate,
    process_levels,
    tail_p_values,
)


def pair_log_ratios(a: ProcessSamples, b: ProcessSamples) -> np.ndarray:
    """log(B level / A level) per pair; the i-th processes of the two sides form pair i."""
    if len(a) != len(b):
        raise ValueError(f"pairs need as many A as B processes, got {len(a)} and {len(b)}")
    ratios: np.ndarray = np.log(process_levels(b)) - np.log(process_levels(a))
    return ratios


def compare_pairs(a: ProcessSamples, b: ProcessSamples, confidence: float = 0.98) -> RatioEstimate:
    """Effect, sign-flip p-values and a Student interval of B against A over the pairs."""
    ratios = pair_log_ratios(a, b)
    ratio = math.exp(float(np.median(ratios)))
    nan = float("nan")
    if len(ratios) < 2:  # no spread to estimate: never significant
        return RatioEstimate(ratio, 1.0, 1.0, nan, nan, nan, nan)
    p_slower, p_faster = sign_flip_p_values(ratios)
    dof = len(ratios) - 1
    se = float(np.std(ratios, ddof=1)) / math.sqrt(len(ratios))
    mean = float(np.mean(ratios))
    half = scipy_stats.t.ppf(1 - (1 - confidence) / 2, dof) * se if se > 0 else 0.0
    return RatioEstimate(
        ratio, p_slower, p_faster, se, dof, math.exp(mean - half), math.exp(mean + half), mean
    )


def sign_flip_p_values(ratios: np.ndarray) -> tuple[float, float]:
    """One-sided p-values (slower, faster) of the mean log ratio, each pair's sign flipped."""
    signs = _signs(len(ratios))
    means = signs @ ratios / len(ratios)
    return tail_p_values(means, float(np.mean(ratios)), sampled=len(signs) >= PERMUTATIONS)


def smallest_pair_p_value(pairs: int) -> float:
    """The smallest p-value `sign_flip_p_values` can give with this many pairs."""
    return 2.0**-pairs if 2**pairs <= PERMUTATIONS else 1 / (PERMUTATIONS + 1)


def _signs(n: int) -> np.ndarray:
    """Rows of +1/-1, one per sign assignment: all of them, or PERMUTATIONS seeded ones."""
    if 2**n <= PERMUTATIONS:
        return np.array(list(product((1.0, -1.0), repeat=n)))
    rng = np.random.default_rng(0)
    return rng.choice((1.0, -1.0), size=(PERMUTATIONS, n))
