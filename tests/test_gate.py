"""The gate of one run: suspects are re-measured once, confirmed or cleared, and recorded."""

from __future__ import annotations

from fixtures.runs import measured, run_with

from twinbench.baselines import save_baseline
from twinbench.compare import GateSettings
from twinbench.gate import run_gate, verdict_lines

CASES = {"mlp-torch-eager-cpu-infer-fp32-b1": 1e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}
SLOW = {"mlp-torch-eager-cpu-infer-fp32-b1": 2e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}


def remeasure_at(step_s: float, calls: list[list[str]]):
    """A fake re-measurement whose processes all run at `step_s` per step."""

    def remeasure(case_ids: list[str]):
        calls.append(case_ids)
        return {case_id: measured(case_id, step_s).processes for case_id in case_ids}

    return remeasure


def test_a_suspect_that_stays_slow_is_a_confirmed_regression(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    run, calls = run_with(SLOW), []
    outcome = run_gate(run, tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    assert calls == [["mlp-torch-eager-cpu-infer-fp32-b1"]]  # only the suspect, once
    verdicts = {v.case_id: v for v in outcome.comparison.verdicts}
    assert verdicts["mlp-torch-eager-cpu-infer-fp32-b1"].verdict == "regression"
    assert verdicts["mlp-torch-eager-cpu-infer-fp32-b1"].confirmed is True
    assert outcome.comparison.failed(strict=False)
    bench = next(b for b in run["benchmarks"] if b["param"] == "mlp-torch-eager-cpu-infer-fp32-b1")
    assert len(bench["extra_info"]["confirmation"]) == 3  # stored for `twinbench check`
    stored = run["twinbench"]["comparison"]["verdicts"]
    assert {v["verdict"] for v in stored} == {"regression", "ok"}
    assert any("confirmed by re-measurement" in line for line in verdict_lines(outcome))


def test_a_suspect_that_recovers_is_cleared(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    outcome = run_gate(run_with(SLOW), tmp_path, GateSettings(), remeasure_at(1e-4, []))
    (cleared,) = [v for v in outcome.comparison.verdicts if v.confirmed is False]
    assert cleared.verdict == "ok" and "not confirmed" in cleared.note
    assert not outcome.comparison.failed(strict=False)


def test_nothing_is_re_measured_without_a_baseline(tmp_path):
    calls: list[list[str]] = []
    outcome = run_gate(run_with(SLOW), tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    assert calls == [] and outcome.baseline is None
    assert {v.verdict for v in outcome.comparison.verdicts} == {"no-baseline"}
