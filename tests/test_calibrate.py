"""A/A calibration: false alarms counted over every ordered pair of unchanged repetitions."""

from __future__ import annotations

import numpy as np

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult
from twinbench.gate.calibrate import calibrate, judge_pairs
from twinbench.gate.settings import GateSettings
from twinbench.measure.timing import Measurement


def repetition(rng, median_s, processes=5, rounds=8):
    return tuple(
        tuple(
            median_s * (1 + 0.02 * rng.standard_normal()) * (1 + 0.01 * rng.standard_normal(rounds))
        )
        for _ in range(processes)
    )


def test_steady_repetitions_raise_no_alarm():
    rng = np.random.default_rng(3)
    runs = [repetition(rng, 1e-3) for _ in range(4)]
    row = judge_pairs("mlp-torch-eager-cpu-infer-fp32-b1", runs, GateSettings())
    assert (row.repetitions, row.pairs, row.false_alarms) == (4, 12, 0)
    assert row.detectable is not None and row.detectable >= 1.10
    assert row.worst_ratio < 1.10


def test_one_slow_repetition_shows_up_as_false_alarms():
    rng = np.random.default_rng(4)
    runs = [repetition(rng, 1e-3), repetition(rng, 1e-3), repetition(rng, 1.6e-3)]
    row = judge_pairs("mlp-torch-eager-cpu-infer-fp32-b1", runs, GateSettings())
    # The slow one as current is a suspect twice; the other steady repetition, standing in for
    # the gate's re-measurement, clears it. As baseline it makes the steady ones "faster",
    # which has no confirmation: those two stay false alarms.
    assert row.suspects == 2
    assert row.false_alarms == 2
    assert row.false_alarm_rate == 2 / 6
    assert row.worst_ratio > 1.5


def test_a_slowdown_that_persists_in_later_repetitions_is_confirmed():
    rng = np.random.default_rng(5)
    steady, slow = repetition(rng, 1e-3), [repetition(rng, 1.6e-3) for _ in range(3)]
    row = judge_pairs("mlp-torch-eager-cpu-infer-fp32-b1", [steady, *slow], GateSettings())
    # steady as baseline, a slow one as current, the other slow ones as rounds: confirmed
    assert row.suspects == 3 and row.false_alarms == 6  # 3 confirmed, 3 faster


def test_calibrate_measures_all_cases_fresh_each_repetition():
    cases = [
        Case.from_id("mlp-torch-eager-cpu-infer-fp32-b1"),
        Case.from_id("mlp-keras-graph-cpu-infer-fp32-b1"),
    ]
    calls = []

    def measure_fresh(batch: list[Case]) -> dict[str, list[CaseResult]]:
        calls.append([c.id for c in batch])
        samples = [1e-3 * (1 + 0.001 * i) for i in range(5)]
        return {
            c.id: [CaseResult(c, Status.OK, measurement=Measurement(0.0, 8, samples))] * 3
            for c in batch
        }

    rows = calibrate(cases, 3, measure_fresh, GateSettings())
    assert calls == [[c.id for c in cases]] * 3
    assert [(r.case_id, r.repetitions, r.pairs) for r in rows] == [
        ("mlp-torch-eager-cpu-infer-fp32-b1", 3, 6),
        ("mlp-keras-graph-cpu-infer-fp32-b1", 3, 6),
    ]


def test_a_pair_judges_the_whole_baseline_repetition_against_the_first_current_processes():
    rng = np.random.default_rng(6)
    # Six processes a repetition, as a baseline run measures; the last three run 1.6x slower.
    runs = [repetition(rng, 1e-3, 3) + repetition(rng, 1.6e-3, 3) for _ in range(3)]
    whole = judge_pairs("mlp-torch-eager-cpu-infer-fp32-b1", runs, GateSettings())
    assert 0.9 < whole.worst_ratio < 1.1
    # As current run only the first three count: faster than the whole baseline's median.
    sliced = judge_pairs("mlp-torch-eager-cpu-infer-fp32-b1", runs, GateSettings(), 3)
    assert sliced.worst_ratio < 0.9
