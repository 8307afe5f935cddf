"""Gate statistics on synthetic per-process samples with known shifts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinbench.stats import compare_processes, pooled_median


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


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(1.3, 3.0))
def test_a_large_shift_is_significant(seed, shift):
    rng = np.random.default_rng(seed)
    base = processes(rng, 1e-3, 5)
    curr = processes(rng, 1e-3 * shift, 5)
    estimate = compare_processes(base, curr)
    assert estimate.ratio == pytest.approx(shift, rel=0.15)
    assert estimate.p_slower < 0.01
    assert estimate.low > 1.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_shift_is_rarely_significant(seed):
    rng = np.random.default_rng(seed)
    estimate = compare_processes(processes(rng, 1e-3, 5), processes(rng, 1e-3, 5))
    assert estimate.low <= 1.0 * 1.10  # the interval reaches near 1
    assert estimate.minimum_detectable(0.01, 1.10) >= 1.10


def test_false_alarm_rate_matches_alpha_on_null_data():
    rng = np.random.default_rng(7)
    flagged = sum(
        compare_processes(processes(rng, 1e-3, 3), processes(rng, 1e-3, 3)).p_slower < 0.01
        for _ in range(2000)
    )
    assert flagged / 2000 < 0.02  # nominal 1%; the test must not be over-confident


def test_one_slow_process_is_not_many_witnesses():
    # Ten tight samples per process but the processes disagree: per-sample tests would call
    # this 1.5x slowdown certain; at the process level it is one odd process out of three.
    base = [[1.0e-3] * 10, [1.0e-3] * 10, [1.0e-3] * 10]
    curr = [[1.0e-3] * 10, [1.0e-3] * 10, [2.5e-3] * 10]
    assert compare_processes(base, curr).p_slower > 0.01


def test_single_process_is_never_significant():
    estimate = compare_processes([[1e-3, 1.1e-3]], [[5e-3, 5.1e-3]])
    assert estimate.ratio == pytest.approx(5.0, rel=0.05)
    assert estimate.p_slower == 1.0
    assert estimate.minimum_detectable(0.01, 1.1) is None


def test_pooled_median_is_the_median_of_process_medians():
    assert pooled_median([[1, 2, 3], [10, 20, 30], [4, 5, 600]]) == 5


@pytest.mark.parametrize("bad", [[], [[]], [[1e-3, float("nan")]], [[0.0]]])
def test_bad_samples_are_refused(bad):
    with pytest.raises(ValueError):
        compare_processes(bad, [[1e-3]])
