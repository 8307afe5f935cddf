"""Verdicts of a run against a baseline, from synthetic runs."""

from __future__ import annotations

from fixtures.runs import METADATA, run_with

from twinbench.gate.compare import GateSettings, compare_runs

SETTINGS = GateSettings()
CASES = {"mlp-torch-eager-cpu-infer-fp32-b1": 1e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}


def verdicts(baseline, current, settings=SETTINGS):
    return {v.case_id: v for v in compare_runs(baseline, current, settings).verdicts}


def test_same_speed_is_ok_and_a_large_slowdown_is_a_regression():
    slow = dict(CASES, **{"mlp-torch-eager-cpu-infer-fp32-b1": 2e-4})
    result = verdicts(run_with(CASES), run_with(slow))
    assert result["mlp-keras-graph-cpu-infer-fp32-b1"].verdict == "ok"
    slower = result["mlp-torch-eager-cpu-infer-fp32-b1"]
    assert slower.verdict == "regression"
    assert slower.ratio is not None and 1.9 < slower.ratio < 2.1
    assert slower.detectable is not None and slower.detectable >= 1.10


def test_a_speed_up_is_faster():
    fast = dict(CASES, **{"mlp-keras-graph-cpu-infer-fp32-b1": 1e-4})
    assert (
        verdicts(run_with(CASES), run_with(fast))["mlp-keras-graph-cpu-infer-fp32-b1"].verdict
        == "faster"
    )


def test_a_significant_but_small_slowdown_stays_ok():
    nudged = {case: step * 1.05 for case, step in CASES.items()}
    assert {v.verdict for v in verdicts(run_with(CASES), run_with(nudged)).values()} == {"ok"}


def test_per_case_threshold_overrides_the_global_one():
    slow = {case: step * 1.5 for case, step in CASES.items()}
    settings = GateSettings(case_thresholds=(("*-torch-*", 2.0),))
    result = verdicts(run_with(CASES), run_with(slow), settings)
    assert result["mlp-torch-eager-cpu-infer-fp32-b1"].verdict == "ok"
    assert result["mlp-keras-graph-cpu-infer-fp32-b1"].verdict == "regression"


TORCH_B1 = "mlp-torch-eager-cpu-infer-fp32-b1"


def test_a_torch_upgrade_alone_is_judged_and_named():
    upgraded = dict(METADATA, torch_version="2.14.0")
    slow = dict(CASES, **{TORCH_B1: 2e-4})
    comparison = compare_runs(run_with(CASES), run_with(slow, upgraded), SETTINGS)
    result = {v.case_id: v for v in comparison.verdicts}
    assert result[TORCH_B1].verdict == "regression" and result[TORCH_B1].ratio is not None
    assert result["mlp-keras-graph-cpu-infer-fp32-b1"].verdict == "ok"
    assert comparison.stack_changes == {"torch_version": ("2.13.0", "2.14.0")}
    assert comparison.identity_changes == {}


def test_a_driver_change_is_judged_but_like_for_like_refuses_it():
    new_driver = dict(METADATA, gpu_driver="999.1")
    assert {v.verdict for v in verdicts(run_with(CASES), run_with(CASES, new_driver)).values()} == {
        "ok"
    }
    strict = GateSettings(like_for_like=True)
    result = verdicts(run_with(CASES), run_with(CASES, new_driver), strict)
    assert {v.verdict for v in result.values()} == {"incomparable"}
    assert "GPU driver none -> 999.1" in result[TORCH_B1].note


def test_another_cpu_model_is_incomparable():
    other_cpu = dict(METADATA, cpu_model="Other CPU 1")
    result = verdicts(run_with(CASES), run_with({k: v * 3 for k, v in CASES.items()}, other_cpu))
    assert {v.verdict for v in result.values()} == {"incomparable"}
    assert "cpu_model 'Test CPU 9000' -> 'Other CPU 1'" in result[TORCH_B1].note


def test_clock_speed_change_alone_is_still_compared():
    fast_clock = dict(METADATA, cpu_hz_actual="4.8 GHz", hostname="elsewhere")
    assert {v.verdict for v in verdicts(run_with(CASES), run_with(CASES, fast_clock)).values()} == {
        "ok"
    }


def test_no_baseline_missing_oom_and_error():
    baseline = run_with(CASES)
    current = run_with(
        {"mlp-torch-eager-cpu-infer-fp32-b1": 1e-4, "cnn-torch-eager-cpu-infer-fp32-b1": 1e-3},
        failed={
            "mlp-keras-graph-cpu-infer-fp32-b1": "skipped",
            "cnn-keras-graph-cpu-train-fp32-b1": "oom",
        },
    )
    result = verdicts(baseline, current)
    assert result["cnn-torch-eager-cpu-infer-fp32-b1"].verdict == "no-baseline"
    assert result["mlp-keras-graph-cpu-infer-fp32-b1"].verdict == "missing"
    assert result["cnn-keras-graph-cpu-train-fp32-b1"].verdict == "oom"
    assert verdicts(None, current)["mlp-torch-eager-cpu-infer-fp32-b1"].verdict == "no-baseline"


def test_strict_fails_on_more_than_regressions():
    comparison = compare_runs(None, run_with(CASES), SETTINGS)
    assert comparison.failed(strict=False) == []
    assert len(comparison.failed(strict=True)) == 2


def test_normalising_by_the_probe_divides_out_a_slower_machine():
    slow_machine = run_with({case: step * 1.5 for case, step in CASES.items()})
    baseline = run_with(CASES)
    baseline["twinbench"]["probe"] = {"start_s": 0.010, "end_s": 0.010}
    slow_machine["twinbench"]["probe"] = {"start_s": 0.015, "end_s": 0.015}
    raw = compare_runs(baseline, slow_machine, SETTINGS)
    assert raw.drift is not None and abs(raw.drift - 1.5) < 1e-9
    assert {v.verdict for v in raw.verdicts} == {"regression"}
    normalised = compare_runs(baseline, slow_machine, GateSettings(normalise=True))
    assert {v.verdict for v in normalised.verdicts} == {"ok"}
    v = normalised.verdicts[0]
    assert v.raw_ratio is not None and v.ratio is not None
    assert abs(v.raw_ratio - 1.5) < 0.02 and abs(v.ratio - 1.0) < 0.02


def test_a_case_skipped_in_both_runs_gets_no_verdict():
    """CUDA cases on a machine without a GPU: nothing was ever measured, nothing to judge."""
    cuda = "mlp-torch-eager-cuda-infer-fp32-b1"
    baseline = run_with(CASES, failed={cuda: "skipped"})
    current = run_with(CASES, failed={cuda: "skipped"})
    assert cuda not in verdicts(baseline, current)
    assert set(verdicts(baseline, current)) == set(CASES)
