"""The baseline-code check with real PyTorch workers: this checkout's commit as the baseline's
code (A), this tree as tonight's (B), one case measured in pairs together.

An injected 2x slowdown in tonight's environment reads slower beside the baseline's code;
the same slowdown recorded as the baseline's too (a machine that is slower for both) reads
the same. Slow (two small A/B runs); timings are never asserted, only the verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_options import BASE_VALUES
from twinbench.bench.code_check import baseline_code_check
from twinbench.bench.resolve import resolve_options
from twinbench.core.status import Outcome
from twinbench.execute.code import git
from twinbench.gate.ab import ABOutcome
from twinbench.measure.inject import SLOWDOWN_ENV

ROOT = Path(__file__).resolve().parents[1]
CASE = "mlp-torch-eager-cpu-infer-fp32-b1"
SLOWED = "*-b1=2.0"


@pytest.fixture
def check(monkeypatch):
    if git(ROOT, "rev-parse", "HEAD") is None:
        pytest.skip("not a git checkout: there is no commit to measure again")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(SLOWDOWN_ENV, SLOWED)  # tonight's code, slowed
    values = dict(BASE_VALUES, confirm_rounds=2)
    return baseline_code_check(resolve_options(values.__getitem__, ROOT))


def baseline_code(injected: str | None) -> dict:
    return {"commit": git(ROOT, "rev-parse", "HEAD"), "dirty": False, "injected_slowdown": injected}


def test_a_slowdown_of_tonights_code_reads_slower_beside_the_baselines(check):
    outcome = check([CASE], baseline_code(None))
    assert isinstance(outcome, ABOutcome), outcome
    (verdict,) = outcome.verdicts
    assert verdict.verdict == Outcome.REGRESSION, verdict
    assert "pairs measured together" in verdict.note


def test_a_slowdown_both_sides_share_reads_the_same(check):
    outcome = check([CASE], baseline_code(SLOWED))
    assert isinstance(outcome, ABOutcome), outcome
    (verdict,) = outcome.verdicts
    assert verdict.verdict == Outcome.OK, verdict
