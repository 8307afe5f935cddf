"""Gate statistics on synthetic per-process samples with known shifts."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.properties import examples
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from twinbench.gate.stats import (
    compare_processes,
    permutation_p_values,
    smallest_p_value,
    typical_level,
    typical_levels,
)


def processes(rng, median_s, count, rounds=10, between=0.03, within=0.02):
    """`count` processes whose medians scatter by `between`, samples by `within` (relative)."""
    return [
        list(
            median_s
            * (1 + between * rng.standard_normal())
            * (1 + within * rng.standard_normal(rounds))
        )
        for _ in range(count)
    ]


@examples(40)
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(1.3, 3.0))
def test_a_large_shift_is_significant(seed, shift):
    rng = np.random.default_rng(seed)
    base = processes(rng, 1e-3, 5)
    curr = processes(rng, 1e-3 * shift, 5)
    estimate = compare_processes(base, curr)
    assert estimate.ratio == pytest.approx(shift, rel=0.15)
    assert estimate.p_slower < 0.01
    assert estimate.low > 1.0


@examples(40)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_shift_is_never_significant_both_ways(seed):
    """With ties counted on both sides, the two one-sided p-values sum to at least 1."""
    rng = np.random.default_rng(seed)
    estimate = compare_processes(processes(rng, 1e-3, 5), processes(rng, 1e-3, 5))
    assert estimate.p_slower + estimate.p_faster >= 1.0 - 1e-9
    assert estimate.low <= 1.0 * 1.10  # the interval reaches near 1


def test_no_shift_is_rarely_significant():
    """Null comparisons: p_slower below 1% about 1% of the time, below 50% about half."""
    rng = np.random.default_rng(12)
    p_slower = np.array(
        [
            compare_processes(processes(rng, 1e-3, 5), processes(rng, 1e-3, 5)).p_slower
            for _ in range(400)
        ]
    )
    assert np.mean(p_slower < 0.01) < 0.02
    assert 0.4 < np.mean(p_slower < 0.5) < 0.6  # a p-value stuck at 1 is no test either


def detection_rate(rng, shift: float, between: float, trials: int = 150) -> float:
    """How often 5 slower processes against 5 are significant at 1% (shift: true ratio)."""
    return float(
        np.mean(
            [
                compare_processes(
                    processes(rng, 1e-3, 5, between=between),
                    processes(rng, 1e-3 * shift, 5, between=between),
                ).p_slower
                < 0.01
                for _ in range(trials)
            ]
        )
    )


@pytest.mark.parametrize("between", [0.05, 0.15])
def test_the_detectable_slowdown_is_what_the_gate_detects_at_that_noise(between):
    """'detects >= N%' is tied to the noise: a slowdown of N% is caught most of the time.

    Nominal power is 80%; on normal noise the fast-half permutation test reaches about 70%
    at the reported slowdown (Student's approximation is slightly optimistic there), and
    half the slowdown is caught far less often. Threshold 1.0: the noise alone decides.
    """
    rng = np.random.default_rng(13)
    detectable = float(
        np.median(
            [
                compare_processes(
                    processes(rng, 1e-3, 5, between=between),
                    processes(rng, 1e-3, 5, between=between),
                ).minimum_detectable(0.01, 1.0)
                for _ in range(60)
            ]
        )
    )
    assert detectable > 1 + between  # noisier processes: a larger detectable slowdown
    assert detection_rate(rng, detectable, between) > 0.6
    assert detection_rate(rng, 1 + (detectable - 1) / 2, between) < 0.35


def test_the_threshold_is_a_floor_of_the_detectable_slowdown():
    rng = np.random.default_rng(14)
    quiet = compare_processes(
        processes(rng, 1e-3, 9, between=0.01), processes(rng, 1e-3, 9, between=0.01)
    )
    noisy = compare_processes(
        processes(rng, 1e-3, 5, between=0.3), processes(rng, 1e-3, 5, between=0.3)
    )
    assert quiet.minimum_detectable(0.01, 1.0) < 1.10 == quiet.minimum_detectable(0.01, 1.10)
    assert noisy.minimum_detectable(0.01, 1.10) == noisy.minimum_detectable(0.01, 1.0) > 1.10


@pytest.mark.parametrize("n_base, n_current", [(9, 3), (9, 9), (5, 5)])
def test_false_alarm_rate_matches_alpha_on_null_data(n_base, n_current):
    rng = np.random.default_rng(7)
    trials = 600
    flagged = sum(
        compare_processes(
            processes(rng, 1e-3, n_base, between=0.1), processes(rng, 1e-3, n_current, between=0.1)
        ).p_slower
        < 0.01
        for _ in range(trials)
    )
    assert flagged / trials < 0.02  # nominal 1%; the test must not be over-confident


def test_unequal_sides_do_not_bias_the_test():
    """Fastest half of 9 is more extreme than fastest half of 3; the permutation sees that."""
    rng = np.random.default_rng(8)
    p_values = [
        permutation_p_values(rng.normal(0, 0.1, 9), rng.normal(0, 0.1, 3))[0] for _ in range(400)
    ]
    # Under the null the p-values are uniform: about half below 0.5, about 5% below 0.05.
    assert 0.4 < np.mean(np.array(p_values) < 0.5) < 0.6
    assert np.mean(np.array(p_values) < 0.05) < 0.09


def test_three_processes_a_side_cannot_be_significant_at_one_percent():
    """20 ways to split 6 processes 3/3: no outcome is rarer than 1 in 20."""
    base = [[1e-3] * 5, [1.01e-3] * 5, [1.02e-3] * 5]
    curr = [[2e-3] * 5, [2.01e-3] * 5, [2.02e-3] * 5]
    assert compare_processes(base, curr).p_slower == pytest.approx(1 / 20)


def test_slow_phase_processes_hide_a_slowdown_less_than_from_a_median_t_test():
    """A third of the processes caught in a 2x slow phase on both sides; the code is 1.25x.

    Nine current processes: the run's three and two confirmation rounds. Student's t-test on
    the process medians drowns the 25% in the 2x phases; the fast-half permutation test
    sees it.
    """
    rng = np.random.default_rng(9)

    def process(scale):
        return list(1e-3 * scale * (1 + 0.01 * rng.standard_normal(10)))

    base = [process(1) for _ in range(6)] + [process(2) for _ in range(3)]
    curr = [process(1.25) for _ in range(6)] + [process(2.5) for _ in range(3)]
    estimate = compare_processes(base, curr)
    medians = [np.log(np.median(p)) for p in curr], [np.log(np.median(p)) for p in base]
    t_test = scipy_stats.ttest_ind(*medians, alternative="greater").pvalue
    assert estimate.ratio == pytest.approx(1.25, rel=0.05)
    assert estimate.p_slower < 0.05 < t_test


def test_single_process_is_never_significant():
    estimate = compare_processes([[1e-3, 1.1e-3]], [[5e-3, 5.1e-3]])
    assert estimate.ratio == pytest.approx(5.0, rel=0.05)
    assert estimate.p_slower == 1.0
    assert estimate.minimum_detectable(0.01, 1.1) is None


def test_typical_level_is_the_median_of_the_process_low_percentiles():
    # 10th percentiles: 1.2, 12, 4.2 (linear interpolation) -> median 4.2
    assert typical_level([[1, 2, 3], [10, 20, 30], [4, 5, 600]]) == pytest.approx(4.2)


@pytest.mark.parametrize("bad", [[], [[]], [[1e-3, float("nan")]], [[0.0]]])
def test_bad_samples_are_refused(bad):
    with pytest.raises(ValueError):
        compare_processes(bad, [[1e-3]])


def test_typical_levels_matches_one_case_at_a_time():
    rng = np.random.default_rng(11)
    cases = [
        processes(rng, 1e-3, count, rounds=rounds) for count, rounds in ((3, 10), (2, 5), (1, 10))
    ]
    assert typical_levels(cases) == pytest.approx([typical_level(c) for c in cases], rel=1e-12)


def test_smallest_p_value_is_what_complete_separation_gives():
    """All current processes slower than all baseline ones: the test's floor, at each size."""
    for n_base, n_current in ((1, 4), (3, 3), (3, 12), (9, 6)):
        base = np.log(np.linspace(1.0, 1.1, n_base))
        curr = np.log(np.linspace(2.0, 2.2, n_current))
        slower, _ = permutation_p_values(base, curr)
        assert slower == pytest.approx(smallest_p_value(n_base, n_current))
    assert smallest_p_value(20, 20) == pytest.approx(1 / 20_001)  # sampled splits
