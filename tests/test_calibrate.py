"""A/A calibration: false alarms counted over every ordered pair of unchanged repetitions."""

from __future__ import annotations

import numpy as np

from twinbench.calibrate import calibrate_case, judge_pairs
from twinbench.cases import Case
from twinbench.compare import GateSettings
from twinbench.execution import OK, CaseResult
from twinbench.timing import Measurement


def repetition(rng, median_s, processes=3, rounds=8):
    return tuple(
        tuple(
            median_s * (1 + 0.02 * rng.standard_normal()) * (1 + 0.01 * rng.standard_normal(rounds))
        )
        for _ in range(processes)
    )


def test_steady_repetitions_raise_no_alarm():
    rng = np.random.default_rng(3)
    runs = [repetition(rng, 1e-3) for _ in range(4)]
    row = judge_pairs("mlp-torch-cpu-infer-b1", runs, GateSettings())
    assert (row.repetitions, row.pairs, row.false_alarms) == (4, 12, 0)
    assert row.detectable is not None and row.detectable >= 1.10
    assert row.worst_ratio < 1.10


def test_one_slow_repetition_shows_up_as_false_alarms():
    rng = np.random.default_rng(4)
    runs = [repetition(rng, 1e-3), repetition(rng, 1e-3), repetition(rng, 1.6e-3)]
    row = judge_pairs("mlp-torch-cpu-infer-b1", runs, GateSettings())
    # the slow one against each steady one is a "regression", the reverse pairs "faster"
    assert row.false_alarms == 4
    assert row.false_alarm_rate == 4 / 6
    assert row.worst_ratio > 1.5


def test_calibrate_case_measures_fresh_each_time():
    case = Case.from_id("mlp-torch-cpu-infer-b1")
    calls = []

    def measure_fresh(c: Case) -> list[CaseResult]:
        calls.append(c)
        samples = [1e-3 * (1 + 0.001 * i) for i in range(5)]
        return [CaseResult(c, OK, measurement=Measurement(0.0, 8, samples)) for _ in range(3)]

    row = calibrate_case(case, 3, measure_fresh, GateSettings())
    assert calls == [case] * 3
    assert row.repetitions == 3 and row.pairs == 6
