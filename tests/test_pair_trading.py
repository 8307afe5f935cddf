"""scripts/pair_trading.py: A/A pairs with their CPU halves fixed and traded."""

from __future__ import annotations

import math

import pytest
from fixtures.scripts import load_script

from twinbench.core.cases import Case
from twinbench.execute.case import CaseResult, result_to_json
from twinbench.measure.timing import Measurement


def test_both_modes_every_pair_the_first_alternating():
    script = load_script("pair_trading")
    assert script.schedule(3) == ["fixed", "traded", "traded", "fixed", "fixed", "traded"]


def test_the_spread_is_of_the_log_ratios_so_either_order_of_a_pair_counts_alike():
    script = load_script("pair_trading")
    assert script.log_ratio_spread([(1.0, 1.0), (2.0, 2.0)]) == 0.0  # equal pairs, any level
    spread = script.log_ratio_spread([(1.0, math.e), (math.e, 1.0)])
    assert spread == pytest.approx(math.sqrt(2))  # log ratios +1 and -1


def test_a_worker_that_measured_nothing_stops_the_study_with_its_reason():
    script = load_script("pair_trading")
    case = Case.from_id("mlp-torch-eager-cpu-infer-fp32-b1")
    failed = CaseResult(case, "error", reason="boom")
    with pytest.raises(SystemExit, match="error: boom"):
        script.samples({"result": result_to_json(failed)}, case)
    measured = CaseResult(case, "ok", measurement=Measurement(0.1, 4, [1.0, 2.0]))
    assert script.samples({"result": result_to_json(measured)}, case) == [1.0, 2.0]
