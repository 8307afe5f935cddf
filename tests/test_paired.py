"""Statistics of pairs measured together: the sign-flip test, its granularity, the estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinbench.gate.paired import (
    compare_pairs,
    pair_log_ratios,
    sign_flip_p_values,
    smallest_pair_p_value,
)
from twinbench.gate.stats import PERMUTATIONS, compare_processes

# Six pairs whose levels move together over a 2x range, as a machine's moments do.
MOMENTS = [1.0, 1.9, 1.3, 1.6, 1.1, 2.0]


def processes(levels, wobble=()):
    """One process per level, its samples at that level (times a small per-process wobble)."""
    wobble = list(wobble) or [1.0] * len(levels)
    return tuple(
        (level * w, level * w * 1.01, level * w * 1.02)
        for level, w in zip(levels, wobble, strict=True)
    )


def test_a_slowdown_shared_by_every_pair_is_significant_where_the_sides_alone_are_not():
    a = processes(MOMENTS)
    b = processes([1.25 * m for m in MOMENTS], wobble=[1.0, 1.01, 0.99, 1.0, 1.02, 0.98])
    paired = compare_pairs(a, b)
    assert paired.ratio == pytest.approx(1.25, rel=0.02)
    assert paired.p_slower == pytest.approx(1 / 64)  # every pair slower: the extreme of 2**6
    assert paired.p_faster == 1.0
    assert paired.low > 1.2 and paired.high < 1.3
    assert compare_processes(a, b).p_slower > 0.1  # side against side, the moments drown it


def test_pairs_that_disagree_are_not_significant():
    ratios = np.log([1.1, 0.9, 1.05, 0.95, 1.2, 0.85])
    slower, faster = sign_flip_p_values(ratios)
    assert slower > 0.2 and faster > 0.2


def test_the_sign_flip_p_value_is_exact_up_to_the_permutation_budget_then_sampled():
    assert smallest_pair_p_value(9) == 1 / 512
    assert smallest_pair_p_value(20) == 1 / (PERMUTATIONS + 1)
    assert sign_flip_p_values(np.full(9, 0.2))[0] == pytest.approx(1 / 512)
    many = np.full(20, 0.2)
    assert sign_flip_p_values(many)[0] == pytest.approx(1 / (PERMUTATIONS + 1))
    assert sign_flip_p_values(many) == sign_flip_p_values(many)  # seeded


def test_pairs_need_as_many_a_as_b_processes_and_two_to_be_judged():
    with pytest.raises(ValueError, match="as many A as B processes, got 2 and 3"):
        pair_log_ratios(processes([1, 2]), processes([1, 2, 3]))
    lone = compare_pairs(processes([1.0]), processes([2.0]))
    assert lone.ratio == pytest.approx(2.0) and lone.p_slower == 1.0
    assert math.isnan(lone.low)
    assert lone.upper_bound(0.8) == math.inf  # no spread: nothing bounds it


def test_the_one_sided_bound_is_student_around_the_mean_pair_log_ratio():
    ratios = [1.1, 0.9, 1.05, 0.95, 1.2, 0.85]
    estimate = compare_pairs(processes([1.0] * 6), processes(ratios))
    logs = np.log(ratios)
    se = np.std(logs, ddof=1) / math.sqrt(6)
    expected = math.exp(np.mean(logs) + 0.9195 * se)  # t(5) at 0.8: 0.9195
    assert estimate.upper_bound(0.8) == pytest.approx(expected, rel=1e-3)
    assert estimate.upper_bound(0.99) == pytest.approx(estimate.high, rel=1e-9)  # 98% central
